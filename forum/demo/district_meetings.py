"""A community's year of meetings for the district demo: its three series (weekly talk, monthly
coordination, quarterly review) with their standing invitees, every occurrence of the year that
was held (some weekly talks skipped: holidays, a typhoon, the secretary away), the next one of
each series planned, and who came to each meeting held (参与人次)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

from forum.models import Cadence, MeetingStatus

if TYPE_CHECKING:  # the builder imports this module
    from forum.demo.district import Community, Places, Rows

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA"]
# Who comes, by cadence (residents checked in; liaisons and committee people come on top at the
# coordination): about ten a meeting, 56,000 participations in a district-year.
ATTENDANCE = {Cadence.weekly: (4, 12), Cadence.monthly: (8, 15), Cadence.quarterly: (18, 32)}
GUESTS = ["租户", "商户", "志愿者", "物业管家", "楼栋长"]
# The Spring Festival, when most communities hold no weekly talk that week.
SPRING_FESTIVAL = {2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
                   2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3)}


@dataclass
class Slot:
    """A meeting: its id, when it starts and ends, its cadence."""

    id: int
    start: datetime
    end: datetime


@dataclass
class Series:
    held: list[Slot]
    planned: Slot | None  # the next occurrence, ahead of today
    starts: list[datetime] = field(init=False)

    def __post_init__(self) -> None:
        self.starts = [s.start for s in self.held]

    def after(self, moment: datetime) -> Slot | None:
        """The first meeting held that starts after ``moment``, else the planned one."""
        i = bisect_right(self.starts, moment)
        if i < len(self.held):
            return self.held[i]
        return self.planned if self.planned and self.planned.start > moment else None


@dataclass
class Calendar:
    """A community's meetings, and each meeting's agenda length so far (for entry positions)."""

    weekly: Series
    monthly: Series
    quarterly: Series
    first: datetime  # the first weekly talk of the year: issues are raised from then on
    positions: dict[int, int] = field(default_factory=dict)
    present: dict[int, int] = field(default_factory=dict)  # meeting id → residents present

    def next_position(self, meeting_id: int) -> int:
        self.positions[meeting_id] = self.positions.get(meeting_id, 0) + 1
        return self.positions[meeting_id]


def _rules(community: Community) -> list[tuple[Cadence, str, str, int, int, str]]:
    """(cadence, title, rule, hour, minute, place) of the community's three series."""
    rng = community.rng
    weekday = rng.choice(WEEKDAYS)
    evening = weekday != "SA" and rng.random() < 0.7
    return [
        (Cadence.weekly, "每周恳谈会", f"FREQ=WEEKLY;BYDAY={weekday}", *((19, 30) if evening else (9, 30)),
         "社区议事厅"),
        (Cadence.monthly, "月度协调会", f"FREQ=MONTHLY;BYDAY=1{rng.choice(WEEKDAYS[:5])}", 15, 0,
         "社区党群服务中心会议室"),
        (Cadence.quarterly, "季度评议会", f"FREQ=MONTHLY;INTERVAL=3;BYDAY=-1{rng.choice(['TH', 'FR'])}", 15, 0,
         rng.choice(["社区院坝", "社区文化广场", "社区议事厅"])),
    ]


def _skipped(community: Community, cadence: Cadence, start: datetime) -> bool:
    """Whether this occurrence was not held: some communities skip weeks (a holiday, the
    secretary away), the Spring Festival week most of them; monthly and quarterly ones rarely."""
    rng = community.rng
    if cadence is not Cadence.weekly:
        return rng.random() < 0.02
    festival = SPRING_FESTIVAL.get(start.year)
    if festival and abs((start.date() - festival).days) <= 3:
        return rng.random() < 0.8
    return rng.random() < community.skip_rate


