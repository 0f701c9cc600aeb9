"""Calendar feeds, read back as a calendar app reads them (icalendar): each series one recurring
event with its own RRULE and place, each created meeting its occurrence with a link to its agenda,
meetings off the rule and one-off meetings events of their own."""

from __future__ import annotations

from datetime import datetime, timedelta

from dateutil.rrule import rrulestr
from icalendar import Calendar
from sqlmodel import Session, select

from forum import recurrence
from forum.models import Area, Meeting, Series


def _calendar(response) -> Calendar:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def _events(calendar: Calendar) -> list:
    return [c for c in calendar.walk("VEVENT")]


def test_a_series_feed_carries_its_rule_place_and_meetings(client, demo_engine):
    with Session(demo_engine) as db:
        series = db.exec(select(Series).order_by(Series.id)).first()
        meetings = db.exec(select(Meeting).where(Meeting.series_id == series.id)).all()
    calendar = _calendar(client.get(f"/series/{series.id}/calendar.ics"))
    events = _events(calendar)
    masters = [e for e in events if "RRULE" in e]
    assert len(masters) == 1
    master = masters[0]
    assert master["RRULE"].to_ical().decode() == series.rrule.upper()
    assert str(master["LOCATION"]) == series.place and str(master["SUMMARY"]) == series.title
    start = master.decoded("DTSTART")
    assert start.replace(tzinfo=None) == series.dtstart and str(start.tzinfo) == "Asia/Shanghai"
    # The rule a calendar expands is the one forum expands.
    rule = rrulestr(master["RRULE"].to_ical().decode(), dtstart=series.dtstart)
    after = series.dtstart + timedelta(days=1)
    assert [rule.after(after)] == recurrence.occurrences(series.rrule, series.dtstart, after, 1)
    overrides = {e.decoded("RECURRENCE-ID").replace(tzinfo=None): e for e in events if "RECURRENCE-ID" in e}
    assert overrides and len(overrides) == len(meetings)  # the demo's meetings all fall on the rule
    for meeting in meetings:
        event = overrides[meeting.starts_at]
        assert str(event["UID"]) == str(master["UID"])
        assert str(event["URL"]).endswith(f"/meetings/{meeting.id}")
        assert f"/meetings/{meeting.id}" in str(event["DESCRIPTION"])
        assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=meeting.duration_minutes)
    assert all("DTSTAMP" in e for e in events)


def test_a_community_feed_holds_every_series_and_meetings_off_the_rule(client, demo_engine):
    with Session(demo_engine, expire_on_commit=False) as db:
        community = db.exec(select(Area).where(Area.kind == "community").order_by(Area.id)).first()
        series = db.exec(select(Series).where(Series.community_id == community.id)).all()
        one_off = Meeting(community_id=community.id, title="楼栋长临时会", cadence="other",
                          starts_at=datetime.now().replace(microsecond=0, second=0) + timedelta(days=3),
                          place="3栋架空层")
        moved_from = db.exec(select(Meeting).where(Meeting.series_id == series[0].id)).first()
        moved = Meeting(community_id=community.id, series_id=series[0].id, title="改期的恳谈会", cadence="weekly",
                        starts_at=moved_from.starts_at + timedelta(hours=1, minutes=7), place="临时会场")
        db.add_all([one_off, moved])
        db.commit()
        ids, slug = (one_off.id, moved.id), community.slug
    events = _events(_calendar(client.get(f"/c/{slug}/calendar.ics")))
    assert {str(e["UID"]).split("@")[0] for e in events if "RRULE" in e} == {f"series-{s.id}" for s in series}
    by_url = {str(e["URL"]).rsplit("/", 1)[1]: e for e in events if "/meetings/" in str(e["URL"])}
    for meeting_id, place in zip(ids, ("3栋架空层", "临时会场"), strict=True):
        event = by_url[str(meeting_id)]
        assert "RECURRENCE-ID" not in event and str(event["LOCATION"]) == place
        assert str(event["UID"]).startswith(f"meeting-{meeting_id}@")


def test_an_unknown_series_or_community_is_not_found(client):
    assert client.get("/series/999999/calendar.ics").status_code == 404
    assert client.get("/c/nowhere/calendar.ics").status_code == 404
