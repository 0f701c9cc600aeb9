"""A world to attack: the demo with, in each of its two communities, a live meeting and every kind of
object a route can name, the people who act on them, and the tools the cross-cutting tests share
(the route table walked, a fingerprint of every table, requests by role).

Used by the role × route × scope matrix, the fuzzing test and the axe test, so all three reach every
route with the same real objects, and a new route shows up in all three without being listed here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.testclient import TestClient

from forum import agenda, auth, issue_registry, recurrence, room, verification, votes
from forum import db as database
from forum.app import create_app
from forum.auth import create_user
from forum.demo import COMMUNITIES
from forum.models import (
    Area,
    Comment,
    Committee,
    ForumFormat,
    Household,
    Issue,
    Meeting,
    MeetingStatus,
    Notice,
    Organisation,
    Ownership,
    Person,
    Series,
    User,
    VoteElector,
    now,
)
from forum.paths import STATIC
from forum.settings import Settings

# ---------------------------------------------------------------- the route table


@dataclass(frozen=True)
class Endpoint:
    """One route of the app as the tests see it: its name, path template and methods."""

    name: str
    path: str
    methods: tuple[str, ...]
    websocket: bool = False
    mount: bool = False  # a mounted app (static files): its own paths, GET only


def walk(routes: list[BaseRoute], prefix: str = "", name_prefix: str = "") -> Iterator[Endpoint]:
    """Every endpoint of the route table, Mounts walked into, in table order."""
    for r in routes:
        if isinstance(r, Mount):
            children = getattr(r, "routes", None) or []
            named = f"{name_prefix}{r.name}:" if r.name else name_prefix
            if children:
                yield from walk(children, prefix + r.path, named)
            else:
                yield Endpoint(f"{name_prefix}{r.name}", prefix + r.path + "/{path}", ("GET",), mount=True)
        elif isinstance(r, WebSocketRoute):
            yield Endpoint(f"{name_prefix}{r.name}", prefix + r.path, ("WEBSOCKET",), websocket=True)
        elif isinstance(r, Route):
            methods = tuple(sorted((r.methods or {"GET"}) - {"HEAD"}))
            yield Endpoint(f"{name_prefix}{r.name}", prefix + r.path, methods)
        else:  # pragma: no cover - a new kind of route: the tests must learn it
            raise AssertionError(f"the tests do not know how to walk {r!r}")


def flat(routes: list[BaseRoute], prefix: str = "",
         convertors: dict | None = None) -> Iterator[tuple[str, BaseRoute, dict]]:
    """Every route object of the table with its whole path and the convertors of all its path
    parameters, a Mount's included (a route inside a Mount knows only the rest of its path)."""
    for r in routes:
        here = {**(convertors or {}), **r.param_convertors}
        children = r.routes if isinstance(r, Mount) else None
        if children:
            here.pop("path")  # the Mount's own rest of the path, which its routes take
            yield from flat(children, prefix + r.path, here)
        else:
            yield prefix + r.path, r, here


def endpoints() -> list[Endpoint]:
    from forum.app import routes

    return list(walk(routes))


def match(path: str, method: str) -> tuple[Endpoint, dict[str, str]] | None:
    """The endpoint that answers ``method`` at ``path``, with the path's parameters."""
    for endpoint in endpoints():
        pattern = re.sub(r"\\{(\w+):int\\}", r"(?P<\1>\\d+)", re.escape(endpoint.path))
        pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)" if not endpoint.mount else r"(?P<\1>.+)", pattern)
        found = re.fullmatch(pattern, path)
        if found and method in endpoint.methods:
            return endpoint, found.groupdict()
    return None


# Path parameters that are not objects: the values the room's action routes answer.
CONSOLE_ACTIONS = ("start", "end", "next", "previous", "jump", "floor", "remove", "next-speaker", "clear", "decision",
                   "checkin", "rotate-code", "verify", "revoke", "admit", "remove-device")
TABLET_ACTIONS = ("join", "next-person", "hand", "comment")
SOCKET_AUDIENCES = ("console", "tablet", "screen", "shared_tablet")


# ---------------------------------------------------------------- the world


@dataclass
class Scope:
    """The objects of one community that routes name."""

    key: str  # "A" or "B"
    community_id: int
    slug: str
    committee_id: int
    issue_raised: int  # status raised: to accept
    issue_schedulable: int  # accepted, on no coming meeting's agenda: to schedule or put on the agenda
    series_id: int
    occurrence: str  # a coming date of the series that has no meeting yet
    meeting_id: int  # live, two agenda entries, the first under discussion
    join_code: str
    entries: tuple[int, int]
    ended_meeting_id: int
    household_id: int
    person_id: int  # the owner of ``household_id`` in the ownership register: the tablet's resident
    tablet_attendance: int  # that owner's device, verified at the desk (binding votes take its ballot)
    device_token: str
    slip_code: str  # an unused household slip of ``slip_household`` (one owner), as printed
    unpaired_attendance: int  # checked in by staff, on no device
    self_attendance: int  # a guest who checked in on their own device: not admitted, not verified
    speaking_request: int
    draft_vote: int
    open_vote: int
    open_voter: str  # an elector of the open vote who has not voted (paper, proxy, kiosk)
    kiosk_nonce: str  # the shared tablet's ballot, opened for ``kiosk_voter``
    issue_vote: int  # a draft vote of an issue (households of a stairwell)
    action_id: int = 0  # a follow-up action the liaison's organisation owns, on an issue of committee_A's kind
    issue_resolved: int = 0  # resolved, every action done: to rate at the quarterly review
    photo_id: int = 0  # a photo with a progress note on ``action_id``


