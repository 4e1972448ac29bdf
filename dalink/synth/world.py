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
from pydantic import BaseModel, ConfigDict, Field

from dalink.synth.names import GROUPS, SEXES, Area, family_name_pools, given_name_pools

AGENCIES = ("police", "marac", "refuge", "housing", "childrens_services", "idva")
EVENT_TYPES = {
    "police": "incident",
    "marac": "marac_referral",
    "refuge": "refuge_referral",
    "housing": "homelessness_presentation",
    "childrens_services": "child_protection_referral",
    "idva": "idva_referral",
}
ROLES = ("victim", "perpetrator")
RISK_LEVELS = ("", "standard", "medium", "high")
REFERRERS = ("", "police", "idva", "health", "housing", "childrens_services", "marac", "self", "school")

POLICE, MARAC, REFUGE, HOUSING, CHILDRENS_SERVICES, IDVA = range(len(AGENCIES))
VICTIM, PERPETRATOR = 0, 1
STANDARD, MEDIUM, HIGH = 1, 2, 3
_REFERRER = {name: code for code, name in enumerate(REFERRERS)}

#: Follow-up events stay inside the 28-day episode window, so designed episodes and measured
#: episodes coincide and the repeat rate is controlled by ``repeat_probability``.
LAST_FOLLOW_UP_DAY = 27
#: Chance of each follow-up referral by risk level (standard, medium, high).
IDVA_BY_RISK = (0.25, 0.45, 0.80)
HOUSING_BY_RISK = (0.08, 0.12, 0.18)
CHILDRENS_SERVICES_BY_RISK = (0.20, 0.35, 0.50)
HOUSING_AFTER_REHOUSING = 0.5
SECOND_POLICE_INCIDENT = 0.15
#: Opening agency of an episode that does not start with the police.
OTHER_OPENERS = {IDVA: 0.40, HOUSING: 0.25, CHILDRENS_SERVICES: 0.20, REFUGE: 0.15}
POSTCODE_UNIT_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)


