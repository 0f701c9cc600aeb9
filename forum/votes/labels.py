"""The words the interface uses for a vote's settings, states and steps (English msgids)."""

from __future__ import annotations

from forum.counting import RULE_LABELS, Kind, Weighting
from forum.i18n import N_
from forum.models import VOTE_STATUSES

KINDS = {
    Kind.FOR_AGAINST: N_("For / against / abstain"),
    Kind.ONE_OF: N_("One of several options"),
    Kind.SEVERAL_OF: N_("Several of several options"),
    Kind.RATING: N_("Satisfaction rating"),
}
SCOPES = {
    "attendance": N_("People checked in at the meeting"),
    "community": N_("All households of the community"),
    "building": N_("The households of one building"),
    "unit": N_("The households of one unit"),
}
UNITS = {"person": N_("One ballot per person"), "household": N_("One ballot per household")}
WEIGHTINGS = {
    Weighting.HEAD: N_("By head"),
    Weighting.AREA: N_("By floor area"),
    Weighting.BOTH: N_("By head and by floor area"),
}
RULES = RULE_LABELS
CLOSINGS = {"facilitator": N_("When the facilitator closes it"), "time": N_("At a set time")}
# Stored in Ballot.via and the trail as they are: "kiosk" is the shared tablet (its first name).
VIAS = {"tablet": N_("tablet"), "kiosk": N_("shared tablet"), "proxy": N_("proxy"), "paper": N_("paper ballot")}
AUDIT_LABELS = {
    "create": N_("Set up"), "open": N_("Opened"), "close": N_("Closed and counted"), "ballot": N_("Ballot counted"),
    "change": N_("Ballot changed"), "hands": N_("Show of hands"), "proxy": N_("Proxy recorded"),
    "kiosk": N_("Shared tablet"), "elector": N_("Voter added"), "ballots": N_("Secret ballots counted"),
}
# What a page shows of a vote's state: the stored status, and "closing" for an open vote whose
# closing time has passed and which the closer has not closed yet (forum.votes.lifecycle.shown_status).
STATUSES = VOTE_STATUSES | {"closing": N_("Closing")}
