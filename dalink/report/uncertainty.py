"""Intervals for the headline counts that reflect linkage error.

Why not simply sample each scored pair by its match probability? Because a count's error is
mostly *systematic*, and the errors that matter are not where the probabilities say. On
synthetic partnerships the linker's model gets the *number* of its doubtful links roughly
right, but not *which* ones are wrong, and a false link (two people joined) and a true one
(two records of one person) affect a count very differently: two people from two areas
joined make moves that never happened, two fragments of one person rarely do. Sampling edges
by their stated probabilities cuts and joins the wrong pairs, chains unrelated people through
weak pairs and ignores the matches blocking never scored; a reference analysis found such
intervals covered the true count in none of its runs, and ``benchmarks/bench_report_coverage.py``
finds the same for victims, movers and moves.

Each replicate here re-draws the linkage:

1. **Atoms.** Records joined by near-certain links (probability at least
   ``certain_probability``) stay together. Every other scored pair belongs to a pair of atoms,
   inside one of the linker's entities (a doubtful link it made) or across two (a near miss
   it left apart). Atoms are joined with the *average* probability of their record pairs,
   the rule the linker's clustering uses: for atoms the linker left apart, over all their
   record pairs (an unscored pair counts as no match), so one doubtful pair cannot chain two
   people; for atoms it joined, over the pairs it scored.
2. **Evidence the linker did not use.** The local authority and the role travel in clear
   beside the encodings. Two records of one person are usually in one area and in one role,
   two people much less often, so each doubtful pair's log-odds gains the likelihood ratios
   of these fields agreeing or not (:mod:`dalink.report.evidence`). This is what points the
   re-drawn cuts at the false links.
3. **Doubtful links inside entities** are kept or cut with their probability; an entity
   splits only where no kept link holds it together.
4. **Near misses between entities.** The model overstates them (on synthetic data about
   five times as many matches as there are), so only ``placed_share`` of their expected
   matches is placed on the pairs, and pairs weaker than ``join_floor`` are not placed at
   all. The rest, and the matches the summary's blocking-recall estimate says were never
   scored, are **unseen joins**: a Poisson number of them, each changing a count by the
   average effect of a true join (measured by detaching strongly tied atoms from their
   entities).
5. **Model error.** Every pair's log-odds is distorted by one random shift and one random
   scale per replicate, ``logit p' = shift + scale · logit p``: an error in the estimated
   prior, and in how sharply the m/u probabilities separate matches from non-matches. Both
   move all pairs together, which is what makes linkage error systematic. Optionally
   (``calibrated_share``) some replicates first calibrate the probabilities on the event
   fields' agreement instead (:class:`dalink.report.evidence.Calibration`).

The estimate is the median of the replicate counts and the interval their central
``confidence`` range, widened if needed to include the count on the linker's own entities.
The constants were chosen on synthetic partnerships (seeds 1001-1040 and 2001-2012); the
coverage benchmark checks them on seeds 1-50 and 3001-3010, which were not used. On real
data the synthetic error model may not hold, which is what the model-error spreads are for.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from dalink.report import resampling
from dalink.report.linkage import Linkage
from dalink.report.measures import HEADLINE_KEYS, MeasureParameters, Measures, compute_measures

__all__ = ["Interval", "IntervalResult", "UncertaintyConfig", "linkage_intervals"]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class UncertaintyConfig(BaseModel):
    """How linkage-error intervals are simulated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    replicates: int = Field(200, ge=10, description="Resampled linkages; 200 give stable 95% limits.")
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="Nominal coverage of the intervals.")
    shift_sd: float = Field(
        1.0,
        ge=0.0,
        description="Standard deviation of the per-replicate shift of every pair's log-odds "
        "(error in the estimated prior).",
    )
    scale_sd: float = Field(
        0.3,
        ge=0.0,
        description="Standard deviation of the log of the per-replicate factor on every pair's "
        "log-odds (error in the m/u separation).",
    )
    blocking_loss: bool = Field(
        True, description="Add merges for matches the summary estimates blocking never scored."
    )
    certain_probability: float = Field(
        0.99998,
        gt=0.5,
        le=1.0,
        description="Links inside an entity at or above this probability are never re-drawn.",
    )
    placed_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Share of the expected matches between entities the linker left apart that "
        "are re-drawn on the pairs themselves; the rest are added as joins of average effect.",
    )
    calibrated_share: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of replicates drawn with probabilities calibrated on the agreement of "
        "the event fields (dalink.report.evidence); the others use the linker's own. Off by "
        "default: on synthetic data it removes the moves bias of large partnerships but joins "
        "too little in small ones.",
    )
    event_evidence: bool = Field(
        True,
        description="Weigh each doubtful pair by whether its local authorities and roles agree "
        "(fields the linker does not compare).",
    )
    join_floor: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Near misses between entities with a lower average probability are not "
        "re-drawn one by one (the model overstates them); their expected matches are added as "
        "joins of average effect.",
    )
    random_state: int = 0


@dataclasses.dataclass(frozen=True)
class Interval:
    """One headline count: the estimate, its interval, and the count on the linker's entities.

    The estimate is the median of the replicates: it allows for the linkage errors the
    replicates model, so it is closer to the truth than the count on one linkage (on
    synthetic partnerships the latter overcounts moves by 1-3%, because false links join
    people from different areas). The interval always contains both.
    """

    estimate: int
    lower: int
    upper: int
    linked: int


@dataclasses.dataclass(frozen=True)
class IntervalResult:
    """Intervals per headline count and the replicate counts behind them."""

    intervals: dict[str, Interval]
    replicates: pd.DataFrame
    """One row per replicate, one column per headline count."""
    config: UncertaintyConfig


def linkage_intervals(
    linkage: Linkage,
    parameters: MeasureParameters | None = None,
    config: UncertaintyConfig | None = None,
    *,
    observed: Measures | None = None,
    progress: Progress | None = None,
) -> IntervalResult:
    """Intervals for every headline count of ``linkage`` (see the module docstring)."""
    parameters = parameters or MeasureParameters()
    config = config or UncertaintyConfig()
    if observed is None:
        observed = compute_measures(linkage.entities, parameters)
    structure = resampling.prepare(linkage, config)
    generator = np.random.default_rng(config.random_state)
    events = resampling.replicate_events(linkage.entities)
    join_effect = resampling.join_effect(structure, events, parameters, observed.headline(), generator)
    rows = []
    for replicate in range(config.replicates):
        drawn = resampling.draw(structure, generator, config)
        events["entity_id"] = drawn.labels
        counts = compute_measures(events, parameters).headline()
        rows.append({key: counts[key] + drawn.unseen_joins * join_effect[key] for key in HEADLINE_KEYS})
        if progress is not None:
            progress(replicate + 1, config.replicates)
    replicates = pd.DataFrame(rows, columns=list(HEADLINE_KEYS))
    tail = (1.0 - config.confidence) / 2.0
    intervals = {}
    for key in HEADLINE_KEYS:
        linked = int(getattr(observed, key))
        values = replicates[key].to_numpy(dtype=float)
        estimate = int(np.floor(np.median(values) + 0.5))
        lower = int(np.floor(np.quantile(values, tail)))
        upper = int(np.ceil(np.quantile(values, 1.0 - tail)))
        intervals[key] = Interval(
            estimate=estimate, lower=min(lower, estimate, linked), upper=max(upper, estimate, linked), linked=linked
        )
    logger.info("linkage intervals from %d replicates", config.replicates)
    return IntervalResult(intervals=intervals, replicates=replicates, config=config)
