"""The ASGI application: the whole URL space in one table, middleware, error pages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from forum import broadcast, live, minutes, notify, parts, redis_urn, secrecy, votes
from forum import db as database
from forum.addresses import index_routes
from forum.ballot_box import BallotBox
from forum.i18n import gettext as _
from forum.page_cache import LoopReader, PageCache
from forum.paths import STATIC
from forum.settings import Settings
from forum.views import (
    account,
    admin,
    admin_areas,
    admin_committees,
    admin_people,
    community,
    dashboards,
    directory,
    followup,
    households,
    issues,
    meetings,
    room,
)
from forum.views import api as api_views
from forum.views import calendars as calendar_views
from forum.views import exports as export_views
from forum.views import reports as report_views
from forum.views import verification as verification_views
from forum.views import votes as vote_views
from forum.web import (
    Group,
    LanguageMiddleware,
    SameOriginMiddleware,
    SecurityHeadersMiddleware,
    is_htmx,
    render,
    safe_next,
    templates,
)

log = logging.getLogger("forum")

GET, POST, BOTH = ["GET"], ["POST"], ["GET", "POST"]

# The whole URL space. Groups (unnamed Mounts, forum.web.Group) hold the pages of one thing (a
# community, an issue, a series, a meeting, a vote, the administration); route names stay flat, so
# url_for("vote_open", id=…) works as ever. A group answers only paths below it, so each thing's own
# page is the Route just before its group.
routes = [
    Route("/", community.index, name="index"),
    Route("/join", room.join, methods=BOTH, name="join"),
    Route("/slip", verification_views.slip_link, name="slip"),
    Route("/login", account.login, methods=BOTH, name="login"),
    Route("/logout", account.logout, methods=POST, name="logout"),
    Route("/lang", account.switch_language, name="lang"),
    Route("/account/password", account.change_password, methods=BOTH, name="change_password"),
    Route("/c/{community}", community.community_home, name="community"),
    Group("/c/{community}", [
        Route("/issues", issues.issue_list, name="issues"),
        Route("/issues/new", issues.issue_new, methods=BOTH, name="issue_new"),
        Route("/series", meetings.series_list, name="series_list"),
        Route("/series/new", meetings.series_new, methods=BOTH, name="series_new"),
        Route("/committees", directory.committee_list, name="committees"),
        Route("/slips", verification_views.slips, methods=BOTH, name="slips"),
        # oversight and open data (issue #13): dashboards, reports, exports, calendars
        Route("/dashboard", dashboards.community_dashboard, name="community_dashboard"),
        Route("/meetings", dashboards.meeting_list, name="meeting_list"),
        Route("/actions", dashboards.community_actions, name="community_actions"),
        Route("/report", report_views.quarter_report, name="quarter_report"),
        Route("/report.docx", report_views.quarter_report_docx, name="quarter_report_docx"),
        Route("/report.csv", report_views.quarter_report_csv, name="quarter_report_csv"),
        Route("/issues.csv", export_views.issues_csv, name="issues_csv"),
        Route("/meetings.csv", export_views.meetings_csv, name="meetings_csv"),
        Route("/attendance.csv", export_views.attendance_csv, name="attendance_csv"),
        Route("/actions.csv", export_views.actions_csv, name="actions_csv"),
        Route("/calendar.ics", calendar_views.community_ics, name="community_ics"),
    ]),
    Route("/issues/{id:int}", issues.issue_detail, name="issue"),
    Group("/issues/{id:int}", [
        Route("/move", issues.issue_move, methods=POST, name="issue_move"),
        Route("/schedule", issues.issue_schedule, methods=POST, name="issue_schedule"),
        Route("/votes", vote_views.issue_votes, methods=BOTH, name="issue_votes"),
        # after the meeting (issue #12): its follow-up actions, outside parties, the review's rating
        Route("/actions", followup.issue_action_new, methods=POST, name="issue_action_new"),
        Route("/outside", issues.issue_outside, methods=POST, name="issue_outside"),
        Route("/rating", followup.issue_rate, methods=POST, name="issue_rate"),
    ]),
    Route("/series/{id:int}", meetings.series_detail, name="series"),
    Group("/series/{id:int}", [
        Route("/meetings", meetings.series_create_meeting, methods=POST, name="series_create_meeting"),
        Route("/invitees", admin_committees.series_invitees, methods=BOTH, name="series_invitees"),
        Route("/invitees/{invitee:int}/remove", admin_committees.invitee_remove, methods=POST, name="invitee_remove"),
        Route("/calendar.ics", calendar_views.series_ics, name="series_ics"),
    ]),
    Route("/meetings/{id:int}", meetings.meeting_detail, name="meeting"),
    Group("/meetings/{id:int}", [
        # before the meeting: its agenda and votes
        Route("/agenda", meetings.agenda_add, methods=POST, name="agenda_add"),
        Route("/agenda/{entry:int}/move", meetings.agenda_move, methods=POST, name="agenda_move"),
        Route("/agenda/{entry:int}/remove", meetings.agenda_remove, methods=POST, name="agenda_remove"),
        Route("/agenda/{entry:int}/minutes", meetings.agenda_minutes, methods=POST, name="agenda_minutes"),
        Route("/votes", vote_views.meeting_votes, methods=BOTH, name="meeting_votes"),
        Route("/actions", followup.meeting_action_new, methods=POST, name="meeting_action_new"),
        Route("/draft", followup.meeting_draft, methods=POST, name="meeting_draft"),
        # the live room: the facilitator's console, the hall's screen, the tablets, and its socket
        Route("/run", room.console, name="room_console"),
        Route("/run/households", room.household_search, name="room_household_search"),
        Route("/run/{action}", room.console_action, methods=POST, name="room_console_action"),
        Route("/screen", room.screen, name="room_screen"),
        Route("/shared-tablet", room.shared_tablet, methods=BOTH, name="room_shared_tablet"),
        Route("/tablet", room.tablet, name="room_tablet"),
        Route("/tablet/slip", verification_views.tablet_slip, methods=POST, name="room_tablet_slip"),
        Route("/tablet/{action}", room.tablet_action, methods=POST, name="room_tablet_action"),
        WebSocketRoute("/ws", live.room_socket, name="room_ws"),
        # after the meeting
        Route("/minutes", room.minutes_page, name="minutes"),
        Route("/minutes.md", room.minutes_markdown, name="minutes_md"),
        Route("/minutes.docx", report_views.minutes_docx, name="minutes_docx"),
    ]),
    Route("/votes/{id:int}", vote_views.vote_detail, name="vote"),
    Group("/votes/{id:int}", [
        Route("/result.json", vote_views.vote_result_json, name="vote_result_json"),
        # the facilitator's
        Route("/open", vote_views.vote_open, methods=POST, name="vote_open"),
        Route("/close", vote_views.vote_close, methods=POST, name="vote_close"),
        Route("/hands", vote_views.vote_hands, methods=POST, name="vote_hands"),
        Route("/paper", vote_views.vote_paper, methods=POST, name="vote_paper"),
        Route("/proxy", vote_views.vote_proxy, methods=POST, name="vote_proxy"),
        Route("/shared-tablet", vote_views.vote_shared_tablet, methods=BOTH, name="vote_shared_tablet"),
        # the voters'
        Route("/shared-tablet/cast", vote_views.vote_shared_tablet_cast, methods=POST, name="vote_shared_tablet_cast"),
        Route("/ballot", vote_views.vote_ballot, name="vote_ballot"),
        Route("/cast", vote_views.vote_cast, methods=POST, name="vote_cast"),
    ]),
    Route("/committees/{id:int}", directory.committee_detail, name="committee"),
    Route("/committees/{id:int}/dashboard", dashboards.committee_dashboard, name="committee_dashboard"),
    # a street's or the district's oversight (issue #13), and the read-only JSON API of the public record
    Route("/a/{area}/dashboard", dashboards.area_dashboard, name="area_dashboard"),
    Route("/a/{area}/issues", dashboards.area_issues, name="area_issues"),
    Route("/a/{area}/actions", dashboards.area_actions, name="area_actions"),
    Group("/api/v1", [
        Route("/openapi.json", api_views.openapi_json, name="api_openapi"),
        Route("/docs", api_views.docs, name="api_docs"),
        Route("/areas", api_views.areas, name="api_areas"),
        Route("/issues", api_views.issues, name="api_issues"),
        Route("/issues/{id:int}", api_views.issue, name="api_issue"),
        Route("/meetings", api_views.meetings, name="api_meetings"),
        Route("/meetings/{id:int}", api_views.meeting, name="api_meeting"),
        Route("/votes", api_views.votes, name="api_votes"),
        Route("/votes/{id:int}", api_views.vote, name="api_vote"),
        Route("/actions", api_views.actions, name="api_actions"),
    ]),
    Route("/organisations/{id:int}", directory.organisation_detail, name="organisation"),
    Route("/admin", admin_areas.admin_home, name="admin_home"),
    Group("/admin", [
        Route("/audit", admin.audit_log, name="audit_log"),
        Route("/households", households.household_import, methods=BOTH, name="household_import"),
        Route("/people/{id:int}", admin.person_page, name="person"),
        Route("/people/{id:int}/export.json", admin.person_export, name="person_export"),
        Route("/people/{id:int}/erase", admin.person_erase, methods=POST, name="person_erase"),
        # the area tree and what each area holds (issue #11)
        Route("/areas", admin_areas.area_create, methods=POST, name="area_create"),
        Route("/areas/{id:int}", admin_areas.admin_area, name="admin_area"),
        Route("/areas/{id:int}/rename", admin_areas.area_rename, methods=POST, name="area_rename"),
        Route("/areas/{id:int}/move", admin_areas.area_move, methods=POST, name="area_move"),
        Route("/areas/{id:int}/archive", admin_areas.area_archive, methods=POST, name="area_archive"),
        Route("/areas/{id:int}/restore", admin_areas.area_restore, methods=POST, name="area_restore"),
        Route("/areas/{id:int}/committees", admin_areas.committees_setup, methods=POST, name="committees_setup"),
        Route("/areas/{id:int}/formats", admin_areas.format_add, methods=POST, name="format_add"),
        Route("/formats/{id:int}", admin_areas.format_rename, methods=POST, name="format_rename"),
        # committees, organisations and staff accounts
        Route("/committees/{id:int}", admin_committees.admin_committee, methods=BOTH, name="admin_committee"),
        Route("/committees/{id:int}/members", admin_committees.member_add, methods=POST, name="member_add"),
        Route("/members/{id:int}/chair", admin_committees.member_chair, methods=POST, name="member_chair"),
        Route("/members/{id:int}/remove", admin_committees.member_remove, methods=POST, name="member_remove"),
        Route("/organisations", admin_people.admin_organisations, methods=BOTH, name="admin_organisations"),
        Route("/organisations/{id:int}", admin_people.admin_organisation, methods=BOTH, name="admin_organisation"),
        Route("/organisations/{id:int}/liaisons", admin_people.liaison_add, methods=POST, name="liaison_add"),
        Route("/liaisons/{id:int}/remove", admin_people.liaison_remove, methods=POST, name="liaison_remove"),
        Route("/users", admin_people.admin_users, methods=BOTH, name="admin_users"),
        Route("/users/{id:int}", admin_people.admin_user, methods=BOTH, name="admin_user"),
        Route("/users/{id:int}/disable", admin_people.user_disable, methods=POST, name="user_disable"),
        Route("/users/{id:int}/enable", admin_people.user_enable, methods=POST, name="user_enable"),
        Route("/users/{id:int}/password", admin_people.user_password_reset, methods=POST, name="user_password_reset"),
    ]),
    # after the meeting (issue #12): follow-up actions, whose work, notices
    Route("/actions/{id:int}", followup.action_detail, name="action"),
    Group("/actions/{id:int}", [
        Route("/photos/{photo:int}", followup.action_photo, name="action_photo"),
        Route("/{action}", followup.action_update, methods=POST, name="action_update"),
    ]),
    Route("/my-work", followup.my_work, name="my_work"),
    Route("/notices", followup.notices, name="notices"),
    Route("/notices/{id:int}/open", followup.notice_open, methods=POST, name="notice_open"),
    Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
]


async def http_error(request: Request, exc: Exception) -> Response:
    # Redis (several workers' broadcast and secret urn) away for a moment is not forum's fault:
    # whatever the request was doing took nothing half-way (the urn stores a ballot in one step).
    status = 503 if isinstance(exc, RedisError) else getattr(exc, "status_code", 500)
    if status == 401:
        # After sign-in the user returns where they were: a refused form post goes back to
        # the page that held the form, since its own address answers only POST.
        back = request.url.path if request.method in ("GET", "HEAD") else \
            safe_next(urlsplit(request.headers.get("referer", "")).path)
        login = request.url_for("login").include_query_params(next=back)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": str(login)})
        return RedirectResponse(str(login), status_code=303)
    if request.url.path.startswith("/api/"):
        # The JSON API answers its own mistakes as JSON problems, in the reader's language.
        if status >= 500:
            log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return api_views.error_answer(request, status, getattr(exc, "headers", None))
    messages = {
        403: _("Your account may not do this. Ask the community's administrator if you think it should."),
        404: _("There is nothing at this address. It may have been moved or mistyped."),
        405: _("This address does not take that kind of request."),
        503: _("A service the server needs cannot be reached just now. Nothing you sent was saved; "
               "please try again in a moment."),
    }
    message = messages.get(status, _("Something went wrong on our side. What you entered was not saved; "
                                     "please try again in a moment."))
    if status == 503:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    elif status >= 500:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


def create_app(settings: Settings | None = None, engine=None, *, room_parts: Mapping[str, parts.Part] | None = None,
               minutes_sections: Sequence[minutes.SectionFn] | None = None) -> Starlette:
    """The application. What the room's pages and the minutes are made of is the table in
    :mod:`forum.parts` unless given here (a test adds a part or a section of its own)."""
    settings = settings or Settings.from_env()
    engine = engine or database.make_engine(settings.database_url, settings.database_connections)
    try:
        secret_key = settings.secret_key or database.instance_secret(engine)
    except DBAPIError as exc:
        raise RuntimeError(f"forum cannot read its database ({exc.orig}); is it reachable, and has "
                           "`forum db upgrade` been run?") from None

    @asynccontextmanager
    async def lifespan(app: Starlette):
        # Views run in the threadpool; the hub needs the loop to hand their changes to. Each
        # lifespan binds its own loop and unbinds it at the end, so a second one on the same app
        # (a test's second client) shares the hub instead of taking it over.
        hub = app.state.hub
        hub.bind()
        # Changes made in other processes reach this one's pages (none to hear without Redis).
        await hub.broadcast.start(hub.heard, hub.resync)
        beating = asyncio.create_task(hub.heartbeat(settings.heartbeat_seconds))
        # Votes past their closing time are closed in the background, so that no read writes, by
        # whichever worker holds the closer's lease; the day's notices are written in the same loop.
        closer = app.state.vote_closer
        closer.start()
        try:
            yield
        finally:
            beating.cancel()
            await asyncio.to_thread(closer.stop)
            await hub.broadcast.stop()
            hub.unbind()
            # What was handed in is counted, then the box's thread ends with the server.
            await asyncio.to_thread(app.state.ballot_box.stop)
            app.state.page_cache.loop_reader.close()
            engine.dispose()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(live.KeepServerSend),
            Middleware(SecurityHeadersMiddleware, secure_cookies=settings.cookies_secure),
            # The Host header is the client's to write: only the names configured are answered.
            Middleware(TrustedHostMiddleware, allowed_hosts=settings.hosts, www_redirect=False),
            Middleware(SameOriginMiddleware, public_url=settings.public_url),
            Middleware(SessionMiddleware, secret_key=secret_key, session_cookie="forum_session",
                       same_site="lax", max_age=14 * 24 * 3600, https_only=settings.cookies_secure),
            Middleware(LanguageMiddleware, default=settings.language),
        ],
        exception_handlers={HTTPException: http_error, Exception: http_error},
        lifespan=lifespan,
    )
    # Addresses by name without walking every route (a page asks for dozens: forum bench pages).
    index_routes(app.router)
    app.state.engine = engine
    app.state.settings = settings
    # Links in pushed parts are paths: the hub knows the routes, never the app or its views.
    renderer = live.Renderer(app.url_path_for, templates.env)
    app.state.hub = live.Hub(engine, parts.PARTS if room_parts is None else room_parts, renderer,
                             public_url=settings.public_url,
                             broadcast=broadcast.make(settings.broadcast_url, settings.broadcast_channel))
    app.state.minutes_sections = parts.MINUTES_SECTIONS if minutes_sections is None else tuple(minutes_sections)
    app.state.page_cache = PageCache(settings.page_cache_mb * 2**20, LoopReader(engine))
    app.state.ballot_box = BallotBox(engine, settings.language)
    # Every worker runs one; the lease in the database lets one of them act (forum.lease).
    app.state.vote_closer = votes.VoteCloser(engine, settings.vote_closer_seconds, settings.language,
                                             changed=lambda vote: parts.tell_room(app.state.hub, vote),
                                             notices=notify.Notices(engine))
    # Several workers share one urn of waiting secret ballots, in the broadcast's Redis.
    secrecy.configure(engine, settings.secret_batch, redis_urn.make(
        settings.broadcast_url, settings.broadcast_channel, settings.secret_batch,
        declared_off=settings.redis_persistence_off) if settings.broadcast_url else None)
    return app
