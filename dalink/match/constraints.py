"""Cannot-link constraints from the event fields: the victim and the perpetrator of one incident.

When an agency records one incident it writes one row per person involved, each with its
role. A victim row and a perpetrator row of the same agency, the same event date and the
same event type therefore describe two different people, however alike their identifiers
look: a couple at one address sharing a surname, the perpetrator's row often without date
of birth or sex. The identifiers alone can make such a pair a link; the event fields, which
travel to the linker in clear, say it is not.

This is used as a *constraint* in clustering (the two records never end up in one entity),
not as evidence in the model: the pair's match probability in ``pairs.parquet`` is left as
the identifiers make it, so the constraint can be audited and switched off
(``LinkConfig(event_role_constraints=False)``).

Caveat – counter-allegations: when both parties accuse each other, an agency may record
each person as victim in one row and as perpetrator in another row of the same incident.
Then a person's own victim and perpetrator rows share agency, date and type, and the
constraint keeps them apart, splitting that person into two entities. That costs recall for
those people (a missed link) rather than precision (a victim merged with their abuser),
which is the lesser harm for a domestic-abuse partnership; an agency that records
counter-allegations this way should switch the constraint off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CONFLICTING_ROLES = ("victim", "perpetrator")
EVENT_COLUMNS = ("agency", "event_date", "event_type", "role")
NO_GROUP = -1


@dataclass(frozen=True)
class RoleConstraints:
    """Per record: its event group (agency, event date, event type) and which side it is on.

    Two records conflict when they share a group and one is the victim, the other the
    perpetrator. Kept per record, not as a list of pairs, so the check is O(1) per pair and
    the memory O(records) however many incidents share a date.
    """

    group: np.ndarray  # (records,) int64, NO_GROUP when the record takes part in no constraint
    side: np.ndarray  # (records,) int8: 1 victim, 2 perpetrator, 0 neither

    def conflicts(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Whether each pair is the victim and the perpetrator of one agency's event."""
        group_left = self.group[left]
        return (
            (group_left != NO_GROUP)
            & (group_left == self.group[right])
            & ((self.side[left] | self.side[right]) == 3)
        )

    @property
    def records(self) -> int:
        """Records that take part in some constraint."""
        return int((self.group != NO_GROUP).sum())


def role_constraints(events: pd.DataFrame) -> RoleConstraints:
    """The constraints the event fields give (none when a column is absent).

    Records are grouped by agency, event date and event type; only groups holding both a
    victim and a perpetrator row constrain anything. Records without an event date or type
    carry no constraint.
    """
    count = len(events)
    none = RoleConstraints(np.full(count, NO_GROUP, dtype=np.int64), np.zeros(count, dtype=np.int8))
    if count == 0 or not set(EVENT_COLUMNS) <= set(events.columns):
        return none
    role = events["role"].astype("string").str.strip().str.lower()
    victim = (role == CONFLICTING_ROLES[0]).fillna(False).to_numpy(dtype=bool)
    perpetrator = (role == CONFLICTING_ROLES[1]).fillna(False).to_numpy(dtype=bool)
    keys = events[["agency", "event_date", "event_type"]].astype("string")
    present = keys.notna().all(axis=1).to_numpy() & (victim | perpetrator)
    if not present.any():
        return none
    group = pd.MultiIndex.from_frame(keys.fillna("")).factorize()[0].astype(np.int64)
    has_victim = np.bincount(group[present & victim], minlength=group.max() + 1) > 0
    has_perpetrator = np.bincount(group[present & perpetrator], minlength=group.max() + 1) > 0
    present &= (has_victim & has_perpetrator)[group]
    side = np.where(victim, 1, np.where(perpetrator, 2, 0)).astype(np.int8)
    return RoleConstraints(np.where(present, group, NO_GROUP), np.where(present, side, 0).astype(np.int8))
