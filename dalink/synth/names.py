"""Name tables for the synthetic population, and the nicknames agencies write instead.

The tables in ``dalink/data/synth/`` are hand-written approximations of UK frequencies: given
names by sex and surnames, in six name groups (British, South Asian, Black British/African/
Caribbean, Eastern European, Chinese, Arabic/Turkish), so that minority-ethnic names — the
ones linkers most often get wrong — are present in realistic proportions. Real surname
distributions have a long tail (half the population carries a surname outside the top few
hundred); a fixed list alone would make "Smith" several times too common and name collisions
too frequent, so British surnames get a deterministic tail of compound names (Ashworth,
Blackley, ...).

The nickname table here is deliberately separate from any table the encoder uses: a linker
tested against the synthetic data must not pass only because it shares the generator's table.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
from importlib import resources
from typing import Any

import numpy as np

GROUPS = ("british", "south_asian", "black", "eastern_european", "chinese", "arabic")
SEXES = ("F", "M")

#: Share of the British surname weight carried by the generated tail of compound names.
BRITISH_SURNAME_TAIL_SHARE = 0.45

_TAIL_PREFIXES = (
    "Ash Black Brad Brook Burn Cald Clay Cob Cran Dal Dun Fair Farn Good Green Hal Hart Hat Hay "
    "Holl Kirk Lang Lind Marl Mel Mid Mor North Oak Pen Ray Red Ridge Rush Salt Shel Stan Stock "
    "Thorn Tip Wal Wat West Whit Win Wood Work Brid Chad Pick"
).split()
_TAIL_SUFFIXES = (
    "ford ton ley field worth by wood well ham shaw more bury hurst stone land wick combe dale "
    "thorpe cliffe brook bridge"
).split()

#: Nicknames and spelling variants an agency may record instead of the given name.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Abigail": ("Abbie", "Abby"),
    "Alexander": ("Alex", "Xander"),
    "Alexandra": ("Alex", "Lexi"),
    "Aleksandra": ("Ola",),
    "Amanda": ("Mandy",),
    "Andrew": ("Andy", "Drew"),
    "Anthony": ("Tony", "Ant"),
    "Ayesha": ("Aisha",),
    "Aisha": ("Ayesha",),
    "Benjamin": ("Ben",),
    "Bethany": ("Beth",),
    "Bradley": ("Brad",),
    "Catherine": ("Cathy", "Kate", "Katherine"),
    "Charlotte": ("Charlie", "Lottie"),
    "Christine": ("Chris", "Chrissie"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Danielle": ("Dani",),
    "David": ("Dave",),
    "Deborah": ("Debbie", "Deb"),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Emily": ("Em",),
    "Gemma": ("Gem",),
    "Jacqueline": ("Jackie",),
    "James": ("Jim", "Jamie"),
    "Jennifer": ("Jenny", "Jen"),
    "Jessica": ("Jess",),
    "Jonathan": ("Jon",),
    "Joseph": ("Joe",),
    "Joshua": ("Josh",),
    "Katarzyna": ("Kasia",),
    "Katherine": ("Kate", "Katie", "Catherine"),
    "Kimberley": ("Kim",),
    "Magdalena": ("Magda",),
    "Małgorzata": ("Gosia",),
    "Margaret": ("Maggie", "Peggy"),
    "Matthew": ("Matt",),
    "Michael": ("Mike", "Mick"),
    "Mohammed": ("Muhammad", "Mohammad", "Mohamed"),
    "Muhammad": ("Mohammed", "Mohammad"),
    "Mohammad": ("Mohammed", "Muhammad"),
    "Mohamed": ("Mohammed",),
    "Natasha": ("Tash",),
    "Nicholas": ("Nick",),
    "Nicola": ("Nicky", "Nikki"),
    "Oleksandr": ("Alexander", "Sasha"),
    "Patricia": ("Pat", "Trish"),
    "Paweł": ("Pawel", "Paul"),
    "Philip": ("Phil",),
    "Piotr": ("Peter",),
    "Rebecca": ("Becky", "Becca"),
    "Richard": ("Rich", "Richie"),
    "Robert": ("Bob", "Rob", "Bobby"),
    "Samantha": ("Sam", "Sammy"),
    "Samuel": ("Sam",),
    "Stephanie": ("Steph",),
    "Stephen": ("Steve", "Steven"),
    "Steven": ("Steve", "Stephen"),
    "Susan": ("Sue",),
    "Thomas": ("Tom", "Tommy"),
    "Timothy": ("Tim",),
    "Victoria": ("Vicky", "Tori"),
    "William": ("Will", "Bill", "Billy"),
    "Yusuf": ("Yousef", "Youssef"),
    "Zainab": ("Zaynab",),
    "Zoe": ("Zoë",),
}


@dataclasses.dataclass(frozen=True)
class NamePool:
    """Names of one group (and sex) with sampling probabilities."""

    names: np.ndarray  # object array of str
    probabilities: np.ndarray

    def sample(self, generator: np.random.Generator, size: int) -> np.ndarray:
        if size == 0:
            return np.empty(0, dtype=object)
        return self.names[generator.choice(len(self.names), size=size, p=self.probabilities)]


@dataclasses.dataclass(frozen=True)
class LocalAuthority:
    code: str
    name: str
    population: int
    postcode_districts: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Area:
    """A partnership area: its local authorities and the neighbours people move to and from."""

    key: str
    name: str
    group_shares: dict[str, float]
    local_authorities: tuple[LocalAuthority, ...]
    neighbours: tuple[LocalAuthority, ...]


def _data_file(name: str) -> Any:
    return resources.files("dalink").joinpath("data", "synth", name)


@functools.lru_cache(maxsize=1)
def _read_areas() -> dict[str, Any]:
    with _data_file("areas.json").open("r", encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return {key: value for key, value in loaded.items() if not key.startswith("_")}


def area_names() -> tuple[str, ...]:
    """Keys of the partnership areas shipped with dalink (e.g. ``hertfordshire``)."""
    return tuple(sorted(_read_areas()))


def load_area(key: str) -> Area:
    """The partnership area called ``key`` (see :func:`area_names`)."""
    areas = _read_areas()
    if key not in areas:
        from dalink.errors import DalinkError

        raise DalinkError(f"unknown partnership area; choose one of: {', '.join(sorted(areas))}")
    spec = areas[key]

    def authorities(items: list[dict[str, Any]]) -> tuple[LocalAuthority, ...]:
        return tuple(
            LocalAuthority(
                code=item["code"],
                name=item["name"],
                population=int(item["population"]),
                postcode_districts=tuple(item["postcode_districts"]),
            )
            for item in items
        )

    return Area(
        key=key,
        name=spec["name"],
        group_shares={group: float(spec["group_shares"][group]) for group in GROUPS},
        local_authorities=authorities(spec["local_authorities"]),
        neighbours=authorities(spec["neighbours"]),
    )


def british_surname_tail() -> list[str]:
    """Deterministic compound surnames (prefix + suffix) forming the long tail."""
    return [
        prefix + suffix
        for prefix in _TAIL_PREFIXES
        for suffix in _TAIL_SUFFIXES
        if prefix[-1] != suffix[0]  # no "Calddale"
    ]


def _pool(names: list[str], weights: list[float]) -> NamePool:
    weight_array = np.asarray(weights, dtype=np.float64)
    return NamePool(
        names=np.asarray(names, dtype=object), probabilities=weight_array / weight_array.sum()
    )


@functools.lru_cache(maxsize=1)
def given_name_pools() -> dict[tuple[str, str], NamePool]:
    """Given-name pools keyed by (group, sex)."""
    names: dict[tuple[str, str], list[str]] = {}
    weights: dict[tuple[str, str], list[float]] = {}
    with _data_file("given_names.csv").open("r", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["group"], row["sex"])
            names.setdefault(key, []).append(row["name"])
            weights.setdefault(key, []).append(float(row["weight"]))
    return {key: _pool(names[key], weights[key]) for key in names}


@functools.lru_cache(maxsize=1)
def family_name_pools() -> dict[tuple[str, str], NamePool]:
    """Surname pools keyed by (group, sex): a sex-specific surname (Kaur, Kowalska) is only
    drawn for people of that sex."""
    rows_by_group: dict[str, list[tuple[str, str, float]]] = {}
    with _data_file("family_names.csv").open("r", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows_by_group.setdefault(row["group"], []).append(
                (row["name"], row["sex"], float(row["weight"]))
            )
    tail = british_surname_tail()
    known = {name for name, _, _ in rows_by_group.get("british", [])}
    tail = [name for name in tail if name not in known]
    british_weight = sum(weight for _, _, weight in rows_by_group.get("british", []))
    tail_weight = british_weight * BRITISH_SURNAME_TAIL_SHARE / (1 - BRITISH_SURNAME_TAIL_SHARE)
    rows_by_group.setdefault("british", []).extend(
        (name, "", tail_weight / len(tail)) for name in tail
    )
    pools: dict[tuple[str, str], NamePool] = {}
    for group, rows in rows_by_group.items():
        for sex in SEXES:
            chosen = [(name, weight) for name, name_sex, weight in rows if name_sex in ("", sex)]
            pools[(group, sex)] = _pool(
                [name for name, _ in chosen], [weight for _, weight in chosen]
            )
    return pools