@dataclass
class World:
    url: str  # its database (tests/databases.py): copied for each server, never written to
    scopes: dict[str, Scope]
    organisation_id: int
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)  # role → cookies
    buildings: dict[str, str] = field(default_factory=dict)  # scope → a building with slips to print
    admin: dict[str, Any] = field(default_factory=dict)  # the administration's objects (_administration)


def settings(url: str = "sqlite://") -> Settings:
    return Settings(database_url=url, secret_key="test-secret", language="zh-Hans")


def _one(db: Session, statement) -> Any:
    found = db.exec(statement).first()
    assert found is not None, f"the demo lacks what the world needs: {statement}"
    return found


def _scope(db: Session, key: str, slug: str, facilitator_name: str) -> tuple[Scope, str]:
    """The scope's objects, and the building its slips were printed for (a name, not an object:
    both communities may have a building 1, so it is kept out of the Scope's probed fields)."""
    community = _one(db, select(Area).where(Area.slug == slug))
    committee = _one(db, select(Committee).where(Committee.community_id == community.id).order_by(Committee.id))
    raised = issue_registry.raise_issue(db, community_id=community.id, title=f"楼道灯坏了（{key}）", description="",
                                  category="safety", place="3栋", source="online", raised_by="居民")
    series = _one(db, select(Series).where(Series.community_id == community.id).order_by(Series.id))
    meeting = _one(db, select(Meeting).where(Meeting.community_id == community.id,
                                             Meeting.status == MeetingStatus.planned, Meeting.starts_at > now())
                   .order_by(Meeting.starts_at))
    taken = {m.starts_at for m in db.exec(select(Meeting).where(Meeting.series_id == series.id))}
    occurrence = next(t for t in recurrence.occurrences(series.rrule, series.dtstart, now(), 20) if t not in taken)
    # Two entries at least, so moving and jumping have somewhere to go.
    for n in range(2):
        extra = issue_registry.raise_issue(db, community_id=community.id, title=f"议程{n + 1}（{key}）", description="",
                                     category="noise", place="1栋", source="meeting", raised_by="居民")
        issue_registry.move(db, extra, "accept", actor=facilitator_name, facts=_facts(committee.id))
        issue_registry.place_on_agenda(db, extra, meeting, actor=facilitator_name)
    schedulable = issue_registry.raise_issue(db, community_id=community.id, title=f"垃圾分类（{key}）", description="",
                                       category="sanitation", place="2栋", source="online", raised_by="居民")
    issue_registry.move(db, schedulable, "accept", actor=facilitator_name, facts=_facts(committee.id))
    db.flush()
    room.start(db, meeting, actor=facilitator_name)
    db.flush()
    entries = agenda.entries_of(db, meeting.id)
    owner, household = db.exec(select(Person, Household).join(Ownership, Ownership.person_id == Person.id)
                               .join(Household, col(Household.id) == Ownership.household_id)
                               .where(Household.community_id == community.id, col(Household.developer_held).is_(False))
                               .order_by(Person.id)).first()
    token = secrets.token_urlsafe(24)
    tablet = room.check_in(db, meeting, name=owner.name, household=household, device_token=token)
    # Verified at the desk from the register, before the vote opens: a tablet ballot is taken from
    # a verified resident only (and an attendance vote's electors are those admitted when it opens).
    verification.verify(db, tablet, household, owner, method="register", by=facilitator_name)
    unpaired = room.check_in(db, meeting, name="来宾老周", by=facilitator_name)
    walk_in = room.check_in(db, meeting, name="来宾小李", device_token=secrets.token_urlsafe(24))
    # A slip for another household with a single owner (so entering it verifies at once), not the
    # developer's; printed as staff print them.
    single = (select(Ownership.household_id).join(Household, col(Household.id) == Ownership.household_id)
              .where(Household.community_id == community.id, col(Household.developer_held).is_(False),
                     Ownership.household_id != household.id)
              .group_by(Ownership.household_id).having(func.count() == 1).order_by(Ownership.household_id))
    slip_household = db.get(Household, _one(db, single))
    printed = verification.issue_slips(db, community.id, slip_household.building, slip_household.unit,
                                       by=facilitator_name)
    slip_code = next(p.code for p in printed if p.household.id == slip_household.id)
    other = room.check_in(db, meeting, name="来宾小王", by=facilitator_name)
    hand = room.raise_hand(db, meeting, unpaired)
    db.add(Comment(meeting_id=meeting.id, agenda_entry_id=meeting.current_entry_id, attendance_id=tablet.id,
                   text="希望尽快解决"))
    db.flush()
    base = {"question": "同意按方案推进吗？", "kind": "for_against", "options": "", "scope": "attendance",
            "counting_unit": "person", "weighting": "head", "rule": "simple", "closing": "facilitator",
            "closes_at": "", "results_while_open": "on", "agenda_entry": str(entries[0].id)}
    open_vote, errors = votes.create_vote(db, base, community_id=community.id, meeting=meeting, issue=None,
                                          actor=facilitator_name)
    assert not errors, errors
    db.flush()
    votes.open_vote(db, open_vote, actor=facilitator_name)
    db.flush()
    keys = {e.voter_key for e in db.exec(select(VoteElector).where(VoteElector.vote_id == open_vote.id))}
    open_voter = votes.voter_key_for(db, open_vote, other)
    kiosk_voter = votes.voter_key_for(db, open_vote, unpaired)
    assert {open_voter, kiosk_voter} <= keys
    assert votes.open_shared_tablet(db, open_vote, kiosk_voter, actor=facilitator_name) is None
    draft, errors = votes.create_vote(db, base | {"question": "草稿表决"}, community_id=community.id,
                                      meeting=meeting, issue=None, actor=facilitator_name)
    assert not errors, errors
    issue_vote, errors = votes.create_vote(db, base | {"question": "议题表决", "scope": "community",
                                                       "counting_unit": "household", "agenda_entry": ""},
                                           community_id=community.id, meeting=None, issue=schedulable,
                                           actor=facilitator_name)
    assert not errors, errors
    ended = _one(db, select(Meeting).where(Meeting.community_id == community.id, Meeting.status == MeetingStatus.ended)
                 .order_by(col(Meeting.starts_at).desc()))
    action, resolved, photo = _followup(db, community, facilitator_name, raised)
    db.flush()
    return (Scope(key=key, community_id=community.id, slug=slug, committee_id=committee.id, issue_raised=raised.id,
                 issue_schedulable=schedulable.id, series_id=series.id, occurrence=occurrence.isoformat(),
                 meeting_id=meeting.id, join_code=meeting.join_code, entries=(entries[0].id, entries[1].id),
                 ended_meeting_id=ended.id,
                 household_id=household.id, person_id=owner.id, tablet_attendance=tablet.id, device_token=token,
                 slip_code=slip_code, unpaired_attendance=unpaired.id, self_attendance=walk_in.id,
                 speaking_request=hand.id, draft_vote=draft.id,
                 open_vote=open_vote.id, open_voter=open_voter, kiosk_nonce=open_vote.kiosk_nonce,
                 issue_vote=issue_vote.id, action_id=action.id, issue_resolved=resolved.id, photo_id=photo.id),
            slip_household.building)


