"""The simulated world: people, abusive relationships, and the events agencies record.

Everything here is *true*: who each person is, where they live, and which agency saw them
when. How each agency's record misrepresents that truth is :mod:`dalink.synth.errors`.

The simulation is vectorised: people are arrays, and episodes are generated in rounds (round
*k* holds every victim's *k*-th episode), so a million records take seconds, not minutes.
An episode is what the measures call one: an opening event (a police incident three times in
four) and the referrals that follow within four weeks — IDVA, MARAC for high risk (sometimes
twice, from two referrers), refuge (usually in another local authority, sometimes followed by
re-housing there), homelessness, children's services.
"""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np

from dalink.synth.names import Area
from dalink.synth.parameters import (
    AGENCIES,
    CHILDRENS_SERVICES,
    CHILDRENS_SERVICES_BY_RISK,
    EVENT_TYPES,
    HIGH,
    HOUSING,
    HOUSING_AFTER_REHOUSING,
    HOUSING_BY_RISK,
    IDVA,
    IDVA_BY_RISK,
    LAST_FOLLOW_UP_DAY,
    MARAC,
    MEDIUM,
    OTHER_OPENERS,
    PERPETRATOR,
    POLICE,
    REFERRERS,
    REFUGE,
    RISK_LEVELS,
    ROLES,
    SECOND_POLICE_INCIDENT,
    STANDARD,
    REFERRER_CODES,
    VICTIM,
    WorldParameters,
)
from dalink.synth.places import LocalAuthorityTable
from dalink.synth.population import People, make_people

__all__ = [
    "AGENCIES",
    "EVENT_TYPES",
    "HOUSING",
    "POLICE",
    "REFERRERS",
    "REFUGE",
    "RISK_LEVELS",
    "ROLES",
    "VICTIM",
    "Events",
    "World",
    "WorldParameters",
    "simulate_world",
]


@dataclasses.dataclass
class Events:
    """True events, one element per agency record."""

    person: np.ndarray
    agency: np.ndarray
    day: np.ndarray  # days since the period start
    authority: np.ndarray
    role: np.ndarray
    risk: np.ndarray
    referrer: np.ndarray
    postcode: np.ndarray  # residence postcode at the time ("" for refuge)
    previous_postcode: np.ndarray  # the residence before the last move ("" if none)

    def __len__(self) -> int:
        return len(self.person)

    def take(self, order: np.ndarray) -> Events:
        """The events in another order (every array indexed by ``order``)."""
        return Events(
            **{field.name: getattr(self, field.name)[order] for field in dataclasses.fields(self)}
        )


@dataclasses.dataclass
class World:
    authorities: LocalAuthorityTable
    start_date: datetime.date
    days: int
    people: People
    events: Events


class _EventCollector:
    """Gathers event arrays round by round and concatenates them once."""

    fields = tuple(field.name for field in dataclasses.fields(Events))

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in self.fields}

    def add(self, **columns: np.ndarray) -> None:
        size = len(columns["person"])
        for name in self.fields:
            value = columns[name]
            self.parts[name].append(np.broadcast_to(value, (size,)) if np.ndim(value) == 0 else value)

    def events(self) -> Events:
        arrays = {}
        for name in self.fields:
            parts = self.parts[name]
            if name in ("postcode", "previous_postcode"):
                arrays[name] = (
                    np.concatenate([part.astype(object) for part in parts])
                    if parts
                    else np.empty(0, dtype=object)
                )
            else:
                arrays[name] = (
                    np.concatenate([part.astype(np.int64) for part in parts])
                    if parts
                    else np.empty(0, dtype=np.int64)
                )
        return Events(**arrays)


def _offsets(generator: np.random.Generator, size: int, low: int, high: int) -> np.ndarray:
    """Follow-up day offsets in [low, high], never past the episode window."""
    return np.minimum(generator.integers(low, high + 1, size), LAST_FOLLOW_UP_DAY)


def _choose(generator: np.random.Generator, options: dict[int, float], size: int) -> np.ndarray:
    codes = np.array(list(options), dtype=np.int64)
    weights = np.array(list(options.values()), dtype=np.float64)
    return codes[generator.choice(len(codes), size=size, p=weights / weights.sum())]