def year_of_meetings(rows: Rows, community: Community, places: Places, now: datetime) -> Calendar:
    rng = community.rng
    community.skip_rate = rng.choice([0.0, 0.0, 0.02, 0.04, 0.08])
    year_ago = now - timedelta(days=365)
    committees = list(community.committees.values())
    outside = [*places.departments[:4], community.property_company, community.police]
    made: dict[Cadence, Series] = {}
    for k, (cadence, title, rule, hour, minute, place) in enumerate(_rules(community)):
        near = year_ago.replace(hour=hour, minute=minute)
        if cadence is Cadence.quarterly:  # reviews in the last month of each quarter
            near = near.replace(day=1) + relativedelta(months=(2 - (near.month - 1) % 3) % 3)
        recurrence = rrulestr(rule, dtstart=near)
        dtstart = recurrence[0]
        format_name = ["幸福圆桌会", "民乐议事厅", "书记院坝会"][(k + community.id) % 3]
        duration = 90 if cadence is Cadence.weekly else 120
        series_id = rows.add("series", community_id=community.id, title=f"{format_name} · {title}",
                             cadence=cadence.value, rrule=rule, dtstart=dtstart, duration_minutes=duration,
                             place=place, forum_format_id=community.formats[(k + community.id) % 3],
                             facilitator_id=community.facilitator[0])
        invitees = [("committee_id", c) for c in committees]
        invitees += [("organisation_id", o) for o in ([community.property_company] if k == 0 else outside)]
        for column, invitee in invitees:
            rows.add("seriesinvitee", series_id=series_id, **{column: invitee})
        held, planned = [], None
        for start in rrulestr(rule, dtstart=dtstart).between(dtstart, now + timedelta(days=120), inc=True):
            end = start + timedelta(minutes=duration)
            ahead = end > now
            if not ahead and _skipped(community, cadence, start):
                continue
            meeting_id = rows.add(
                "meeting", community_id=community.id, series_id=series_id, title=f"{format_name} · {title}",
                cadence=cadence.value, starts_at=start, duration_minutes=duration, place=place,
                facilitator_id=community.facilitator[0],
                status=(MeetingStatus.planned if ahead else MeetingStatus.ended).value,
                started_at=None if ahead else start + timedelta(minutes=rng.randint(0, 6)),
                ended_at=None if ahead else end - timedelta(minutes=rng.randint(0, 15)))
            slot = Slot(meeting_id, start, end)
            if ahead:
                planned = slot
                break
            held.append(slot)
        made[cadence] = Series(held, planned)
    calendar = Calendar(made[Cadence.weekly], made[Cadence.monthly], made[Cadence.quarterly],
                        first=made[Cadence.weekly].held[0].start if made[Cadence.weekly].held else now)
    _attendance(rows, community, calendar, places)
    return calendar


def _attendance(rows: Rows, community: Community, calendar: Calendar, places: Places) -> None:
    """Who came to each meeting held: residents of the community (a person one meeting once),
    a guest or two, and at the coordination the liaisons of the organisations invited."""
    rng = community.rng
    facilitator = community.facilitator[1]
    for cadence, series in ((Cadence.weekly, calendar.weekly), (Cadence.monthly, calendar.monthly),
                            (Cadence.quarterly, calendar.quarterly)):
        low, high = ATTENDANCE[cadence]
        for slot in series.held:
            residents = rng.sample(community.residents, min(len(community.residents), rng.randint(low, high)))
            calendar.present[slot.id] = len(residents)
            for resident in residents:
                rows.add("attendance", meeting_id=slot.id, is_guest=False, admitted=True,
                         checked_in_at=slot.start - timedelta(minutes=rng.randint(0, 12)),
                         checked_in_by="self" if rng.random() < 0.6 else facilitator, **resident)
            for guest in rng.sample(GUESTS, rng.choice([0, 0, 1, 2])):
                rows.add("attendance", meeting_id=slot.id, name=f"{guest}{rng.choice('王李张刘陈杨黄赵周吴')}先生",
                         is_guest=True, checked_in_at=slot.start, checked_in_by=facilitator)
            if cadence is Cadence.monthly:
                for org in rng.sample([*places.departments[:4], community.property_company], 2):
                    rows.add("attendance", meeting_id=slot.id, name=places.liaisons[org], is_guest=True,
                             checked_in_at=slot.start - timedelta(minutes=5), checked_in_by=facilitator)

