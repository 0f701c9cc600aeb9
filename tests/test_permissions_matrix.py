"""Who may do what, for every route of the app: role × route × scope, from ONE table of rules.

The routes come from the app's route table (``forum.app.routes``, Mounts walked into), not from a
list kept here, so a new route without a rule in ``RULES`` fails the suite naming it. Each route is
called by every role, on the objects of community A and again on those of community B, with a form
that would succeed for someone allowed: so a refusal is a real refusal, not a validation error.

For each call:
- someone allowed is let through (no sign-in page, no 403, no error);
- someone not allowed is refused (sign-in page or 403; "ignored" rules: sent back, nothing done);
- nothing but an allowed POST changes the database: a digest of every row of every table is
  compared before and after (row counts are in the failure message);
- pages with staff sections (``.staff``) show them only to those who may use them;
- residents' names and flats (``[data-personal]``), and the name of a person owning a follow-up
  action (the world's landlord), only to those who may see the community's personal data.

Roles, each relative to the object's community: anonymous, the facilitator of community A and of
community B, a committee member of A, a liaison (no community), an administrator, a resident's
tablet checked in to A's live meeting, and the shared tablet of that meeting.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import text
from starlette.websockets import WebSocketDisconnect

from tests import app_world
from tests.app_world import CALLS, ROLES, UNSCOPED, Call, Endpoint, Server, World, url

# ---------------------------------------------------------------- who may: the one table

# Who, relative to the object's community: "facilitator" means a facilitator of the object's own
# community (the facilitator of the other community is not one), and so on.
EVERYONE = frozenset({"everyone"})
ADMINS = frozenset({"admin"})
RUNNERS = frozenset({"facilitator", "admin"})  # run meetings and votes of their community
TRIAGERS = frozenset({"facilitator", "committee", "admin"})  # move issues of their community
TABLET = frozenset({"tablet"})  # the resident's tablet checked in to the object's meeting
SHARED_TABLET_OR_RUNNERS = frozenset({"shared_tablet", "facilitator", "admin"})
STAFF = frozenset({"facilitator", "committee", "liaison", "admin"})  # anyone signed in (unscoped routes)
# Report on a follow-up action: its community's facilitators and admins, the committee whose issue it
# serves, and the liaison of the organisation that owns it (the world's actions are all theirs, in both
# communities: "owner_liaison" is the liaison whatever the scope).
REPORTERS = frozenset({"facilitator", "committee", "admin", "owner_liaison"})


@dataclass(frozen=True)
class Rule:
    who: frozenset[str]
    # How a refusal looks: "denied" is the sign-in page or 403; "ignored" is an answer that does
    # nothing (a tablet's buttons pressed by a device that is nobody: it is sent back to the page).
    refusal: str = "denied"
    # For pages: who sees the staff sections (``.staff``); None: the page has none to check.
    staff_sees: frozenset[str] | None = None
    # For pages: who sees residents' names and flats (``[data-personal]``): the staff of the
    # object's community (README, residents' personal data); None: the page shows none.
    personal_sees: frozenset[str] | None = None


PUBLIC = Rule(EVERYONE)

# route name → who may, per method ("*": every method), and per variant for routes whose last
# path segment (or the socket's audience) names an action.
RULES: dict[str, dict[str, Rule | dict[str, Rule]]] = {
    "index": {"GET": PUBLIC},
    "community": {"GET": PUBLIC},
    "issues": {"GET": PUBLIC},
    "issue_new": {"*": PUBLIC},  # residents raise issues online without signing in
    "series_list": {"GET": PUBLIC},
    "series_new": {"*": Rule(RUNNERS)},
    "committees": {"GET": PUBLIC},
    "issue": {"GET": Rule(EVERYONE, staff_sees=TRIAGERS, personal_sees=TRIAGERS)},
    "issue_move": {"POST": Rule(TRIAGERS)},
    "issue_schedule": {"POST": Rule(TRIAGERS)},
    "series": {"GET": PUBLIC},
    "series_create_meeting": {"POST": Rule(RUNNERS)},
    "meeting": {"GET": PUBLIC},
    "agenda_add": {"POST": Rule(RUNNERS)},
    "agenda_move": {"POST": Rule(RUNNERS)},
    "agenda_remove": {"POST": Rule(RUNNERS)},
    "agenda_minutes": {"POST": Rule(RUNNERS)},
    "meeting_votes": {"GET": Rule(EVERYONE, staff_sees=RUNNERS), "POST": Rule(RUNNERS)},
    "issue_votes": {"GET": Rule(EVERYONE, staff_sees=RUNNERS), "POST": Rule(RUNNERS)},
    # The result page: anyone; the facilitator's sections (who has not voted, with names and
    # flats; proxies) only to those who run the vote's community's meetings.
    "vote": {"GET": Rule(EVERYONE, staff_sees=RUNNERS)},
    "vote_result_json": {"GET": PUBLIC},
    "vote_open": {"POST": Rule(RUNNERS)},
    "vote_close": {"POST": Rule(RUNNERS)},
    "vote_hands": {"POST": Rule(RUNNERS)},
    "vote_paper": {"POST": Rule(RUNNERS)},
    "vote_proxy": {"POST": Rule(RUNNERS)},
    "vote_shared_tablet": {"*": Rule(RUNNERS)},
    "vote_shared_tablet_cast": {"POST": Rule(SHARED_TABLET_OR_RUNNERS)},
    "vote_ballot": {"GET": PUBLIC},
    "vote_cast": {"POST": Rule(TABLET)},
    "room_console": {"GET": Rule(RUNNERS)},
    "room_household_search": {"GET": Rule(RUNNERS)},
    "room_console_action": {"POST": {action: Rule(RUNNERS) for action in app_world.CONSOLE_ACTIONS}},
    "room_screen": {"GET": PUBLIC},
    "room_shared_tablet": {"GET": Rule(SHARED_TABLET_OR_RUNNERS), "POST": Rule(RUNNERS)},
    "room_tablet": {"GET": PUBLIC},
    # A resident's household slip, entered on a device in the meeting or on one giving the hall's code.
    "room_tablet_slip": {"POST": PUBLIC},
    "room_tablet_action": {"POST": {
        # Any device with the hall's code (the call carries it; a wrong or missing code is
        # test_join's business): the tablet "pick your name" is gone, a name comes with a slip.
        "join": PUBLIC, "next-person": PUBLIC,
        "hand": Rule(TABLET, refusal="ignored"), "comment": Rule(TABLET, refusal="ignored"),
    }},
    "minutes": {"GET": Rule(EVERYONE, personal_sees=TRIAGERS)},
    "minutes_md": {"GET": PUBLIC},
    "room_ws": {"WEBSOCKET": {"console": Rule(RUNNERS), "shared_tablet": Rule(SHARED_TABLET_OR_RUNNERS),
                              "tablet": PUBLIC, "screen": PUBLIC}},
    "join": {"*": PUBLIC},
    "slip": {"GET": PUBLIC},  # where a slip's QR code leads: keeps the code, verifies nothing
    "slips": {"*": Rule(RUNNERS)},  # printing a building's household slips: staff who run its meetings
    "committee": {"GET": PUBLIC},
    "organisation": {"GET": PUBLIC},
    "household_import": {"*": Rule(ADMINS)},
    "login": {"*": PUBLIC},
    "logout": {"POST": PUBLIC},
    "lang": {"GET": PUBLIC},
    "static": {"GET": PUBLIC},
    "change_password": {"*": Rule(STAFF)},  # one's own password: anyone signed in
    "audit_log": {"GET": Rule(ADMINS)},
    # A resident's data: the staff who run their community's meetings (its facilitators) and
    # admins (tests/test_privacy.py: a committee member may not export it); erasing: admins.
    "person": {"GET": Rule(RUNNERS)},
    "person_export": {"GET": Rule(RUNNERS)},
    "person_erase": {"POST": Rule(ADMINS)},
    # administration (issue #11): admins within their scope (tests/test_admin_scopes.py checks the
    # scopes of street and district admins; every admin here holds the whole installation)
    **{name: {"*": Rule(ADMINS)} for name in (
        "admin_home", "area_create", "admin_area", "area_rename", "area_move", "area_archive", "area_restore",
        "committees_setup", "format_add", "format_rename", "admin_committee", "member_add", "member_chair",
        "member_remove", "admin_organisations", "admin_organisation", "liaison_add", "liaison_remove", "admin_users",
        "admin_user", "user_disable", "user_enable", "user_password_reset")},
    # a series' standing invitees: whoever runs the community's meetings, as the series itself
    # after the meeting (issue #12): actions agreed by whoever moves the issue or runs the meeting;
    # reported on by their owners; re-planned (owner, due date) by the community's staff only
    "issue_action_new": {"POST": Rule(TRIAGERS)},
    "issue_outside": {"POST": Rule(TRIAGERS)},
    "issue_rate": {"POST": Rule(RUNNERS)},
    "meeting_action_new": {"POST": Rule(RUNNERS)},
    "meeting_draft": {"POST": Rule(RUNNERS)},
    "action": {"GET": Rule(EVERYONE, staff_sees=REPORTERS, personal_sees=TRIAGERS)},
    # Photo evidence may show a resident's door: for those who report on the action, not everyone.
    "action_photo": {"GET": Rule(REPORTERS)},
    "action_update": {"POST": {"progress": Rule(REPORTERS), "status": Rule(REPORTERS), "reassign": Rule(TRIAGERS),
                               "due": Rule(TRIAGERS)}},
    "my_work": {"GET": Rule(STAFF)},
    "notices": {"GET": Rule(STAFF)},
    # One's own notice: someone else's is not theirs to open (sent back to their notices, nothing read).
    "notice_open": {"POST": Rule(frozenset({"liaison"}), refusal="ignored")},
    "series_invitees": {"*": Rule(RUNNERS)},
    "invitee_remove": {"POST": Rule(RUNNERS)},
    # open data (issue #13): the public record, read by anyone
    **{name: {"GET": PUBLIC} for name in (
        "api_openapi", "api_docs", "api_areas", "api_issues", "api_issue", "api_meetings", "api_meeting", "api_votes",
        "api_vote", "api_actions", "issues_csv", "meetings_csv", "attendance_csv", "actions_csv", "community_ics",
        "series_ics",
        # dashboards count the public record (auth.sees_dashboard), like the lists behind their numbers
        "community_dashboard", "meeting_list", "area_dashboard", "area_issues", "committee_dashboard",
        "quarter_report", "quarter_report_docx", "quarter_report_csv",
        # the follow-up actions behind the dashboards' overdue numbers: owners by group, no person named
        "community_actions", "area_actions")},
    # minutes as Word: the minutes page's rule (names and flats only for the community's staff,
    # tests/test_reports.py checks the document)
    "minutes_docx": {"GET": PUBLIC},
}

# Each role: its kind and the community it belongs to ("A", "B" or None).
ROLE_OF = {
    "anonymous": (None, None),
    "facilitator_A": ("facilitator", "A"),
    "facilitator_B": ("facilitator", "B"),
    "committee_A": ("committee", "A"),
    "liaison": ("liaison", None),
    "admin": ("admin", None),
    "tablet_A": ("tablet", "A"),
    "shared_tablet_A": ("shared_tablet", "A"),
}
assert set(ROLE_OF) == set(ROLES)


def may(who: frozenset[str], role: str, scope: str | None) -> bool:
    kind, community = ROLE_OF[role]
    if "everyone" in who or (kind == "admin" and "admin" in who) or (kind == "liaison" and "owner_liaison" in who):
        return True
    return kind in who and kind != "admin" and (scope is None or community == scope)


def variants(endpoint: Endpoint, method: str) -> list[str | None]:
    rule = RULES.get(endpoint.name, {}).get(method) or RULES.get(endpoint.name, {}).get("*")
    return sorted(rule) if isinstance(rule, dict) else [None]


# ---------------------------------------------------------------- the world and the cells


@pytest.fixture(scope="module")
def world(databases, _demo_template) -> World:
    return app_world.build(databases, _demo_template)


def cells() -> list:
    out = []
    for endpoint in app_world.endpoints():
        for method in endpoint.methods:
            scopes = [None] if endpoint.name in UNSCOPED else ["A", "B"]
            for scope in scopes:
                out.append(pytest.param(endpoint, method, scope, id=f"{endpoint.name}-{method}-{scope or 'any'}"))
    return out


@dataclass
class Answer:
    status: int
    location: str = ""
    body: str = ""
    refused: bool = False


def send(client, endpoint: Endpoint, method: str, call: Call) -> Answer:
    address = url(endpoint, call)
    if method == "WEBSOCKET":
        query = "&".join(f"{k}={v}" for k, v in (call.query or {}).items())
        try:
            with client.websocket_connect(f"{address}?{query}") as ws:
                ws.receive_text()  # the page's full state: the socket is let in
                return Answer(101)
        except WebSocketDisconnect as closed:
            # 1008 is the socket's refusal (policy violation); 1011 a server error.
            return Answer(403 if closed.code == 1008 else 500 if closed.code == 1011 else 400,
                          refused=closed.code == 1008)
    kwargs = {"params": call.query, "follow_redirects": False}
    if method == "POST":
        kwargs |= {"data": call.data or {}, "files": call.files}
    r = client.request(method, address, **kwargs)
    location = r.headers.get("location", "") or r.headers.get("hx-redirect", "")
    to_login = urlsplit(location).path == "/login" and address != "/login"
    return Answer(r.status_code, location, r.text if "html" in r.headers.get("content-type", "") else "",
                  refused=r.status_code == 403 or (r.status_code in (303, 307) and to_login))


def offered_forms(page: BeautifulSoup, here: str) -> set[str]:
    """The paths the page's POST forms (and htmx posts) send to."""
    paths = {urlsplit(f.get("action") or here).path for f in page.find_all("form")
             if (f.get("method") or "get").lower() == "post"}
    return paths | {urlsplit(e["hx-post"]).path for e in page.find_all(attrs={"hx-post": True})}


