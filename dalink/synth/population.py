"""The simulated people: victims, their abusers, names, dates of birth and homes."""

from __future__ import annotations

import dataclasses

import numpy as np

from dalink.synth.names import GROUPS, SEXES, Area, family_name_pools, given_name_pools
from dalink.synth.parameters import PERPETRATOR, VICTIM, WorldParameters
from dalink.synth.places import LocalAuthorityTable


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


def _sample_names(
    pools: dict, group: np.ndarray, sex: np.ndarray, generator: np.random.Generator
) -> np.ndarray:
    result = np.empty(len(group), dtype=object)
    for group_code, group_name in enumerate(GROUPS):
        for sex_code, sex_name in enumerate(SEXES):
            members = np.flatnonzero((group == group_code) & (sex == sex_code))
            result[members] = pools[(group_name, sex_name)].sample(generator, len(members))
    return result


def make_people(
    count: int,
    area: Area,
    authorities: LocalAuthorityTable,
    start_day: int,
    parameters: WorldParameters,
    generator: np.random.Generator,
) -> People:
    # At least half are victims, so every perpetrator can have a victim.
    victims = max((count + 1) // 2, min(count - 1, round(count * parameters.victim_share)))
    perpetrators = count - victims
    kind = np.concatenate([np.full(victims, VICTIM), np.full(perpetrators, PERPETRATOR)]).astype(np.int64)

    # Each perpetrator abuses at least one victim; the remaining victims get a random one.
    abuser = np.concatenate(
        [np.arange(perpetrators), generator.integers(0, perpetrators, victims - perpetrators)]
    )
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