# A private person who owns follow-up work: the public never sees this name (test_permissions_matrix).
LANDLORD = "房东王守业"


def _followup(db: Session, community: Area, facilitator_name: str, raised: Issue) -> tuple:
    """An action of the first organisation (the liaison's) on an issue of the environment committee
    (the committee member's kind), and a resolved issue whose actions are done, to rate. The
    organisation's action was first given to a landlord (``LANDLORD``, a person without a sign-in,
    as the demo's 陈国富), who also owns an action of the ``raised`` issue: pages name them only to
    those who may see personal data."""
    from datetime import timedelta

    from forum import action_registry
    from forum.followup import Owner

    environment = _one(db, select(Committee).where(Committee.community_id == community.id,
                                                   Committee.kind == "environment"))
    organisation = _one(db, select(Organisation).order_by(Organisation.id))
    landlord = Person(name=LANDLORD, phone=None)
    db.add(landlord)
    db.flush()
    out = []
    by_organisation = Owner(organisation_id=organisation.id)
    for title, first in (("油烟扰民", Owner(person_id=landlord.id)), ("活禽饲养", by_organisation)):
        issue = issue_registry.raise_issue(db, community_id=community.id, title=f"{title}（{community.slug}）",
                                           description="", category="fumes", place="3号", source="meeting",
                                           raised_by="居民")
        issue_registry.move(db, issue, "accept", actor=facilitator_name, facts=_facts(environment.id))
        issue.status = "in_progress"  # taken up and decided at an earlier meeting
        action = action_registry.create(db, issue, what=f"更换油烟净化设备（{community.slug}）",
                                        owner=first, due=now().date() + timedelta(days=10), actor=facilitator_name,
                                        today=now().date())
        out.append((issue, action))
    (_issue, action), (resolved, done) = out
    action_registry.reassign(db, action, by_organisation, reason="房东不处理，交给经营者",
                             actor=facilitator_name)
    action_registry.create(db, raised, what=f"修好楼道灯（{community.slug}）", owner=Owner(person_id=landlord.id),
                           due=now().date() + timedelta(days=7), actor=facilitator_name, today=now().date())
    action_registry.set_status(db, done, "done", actor=facilitator_name)
    issue_registry.move(db, resolved, "resolve", actor=facilitator_name, note="已解决")
    action_registry.add_progress(db, action, actor=facilitator_name, text="已联系面馆")
    photo = action_registry.attach_photo(db, action, _tiny_photo(), actor=facilitator_name)
    return action, resolved, photo


def _tiny_photo():
    import io

    from PIL import Image

    from forum import photos

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 160, 90)).save(out, "PNG")
    return photos.process(out.getvalue())


