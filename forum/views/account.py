"""Signing staff in and out, changing a password, and the language switch.

Sign-in is throttled per account and per address (forum.throttle, counts in the database so the
limits hold across workers): a few quick failures must wait out a short pause, and the limit
within the window refuses every attempt, the right password included, until the window ends.
A refused attempt is turned away before any password hashing, so a flood costs no argon2 work.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import audit, auth, sessions, throttle
from forum.i18n import gettext as _
from forum.i18n import ngettext, normalise
from forum.web import LANG_COOKIE, checks_control_characters, form, page, render, require, safe_next

# The short pause: three failures of an account within half a minute wait out the rest of it. An
# address pauses only after ten, so one person's typos do not hold up the hall's other staff.
SIGNIN_PAUSE = throttle.Limit(attempts=3, seconds=30)
ADDRESS_PAUSE = throttle.Limit(attempts=10, seconds=30)
USERNAME_MAX = 60


def busy_message() -> str:
    return _("Many people are signing in at this moment. Please try again in a few seconds.")
PASSWORD_MIN = 8


def _keys(request: Request, username: str) -> tuple[list[str], list[str]]:
    account = [f"signin:user:{username.casefold()[:USERNAME_MAX]}"]
    address = [f"signin:addr:{throttle.address_of(request)}"]
    return account, address


def signin_wait(db: Session, request: Request, username: str, at: datetime) -> int:
    """Seconds this sign-in must wait; 0 when it may try now."""
    settings = request.app.state.settings
    window = settings.signin_window_minutes * 60
    account, address = _keys(request, username)
    return max(throttle.retry_after(db, account, throttle.Limit(settings.signin_limit, window), at),
               throttle.retry_after(db, address, throttle.Limit(settings.signin_address_limit, window), at),
               throttle.retry_after(db, [f"pause:{k}" for k in account], SIGNIN_PAUSE, at),
               throttle.retry_after(db, [f"pause:{k}" for k in address], ADDRESS_PAUSE, at))


def _count_failure(db: Session, request: Request, username: str, at: datetime) -> None:
    settings = request.app.state.settings
    window = settings.signin_window_minutes * 60
    account, address = _keys(request, username)
    throttle.failed(db, account, throttle.Limit(settings.signin_limit, window), at)
    throttle.failed(db, address, throttle.Limit(settings.signin_address_limit, window), at)
    throttle.failed(db, [f"pause:{k}" for k in account], SIGNIN_PAUSE, at)
    throttle.failed(db, [f"pause:{k}" for k in address], ADDRESS_PAUSE, at)


def wait_message(seconds: int) -> str:
    if seconds < 60:
        wait = ngettext("%(num)d second", "%(num)d seconds", seconds) % {"num": seconds}
    else:
        minutes = -(-seconds // 60)
        wait = ngettext("%(num)d minute", "%(num)d minutes", minutes) % {"num": minutes}
    return _("Too many failed sign-ins. For your account's safety, try again in %(wait)s.") % {"wait": wait}


@page
@checks_control_characters("username", "password")  # by the field, keeping what was typed
def login(request: Request, db: Session) -> Response:
    next_url = safe_next(request.query_params.get("next") or str(form(request).get("next", "")))
    values = {"username": "", "next": next_url}
    errors: dict[str, str] = {}
    headers: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        data = form(request)
        values["username"] = str(data.get("username", "")).strip()[:USERNAME_MAX]
        password = str(data.get("password", ""))
        if not values["username"]:
            errors["username"] = _("Enter your username.")
        elif not values["username"].isprintable():  # NUL and the like: no username has them
            errors["username"] = _("A username has only letters, digits and punctuation.")
        if not password:
            errors["password"] = _("Enter your password.")
        at = sessions.clock()
        wait = signin_wait(db, request, values["username"], at) if not errors else 0
        if wait:
            # Refused before hashing: while an account or address is blocked, even the right
            # password does not get in, or the limit would stop nothing.
            errors["password"] = wait_message(wait)
            headers["Retry-After"] = str(wait)
            status = 429
        elif not errors:
            try:
                user = auth.check_password(db, values["username"], password)
            except auth.Busy:
                return render(request, "login.html", {"values": values, "errors": {"password": busy_message()}},
                              status_code=503, headers={"Retry-After": "5"})
            if user is not None and user.disabled_at is not None:
                errors["password"] = _("This account has been disabled. Ask the administrator.")
                audit.record(db, request, "signin_refused", "user", user.id, "disabled", actor=user)
                db.commit()
            elif user is None:
                _count_failure(db, request, values["username"], at)
                audit.record(db, request, "signin_refused", actor=values["username"])
                db.commit()
                errors["password"] = _("That username and password do not match.")
            else:
                # Only the account's count is forgiven: one good sign-in must not wipe an
                # address's failures against other accounts.
                throttle.clear(db, _keys(request, values["username"])[0])
                sessions.start(db, request, user, at)
                audit.record(db, request, "signin", "user", user.id, actor=user, community_id=user.community_id)
                db.commit()
                return RedirectResponse(next_url, status_code=303)
        if errors and status == 200:
            status = 422
    return render(request, "login.html", {"values": values, "errors": errors}, status_code=status, headers=headers)


@page
def logout(request: Request, db: Session) -> Response:
    user = request.state.user
    ended = sessions.end(db, request, "logout")
    if user is not None and ended is not None:
        audit.record(db, request, "signout", "user", user.id, actor=user, community_id=user.community_id)
    db.commit()
    return RedirectResponse(request.url_for("index").path, status_code=303)


@page
def change_password(request: Request, db: Session) -> Response:
    """A signed-in member of staff sets a new password; every session of theirs ends, everywhere,
    and this device gets a fresh one."""
    user = require(request, lambda u: u is not None)
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = form(request)
        current, new, again = (str(data.get(k, "")) for k in ("current", "new", "again"))
        at = sessions.clock()
        wait = signin_wait(db, request, user.username, at)
        if wait:
            errors["current"] = wait_message(wait)
        else:
            try:
                matches = auth.check_password(db, user.username, current) is not None
            except auth.Busy:
                errors["current"] = busy_message()
            else:
                if not matches:
                    # Guessing the current password from a stolen session counts like failed sign-ins.
                    _count_failure(db, request, user.username, at)
                    db.commit()
                    errors["current"] = _("That is not your current password.")
        if not errors:
            if len(new) < PASSWORD_MIN:
                errors["new"] = _("A password needs at least %(n)d characters.") % {"n": PASSWORD_MIN}
            elif new != again:
                errors["again"] = _("The two new passwords differ.")
        if not errors:
            user.password_hash = auth.hash_password(new)
            db.add(user)
            ended = sessions.end_all(db, user.id, "password", at)
            sessions.start(db, request, user, at)
            audit.record(db, request, "password", "user", user.id, f"{ended} session(s) ended",
                         community_id=user.community_id)
            db.commit()
            return render(request, "account_password.html", {"errors": {}, "done": True})
    return render(request, "account_password.html", {"errors": errors, "done": False},
                  status_code=422 if errors else 200)


async def switch_language(request: Request) -> Response:
    language = normalise(request.query_params.get("to")) or "zh-Hans"
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response
