"""A realistic demo: two communities of 解放碑街道 in 渝中区, their meetings and their issues.

``seed(session)`` builds the area tree, the "3+3" committees, the organisations around the table,
about 300 households with owners, three meeting series and the meetings already held, staff
sign-ins, and some twenty-five issues in every lifecycle status. Times are relative to today, so a
demo started any day has past meetings with minutes and an upcoming weekly talk with an agenda.

Issues are raised and moved only through ``forum.issue_registry`` so every step is in their history,
as it would be in real use; the steps are then dated back to when the story says they happened,
so "days from raised to resolved" means something in the demo.

Running ``seed`` again changes nothing: the demo street is looked up by slug first. Random
choices (floor areas, names) come from ``random.Random(2026)``, so every demo is the same one.
The caller commits.

    data      the tables: places, organisations, sign-ins, name pools, who acts, what residents write
    places    areas, committees, organisations, households and owners, staff sign-ins
    meetings  the series and the meetings the stories need
    stories   the issues, walked through their lifecycle
    rooms     who came to the past meetings, spoke and wrote
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from forum import notify
from forum.demo import places, rooms, stories
from forum.demo.data import (
    CITY_MANAGEMENT,
    COMMENTS,
    COMMITTEE_NAMES_ZH,
    COMMUNITIES,
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DISTRICT,
    ORGANISATIONS,
    STREET,
)
from forum.demo.meetings import Calendar
from forum.models import Area, AreaKind, CommitteeKind

# What tests and ``forum demo`` read from here; the rest of the tables are in ``forum.demo.data``.
__all__ = ["COMMENTS", "COMMITTEE_NAMES_ZH", "COMMUNITIES", "DEMO_LOGINS", "DEMO_PASSWORD", "DemoSummary", "seed"]


@dataclass(frozen=True)
class DemoSummary:
    """What ``forum demo`` prints: where to look and how to sign in."""

    district: str
    street: str
    communities: list[str]
    logins: list[tuple[str, str, str]] = field(default_factory=lambda: list(DEMO_LOGINS))
    created: bool = True


def _summary(created: bool) -> DemoSummary:
    return DemoSummary(district=DISTRICT[1], street=STREET[1], communities=[slug for _name, slug in COMMUNITIES],
                       created=created)


def seed(session: Session, *, today: datetime | None = None) -> DemoSummary:
    """Create the demo in ``session`` (flushed, not committed); a second run changes nothing."""
    if session.exec(select(Area).where(Area.slug == STREET[1])).first() is not None:
        return _summary(created=False)
    now = (today or datetime.now()).replace(second=0, microsecond=0)
    rng = random.Random(2026)

    district = places.area(session, *DISTRICT, AreaKind.district, None)
    street = places.area(session, *STREET, AreaKind.street, district.id)
    c1 = places.area(session, *COMMUNITIES[0], AreaKind.community, street.id)
    c2 = places.area(session, *COMMUNITIES[1], AreaKind.community, street.id)
    committees = {c.id: places.committees(session, c.id) for c in (c1, c2)}
    orgs = {name: places.organisation(session, name, kind) for name, kind in ORGANISATIONS}
    formats = {c.id: places.formats(session, c.id) for c in (c1, c2)}
    owners = {c.id: places.households(session, c, rng) for c in (c1, c2)}
    users = places.users(session, c1, committees[c1.id][CommitteeKind.environment], orgs[CITY_MANAGEMENT])

    cal = Calendar(session, now)
    cal.series_for_first(c1, formats[c1.id], users["facilitator"], committees[c1.id], orgs)
    cal.series_for_second(c2, formats[c2.id], committees[c2.id], orgs)
    story = stories.Story(session, committees, orgs)
    stories.first_community_issues(story, cal, c1, owners[c1.id])
    stories.second_community_issues(story, cal, c2)
    session.flush()
    for c in (c1, c2):
        rooms.rooms_of_past_meetings(session, c, owners[c.id], rng)
    # Today's notices, as the daily `forum notify` would have written them: the liaison's header
    # shows the overdue check on the noodle shop.
    notify.sweep(session, now.date())
    return _summary(created=True)
