"""What counts as a missing value, shared by every identifier's normaliser.

Why a module of its own: names, dates of birth, sex and places must agree on what "missing"
means (``None``, NaN, NaT, ``pd.NA``, blanks made only of punctuation), or one column would
reject what another treats as absent.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _is_missing(value: object) -> bool:
    """None, NaN, NaT and pd.NA: the values ``pd.factorize`` also treats as missing."""
    if value is None:
        return True
    if isinstance(value, (str, bytes)):
        return False
    if isinstance(value, float):
        return math.isnan(value)
    try:
        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return isinstance(result, (bool, np.bool_)) and bool(result)


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def _has_no_alphanumerics(text: str) -> bool:
    """A value made only of spaces and punctuation ("", "-", "?", "--/--/----") is blank."""
    return not any(character.isalnum() for character in text)
