"""Synthetic multi-agency domestic-abuse extracts with ground truth (``dalink synth``).

See ``docs/synthetic-data.md`` for what is simulated and every error rate.
"""

from dalink.synth.errors import ErrorRates
from dalink.synth.names import area_names
from dalink.synth.partnership import (
    EXTRACT_COLUMNS,
    SynthParameters,
    SyntheticPartnership,
    synthesise,
    synthesise_from,
    truth_events,
)
from dalink.synth.parameters import AGENCIES, WorldParameters
from dalink.synth.writer import write_partnership

__all__ = [
    "AGENCIES",
    "EXTRACT_COLUMNS",
    "ErrorRates",
    "SynthParameters",
    "SyntheticPartnership",
    "WorldParameters",
    "area_names",
    "synthesise",
    "synthesise_from",
    "truth_events",
    "write_partnership",
]
