"""Calendar feeds (RFC 5545, with icalendar): a series or a whole community, for a phone's calendar
to subscribe to.

A series is one recurring event carrying the series' own RRULE (forum.recurrence checked it), so
a calendar shows every future meeting however far ahead, with the place. Meetings already created
override their occurrence (RECURRENCE-ID) with their own time, place and a link to their page,
where the agenda is; a meeting off the rule (moved, or a one-off) is an event of its own.

Times are the hall's wall-clock time, as forum stores them, in China's one time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from forum import recurrence
from forum.i18n import N_, gettext
from forum.models import Meeting, Series

TIMEZONE = ZoneInfo("Asia/Shanghai")
PRODID = "-//forum//community deliberation//ZH"
AGENDA_AT = N_("Agenda and record: %(url)s")


@dataclass(frozen=True)
class Links:
    """Where things are, as absolute addresses (a calendar app has no page to resolve a path against)."""

    series: Callable[[int], str]
    meeting: Callable[[int], str]
    host: str  # for UIDs: stable, unique to this installation


def _local(value: datetime) -> datetime:
    return value.replace(tzinfo=TIMEZONE)


def _event(uid: str, title: str, starts: datetime, minutes: int, place: str, url: str) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("summary", title)
    event.add("dtstart", _local(starts))
    event.add("dtend", _local(starts + timedelta(minutes=minutes)))
    event.add("location", place)
    event.add("url", url)
    event.add("description", gettext(AGENDA_AT) % {"url": url})
    event.add("dtstamp", datetime.now(UTC).replace(microsecond=0))
    return event


def _rule(series: Series) -> vRecur | None:
    try:
        recurrence.parse(series.rrule, series.dtstart)
    except recurrence.BadRule:
        return None  # a rule stored before today's checks: the series' meetings are still listed
    return vRecur.from_ical(series.rrule.upper().removeprefix("RRULE:").strip(";"))


def _series_events(series: Series, meetings: Iterable[Meeting], links: Links) -> list[Event]:
    rule = _rule(series)
    master = _event(f"series-{series.id}@{links.host}", series.title, series.dtstart, series.duration_minutes,
                    series.place, links.series(series.id))
    events = []
    if rule is not None:
        master.add("rrule", rule)
        events.append(master)
    for meeting in meetings:
        event = _meeting_event(meeting, links)
        on_rule = rule is not None and recurrence.is_occurrence(series.rrule, series.dtstart, meeting.starts_at)
        if on_rule:
            # The same event, this occurrence told apart: its page, its agenda.
            event["uid"] = master["uid"]
            event.add("recurrence-id", _local(meeting.starts_at))
        events.append(event)
    return events


def _meeting_event(meeting: Meeting, links: Links) -> Event:
    event = _event(f"meeting-{meeting.id}@{links.host}", meeting.title, meeting.starts_at, meeting.duration_minutes,
                   meeting.place, links.meeting(meeting.id))
    if meeting.status == "ended":
        event.add("status", "CONFIRMED")
    return event


def feed(name: str, series: Iterable[Series], meetings: Iterable[Meeting], links: Links) -> bytes:
    """One calendar: each series as a recurring event with its meetings, and the meetings of no series."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    by_series: dict[int | None, list[Meeting]] = {}
    for meeting in meetings:
        by_series.setdefault(meeting.series_id, []).append(meeting)
    for one in series:
        for event in _series_events(one, by_series.pop(one.id, []), links):
            calendar.add_component(event)
    for rest in by_series.values():
        for meeting in rest:
            calendar.add_component(_meeting_event(meeting, links))
    calendar.add_missing_timezones()
    return calendar.to_ical()
