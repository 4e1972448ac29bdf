"""The ``dalink`` command line: a thin layer over the library functions.

Secrets are read from a key file or an environment variable, never from an argument.
Every failure exits non-zero with a one-line message; identifiers are never printed.

This module holds the ``main`` group and what its commands share; the commands live in one
module per role, so each side of the partnership can read what it runs: ``agency`` (keygen,
encode, inspect), ``linker`` (link, report, chronology, audit) and ``synthetic`` (synth, demo).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dalink._version import __version__
from dalink.errors import DalinkError

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(command: F) -> F:
    """Turn a :class:`DalinkError` into a one-line message and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DalinkError as error:
            raise click.ClickException(str(error)) from None

    return wrapper  # type: ignore[return-value]


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


class TqdmProgress:
    """A progress callback ``progress(done, total)`` drawn as a tqdm bar on stderr.

    Drawn only when stderr is a terminal: an agency's ETL job that logs stderr to a file
    would otherwise collect hundreds of carriage-return redraws. ``unit`` names what is
    counted (records, stages, resamples).
    """

    def __init__(self, description: str, *, enabled: bool = True, unit: str = "rec") -> None:
        self.description = description
        self.enabled = enabled and _stderr_is_terminal()
        self.unit = unit
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=self.description, unit=self.unit, file=sys.stderr, leave=False)
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# The --quiet option of every command with one progress bar; the rule it states is TqdmProgress's.
quiet_option = click.option("--quiet", is_flag=True, help="No progress bar (one is drawn only when stderr is a terminal).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dalink")
@click.option("-v", "--verbose", count=True, help="Log stages and timings (-vv for debug).")
def main(verbose: int) -> None:
    """dalink: privacy-preserving record linkage for domestic-abuse partnerships.

    Agencies encode their identifiers locally with the partnership key (keygen, encode);
    a trusted linker links the encoded packages (link) and publishes disclosure-controlled
    counts (report).
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def read_json_object(path: str, what: str, error: type[DalinkError] = DalinkError) -> dict[str, Any]:
    """A JSON object from a file the user named, or ``error`` naming the file (never its content)."""
    import json
    from pathlib import Path

    try:
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise error(f"{path}: cannot read the {what} as JSON ({type(problem).__name__})") from None
    if not isinstance(loaded, dict):
        raise error(f"{path}: the {what} must be a JSON object")
    return loaded


# Last, so that `main` and the helpers above exist when the command modules import them;
# importing the modules registers their commands on `main`.
from dalink.cli import agency, linker, synthetic  # noqa: E402, F401