def rule_for(path: str, method: str) -> tuple[Rule, str | None] | None:
    """The rule of the route that answers ``method`` at ``path``, with its action, if any."""
    found = app_world.match(path, method)
    if found is None:
        return None
    endpoint, params = found
    rules = RULES.get(endpoint.name, {})
    rule = rules.get(method, rules.get("*"))
    variant = params.get("action")
    if isinstance(rule, dict):
        rule = rule.get(variant)
    return (rule, variant) if rule else None


def may_post(path: str, role: str, scope: str | None) -> bool:
    found = rule_for(path, "POST")
    # A form to nowhere known is the matrix's business too: a route without a rule fails elsewhere.
    return found is None or may(found[0].who, role, scope) or found[0].refusal == "ignored"


@pytest.mark.parametrize(("endpoint", "method", "scope"), cells())
def test_every_role_is_let_in_or_refused_as_the_rules_say(world, databases, endpoint, method, scope):
    if endpoint.name not in RULES or not (method in RULES[endpoint.name] or "*" in RULES[endpoint.name]):
        pytest.fail(f"route {endpoint.name!r} ({method} {endpoint.path}) has no rule in RULES: "
                    "say who may use it in tests/test_permissions_matrix.py")
    if endpoint.name not in CALLS:
        pytest.fail(f"route {endpoint.name!r} has no entry in CALLS: say how to call it with a valid request")
    problems = []
    with Server(world, databases) as server:
        for variant in variants(endpoint, method):
            rules = RULES[endpoint.name]
            rule = rules.get(method, rules.get("*"))
            if isinstance(rule, dict):
                rule = rule[variant]
            call = CALLS[endpoint.name](world.scopes[scope or "A"], world, variant)
            for role in ROLES:
                what = f"{role} {method} {url(endpoint, call)}" + (f" [{variant}]" if variant else "")
                counts = server.pristine_counts  # every call starts from the world as built
                answer = send(server.as_role(role), endpoint, method, call)
                allowed = may(rule.who, role, scope)
                # An allowed sign-in or export is audited even where it changes nothing else.
                audited = app_world.AUDITED_READS.get(endpoint.name) if allowed else None
                changed = server.changed(audited)
                if answer.status >= 500:
                    problems.append(f"{what}: server error {answer.status}")
                elif allowed and (answer.refused or answer.status >= 400):
                    problems.append(f"{what}: allowed by the rules but answered {answer.status} {answer.location}")
                elif not allowed and rule.refusal == "denied" and not answer.refused:
                    problems.append(f"{what}: not allowed by the rules but answered {answer.status} "
                                    f"{answer.location}")
                if changed and not (allowed and method == "POST"):
                    after = app_world.row_counts(server.engine)
                    diff = {t: (counts[t], after[t]) for t in changed if counts.get(t) != after.get(t)}
                    problems.append(f"{what} ({'allowed' if allowed else 'refused'}) changed {changed}; "
                                    f"row counts before → after: {diff}")
                if answer.body and answer.status == 200:
                    page = BeautifulSoup(answer.body, "html.parser")
                    sees = rule.staff_sees is not None and may(rule.staff_sees, role, scope)
                    if rule.staff_sees is not None and bool(page.select(".staff")) != sees:
                        problems.append(f"{what}: staff sections {'hidden' if sees else 'shown'} against the rules")
                    names = rule.personal_sees is not None and may(rule.personal_sees, role, scope)
                    if rule.personal_sees is not None and bool(page.select("[data-personal]")) != names:
                        problems.append(f"{what}: residents' names {'hidden' if names else 'shown'} against the rules")
                    # The landlord who owns (and owned) actions of both communities is a person: the
                    # public, and staff who may not see the community's personal data, never read the name.
                    public = ROLE_OF[role][0] in (None, "tablet", "shared_tablet")
                    if app_world.LANDLORD in answer.body and not names and (public or rule.personal_sees):
                        problems.append(f"{what}: names the landlord, a person owning an action")
                    problems += [f"{what}: offers a form to {action}, which the rules refuse to {role}"
                                 for action in offered_forms(page, url(endpoint, call))
                                 if not may_post(action, role, scope)]
                if changed or (audited and server.changed()):
                    server.reset()
    assert not problems, "\n".join(problems)


