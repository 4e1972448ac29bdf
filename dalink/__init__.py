"""dalink: privacy-preserving record linkage for domestic-abuse partnerships."""

from dalink._version import __version__

__all__ = ["__version__"]
