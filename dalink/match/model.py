"""The Fellegi–Sunter model, estimated without labels.

Each comparison has levels (see :mod:`dalink.match.compare`); each level has an ``m``
probability (how often a true match lands there) and a ``u`` probability (how often an
unrelated pair does). A pair's match weight is ``log2(prior odds) + Σ log2(m/u)`` over its
comparisons, the ``missing`` level contributing nothing; its match probability follows.

Estimation follows the estimator contract (``fit`` returns ``self``, learned state ends in
``_``) and Splink's method:

* ``u`` from uniformly random record pairs (almost all non-matches);
* ``m`` by EM in **training sessions**: each session takes the pairs that agree on one keyed
  blocking key and runs EM on the *other* comparisons only, with ``u`` fixed. Blocking on,
  say, surname and birth year makes the remaining fields (given name, postcode, ...)
  separate persons from namesakes. Textbook EM over all candidate pairs with all fields free
  instead tends to find "same area" or "same family" as its latent class when fields are
  correlated. Each comparison's ``m`` is the average over the sessions where it was free;
* ``u`` of family name *given that the postcode agrees*, by EM on same-postcode pairs
  (:mod:`dalink.match.correlation`): households share surnames, so the two agreements are
  not independent among non-matches;
* the prior (the probability that two random records match) by a fixed point on all
  candidate pairs with ``m`` and ``u`` held: expected matches among the candidates, divided
  by all pairs (pairs that blocking did not bring together are taken as non-matches);
* the match threshold maximises the F1 the model itself expects, so it moves with the
  hardening and the data, never a constant.

EM works on counts of distinct comparison patterns, never on pairs, so a fit costs the same
for ten thousand or a hundred million pairs.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dalink.errors import LinkageError
from dalink.match.compare import MISSING_LEVEL, NAME_FIELDS, ComparisonSpec
from dalink.match.correlation import correction, correlated_pairs, estimate_conditional_u
from dalink.match.model_parameters import (
    MODEL_FORMAT,
    MODEL_FORMAT_VERSION,
    ComparisonParameters,
    LevelParameters,
    ModelParameters,
    SessionTrace,
    load_model_parameters,
)
from dalink.match.patterns import (
    PATTERN_RADIX,
    PatternCounts,
    TrainingSession,
    count_patterns,
    decode_patterns,
    encode_patterns,
    merge_patterns,
)
from dalink.match.probability import expected_f1_threshold, initial_m, logistic, monotone_m, with_level

__all__ = [
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "PATTERN_RADIX",
    "ComparisonParameters",
    "FellegiSunter",
    "LevelParameters",
    "ModelParameters",
    "PatternCounts",
    "SessionTrace",
    "TrainingSession",
    "count_patterns",
    "decode_patterns",
    "encode_patterns",
    "load_model_parameters",
    "merge_patterns",
]

logger = logging.getLogger(__name__)


class FellegiSunter:
    """A Fellegi–Sunter model over multi-level comparisons (scikit-learn estimator contract).

    Parameters are set in ``__init__`` and never changed by fitting; learned state ends in
    ``_``: ``u_`` and ``m_`` (one array per comparison, index = level, the missing level
    held at 1), ``conditional_u_`` (u of correlated comparisons, see
    :mod:`dalink.match.correlation`), ``prior_`` (probability that two random records match),
    ``match_threshold_`` and ``sessions_`` (the EM trace).
    """

    def __init__(
        self,
        comparisons: Sequence[ComparisonSpec],
        *,
        max_iterations: int = 100,
        tolerance: float = 1e-6,
        smoothing: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.comparisons = list(comparisons)
        self.max_iterations = max_iterations
        self.tolerance = tolerance
        self.smoothing = smoothing
        self.random_state = random_state

    # --- fitting ---------------------------------------------------------------------------

    def fit(
        self,
        random_levels: np.ndarray,
        sessions: Sequence[TrainingSession],
        candidates: PatternCounts,
        total_pairs: int,
    ) -> FellegiSunter:
        """u from random pairs, m by EM sessions, prior and threshold from the candidates."""
        self.fit_u(random_levels)
        self.fit_m(sessions, fallback=candidates)
        self.conditional_u_ = []
        self.fit_prior(candidates, total_pairs)
        return self

    def fit_u(self, random_levels: np.ndarray) -> FellegiSunter:
        """u = level frequencies among random pairs (plus a pseudo-count so none is zero)."""
        self.u_ = []
        for index, spec in enumerate(self.comparisons):
            counts = np.bincount(random_levels[:, index], minlength=spec.level_count).astype(np.float64)
            counts[MISSING_LEVEL] = 0.0
            counts[1:] += self.smoothing
            u = counts / counts.sum()
            u[MISSING_LEVEL] = 1.0
            self.u_.append(u)
        return self

    def refine_u(self, comparison: int, level: int, hits: int, pairs: int) -> FellegiSunter:
        """Re-estimate one rare level's u from a larger random sample: ``hits`` among ``pairs``.

        A level seen a handful of times among the random pairs (swapped names: about one pair
        in 10⁵–10⁶) gets a u that is mostly sampling noise, and its weight log2(m/u) with it.
        The other levels keep their proportions.
        """
        self._require("u_")
        refined = (hits + self.smoothing) / (pairs + self.smoothing)
        self.u_[comparison] = with_level(self.u_[comparison], level, refined)
        return self

    def fit_m(self, sessions: Sequence[TrainingSession], *, fallback: PatternCounts | None = None) -> FellegiSunter:
        """m by EM, one session per blocking key; each comparison's m averaged where it was free.

        The "swapped names" level can only occur in a session that leaves both names free
        (pairs blocked on a name part never hold a swap), so its m comes from those sessions
        alone when there are any.
        """
        self._require("u_")
        collected: list[list[np.ndarray]] = [[] for _ in self.comparisons]
        names_free: list[list[np.ndarray]] = [[] for _ in self.comparisons]
        traces = []
        usable = [session for session in sessions if session.patterns.pairs > 0]
        for session in usable:
            active = [i for i, spec in enumerate(self.comparisons) if spec.field not in session.fixed_fields]
            if not active:
                continue
            m, trace = self._em(session.name, session.fixed_fields, session.patterns, active)
            traces.append(trace)
            for index in active:
                collected[index].append(m[index])
                if not set(NAME_FIELDS) & set(session.fixed_fields):
                    names_free[index].append(m[index])
        missing = [i for i, found in enumerate(collected) if not found]
        if missing and fallback is not None and fallback.pairs:
            logger.info("no training session frees %s; estimating them on all candidate pairs", self._names(missing))
            m, trace = self._em("all candidate pairs", (), fallback, list(range(len(self.comparisons))))
            traces.append(trace)
            for index in missing:
                collected[index].append(m[index])
        self.m_ = []
        for index, spec in enumerate(self.comparisons):
            if collected[index]:
                m = np.mean(collected[index], axis=0)
            else:
                logger.warning("no pairs to estimate m for %s; using a neutral start", spec.field)
                m = initial_m(spec)
            m = m.copy()
            if spec.swap_key and names_free[index]:
                swap_level = spec.labels.index("swapped names")
                m = with_level(m, swap_level, float(np.mean([free[swap_level] for free in names_free[index]])))
            m[MISSING_LEVEL] = 1.0
            self.m_.append(m)
        self.sessions_ = traces
        return self

    def fit_conditional_u(self, random_levels: np.ndarray | None, sessions: Sequence[TrainingSession]) -> FellegiSunter:
        """u of correlated comparisons among non-matches agreeing on the other field (after ``fit_m``).

        Optional (``fit`` does not call it; ``LinkConfig(correlated_comparisons=True)`` does):
        on synthetic data it removes household false links but costs more recall than it
        gains precision (see docs/linkage.md).

        The pair samples must not have been selected on the correlated field: the random
        pairs, and the sessions whose blocking key leaves that field free.
        """
        self._require("u_", "m_")
        self.conditional_u_ = []
        random_counts = count_patterns(random_levels) if random_levels is not None and len(random_levels) else None
        for field, given, excluded in correlated_pairs(self.comparisons):
            sources = [] if random_counts is None else [(random_counts.patterns, random_counts.counts)]
            for session in sessions:
                if not set(excluded) & set(session.fixed_fields) and session.patterns.pairs:
                    sources.append((session.patterns.patterns, session.patterns.counts))
            self.conditional_u_.append(estimate_conditional_u(sources, self.m_, self.u_, field, given, self.comparisons))
        return self

    def fit_m_from_labels(self, levels: np.ndarray, is_match: np.ndarray) -> FellegiSunter:
        """m from labelled pairs: level frequencies among the pairs known to match."""
        matches = levels[np.asarray(is_match, dtype=bool)]
        if len(matches) == 0:
            raise LinkageError("no labelled matches to estimate m from")
        self.m_ = []
        for index, spec in enumerate(self.comparisons):
            counts = np.bincount(matches[:, index], minlength=spec.level_count).astype(np.float64)
            counts[MISSING_LEVEL] = 0.0
            counts[1:] += self.smoothing * 0.01
            m = counts / counts.sum()
            m[MISSING_LEVEL] = 1.0
            self.m_.append(m)
        self.sessions_ = []
        return self

    def fit_prior(self, candidates: PatternCounts, total_pairs: int) -> FellegiSunter:
        """Prior by a fixed point: expected matches among candidates / all pairs; then the threshold."""
        self._require("u_", "m_")
        total_pairs = max(int(total_pairs), 1)
        bayes = self._log_bayes_factor(candidates.patterns)
        counts = candidates.counts.astype(np.float64)
        prior = min(max(candidates.pairs, 1) / total_pairs * 0.1, 0.5)
        for _ in range(500):
            posterior = logistic(np.log(prior / (1 - prior)) + bayes)
            updated = min(max(float((counts * posterior).sum()) / total_pairs, 1e-15), 0.5)
            if abs(updated - prior) <= 1e-9 * prior:
                prior = updated
                break
            prior = updated
        self.prior_ = prior
        self.match_threshold_ = self._expected_f1_threshold(candidates)
        return self

    def _expected_f1_threshold(self, candidates: PatternCounts) -> float:
        """The probability cut that maximises the model's own expected F1 on the candidates."""
        return expected_f1_threshold(self.match_probability(candidates.patterns), candidates.counts)

    def _em(
        self, name: str, fixed_fields: tuple[str, ...], patterns: PatternCounts, active: list[int]
    ) -> tuple[list[np.ndarray], SessionTrace]:
        """EM for m and the session's share of matches, with u held and only ``active`` free."""
        prior_m = [initial_m(spec) for spec in self.comparisons]
        m = [start.copy() for start in prior_m]
        share = 0.3
        counts = patterns.counts.astype(np.float64)
        log_u = [np.log(self.u_[index]) for index in range(len(self.comparisons))]
        likelihoods: list[float] = []
        converged = False
        iteration = 0
        for iteration in range(1, self.max_iterations + 1):
            log_m_total = np.zeros(len(counts))
            log_u_total = np.zeros(len(counts))
            for index in active:
                column = patterns.patterns[:, index]
                present = column != MISSING_LEVEL
                log_m_total[present] += np.log(m[index][column[present]])
                log_u_total[present] += log_u[index][column[present]]
            joint_match = np.log(share) + log_m_total
            joint_other = np.log1p(-share) + log_u_total
            likelihoods.append(float((counts * np.logaddexp(joint_match, joint_other)).sum()))
            posterior = logistic(joint_match - joint_other)
            weights = counts * posterior
            share = float(min(max(weights.sum() / counts.sum(), 1e-6), 1 - 1e-6))
            change = 0.0
            for index in active:
                spec = self.comparisons[index]
                column = patterns.patterns[:, index]
                totals = np.bincount(column, weights=weights, minlength=spec.level_count)
                totals[MISSING_LEVEL] = 0.0
                # ``smoothing`` pseudo-pairs of prior matches, spread as the starting point is: they
                # keep a level no match reached from an extreme weight when matches are few
                totals[1:] += self.smoothing * prior_m[index][1:]
                updated = monotone_m(totals, self.u_[index], spec.ordered_levels)
                updated[MISSING_LEVEL] = 1.0
                change = max(change, float(np.abs(updated - m[index]).max()))
                m[index] = updated
            if change < self.tolerance:
                converged = True
                break
        trace = SessionTrace(
            name=name,
            fixed_fields=tuple(fixed_fields),
            pairs=patterns.pairs,
            iterations=iteration,
            converged=converged,
            share_matching=share,
            log_likelihood=tuple(round(value, 3) for value in likelihoods[:: max(1, len(likelihoods) // 20)]),
        )
        logger.info(
            "EM session %s: %d pairs, %d iterations, share matching %.4f%s",
            name,
            patterns.pairs,
            iteration,
            share,
            "" if converged else " (not converged)",
        )
        return m, trace

    # --- scoring ---------------------------------------------------------------------------

    def _log_bayes_factor(self, levels: np.ndarray) -> np.ndarray:
        """Natural-log Bayes factor Σ log(m/u) per pair (missing levels add nothing)."""
        total = np.zeros(len(levels))
        for index in range(len(self.comparisons)):
            ratio = np.log(self.m_[index]) - np.log(self.u_[index])
            ratio[MISSING_LEVEL] = 0.0
            total += ratio[levels[:, index]]
        conditionals = getattr(self, "conditional_u_", ())
        if conditionals:
            columns = {spec.field: index for index, spec in enumerate(self.comparisons)}
            total += correction(levels, conditionals, self.u_, columns)
        return total

    def match_weight(self, levels: np.ndarray) -> np.ndarray:
        """log2 posterior odds: log2 prior odds + Σ log2(m/u)."""
        self._require("u_", "m_", "prior_")
        return (np.log(self.prior_ / (1 - self.prior_)) + self._log_bayes_factor(levels)) / np.log(2)

    def match_probability(self, levels: np.ndarray) -> np.ndarray:
        """P(match | comparison levels)."""
        return logistic(self.match_weight(levels) * np.log(2))

    # --- persistence -----------------------------------------------------------------------

    def to_parameters(self, schema_hash: str) -> ModelParameters:
        self._require("u_", "m_", "prior_", "match_threshold_")
        comparisons = []
        for index, spec in enumerate(self.comparisons):
            levels = []
            for level, label in enumerate(spec.labels):
                if level == MISSING_LEVEL:
                    levels.append(LevelParameters(label=label, m=None, u=None, match_weight=None))
                    continue
                m, u = float(self.m_[index][level]), float(self.u_[index][level])
                levels.append(LevelParameters(label=label, m=m, u=u, match_weight=float(np.log2(m / u))))
            comparisons.append(ComparisonParameters(spec=spec, levels=tuple(levels)))
        return ModelParameters(
            schema_hash=schema_hash,
            comparisons=tuple(comparisons),
            probability_two_random_records_match=self.prior_,
            match_threshold=self.match_threshold_,
            term_frequency_key=getattr(self, "term_frequency_key_", None),
            sessions=tuple(getattr(self, "sessions_", [])),
            conditional_u=tuple(getattr(self, "conditional_u_", ())),
        )

    @classmethod
    def from_parameters(cls, parameters: ModelParameters) -> FellegiSunter:
        model = cls([comparison.spec for comparison in parameters.comparisons])
        model.m_ = [np.array([1.0 if lv.m is None else lv.m for lv in c.levels]) for c in parameters.comparisons]
        model.u_ = [np.array([1.0 if lv.u is None else lv.u for lv in c.levels]) for c in parameters.comparisons]
        model.prior_ = parameters.probability_two_random_records_match
        model.match_threshold_ = parameters.match_threshold
        model.term_frequency_key_ = parameters.term_frequency_key
        model.sessions_ = list(parameters.sessions)
        model.conditional_u_ = list(parameters.conditional_u)
        model.schema_hash_ = parameters.schema_hash
        return model

    def save(self, path: str | os.PathLike[str], *, schema_hash: str) -> None:
        parameters = self.to_parameters(schema_hash)
        Path(path).write_text(
            json.dumps(parameters.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FellegiSunter:
        """A fitted model from ``model.json`` (``schema_hash_`` says which encodings it scores)."""
        return cls.from_parameters(load_model_parameters(path))

    def _require(self, *attributes: str) -> None:
        missing = [name for name in attributes if not hasattr(self, name)]
        if missing:
            raise LinkageError(f"the model is not fitted yet ({', '.join(missing)} missing); call fit first")

    def _names(self, indices: Sequence[int]) -> str:
        return ", ".join(self.comparisons[index].field for index in indices)
