"""The event fields as a second opinion on the linker's doubtful pairs.

The linker scores pairs on the encoded identifiers alone. The event fields travel in clear
beside them and say something too: two records of one person are usually in the same local
authority and in the same role (victim, perpetrator); two records of different people much
less often. The report uses this twice.

**Calibration.** A Fellegi–Sunter model's probabilities are estimates, and on synthetic
partnerships they are far off where it matters: among the near misses the linker left apart,
the model expects about five times as many matches as there are. Because the event fields
are (nearly) independent of the identifiers given whether two records are one person, their
agreement identifies how many of the doubtful pairs really match, without any true answers:
a latent-class fit of ``P(match) = sigmoid(shift + scale · logit p)`` to the observed
agreement, by maximum likelihood (Fisher scoring), separately for the links the linker made
and the near misses it left apart. The fit's covariance says how sure it is.

**Evidence.** Each pair's own agreement then updates its calibrated probability, as one
more comparison of a Fellegi–Sunter model would; this matters because the model gets the
*number* of its errors right far more often than *which* pairs they are, and a false link
between two people in two areas makes moves that never happened, while cutting a true link
of one person in one area changes nothing.

The agreement rates are measured on the data, per pair of event types (a refuge referral is
in another area by design, so "different areas" is weak evidence against a refuge pair and
strong against two police incidents): for matches on the linker's near-certain links, for
non-matches from the fields' frequencies (the chance that two random records of those event
types agree). A pair with a field missing, or of event types with too few near-certain links
to measure, gets no evidence from it, and so does a field that agrees no more often for
matches than by chance.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

EVIDENCE_FIELDS = ("local_authority", "role")
MINIMUM_REFERENCE_PAIRS = 20
MINIMUM_INFORMATIVE_PAIRS = 100
_MISSING = ("", "NAN", "NONE", "<NA>")


@dataclasses.dataclass(frozen=True)
class Likelihoods:
    """Per doubtful pair: the probability of its observed agreement if it is a match, and if
    it is not (both 1 where nothing was observed)."""

    match: np.ndarray
    non_match: np.ndarray

    @property
    def log_ratio(self) -> np.ndarray:
        return np.log(self.match) - np.log(self.non_match)

    @property
    def informative(self) -> np.ndarray:
        return self.match != self.non_match


def _codes(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip().str.upper()
    codes, _ = pd.factorize(text.mask(text.isin(_MISSING)), use_na_sentinel=True)
    return codes.astype(np.int64)


def field_likelihoods(
    values: pd.Series,
    event_types: pd.Series,
    left: np.ndarray,
    right: np.ndarray,
    certain: np.ndarray,
    doubtful: np.ndarray,
) -> Likelihoods:
    """Agreement likelihoods of one field for each doubtful pair.

    ``left``/``right`` are record positions of the scored pairs, ``certain`` marks the pairs
    that serve as known matches, ``doubtful`` the pairs to score.
    """
    count = int(doubtful.sum())
    match_likelihood = np.ones(count)
    non_match_likelihood = np.ones(count)
    codes = _codes(values)
    kinds, _ = pd.factorize(event_types.astype("string").str.strip().str.lower())
    kinds = np.where(kinds < 0, 0, kinds).astype(np.int64)
    known = codes >= 0
    if known.sum() < 2 or not len(left):
        return Likelihoods(match_likelihood, non_match_likelihood)
    kind_count = int(kinds.max()) + 1
    value_count = int(codes.max()) + 1
    frequency = np.zeros((kind_count, value_count))
    np.add.at(frequency, (kinds[known], codes[known]), 1.0)
    frequency /= np.maximum(frequency.sum(axis=1, keepdims=True), 1.0)
    agree_non_match = np.clip(frequency @ frequency.T, 1e-6, 1 - 1e-6)  # event type × event type

    both = known[left] & known[right]
    agrees = codes[left] == codes[right]
    first_kind = np.minimum(kinds[left], kinds[right])
    second_kind = np.maximum(kinds[left], kinds[right])
    pair_kind = first_kind * kind_count + second_kind
    reference = certain & both
    matches = np.bincount(pair_kind[reference], minlength=kind_count * kind_count)
    agreeing = np.bincount(pair_kind[reference & agrees], minlength=kind_count * kind_count)
    measured = matches >= MINIMUM_REFERENCE_PAIRS
    agree_match = np.clip(agreeing / np.maximum(matches, 1), 1e-3, 1 - 1e-3)

    kind = pair_kind[doubtful]
    match = agree_match[kind]
    non_match = agree_non_match[first_kind[doubtful], second_kind[doubtful]]
    usable = both[doubtful] & measured[kind] & (match > non_match)
    agree = agrees[doubtful]
    match_likelihood[usable] = np.where(agree, match, 1 - match)[usable]
    non_match_likelihood[usable] = np.where(agree, non_match, 1 - non_match)[usable]
    return Likelihoods(match_likelihood, non_match_likelihood)


def event_likelihoods(
    entities: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    certain: np.ndarray,
    doubtful: np.ndarray,
    fields: tuple[str, ...] = EVIDENCE_FIELDS,
) -> Likelihoods:
    """Joint agreement likelihoods of the event fields (taken as conditionally independent
    given match status, as the linker takes its identifiers)."""
    count = int(doubtful.sum())
    match, non_match = np.ones(count), np.ones(count)
    for field in fields:
        if field in entities.columns:
            one = field_likelihoods(entities[field], entities["event_type"], left, right, certain, doubtful)
            match *= one.match
            non_match *= one.non_match
    return Likelihoods(match, non_match)


@dataclasses.dataclass(frozen=True)
class Calibration:
    """``P(match) = sigmoid(shift + scale · log-odds + Σ effect[type] · involves[type])``.

    The per-event-type effects let pairs of different kinds be off by different amounts (on
    synthetic data the model is too sure about police pairs and not sure enough about refuge
    pairs, whose records never carry a postcode). ``covariance`` is the fit's, over
    ``coefficients`` = (shift, scale, effects...).
    """

    coefficients: np.ndarray = dataclasses.field(default_factory=lambda: np.array([0.0, 1.0]))
    covariance: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((2, 2)))
    fitted: bool = False
    pairs: int = 0

    @property
    def shift(self) -> float:
        return float(self.coefficients[0])

    @property
    def scale(self) -> float:
        return float(self.coefficients[1])

    def draw(self, generator: np.random.Generator) -> np.ndarray:
        """Coefficients from the fit's sampling distribution (the fit itself if unfitted)."""
        if not self.fitted or not np.any(self.covariance):
            return self.coefficients
        return generator.multivariate_normal(self.coefficients, self.covariance, method="cholesky")

    def log_odds(self, coefficients: np.ndarray, log_odds: np.ndarray, involves: np.ndarray) -> np.ndarray:
        """Calibrated log-odds of pairs, with ``coefficients`` from :meth:`draw`."""
        calibrated = coefficients[0] + coefficients[1] * log_odds
        effects = coefficients[2:]
        if len(effects) and involves.shape[1] == len(effects):
            calibrated = calibrated + involves @ effects
        return calibrated


