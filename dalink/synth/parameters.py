"""The vocabulary of the simulated world and the parameters of what happens in it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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
REFERRER_CODES = {name: code for code, name in enumerate(REFERRERS)}

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