def _simulate_round(
    victim: np.ndarray,
    start: np.ndarray,
    first_round: bool,
    people: People,
    authorities: LocalAuthorityTable,
    state: dict[str, np.ndarray],
    days: int,
    parameters: WorldParameters,
    generator: np.random.Generator,
    collector: _EventCollector,
) -> None:
    """One episode for each victim in ``victim``, starting on ``start``."""
    size = len(victim)
    if not first_round:
        moved = generator.random(size) < parameters.house_move_between_episodes
        movers = victim[moved]
        stays_local = generator.random(len(movers)) < 0.5
        new_authority = np.where(
            stays_local,
            state["authority"][movers],
            authorities.draw(len(movers), generator, neighbour_share=0.2),
        )
        state["previous_postcode"][movers] = state["postcode"][movers]
        state["authority"][movers] = new_authority
        state["postcode"][movers] = authorities.postcodes(new_authority, generator)

    authority = state["authority"][victim].copy()
    postcode = state["postcode"][victim].copy()
    previous_postcode = state["previous_postcode"][victim].copy()

    high_share = parameters.high_risk_share * (1.0 if first_round else 1.4)
    draw = generator.random(size)
    risk = np.where(
        draw < high_share, HIGH, np.where(draw < high_share + parameters.medium_risk_share, MEDIUM, STANDARD)
    )
    risk_index = risk - 1
    children = people.has_children[victim]
    opener = np.where(
        generator.random(size) < parameters.police_share,
        POLICE,
        _choose(generator, OTHER_OPENERS, size),
    )
    opener = np.where((opener == CHILDRENS_SERVICES) & ~children, IDVA, opener)

    # Refuge first: later events of the episode may happen at the new address.
    has_refuge = (opener == REFUGE) | (
        generator.random(size)
        < np.where(risk == HIGH, parameters.refuge_high_risk, parameters.refuge_other_risk)
    )
    refuge_day = np.where(opener == REFUGE, 0, _offsets(generator, size, 1, 20))
    out_of_area = generator.random(size) < parameters.refuge_out_of_area
    other_authority = authorities.draw_other_partnership(authority, generator)
    home_inside = authorities.in_partnership[authority]
    refuge_authority = np.where(
        out_of_area | ~home_inside, other_authority, authority
    )
    rehoused = has_refuge & (generator.random(size) < parameters.rehoused_in_refuge_area)
    new_postcode = authorities.postcodes(refuge_authority, generator)

    def place(offset: np.ndarray, keep: np.ndarray) -> dict[str, np.ndarray]:
        """Where the victim lives on the day of each kept event (re-housed after a refuge)."""
        after = (rehoused & (offset > refuge_day))[keep]
        return {
            "authority": np.where(after, refuge_authority[keep], authority[keep]),
            "postcode": np.where(after, new_postcode[keep], postcode[keep]),
            "previous_postcode": np.where(after, postcode[keep], previous_postcode[keep]),
        }

    def emit(
        mask: np.ndarray, agency: int, offset: np.ndarray, referrer: np.ndarray | int,
        risk_level: np.ndarray | int,
    ) -> None:
        day = start + offset
        keep = mask & (day < days)
        kept = int(keep.sum())
        if not kept:
            return
        where = place(offset, keep)
        collector.add(
            person=victim[keep],
            agency=np.full(kept, agency),
            day=day[keep],
            authority=where["authority"],
            role=np.full(kept, VICTIM),
            risk=np.broadcast_to(risk_level, (size,))[keep],
            referrer=np.broadcast_to(referrer, (size,))[keep],
            postcode=where["postcode"],
            previous_postcode=where["previous_postcode"],
        )

    zero = np.zeros(size, dtype=np.int64)
    # Police incidents, with a perpetrator row when the perpetrator is identified.
    police = opener == POLICE
    second = police & (generator.random(size) < SECOND_POLICE_INCIDENT)
    second_day = _offsets(generator, size, 1, LAST_FOLLOW_UP_DAY)
    for mask, offset in ((police, zero), (second, second_day)):
        emit(mask, POLICE, offset, 0, risk)
        named = mask & (generator.random(size) < parameters.perpetrator_recorded) & (
            start + offset < days
        )
        if named.any():
            abuser = people.perpetrator[victim[named]]
            collector.add(
                person=abuser,
                agency=np.full(len(abuser), POLICE),
                day=(start + offset)[named],
                authority=place(offset, named)["authority"],
                role=np.full(len(abuser), PERPETRATOR),
                risk=risk[named],
                referrer=np.zeros(len(abuser), dtype=np.int64),
                postcode=people.home_postcode[abuser],
                previous_postcode=np.full(len(abuser), "", dtype=object),
            )

    # IDVA referral (most high-risk cases), referred by police after an incident.
    idva = (opener == IDVA) | (generator.random(size) < np.take(IDVA_BY_RISK, risk_index))
    idva_day = np.where(opener == IDVA, 0, _offsets(generator, size, 1, 20))
    idva_referrer = np.where(
        police & (generator.random(size) < 0.7),
        REFERRER_CODES["police"],
        _choose(generator, {REFERRER_CODES["self"]: 0.4, REFERRER_CODES["health"]: 0.3,
                            REFERRER_CODES["housing"]: 0.15, REFERRER_CODES["childrens_services"]: 0.15}, size),
    )
    emit(idva, IDVA, idva_day, idva_referrer, risk)

    # MARAC: high risk only; sometimes a second referral from another agency within days.
    marac = (risk == HIGH) & (generator.random(size) < parameters.marac_referral)
    marac_day = _offsets(generator, size, 3, 20)
    marac_referrer = np.where(
        police & (generator.random(size) < 0.7),
        REFERRER_CODES["police"],
        _choose(generator, {REFERRER_CODES["idva"]: 0.45, REFERRER_CODES["health"]: 0.2,
                            REFERRER_CODES["housing"]: 0.15, REFERRER_CODES["childrens_services"]: 0.2}, size),
    )
    emit(marac, MARAC, marac_day, marac_referrer, HIGH)
    duplicate = marac & (generator.random(size) < parameters.marac_second_referral)
    candidates = np.array(
        [REFERRER_CODES[name] for name in ("police", "idva", "health", "housing", "childrens_services")]
    )
    second_referrer = candidates[generator.integers(0, len(candidates), size)]
    clash = second_referrer == marac_referrer
    second_referrer[clash] = candidates[
        (np.searchsorted(candidates, second_referrer[clash]) + 1) % len(candidates)
    ]
    emit(duplicate, MARAC, np.minimum(marac_day + generator.integers(0, 8, size), LAST_FOLLOW_UP_DAY),
         second_referrer, HIGH)

    # Refuge referral: location is the refuge's authority; no postcode is ever recorded.
    refuge_day_absolute = start + refuge_day
    keep = has_refuge & (refuge_day_absolute < days)
    if keep.any():
        refuge_referrer = _choose(
            generator, {REFERRER_CODES["self"]: 0.3, REFERRER_CODES["police"]: 0.25,
                        REFERRER_CODES["idva"]: 0.3, REFERRER_CODES["housing"]: 0.15}, size,
        )
        collector.add(
            person=victim[keep],
            agency=np.full(int(keep.sum()), REFUGE),
            day=refuge_day_absolute[keep],
            authority=refuge_authority[keep],
            role=np.full(int(keep.sum()), VICTIM),
            risk=risk[keep],
            referrer=refuge_referrer[keep],
            postcode=np.full(int(keep.sum()), "", dtype=object),
            previous_postcode=postcode[keep],
        )

    # Homelessness presentation: on its own, or after a refuge stay ended in re-housing.
    after_refuge = rehoused & (generator.random(size) < HOUSING_AFTER_REHOUSING)
    housing = (opener == HOUSING) | after_refuge | (
        generator.random(size) < np.take(HOUSING_BY_RISK, risk_index)
    )
    housing_day = np.where(
        opener == HOUSING,
        0,
        np.where(
            after_refuge,
            np.minimum(refuge_day + generator.integers(1, 8, size), LAST_FOLLOW_UP_DAY),
            _offsets(generator, size, 1, LAST_FOLLOW_UP_DAY),
        ),
    )
    emit(housing, HOUSING, housing_day, 0, 0)

    # Children's services: a child protection referral naming the parent as victim.
    childrens = children & (
        (opener == CHILDRENS_SERVICES)
        | (generator.random(size) < np.take(CHILDRENS_SERVICES_BY_RISK, risk_index))
    )
    childrens_day = np.where(
        opener == CHILDRENS_SERVICES, 0, _offsets(generator, size, 1, LAST_FOLLOW_UP_DAY)
    )
    childrens_referrer = np.where(
        police, REFERRER_CODES["police"],
        _choose(generator, {REFERRER_CODES["school"]: 0.5, REFERRER_CODES["health"]: 0.5}, size),
    )
    emit(childrens, CHILDRENS_SERVICES, childrens_day, childrens_referrer, 0)

    # Victims re-housed by the refuge live in its authority from now on.
    movers = victim[rehoused]
    state["previous_postcode"][movers] = postcode[rehoused]
    state["authority"][movers] = refuge_authority[rehoused]
    state["postcode"][movers] = new_postcode[rehoused]