def _facts(committee_id: int):
    from forum.lifecycle import Facts

    return Facts(committee_id=committee_id)


def _administration(db: Session, scopes: dict[str, Scope], organisation: Organisation) -> dict[str, Any]:
    """What the administration routes act on: a street of no meeting with a community to rename,
    move and archive and an archived one to restore; a committee member; a standing invitee of each
    scope's series; and the ids of the demo's objects the routes name."""
    from forum import administration

    district = _one(db, select(Area).where(Area.kind == "district"))
    street = _one(db, select(Area).where(Area.kind == "street"))
    spare_street = Area(name="朝天门街道", kind="street", parent_id=district.id, slug="chaotianmen")
    db.add(spare_street)
    db.flush()
    spare = Area(name="测试社区", kind="community", parent_id=spare_street.id, slug="spare")
    archived = Area(name="旧社区", kind="community", parent_id=spare_street.id, slug="old", archived_at=now())
    db.add_all([spare, archived])
    db.flush()
    committee = db.get(Committee, scopes["A"].committee_id)
    member = administration.add_member(db, committee, name="刘律师", phone="13900000000")
    out: dict[str, Any] = {
        "street": street.id, "spare_street": spare_street.id, "spare": spare.id, "archived": archived.id,
        "member": member.id, "organisation_name": organisation.name, "organisation_kind": organisation.kind,
        "format": _one(db, select(ForumFormat.id).where(ForumFormat.community_id == scopes["A"].community_id)),
        "liaison": _one(db, select(Person.id).where(Person.organisation_id == organisation.id)),
        "facilitator": _one(db, select(User.id).where(User.username == "facilitator")),
    }
    uninvited = Organisation(name="未受邀单位", kind="social")
    db.add(uninvited)
    db.flush()
    out["uninvited"] = uninvited.id
    for key, scope in scopes.items():
        extra = Organisation(name=f"受邀单位{key}", kind="social")
        db.add(extra)
        db.flush()
        out[f"invitee_{key}"] = administration.add_invitee(db, db.get(Series, scope.series_id), organisation=extra).id
    db.flush()
    return out


# The people of the matrix: every role, each with what identifies it to the server.
ROLES = ("anonymous", "facilitator_A", "facilitator_B", "committee_A", "liaison", "admin", "tablet_A",
         "shared_tablet_A")
STAFF_LOGINS = {"facilitator_A": "facilitator", "facilitator_B": "facilitator_b", "committee_A": "committee",
                "liaison": "liaison", "admin": "admin"}


def cookies_of(client: TestClient) -> dict[str, str]:
    """The client's cookies by name, the latest of each (a response may set one again)."""
    return {c.name: c.value for c in client.cookies.jar if c.value}


def build(databases, demo_template: str) -> World:
    """The world in a copy of the demo database, with every role's cookies (signed in against it, so
    any session state the server keeps is in the database too)."""
    url = databases.copy(demo_template, "world")
    engine = database.make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as db:
            slug_b = COMMUNITIES[1][1]
            community_b = _one(db, select(Area).where(Area.slug == slug_b))
            create_user(db, username="facilitator_b", password="demo1234", display_name="白象街 陈书记",
                        role="facilitator", community_id=community_b.id)
            db.flush()
            built = {"A": _scope(db, "A", COMMUNITIES[0][1], "王主任"),
                     "B": _scope(db, "B", slug_b, "白象街 陈书记")}
            scopes = {k: scope for k, (scope, _building) in built.items()}
            organisation = _one(db, select(Organisation).order_by(Organisation.id))
            administration = _administration(db, scopes, organisation)
            liaison = _one(db, select(User).where(User.username == "liaison"))
            administration["notice"] = _one(db, select(Notice.id).where(Notice.user_id == liaison.id))
            db.commit()
        world = World(url=url, scopes=scopes, organisation_id=organisation.id,
                      buildings={k: building for k, (_scope, building) in built.items()}, admin=administration)
        app = create_app(settings(url), engine=engine)
        with TestClient(app) as client:

            def sign_in(username: str) -> None:
                client.cookies.clear()
                r = client.post("/login", data={"username": username, "password": "demo1234"}, follow_redirects=False)
                assert r.status_code == 303, (username, r.status_code)

            # The shared tablet first: a facilitator makes this device the meeting's, which signs
            # them out here (and may end that sign-in everywhere, so everyone signs in after it).
            sign_in("facilitator")
            r = client.post(f"/meetings/{scopes['A'].meeting_id}/shared-tablet", follow_redirects=False)
            assert r.status_code == 303, r.status_code
            world.cookies["shared_tablet_A"] = {k: v for k, v in cookies_of(client).items() if k != auth.DEVICE_COOKIE}
            world.cookies["anonymous"] = {}
            for role, username in STAFF_LOGINS.items():
                sign_in(username)
                world.cookies[role] = cookies_of(client)
            world.cookies["tablet_A"] = {auth.DEVICE_COOKIE: scopes["A"].device_token}
    finally:
        engine.dispose()
    return world


# ---------------------------------------------------------------- how each route is called with success

