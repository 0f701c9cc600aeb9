"""The demo's series and meetings: each story's meetings at real occurrences of its series, and
the office hours follow-up work is dated in."""

from __future__ import annotations

from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr
from sqlmodel import Session

from forum.demo.data import CITY_MANAGEMENT, HOUSING, MARKET_REGULATION, POLICE, PROPERTY, SOCIAL
from forum.models import (
    Area,
    Cadence,
    Committee,
    CommitteeKind,
    ForumFormat,
    Meeting,
    MeetingStatus,
    Organisation,
    Series,
    SeriesInvitee,
    User,
)

WEEKLY = "FREQ=WEEKLY;BYDAY=TU"
MONTHLY = "FREQ=MONTHLY;BYDAY=1TH"
QUARTERLY = "FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR"
C2_WEEKLY = "FREQ=WEEKLY;BYDAY=TH"


class Calendar:
    """The series and the meetings the stories need, at real occurrences of each series, so a
    scheduler that materialises occurrences later finds these meetings instead of adding twins."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.meetings: dict[tuple[int, datetime], Meeting] = {}

    # -- series

    def _series(self, community: Area, title: str, cadence: Cadence, rule: str, near: datetime,
                duration: int, place: str, forum_format: ForumFormat, facilitator: User | None,
                invitees: list[Committee | Organisation]) -> Series:
        # The series starts at its first occurrence on or after ``near``, as RFC 5545 expects.
        dtstart = rrulestr(rule, dtstart=near)[0]
        series = Series(community_id=community.id, title=title, cadence=cadence, rrule=rule, dtstart=dtstart,
                        duration_minutes=duration, place=place, forum_format_id=forum_format.id,
                        facilitator_id=facilitator.id if facilitator else None)
        self.session.add(series)
        self.session.flush()
        for invitee in invitees:
            if isinstance(invitee, Committee):
                self.session.add(SeriesInvitee(series_id=series.id, committee_id=invitee.id))
            else:
                self.session.add(SeriesInvitee(series_id=series.id, organisation_id=invitee.id))
        return series

    def series_for_first(self, community: Area, formats: dict[str, ForumFormat], facilitator: User,
                         committees: dict[CommitteeKind, Committee], orgs: dict[str, Organisation]) -> None:
        now = self.now
        all_committees = list(committees.values())
        departments = [orgs[CITY_MANAGEMENT], orgs[MARKET_REGULATION], orgs[HOUSING], orgs[POLICE]]
        month_start = now.replace(day=1, hour=15, minute=0)
        self.weekly = self._series(
            community, "幸福圆桌会 · 每周恳谈会", Cadence.weekly, WEEKLY,
            (now - timedelta(weeks=26)).replace(hour=19, minute=30), 90, "社区议事厅", formats["幸福圆桌会"],
            facilitator, all_committees + [orgs[PROPERTY]])
        self.monthly = self._series(
            community, "民乐议事厅 · 月度协调会", Cadence.monthly, MONTHLY, month_start - relativedelta(months=6),
            120, "社区党群服务中心二楼会议室", formats["民乐议事厅"], facilitator,
            all_committees + departments + [orgs[PROPERTY], orgs[SOCIAL]])
        # Starting five months back puts one review two months ago and the next one a month ahead.
        self.quarterly = self._series(
            community, "书记院坝会 · 季度评议会", Cadence.quarterly, QUARTERLY, month_start - relativedelta(months=5),
            120, "5栋前院坝", formats["书记院坝会"], facilitator,
            all_committees + departments + [orgs[PROPERTY], orgs[SOCIAL]])
        self.facilitator = facilitator

        weekly = self._past(self.weekly)
        self.Q = self._past(self.quarterly)[-1]
        self.M = self._past(self.monthly)[-1]
        self.W_q1 = max(t for t in weekly if t <= self.Q - timedelta(weeks=6))
        self.W_q2 = max(t for t in weekly if t <= self.Q - timedelta(weeks=2))
        self.W_m = max(t for t in weekly if t <= self.M - timedelta(weeks=1))
        self.w2, self.w1 = weekly[-2], weekly[-1]
        self.Wn = self._next(self.weekly)

    def series_for_second(self, community: Area, formats: dict[str, ForumFormat],
                          committees: dict[CommitteeKind, Committee], orgs: dict[str, Organisation]) -> None:
        self.c2_weekly = self._series(
            community, "民乐议事厅 · 每周恳谈会", Cadence.weekly, C2_WEEKLY,
            (self.now - timedelta(weeks=20)).replace(hour=19, minute=0), 90, "白象街社区党群服务中心议事厅",
            formats["民乐议事厅"], None, list(committees.values()) + [orgs[PROPERTY]])
        weekly = self._past(self.c2_weekly)
        self.c2_w3, self.c2_w2, self.c2_w1 = weekly[-3:]
        self.c2_next = self._next(self.c2_weekly)

    def _past(self, series: Series) -> list[datetime]:
        """Occurrences that ended at least an hour ago (time for the follow-up steps), oldest first."""
        until = self.now - timedelta(minutes=series.duration_minutes + 60)
        return list(rrulestr(series.rrule, dtstart=series.dtstart).between(series.dtstart, until, inc=True))

    def _next(self, series: Series) -> datetime:
        return rrulestr(series.rrule, dtstart=series.dtstart).after(self.now, inc=False)

    # -- meetings

    def meeting(self, series: Series, starts_at: datetime) -> Meeting:
        """The meeting of ``series`` at ``starts_at``: ended if it is over, planned if ahead."""
        key = (series.id, starts_at)
        if key not in self.meetings:
            ended = starts_at + timedelta(minutes=series.duration_minutes) <= self.now
            meeting = Meeting(community_id=series.community_id, series_id=series.id, title=series.title,
                              cadence=series.cadence, starts_at=starts_at, duration_minutes=series.duration_minutes,
                              place=series.place, facilitator_id=series.facilitator_id,
                              status=MeetingStatus.ended if ended else MeetingStatus.planned)
            if ended:
                meeting.started_at = starts_at + timedelta(minutes=3)
                meeting.ended_at = starts_at + timedelta(minutes=series.duration_minutes - 5)
            self.session.add(meeting)
            self.session.flush()
            self.meetings[key] = meeting
        return self.meetings[key]


def on(moment: datetime, days: int, hour: int) -> datetime:
    """``days`` after (or before) the day of ``moment``, at ``hour`` o'clock: office work happens
    in office hours, not at the minute a meeting began."""
    return (moment + timedelta(days=days)).replace(hour=hour, minute=0)


def between(a: datetime, b: datetime, fraction: float) -> datetime:
    """A moment ``fraction`` of the way from ``a`` to ``b``, moved into the working day when that
    keeps it between them (the clamp keeps the order of moments on one day)."""
    moment = (a + (b - a) * fraction).replace(second=0, microsecond=0)
    opens, closes = moment.replace(hour=8, minute=30), moment.replace(hour=18, minute=0)
    daytime = min(max(moment, opens), closes)
    return daytime if a < daytime < b else moment