def test_every_rule_names_a_route(world):
    """The table holds no rule for a route that is gone (or misspelt), so it says what exists."""
    names = {e.name for e in app_world.endpoints()}
    assert set(RULES) <= names, sorted(set(RULES) - names)
    assert set(CALLS) <= names, sorted(set(CALLS) - names)


def test_a_route_without_a_rule_fails_naming_it(world, databases, monkeypatch):
    """The guard itself: a route added to the table but not to RULES fails the matrix by name."""
    new = Endpoint("brand_new_page", "/brand-new", ("GET",))
    with pytest.raises(pytest.fail.Exception, match="brand_new_page"):
        test_every_role_is_let_in_or_refused_as_the_rules_say(world, databases, new, "GET", None)


# A form may name another community's object only where the view drops it: a check-in naming
# another community's household checks the person in as a guest, linked to no household.
DROPPED = {("room_console_action", "checkin", "household")}


# Forms whose object may be any community's: a join code names its own meeting; admins import
# a register into the community they choose.
ANY_COMMUNITY = {"join", "household_import"}


def cross_fields(world: World) -> list:
    """Every field of every POST form that names one of community A's objects, with B's instead.

    Found by calling CALLS with a probe whose every object is a marker, so a field is known to
    name an object by what it holds, not by a coincidence of ids."""
    b = world.scopes["B"]
    markers: dict[str, tuple[str, int | None]] = {}
    probe_values = {}
    for i, (attribute, value) in enumerate(vars(world.scopes["A"]).items()):
        if isinstance(value, tuple):
            probe_values[attribute] = tuple(9_000_000 + 100 * i + j for j in range(len(value)))
            markers |= {str(m): (attribute, j) for j, m in enumerate(probe_values[attribute])}
        else:
            probe_values[attribute] = 9_000_000 + 100 * i if isinstance(value, int) else f"@{attribute}"
            markers[str(probe_values[attribute])] = (attribute, None)
    probe = app_world.Scope(**probe_values)
    out = []
    for endpoint in app_world.endpoints():
        if "POST" not in endpoint.methods or endpoint.name not in CALLS or endpoint.name in UNSCOPED | ANY_COMMUNITY:
            continue
        for variant in variants(endpoint, "POST"):
            for name, value in (CALLS[endpoint.name](probe, world, variant).data or {}).items():
                if str(value) in markers:
                    attribute, j = markers[str(value)]
                    out.append((endpoint, variant, name, getattr(b, attribute) if j is None else
                                getattr(b, attribute)[j]))
    return out


