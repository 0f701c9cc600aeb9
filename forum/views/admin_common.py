"""What the administration pages share: several small forms on one page, each keeping what was
typed and its messages when it is refused, and the admin's own scope.

A page's context is built by one function; a refused form re-renders the same page with that
form's values and messages (422), every other form as it was. A form that succeeds redirects
back to the page with ``?saved=…``, which the page says in a notice.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from forum import auth, scopes
from forum.areas import Invalid
from forum.i18n import N_
from forum.models import User
from forum.web import redirect, render, require

# What a page says after a change, by ``?saved=`` (anything else says nothing).
SAVED = {
    "created": N_("Created."),
    "saved": N_("Saved."),
    "renamed": N_("Renamed."),
    "moved": N_("Moved."),
    "archived": N_("Archived. Its meetings, issues and records stay; it no longer appears in lists."),
    "restored": N_("Back in use."),
    "committees": N_("The committees are set up."),
    "added": N_("Added."),
    "removed": N_("Removed."),
    "disabled": N_("Disabled: the account signs in no more, and its sessions have ended."),
    "enabled": N_("The account can sign in again."),
}


def admin(request: Request) -> User:
    """The signed-in admin (of any scope); others get the sign-in page or 403."""
    return require(request, auth.is_admin)


def scope(user: User) -> int | None:
    return scopes.scope_of(user)


def check(allowed: bool) -> None:
    if not allowed:
        raise HTTPException(403)


class Forms(dict):
    """``{form: {"values": {...}, "errors": {...}}}`` for a page's forms, for the template."""

    def __init__(self, **defaults: dict[str, Any]) -> None:
        super().__init__({name: {"values": values, "errors": {}} for name, values in defaults.items()})

    def failed(self, name: str, values: dict[str, Any], problem: Invalid | dict[str, str]) -> Forms:
        errors = problem.translated() if isinstance(problem, Invalid) else problem
        self[name] = {"values": values, "errors": errors}
        return self

    @property
    def refused(self) -> bool:
        return any(state["errors"] for state in self.values())


def texts(data: FormData, *names: str, limit: int = 200) -> dict[str, str]:
    """The form's one-line fields as typed (cut at a length no field allows, so a huge post does
    not travel back into the page)."""
    return {name: str(data.get(name, ""))[:limit].strip() for name in names}


def page_with(request: Request, template: str, context: dict[str, Any], forms: Forms) -> Response:
    notice = SAVED.get(str(request.query_params.get("saved", "")))
    return render(request, template, context | {"forms": forms, "notice": notice},
                  status_code=422 if forms.refused else 200)


def done(request: Request, url: str, saved: str) -> Response:
    return redirect(request, f"{url}?saved={saved}")
