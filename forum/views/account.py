"""Signing staff in and out, and the language switch."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import auth
from forum.i18n import gettext as _
from forum.i18n import normalise
from forum.web import LANG_COOKIE, form, page, render, safe_next


@page
def login(request: Request, db: Session) -> Response:
    next_url = safe_next(request.query_params.get("next") or str(form(request).get("next", "")))
    values = {"username": "", "next": next_url}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = form(request)
        values["username"] = str(data.get("username", "")).strip()
        password = str(data.get("password", ""))
        if not values["username"]:
            errors["username"] = _("Enter your username.")
        if not password:
            errors["password"] = _("Enter your password.")
        if not errors:
            user = auth.authenticate(db, values["username"], password)
            if user is None:
                errors["password"] = _("That username and password do not match.")
            else:
                request.session.clear()  # a fresh session on sign-in: nothing carried from before
                request.session["user_id"] = user.id
                return RedirectResponse(next_url, status_code=303)
    return render(request, "login.html", {"values": values, "errors": errors},
                  status_code=422 if errors else 200)


async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/", status_code=303)


async def switch_language(request: Request) -> Response:
    language = normalise(request.query_params.get("to")) or "zh-Hans"
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response