# Routes whose objects are not a community's: called once, not per scope.
UNSCOPED = {"index", "login", "logout", "lang", "static", "organisation", "slip", "change_password", "audit_log",
            # administration: the area tree, organisations and accounts are the installation's
            "admin_home", "area_create", "admin_area", "area_rename", "area_move", "area_archive", "area_restore",
            "committees_setup", "format_add", "format_rename", "admin_committee", "member_add", "member_chair",
            "member_remove", "admin_organisations", "admin_organisation", "liaison_add", "liaison_remove",
            "admin_users", "admin_user", "user_disable", "user_enable", "user_password_reset",
            # one's own work and notices
            "my_work", "notices", "notice_open",
            # open data: the installation's whole record
            "api_openapi", "api_docs", "api_areas"}


@dataclass
class Call:
    path: dict[str, object] = field(default_factory=dict)
    data: dict[str, object] | None = None
    query: dict[str, str] | None = None
    files: dict | None = None


def _static_file() -> str:
    return sorted(p.relative_to(STATIC).as_posix() for p in Path(STATIC).rglob("*") if p.is_file())[0]


def _building_of(world: World, scope: Scope) -> str:
    """The building of the scope's slip household: one with owned units to print slips for."""
    return world.buildings.get(scope.key, "")  # "" for the matrix's probe scope, whose fields are markers


def _in_days(n: int) -> str:
    from datetime import timedelta

    return (now().date() + timedelta(days=n)).isoformat()


def _register_csv() -> bytes:
    return "building,unit,room,floor_area,owner,phone\n9,1,101,88.5,测试业主,13800000000\n".encode()


VOTE_FORM = {"question": "同意吗？", "kind": "for_against", "options": "", "scope": "attendance",
             "counting_unit": "person", "weighting": "head", "rule": "simple", "closing": "facilitator",
             "closes_at": "", "results_while_open": "on"}