def simulate_world(
    people: int,
    *,
    area: Area,
    start_date: datetime.date,
    years: int,
    parameters: WorldParameters,
    generator: np.random.Generator,
) -> World:
    """Simulate ``people`` people over ``years`` years from ``start_date`` in ``area``."""
    authorities = LocalAuthorityTable.from_area(area)
    days = int(round(365.25 * years))
    start_day = int(np.datetime64(start_date, "D").astype(np.int64))
    population = make_people(people, area, authorities, start_day, parameters, generator)
    victims = np.flatnonzero(population.kind == VICTIM)
    state = {
        "authority": population.home_authority.copy(),
        "postcode": population.home_postcode.copy(),
        "previous_postcode": np.full(len(population), "", dtype=object),
    }
    collector = _EventCollector()
    current = generator.integers(0, days, len(victims))
    active = victims
    first_round = True
    while active.size:
        _simulate_round(
            active, current, first_round, population, authorities, state, days, parameters,
            generator, collector,
        )
        first_round = False
        again = generator.random(active.size) < parameters.repeat_probability
        active = active[again]
        current = current[again]
        long_gap = generator.random(active.size) < parameters.long_gap_share
        gap = np.where(
            long_gap,
            366 + generator.exponential(200.0, active.size),
            LAST_FOLLOW_UP_DAY + 2 + generator.exponential(85.0, active.size),
        ).astype(np.int64)
        current = current + gap
        inside = current < days
        active = active[inside]
        current = current[inside]
    return World(
        authorities=authorities,
        start_date=start_date,
        days=days,
        people=population,
        events=collector.events(),
    )