class WorldParameters(BaseModel):
    """What happens in the simulated partnership (not how agencies record it).

    Defaults follow published seed facts: SafeLives reports a national MARAC repeat rate of
    about 31% within 12 months; most DA victims known to services are women; about three in
    four cases reach services through the police; refuges place most residents away from
    their home area for safety.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    victim_share: float = Field(0.55, ge=0.5, lt=1, description="Share of people who are victims (the rest perpetrators; some perpetrators abuse two victims, so at least half are victims).")
    victim_female_share: float = Field(0.80, ge=0, le=1, description="Share of victims who are women.")
    repeat_probability: float = Field(0.40, ge=0, lt=1, description="Chance that another episode follows an episode (before the gap is drawn).")
    long_gap_share: float = Field(0.15, ge=0, le=1, description="Share of follow-up episodes that come after a long gap (over a year), so are no repeat.")
    medium_risk_share: float = Field(0.27, ge=0, le=1, description="Share of episodes assessed medium risk (DASH).")
    high_risk_share: float = Field(0.18, ge=0, le=1, description="Share of episodes assessed high risk; these go to MARAC.")
    police_share: float = Field(0.75, ge=0, le=1, description="Share of episodes that open with a police incident.")
    perpetrator_recorded: float = Field(0.90, ge=0, le=1, description="Share of police incidents with a perpetrator row.")
    marac_referral: float = Field(0.90, ge=0, le=1, description="Share of high-risk episodes referred to MARAC.")
    marac_second_referral: float = Field(0.12, ge=0, le=1, description="Share of MARAC referrals followed within days by a second one from another referrer.")
    refuge_high_risk: float = Field(0.20, ge=0, le=1, description="Chance of a refuge referral in a high-risk episode.")
    refuge_other_risk: float = Field(0.04, ge=0, le=1, description="Chance of a refuge referral in a standard or medium-risk episode.")
    refuge_out_of_area: float = Field(0.85, ge=0, le=1, description="Share of refuge referrals to a refuge in another local authority.")
    rehoused_in_refuge_area: float = Field(0.40, ge=0, le=1, description="Share of refuge residents re-housed in the refuge's local authority.")
    neighbour_resident_share: float = Field(0.04, ge=0, le=1, description="Share of people living just outside the partnership area.")
    house_move_between_episodes: float = Field(0.05, ge=0, le=1, description="Chance that a victim moved house before a later episode.")
    has_children_share: float = Field(0.50, ge=0, le=1, description="Share of victims with children at home.")
    shared_surname_share: float = Field(0.35, ge=0, le=1, description="Share of women abused by a male partner who carry his surname.")
    double_barrelled_share: float = Field(0.03, ge=0, le=1, description="Share of people with British names who have a double-barrelled surname.")


@dataclasses.dataclass(frozen=True)
class LocalAuthorityTable:
    """Partnership authorities first, then neighbours, with their postcode districts flattened."""

    codes: np.ndarray
    names: np.ndarray
    population: np.ndarray
    in_partnership: np.ndarray
    district_start: np.ndarray
    district_count: np.ndarray
    districts: np.ndarray

    @classmethod
    def from_area(cls, area: Area) -> LocalAuthorityTable:
        authorities = list(area.local_authorities)
        partnership_codes = {authority.code for authority in authorities}
        authorities += [item for item in area.neighbours if item.code not in partnership_codes]
        starts, counts, districts = [], [], []
        for authority in authorities:
            starts.append(len(districts))
            counts.append(len(authority.postcode_districts))
            districts.extend(authority.postcode_districts)
        return cls(
            codes=np.array([item.code for item in authorities], dtype=object),
            names=np.array([item.name for item in authorities], dtype=object),
            population=np.array([item.population for item in authorities], dtype=np.float64),
            in_partnership=np.array([item.code in partnership_codes for item in authorities]),
            district_start=np.array(starts, dtype=np.int64),
            district_count=np.array(counts, dtype=np.int64),
            districts=np.array(districts, dtype=object),
        )

    @property
    def partnership_indices(self) -> np.ndarray:
        return np.flatnonzero(self.in_partnership)

    def postcodes(self, authority: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """Random full postcodes ("SG1 4QT") inside each given local authority."""
        size = len(authority)
        pick = self.district_start[authority] + (
            generator.random(size) * self.district_count[authority]
        ).astype(np.int64)
        sector = generator.integers(1, 10, size).astype(str).astype(object)
        first = POSTCODE_UNIT_LETTERS[generator.integers(0, 20, size)]
        second = POSTCODE_UNIT_LETTERS[generator.integers(0, 20, size)]
        return self.districts[pick] + " " + sector + first + second

    def draw(
        self, size: int, generator: np.random.Generator, *, partnership_only: bool = False,
        neighbour_share: float = 0.0,
    ) -> np.ndarray:
        """Local authorities drawn by population (neighbours with ``neighbour_share``)."""
        inside = self.partnership_indices
        outside = np.flatnonzero(~self.in_partnership)
        chosen = inside[
            generator.choice(len(inside), size=size, p=self._weights(inside))
        ]
        if not partnership_only and neighbour_share > 0 and len(outside):
            moved_out = generator.random(size) < neighbour_share
            chosen[moved_out] = outside[
                generator.choice(len(outside), size=int(moved_out.sum()), p=self._weights(outside))
            ]
        return chosen

    def draw_other_partnership(
        self, current: np.ndarray, generator: np.random.Generator
    ) -> np.ndarray:
        """A partnership authority other than ``current``, drawn by population."""
        inside = self.partnership_indices
        chosen = self.draw(len(current), generator, partnership_only=True)
        for _ in range(4):
            same = chosen == current
            if not same.any():
                break
            chosen[same] = self.draw(int(same.sum()), generator, partnership_only=True)
        same = chosen == current
        if same.any() and len(inside) > 1:
            position = np.searchsorted(inside, chosen[same])
            chosen[same] = inside[(position + 1) % len(inside)]
        return chosen

    def _weights(self, indices: np.ndarray) -> np.ndarray:
        weights = self.population[indices]
        return weights / weights.sum()


@dataclasses.dataclass
class People:
    """True identities: one element per person in every array."""

    kind: np.ndarray  # VICTIM or PERPETRATOR
    sex: np.ndarray  # 0 = female, 1 = male
    group: np.ndarray  # index into names.GROUPS
    given_name: np.ndarray
    middle_name: np.ndarray  # "" when none
    family_name: np.ndarray  # current surname (a partner's, for some victims)
    birth_family_name: np.ndarray
    date_of_birth: np.ndarray  # days since 1970-01-01
    home_authority: np.ndarray
    home_postcode: np.ndarray
    has_children: np.ndarray
    perpetrator: np.ndarray  # for victims: the person index of their abuser; -1 otherwise

    def __len__(self) -> int:
        return len(self.kind)


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


def _sample_names(
    pools: dict, group: np.ndarray, sex: np.ndarray, generator: np.random.Generator
) -> np.ndarray:
    result = np.empty(len(group), dtype=object)
    for group_code, group_name in enumerate(GROUPS):
        for sex_code, sex_name in enumerate(SEXES):
            members = np.flatnonzero((group == group_code) & (sex == sex_code))
            result[members] = pools[(group_name, sex_name)].sample(generator, len(members))
    return result


def _make_people(
    count: int,
    area: Area,
    authorities: LocalAuthorityTable,
    start_day: int,
    parameters: WorldParameters,
    generator: np.random.Generator,
) -> People:
    victims = max(1, min(count - 1, round(count * parameters.victim_share)))
    perpetrators = count - victims
    kind = np.concatenate([np.zeros(victims, np.int64), np.ones(perpetrators, np.int64)])

    # Each perpetrator abuses at least one victim; the remaining victims get a random one.
    abuser = np.concatenate(
        [np.arange(perpetrators), generator.integers(0, perpetrators, victims - perpetrators)]
    ) if victims >= perpetrators else generator.permutation(perpetrators)[:victims]
    abuser = generator.permutation(abuser) + victims
    perpetrator = np.full(count, -1, dtype=np.int64)
    perpetrator[:victims] = abuser

    sex = np.empty(count, dtype=np.int64)
    sex[:victims] = (generator.random(victims) >= parameters.victim_female_share).astype(np.int64)
    # A perpetrator takes the opposite sex of (one of) their victims, mostly.
    first_victim = np.full(count, -1, dtype=np.int64)
    first_victim[abuser[::-1]] = np.arange(victims)[::-1]
    partner = first_victim[victims:]
    opposite = generator.random(perpetrators) < 0.93
    sex[victims:] = np.where(opposite, 1 - sex[partner], sex[partner])

    shares = np.array([area.group_shares[group] for group in GROUPS])
    group = generator.choice(len(GROUPS), size=count, p=shares / shares.sum())
    same_group = generator.random(perpetrators) < 0.85
    group[victims:] = np.where(same_group, group[partner], group[victims:])

    age_years = np.empty(count, dtype=np.float64)
    age_years[:victims] = 16 + generator.gamma(2.2, 8.5, victims)
    age_years[victims:] = age_years[partner] + generator.normal(2.5, 5.0, perpetrators)
    age_years = np.clip(age_years, 16, 90)
    date_of_birth = (start_day - age_years * 365.25 - generator.integers(0, 365, count)).astype(
        np.int64
    )

    given_pools = given_name_pools()
    given_name = _sample_names(given_pools, group, sex, generator)
    middle_name = _sample_names(given_pools, group, sex, generator)
    middle_share = np.where(group == GROUPS.index("british"), 0.55, 0.25)
    has_middle = (generator.random(count) < middle_share) & (middle_name != given_name)
    middle_name = np.where(has_middle, middle_name, "").astype(object)

    family_pools = family_name_pools()
    birth_family_name = _sample_names(family_pools, group, sex, generator)
    # Double-barrelled surnames are a British naming custom.
    double = (generator.random(count) < parameters.double_barrelled_share) & (
        group == GROUPS.index("british")
    )
    second_part = _sample_names(family_pools, group, sex, generator)
    double &= second_part != birth_family_name
    birth_family_name[double] = birth_family_name[double] + "-" + second_part[double]
    family_name = birth_family_name.copy()
    victim_index = np.arange(victims)
    takes_surname = (
        (sex[:victims] == 0)
        & (sex[abuser] == 1)
        & (group[:victims] == group[abuser])
        & (generator.random(victims) < parameters.shared_surname_share)
    )
    family_name[victim_index[takes_surname]] = birth_family_name[abuser[takes_surname]]

    home_authority = authorities.draw(
        count, generator, neighbour_share=parameters.neighbour_resident_share
    )
    home_postcode = authorities.postcodes(home_authority, generator)
    # Most perpetrators live with (one of) their victims; others nearby.
    cohabiting = generator.random(perpetrators) < 0.6
    nearby = generator.random(perpetrators) < 0.7
    perpetrator_rows = np.arange(victims, count)
    home_authority[perpetrator_rows] = np.where(
        cohabiting | nearby, home_authority[partner], home_authority[perpetrator_rows]
    )
    fresh = authorities.postcodes(home_authority[perpetrator_rows], generator)
    home_postcode[perpetrator_rows] = np.where(cohabiting, home_postcode[partner], fresh)

    has_children = np.zeros(count, dtype=bool)
    has_children[:victims] = generator.random(victims) < parameters.has_children_share
    return People(
        kind=kind,
        sex=sex,
        group=group.astype(np.int64),
        given_name=given_name,
        middle_name=middle_name,
        family_name=family_name,
        birth_family_name=birth_family_name,
        date_of_birth=date_of_birth,
        home_authority=home_authority,
        home_postcode=home_postcode,
        has_children=has_children,
        perpetrator=perpetrator,
    )


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
        _REFERRER["police"],
        _choose(generator, {_REFERRER["self"]: 0.4, _REFERRER["health"]: 0.3,
                            _REFERRER["housing"]: 0.15, _REFERRER["childrens_services"]: 0.15}, size),
    )
    emit(idva, IDVA, idva_day, idva_referrer, risk)

    # MARAC: high risk only; sometimes a second referral from another agency within days.
    marac = (risk == HIGH) & (generator.random(size) < parameters.marac_referral)
    marac_day = _offsets(generator, size, 3, 20)
    marac_referrer = np.where(
        police & (generator.random(size) < 0.7),
        _REFERRER["police"],
        _choose(generator, {_REFERRER["idva"]: 0.45, _REFERRER["health"]: 0.2,
                            _REFERRER["housing"]: 0.15, _REFERRER["childrens_services"]: 0.2}, size),
    )
    emit(marac, MARAC, marac_day, marac_referrer, HIGH)
    duplicate = marac & (generator.random(size) < parameters.marac_second_referral)
    candidates = np.array(
        [_REFERRER[name] for name in ("police", "idva", "health", "housing", "childrens_services")]
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
            generator, {_REFERRER["self"]: 0.3, _REFERRER["police"]: 0.25,
                        _REFERRER["idva"]: 0.3, _REFERRER["housing"]: 0.15}, size,
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
        police, _REFERRER["police"],
        _choose(generator, {_REFERRER["school"]: 0.5, _REFERRER["health"]: 0.5}, size),
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
    population = _make_people(people, area, authorities, start_day, parameters, generator)
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