# route name → (scope, world, variant) → the call that succeeds for someone allowed.
CALLS = {
    "index": lambda s, w, v: Call(),
    "community": lambda s, w, v: Call({"community": s.slug}),
    "issues": lambda s, w, v: Call({"community": s.slug}, query={"status": "open"}),
    "issue_new": lambda s, w, v: Call({"community": s.slug}, data={
        "title": "路灯不亮", "description": "晚上很黑", "category": "safety", "place": "2栋", "raised_by": "居民老张",
        "source": "visit"}),
    "series_list": lambda s, w, v: Call({"community": s.slug}),
    "series_new": lambda s, w, v: Call({"community": s.slug}, data={
        "title": "楼栋议事会", "cadence": "monthly", "rrule": "FREQ=MONTHLY;BYDAY=2WE", "dtstart": "2027-01-13T19:00",
        "duration_minutes": "60", "place": "活动室", "forum_format": ""}),
    "committees": lambda s, w, v: Call({"community": s.slug}),
    "issue": lambda s, w, v: Call({"id": s.issue_raised}),
    "issue_move": lambda s, w, v: Call({"id": s.issue_raised}, data={"action": "accept",
                                                                    "committee": s.committee_id}),
    "issue_schedule": lambda s, w, v: Call({"id": s.issue_schedulable}, data={"meeting": s.meeting_id}),
    "series": lambda s, w, v: Call({"id": s.series_id}),
    "series_create_meeting": lambda s, w, v: Call({"id": s.series_id}, data={"starts_at": s.occurrence}),
    "meeting": lambda s, w, v: Call({"id": s.meeting_id}),
    "agenda_add": lambda s, w, v: Call({"id": s.meeting_id}, data={"issue": s.issue_schedulable,
                                                                   "planned_minutes": "15"}),
    "agenda_move": lambda s, w, v: Call({"id": s.meeting_id, "entry": s.entries[0]}, data={"direction": "down"}),
    "agenda_remove": lambda s, w, v: Call({"id": s.meeting_id, "entry": s.entries[1]}),
    "agenda_minutes": lambda s, w, v: Call({"id": s.meeting_id, "entry": s.entries[0]},
                                           data={"planned_minutes": "25"}),
    "meeting_votes": lambda s, w, v: Call({"id": s.meeting_id}, data=VOTE_FORM | {"agenda_entry": s.entries[0]}),
    "issue_votes": lambda s, w, v: Call({"id": s.issue_schedulable}, data=VOTE_FORM | {
        "scope": "community", "counting_unit": "household", "agenda_entry": ""}),
    "vote": lambda s, w, v: Call({"id": s.open_vote}),
    "vote_result_json": lambda s, w, v: Call({"id": s.open_vote}),
    "vote_open": lambda s, w, v: Call({"id": s.draft_vote}),
    "vote_close": lambda s, w, v: Call({"id": s.open_vote}),
    "vote_hands": lambda s, w, v: Call({"id": s.open_vote}, data={"hands-for": "1", "hands-against": "1",
                                                                  "hands-abstain": "0"}),
    "vote_paper": lambda s, w, v: Call({"id": s.open_vote}, data={"voter": s.open_voter, "serial": "P-0001",
                                                                  "choice": "for"}),
    "vote_proxy": lambda s, w, v: Call({"id": s.open_vote}, data={"principal": s.open_voter,
                                                                  "holder": s.tablet_attendance, "note": ""}),
    "vote_shared_tablet": lambda s, w, v: Call({"id": s.open_vote}, data={"voter": s.open_voter}),
    "vote_shared_tablet_cast": lambda s, w, v: Call({"id": s.open_vote},
                                                    data={"nonce": s.kiosk_nonce, "choice": "for"}),
    "vote_ballot": lambda s, w, v: Call({"id": s.open_vote}),
    "vote_cast": lambda s, w, v: Call({"id": s.open_vote}, data={"voter": "", "choice": "for"}),
    "room_console": lambda s, w, v: Call({"id": s.meeting_id}),
    "room_household_search": lambda s, w, v: Call({"id": s.meeting_id}, query={"q": "1-1"}),
    "room_console_action": lambda s, w, v: Call({"id": s.meeting_id, "action": v}, data={
        "jump": {"entry": s.entries[1]}, "floor": {"request": s.speaking_request},
        "remove": {"request": s.speaking_request}, "decision": {"decision": "同意，下周落实"},
        "checkin": {"name": "来宾老李", "household": s.household_id},
        # At the desk, from the register: the owner of the household, shown their ID.
        "verify": {"household": s.household_id, "person": s.person_id},
        "revoke": {"attendance": s.tablet_attendance}, "remove-device": {"attendance": s.tablet_attendance},
        "admit": {"attendance": s.self_attendance},
    }.get(v, {})),
    "room_screen": lambda s, w, v: Call({"id": s.meeting_id}),
    "room_shared_tablet": lambda s, w, v: Call({"id": s.meeting_id}),
    "room_tablet": lambda s, w, v: Call({"id": s.meeting_id}),
    "room_tablet_action": lambda s, w, v: Call({"id": s.meeting_id, "action": v}, data={
        "join": {"name": "居民小陈", "building": "", "unit": "", "room": "", "code": s.join_code},
        "hand": {"up": "1"}, "comment": {"text": "同意"},
    }.get(v, {})),
    # A device not yet in the meeting gives the hall's code with its slip; one in it needs none.
    "room_tablet_slip": lambda s, w, v: Call({"id": s.meeting_id}, data={"slip": s.slip_code, "code": s.join_code}),
    "minutes": lambda s, w, v: Call({"id": s.ended_meeting_id}),
    "minutes_md": lambda s, w, v: Call({"id": s.ended_meeting_id}),
    "room_ws": lambda s, w, v: Call({"id": s.meeting_id}, query={"audience": v}),
    "join": lambda s, w, v: Call(query={"code": s.join_code}, data={"code": s.join_code}),
    "slip": lambda s, w, v: Call(query={"code": s.slip_code}),
    "slips": lambda s, w, v: Call({"community": s.slug}, data={"building": _building_of(w, s), "unit": ""}),
    "committee": lambda s, w, v: Call({"id": s.committee_id}),
    "organisation": lambda s, w, v: Call({"id": w.organisation_id}),
    "household_import": lambda s, w, v: Call(data={"community": s.community_id},
                                             files={"file": ("register.csv", _register_csv(), "text/csv")}),
    "login": lambda s, w, v: Call(data={"username": "committee", "password": "demo1234"}),
    "logout": lambda s, w, v: Call(),
    "lang": lambda s, w, v: Call(query={"to": "en", "next": "/"}),
    "change_password": lambda s, w, v: Call(data={"current": "demo1234", "new": "a-new-password-1", "again":
                                                  "a-new-password-1"}),
    "audit_log": lambda s, w, v: Call(query={"action": "signin"}),
    "person": lambda s, w, v: Call({"id": s.person_id}),
    "person_export": lambda s, w, v: Call({"id": s.person_id}),
    "person_erase": lambda s, w, v: Call({"id": s.person_id}),
    "static": lambda s, w, v: Call({"path": _static_file()}),
    # administration (issue #11)
    "admin_home": lambda s, w, v: Call(),
    "area_create": lambda s, w, v: Call(data={"name": "新社区", "parent": w.admin["spare_street"], "slug": ""}),
    "admin_area": lambda s, w, v: Call({"id": w.admin["spare"]}),
    "area_rename": lambda s, w, v: Call({"id": w.admin["spare"]}, data={"name": "新名字社区"}),
    "area_move": lambda s, w, v: Call({"id": w.admin["spare"]}, data={"parent": w.admin["street"]}),
    "area_archive": lambda s, w, v: Call({"id": w.admin["spare"]}),
    "area_restore": lambda s, w, v: Call({"id": w.admin["archived"]}),
    "committees_setup": lambda s, w, v: Call({"id": w.admin["spare"]}),
    "format_add": lambda s, w, v: Call({"id": s.community_id}, data={"name": "邻里议事会"}),
    "format_rename": lambda s, w, v: Call({"id": w.admin["format"]}, data={"name": "幸福圆桌会（新）"}),
    "admin_committee": lambda s, w, v: Call({"id": s.committee_id}, data={"name": "调解委员会"}),
    "member_add": lambda s, w, v: Call({"id": s.committee_id}, data={"name": "赵医生", "phone": "", "chair": "1"}),
    "member_chair": lambda s, w, v: Call({"id": w.admin["member"]}),
    "member_remove": lambda s, w, v: Call({"id": w.admin["member"]}),
    "admin_organisations": lambda s, w, v: Call(data={"name": "新物业公司", "kind": "property", "phone": "",
                                                      "communities": s.community_id}),
    "admin_organisation": lambda s, w, v: Call({"id": w.organisation_id}, data={
        "name": w.admin["organisation_name"], "kind": w.admin["organisation_kind"], "phone": "023-6380 1234",
        "communities": s.community_id}),
    "liaison_add": lambda s, w, v: Call({"id": w.organisation_id}, data={"name": "新联络人", "phone": ""}),
    "liaison_remove": lambda s, w, v: Call({"id": w.admin["liaison"]}),
    "admin_users": lambda s, w, v: Call(data={"display_name": "新主任", "username": "new.facilitator",
                                              "role": "facilitator", "scope": s.community_id, "committee": "",
                                              "organisation": "", "password": ""}),
    "admin_user": lambda s, w, v: Call({"id": w.admin["facilitator"]}, data={
        "role": "facilitator", "scope": w.admin["street"], "committee": "", "organisation": ""}),
    "user_disable": lambda s, w, v: Call({"id": w.admin["facilitator"]}),
    "user_enable": lambda s, w, v: Call({"id": w.admin["facilitator"]}),
    "user_password_reset": lambda s, w, v: Call({"id": w.admin["facilitator"]}),
    # after the meeting (issue #12)
    "issue_action_new": lambda s, w, v: Call({"id": s.issue_schedulable}, data={
        "what": "清理楼道杂物", "owner": f"o{w.organisation_id}", "due": _in_days(7)}),
    "issue_outside": lambda s, w, v: Call({"id": s.issue_schedulable}, data={"needs_outside": "1"}),
    "issue_rate": lambda s, w, v: Call({"id": s.issue_resolved}, data={
        "source": "paper", "satisfied": "9", "basically": "2", "dissatisfied": "1", "reason": ""}),
    "meeting_action_new": lambda s, w, v: Call({"id": s.meeting_id}, data={
        "entry": s.entries[0], "what": "物业修好路灯", "owner": f"o{w.organisation_id}", "due": _in_days(7)}),
    "meeting_draft": lambda s, w, v: Call({"id": s.meeting_id}),
    "action": lambda s, w, v: Call({"id": s.action_id}),
    "action_photo": lambda s, w, v: Call({"id": s.action_id, "photo": s.photo_id}, query={"size": "thumb"}),
    "action_update": lambda s, w, v: Call({"id": s.action_id, "action": v}, data={
        "progress": {"note": "已联系面馆"}, "status": {"status": "done", "note": "已更换"},
        "reassign": {"owner": f"c{s.committee_id}", "reason": "由委员会跟进"},
        "due": {"due": _in_days(20), "reason": "设备缺货"}}.get(v, {})),
    "my_work": lambda s, w, v: Call(),
    "notices": lambda s, w, v: Call(),
    "notice_open": lambda s, w, v: Call({"id": w.admin.get("notice", 0)}),
    "series_invitees": lambda s, w, v: Call({"id": s.series_id}, data={"invitee": f"o{w.admin.get('uninvited', 0)}"}),
    "invitee_remove": lambda s, w, v: Call({"id": s.series_id, "invitee": w.admin.get(f"invitee_{s.key}", 0)}),
    # open data (issue #13)
    "api_openapi": lambda s, w, v: Call(),
    "api_docs": lambda s, w, v: Call(),
    "api_areas": lambda s, w, v: Call(query={"per_page": "20"}),
    "api_issues": lambda s, w, v: Call(query={"community": s.slug, "status": "open"}),
    "api_issue": lambda s, w, v: Call({"id": s.issue_raised}),
    "api_meetings": lambda s, w, v: Call(query={"community": s.slug}),
    "api_meeting": lambda s, w, v: Call({"id": s.meeting_id}),
    "api_votes": lambda s, w, v: Call(query={"community": s.slug}),
    "api_vote": lambda s, w, v: Call({"id": s.open_vote}),
    "api_actions": lambda s, w, v: Call(query={"community": s.slug, "overdue": "false"}),
    "issues_csv": lambda s, w, v: Call({"community": s.slug}, query={"status": "open"}),
    "actions_csv": lambda s, w, v: Call({"community": s.slug}, query={"status": "unfinished"}),
    "community_actions": lambda s, w, v: Call({"community": s.slug}, query={"overdue": "1"}),
    "area_actions": lambda s, w, v: Call({"area": s.slug}, query={"status": "unfinished"}),
    "meetings_csv": lambda s, w, v: Call({"community": s.slug}),
    "attendance_csv": lambda s, w, v: Call({"community": s.slug}),
    "community_ics": lambda s, w, v: Call({"community": s.slug}),
    "series_ics": lambda s, w, v: Call({"id": s.series_id}),
    "community_dashboard": lambda s, w, v: Call({"community": s.slug}),
    "meeting_list": lambda s, w, v: Call({"community": s.slug}),
    "area_dashboard": lambda s, w, v: Call({"area": s.slug}),
    "area_issues": lambda s, w, v: Call({"area": s.slug}, query={"status": "open"}),
    "committee_dashboard": lambda s, w, v: Call({"id": s.committee_id}),
    "quarter_report": lambda s, w, v: Call({"community": s.slug}),
    "quarter_report_docx": lambda s, w, v: Call({"community": s.slug}),
    "quarter_report_csv": lambda s, w, v: Call({"community": s.slug}),
    "minutes_docx": lambda s, w, v: Call({"id": s.ended_meeting_id}),
}