def event_type_indicators(
    event_types: pd.Series, left: np.ndarray, right: np.ndarray, doubtful: np.ndarray
) -> np.ndarray:
    """One column per event type: 1 where a doubtful pair involves a record of that type."""
    kinds, _ = pd.factorize(event_types.astype("string").str.strip().str.lower())
    kinds = np.where(kinds < 0, 0, kinds).astype(np.int64)
    count = int(kinds.max()) + 1 if len(kinds) else 0
    involves = np.zeros((int(doubtful.sum()), count))
    rows = np.arange(involves.shape[0])
    involves[rows, kinds[left[doubtful]]] = 1.0
    involves[rows, kinds[right[doubtful]]] = 1.0
    return involves


def fit_calibration(
    log_odds: np.ndarray,
    likelihoods: Likelihoods,
    involves: np.ndarray | None = None,
    *,
    effect_prior_sd: float = 1.0,
    iterations: int = 100,
) -> Calibration:
    """Fit the calibration to the observed agreement of the event fields.

    Each pair's agreement has likelihood ``π m + (1 − π) u`` with ``π`` the calibrated
    probability; Fisher scoring maximises the sum of their logarithms, with a normal prior of
    standard deviation ``effect_prior_sd`` on the per-event-type effects (so a rare type
    stays near the common calibration). Returns the identity (unfitted) when fewer than
    ``MINIMUM_INFORMATIVE_PAIRS`` pairs carry evidence or the fit does not converge to
    something sensible.
    """
    informative = likelihoods.informative
    if informative.sum() < MINIMUM_INFORMATIVE_PAIRS:
        return Calibration(pairs=int(informative.sum()))
    z = np.clip(log_odds[informative], -30, 30)
    match = likelihoods.match[informative]
    non_match = likelihoods.non_match[informative]
    columns = [np.ones_like(z), z]
    if involves is not None and involves.size:
        used = involves[informative]
        keep = used.sum(axis=0) >= MINIMUM_REFERENCE_PAIRS
        effects_design = np.where(keep[None, :], used, 0.0)
        columns.extend(effects_design.T)
    design = np.stack(columns, axis=1)
    dimension = design.shape[1]
    penalty = np.zeros(dimension)
    penalty[2:] = 1.0 / effect_prior_sd**2
    parameters = np.zeros(dimension)
    parameters[1] = 1.0
    information = np.eye(dimension)
    for _ in range(iterations):
        prior = 1.0 / (1.0 + np.exp(-(design @ parameters)))
        likelihood = prior * match + (1 - prior) * non_match
        score_per_pair = (match - non_match) * prior * (1 - prior) / likelihood
        score = design.T @ score_per_pair - penalty * parameters
        information = (design * (score_per_pair**2)[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(dimension)
        step = np.linalg.solve(information, score)
        step *= min(1.0, 2.0 / max(np.abs(step).max(), 1e-12))  # damped: at most 2 per step
        parameters = parameters + step
        if np.abs(step).max() < 1e-7:
            break
    else:
        logger.info("calibration did not converge; using the model's probabilities")
        return Calibration(pairs=int(informative.sum()))
    if not (np.all(np.isfinite(parameters)) and 0.05 <= parameters[1] <= 20):
        logger.info("calibration gave an implausible scale; using the model's probabilities")
        return Calibration(pairs=int(informative.sum()))
    covariance = np.linalg.inv(information)
    covariance = (covariance + covariance.T) / 2
    return Calibration(parameters, covariance, True, int(informative.sum()))