def test_a_form_naming_another_communitys_object_is_refused_and_stores_nothing(world, databases):
    """The scope of a form's fields: an admin (who acts everywhere, so only the view's own checks
    stand in the way) posts to community A's object a form naming community B's object instead."""
    fields = cross_fields(world)
    assert len(fields) >= 12, [f"{e.name} {n}" for e, _v, n, _b in fields]  # the forms that name objects
    problems = []
    with Server(world, databases) as server:
        for endpoint, variant, name, other in fields:
            call = CALLS[endpoint.name](world.scopes["A"], world, variant)
            call.data = dict(call.data) | {name: other}
            answer = send(server.as_role("admin"), endpoint, "POST", call)
            changed = server.changed()
            what = f"POST {url(endpoint, call)} with {name}={other!r} of community B"
            if (endpoint.name, variant, name) in DROPPED:
                with server.engine.connect() as c:
                    linked = c.execute(text("select count(*) from attendance where household_id = :household "
                                            "and meeting_id = :meeting"),
                                       {"household": other, "meeting": call.path["id"]}).scalar_one()
                if linked:
                    problems.append(f"{what}: linked to the other community's household")
            elif answer.status < 400 or answer.status >= 500 or changed:
                problems.append(f"{what}: answered {answer.status}, changed {changed}")
            if changed:
                server.reset()
    assert not problems, "\n".join(problems)