def url(endpoint: Endpoint, call: Call) -> str:
    path = endpoint.path
    for key, value in call.path.items():
        path = path.replace(f"{{{key}:int}}", str(value)).replace(f"{{{key}}}", str(value))
    assert "{" not in path, f"{endpoint.name}: no value for a parameter of {path}"
    return path


# ---------------------------------------------------------------- the database's state


# Tables a refused request may legitimately write: counts of failed guesses (throttling).
# The run-once lease (forum/lease.py) is taken and renewed by the vote closer's thread, not by requests.
VOLATILE = {"throttlecount", "alembic_version", "lease"}
# Columns any request may write, left out of the fingerprint: a staff session's last use, written at
# most once a minute by every signed-in request, GETs and refusals included (forum/sessions.py). It
# is bookkeeping for idle expiry and changes nothing anyone sees; the rest of the session row (its
# start, its end, whose it is) is compared like any other.
VOLATILE_COLUMNS = {"staffsession": {"last_seen_at"}}
# Audit rows a request that changes nothing writes on purpose, by the route that writes them: the
# audit log records refused sign-ins (who tried which account, from where), and who downloaded a
# person's data (reading personal data is what the log is for). Only that route's rows of that
# action are left out, and only where the caller says the route wrote them (``changed(audited=…)``):
# an audit row written by any other refused request or GET is still a change.
AUDITED_READS = {"login": "signin_refused", "person_export": "person_export"}


