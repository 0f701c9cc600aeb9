"""Tablets stay in the room (forum.room_header): a joined tablet and the shared tablet show the
meeting's own header on every page instead of the site's menu; staff signed in see the menu."""

from __future__ import annotations

import secrets

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select
from starlette.testclient import TestClient

from forum import auth
from forum.models import Area, Attendance, Meeting, MeetingStatus, now
from tests.conftest import sign_in


@pytest.fixture
def room(demo_engine):
    """A meeting in session with a resident's tablet checked in."""
    token = secrets.token_urlsafe(24)
    with Session(demo_engine, expire_on_commit=False) as db:
        meeting = db.exec(select(Meeting).where(Meeting.status == MeetingStatus.planned, Meeting.starts_at > now())
                          .order_by(Meeting.starts_at)).first()
        meeting.status, meeting.started_at = MeetingStatus.live, now()
        db.add(meeting)
        db.add(Attendance(meeting_id=meeting.id, name="居民小陈", device_token=token))
        db.commit()
        return meeting, token, db.get(Area, meeting.community_id)


def header(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser").select_one("header.top")


def site_menu_shown(response, community: Area) -> bool:
    top = header(response)
    return top.select_one("a.brand[href='/']") is not None or \
        top.select_one(f"a[href$='/c/{community.slug}/issues']") is not None


def test_a_joined_tablet_shows_the_meetings_header_on_every_page(app, room):
    meeting, token, community = room
    with TestClient(app, cookies={auth.DEVICE_COOKIE: token}) as tablet:
        for path in (f"/meetings/{meeting.id}/tablet", "/", f"/c/{community.slug}", "/join", "/login"):
            r = tablet.get(path)
            top = header(r)
            assert "room-top" in top["class"], path
            assert meeting.title in top.get_text(), path
            assert top.select_one(f"a[href$='/meetings/{meeting.id}/tablet']") is not None, path
            assert not site_menu_shown(r, community), path
        assert header(tablet.get("/")).select_one("a[href*='/login']") is not None  # staff can sign in to leave


def test_staff_on_the_tablet_see_the_site_menu(app, room):
    meeting, token, community = room
    with TestClient(app, cookies={auth.DEVICE_COOKIE: token}) as tablet:
        sign_in(tablet, "facilitator")
        r = tablet.get(f"/meetings/{meeting.id}/tablet")
        assert "room-top" not in header(r)["class"] and site_menu_shown(r, community)


def test_the_site_menu_returns_when_the_meeting_ends_or_the_device_is_nobody(app, room, demo_engine):
    meeting, token, community = room
    with TestClient(app, cookies={auth.DEVICE_COOKIE: "x" * 32}) as stranger:
        assert site_menu_shown(stranger.get("/"), community)
    with Session(demo_engine) as db:
        ended = db.get(Meeting, meeting.id)
        ended.status = MeetingStatus.ended
        db.add(ended)
        db.commit()
    with TestClient(app, cookies={auth.DEVICE_COOKIE: token}) as tablet:
        assert site_menu_shown(tablet.get("/"), community)


def test_the_shared_tablet_stays_with_its_ballots(app, room):
    meeting, _token, community = room
    with TestClient(app) as kiosk:
        sign_in(kiosk, "facilitator")
        assert kiosk.post(f"/meetings/{meeting.id}/shared-tablet", follow_redirects=False).status_code == 303
        page = BeautifulSoup(kiosk.get(f"/meetings/{meeting.id}/shared-tablet").text, "html.parser")
        assert page.select_one("header.top") is None and page.select_one(".shared-tablet-head a[href*='/login']")
        r = kiosk.get("/")
        assert not site_menu_shown(r, community)
        assert header(r).select_one(f"a[href$='/meetings/{meeting.id}/shared-tablet']") is not None
        sign_in(kiosk, "facilitator")  # the facilitator takes it back, and may leave
        assert site_menu_shown(kiosk.get("/"), community)