def tables(engine: Engine) -> list[str]:
    return sorted(t for t in inspect(engine).get_table_names() if t not in VOLATILE)


def _rows(t: str, audited: str | None) -> str:
    where = " where action <> :audited" if t == "auditentry" and audited else ""
    return f'from "{t}"{where}'


def row_counts(engine: Engine, audited: str | None = None) -> dict[str, int]:
    with engine.connect() as c:
        return {t: c.execute(text(f"select count(*) {_rows(t, audited)}"), {"audited": audited}).scalar_one()
                for t in tables(engine)}


def fingerprint(engine: Engine, audited: str | None = None) -> dict[str, str]:
    """A digest of every row of every table: equal fingerprints, nothing stored or changed.
    ``audited``: the action of audit rows to leave out (one of AUDITED_READS)."""
    out = {}
    with engine.connect() as c:
        for t in tables(engine):
            skip = VOLATILE_COLUMNS.get(t, set())
            columns = ", ".join(f'"{col["name"]}"' for col in inspect(c).get_columns(t) if col["name"] not in skip)
            digest = hashlib.blake2b(digest_size=16)
            for row in c.execute(text(f"select {columns} {_rows(t, audited)} order by 1"), {"audited": audited}):
                digest.update(repr(tuple(row)).encode())
            out[t] = digest.hexdigest()
    return out


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


# ---------------------------------------------------------------- a server over a copy of the world


class Server:
    """The app over a private copy of the world's database, reset to the world at will."""

    def __init__(self, world: World, databases) -> None:
        self.world = world
        self.databases = databases
        self.url = ""
        self.client: TestClient | None = None
        self.engine: Engine | None = None
        self.pristine: dict[str, str] | None = None
        self.pristine_counts: dict[str, int] = {}
        self._pristine_audited: dict[str, dict[str, str]] = {}  # the world's fingerprint without those rows

    def __enter__(self) -> Server:
        self.reset()
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        if self.client is not None:
            self.client.__exit__(None, None, None)
            self.client = None
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
        if self.url:
            self.databases.drop(self.url)
            self.url = ""

    def reset(self) -> None:
        self._close()
        self.url = self.databases.copy(self.world.url, "server")
        self.engine = database.make_engine(self.url)
        app = create_app(settings(self.url), engine=self.engine)
        # The hourly notices' sweep (forum.notify.Notices) writes notices in the background a
        # minute after start: here the tables must change by requests alone, so it is left out.
        app.state.vote_closer.notices = None
        self.client = TestClient(app, raise_server_exceptions=False)
        self.client.__enter__()
        if self.pristine is None:
            self.pristine = fingerprint(self.engine)
            self.pristine_counts = row_counts(self.engine)
            self._pristine_audited = {a: fingerprint(self.engine, a) for a in AUDITED_READS.values()}

    def as_role(self, role: str) -> TestClient:
        assert self.client is not None
        self.client.cookies.clear()
        self.client.cookies.update(self.world.cookies[role])
        return self.client

    def changed(self, audited: str | None = None) -> list[str]:
        """The tables that differ from the world's (the server is reset after every change).
        ``audited``: leave out the audit rows of that action (AUDITED_READS: the route wrote them)."""
        assert self.engine is not None and self.pristine is not None
        if audited is None:
            return changed_tables(self.pristine, fingerprint(self.engine))
        return changed_tables(self._pristine_audited[audited], fingerprint(self.engine, audited))
