"""Which owner of a follow-up action a reader may see named.

Committees and organisations answer in public: they stay named everywhere. A person who owns an
action (a landlord without a sign-in, or a staff member) is personal data: the public record (the
API, dashboards, lists, the action's and the issue's pages for whoever may not see residents'
data, ``forum.auth.sees_personal_data``) says "a person (not named)" instead.

The owner's name was written into the history when the action was agreed or reassigned
(``forum.action_registry``: "<what> — <owner> · <due>", "<what> — <before> → <after>: <reason>").
Those lines are read back by their shape, and only a committee's or organisation's name is kept:
whatever else stands in an owner's place is replaced, so a person who owned the action once and
owns nothing now is still unnamed. Any other mention of a current person owner's name (a progress
note saying who was called) is replaced too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from forum import figures
from forum.i18n import N_
from forum.i18n import gettext as _
from forum.models import Action, Committee, Organisation, Person, User

PERSON_LABEL = N_("A person (not named)")
# What owner_name writes for an owner that is gone: no one's name.
NO_OWNER = "—"


def is_named(committee_id: int | None, organisation_id: int | None) -> bool:
    """An owner named in public: a committee or an organisation (figures.owner_key's groups)."""
    return figures.owner_key(committee_id, organisation_id) != figures.PERSON


def action_is_named(action: Action) -> bool:
    return is_named(action.owner_committee_id, action.owner_organisation_id)


@dataclass(frozen=True)
class Unnaming:
    """How one community's action history reads to someone who may not see persons' names."""

    named: frozenset[str]  # committees' and organisations' names: kept
    private: tuple[str, ...] = ()  # persons and staff owning actions, longest first: replaced anywhere
    whats: tuple[str, ...] = ()  # the actions' descriptions, longest first (an event line starts with one)

    def _owner(self, name: str) -> str:
        return name if name in self.named or name == NO_OWNER else _(PERSON_LABEL)

    def _leading(self, text: str, stop: str) -> tuple[str, str]:
        """The owner at the start of ``text`` up to ``stop``, shown or replaced, and the rest."""
        for name in sorted(self.named, key=len, reverse=True):
            if text.startswith(name + stop):
                return name, text[len(name):]
        cut = text.find(stop)
        return (self._owner(text[:cut]), text[cut:]) if cut >= 0 else (_(PERSON_LABEL), "")

    def _anywhere(self, text: str) -> str:
        for name in self.private:
            text = text.replace(name, _(PERSON_LABEL))
        return text

    def _owned(self, kind: str, text: str) -> str:
        if kind == "create":
            owner, sep, due = text.rpartition(" · ")
            text = self._owner(owner) + sep + due if sep else self._owner(text)
        elif kind == "reassign":
            before, rest = self._leading(text, " → ")
            after, reason = self._leading(rest[len(" → "):], ": ") if rest else (_(PERSON_LABEL), "")
            text = f"{before} → {after}{reason}"
        return self._anywhere(text)

    def _what(self, text: str) -> str | None:
        return next((w for w in self.whats if text.startswith(w + " — ")), None)

    def note(self, kind: str, text: str) -> str:
        """An action's own note ("create", "reassign", … as action_registry writes them; one that
        starts with the action's description, as the demo's do, is read after it)."""
        what = self._what(text)
        if what is not None:
            return f"{self._anywhere(what)} — {self._owned(kind, text[len(what) + len(' — '):])}"
        return self._owned(kind, text)

    def event(self, action: str, text: str) -> str:
        """A line of the issue's history: only an action's lines name owners, after its description."""
        if not names_owners(action):
            return text
        kind = action.removeprefix("action_")
        if self._what(text) is not None:
            return self.note(kind, text)
        what, sep, rest = text.partition(" — ")
        return f"{self._anywhere(what)} — {self._owned(kind, rest)}" if sep else self._anywhere(text)


def names_owners(action: str) -> bool:
    """Whether a line of an issue's history can name an action's owner: only an action's lines do."""
    return action.startswith("action_")


def any_names_owners(events: Iterable[Any]) -> bool:
    """Whether a history (events with an ``action``) needs unnaming at all: a page or push reads the
    community's owners only then."""
    return any(names_owners(e.action) for e in events)


def named_owners(db: Session, community_id: int) -> frozenset[str]:
    """The names an owner of that community's actions may be shown by: its committees, every organisation."""
    committees = db.exec(select(Committee.name).where(Committee.community_id == community_id)).all()
    return frozenset(committees) | frozenset(db.exec(select(Organisation.name)).all())


def private_owner_names(db: Session, community_id: int) -> tuple[str, ...]:
    """The names of the persons and staff who own an action of the community, longest first (so a
    name inside another is not half-replaced)."""
    people = select(Action.owner_person_id).where(Action.community_id == community_id,
                                                  col(Action.owner_person_id).is_not(None))
    staff = select(Action.owner_user_id).where(Action.community_id == community_id,
                                               col(Action.owner_user_id).is_not(None))
    names = set(db.exec(select(Person.name).where(col(Person.id).in_(people))).all())
    names |= set(db.exec(select(User.display_name).where(col(User.id).in_(staff))).all())
    return tuple(sorted((n for n in names if n.strip()), key=len, reverse=True))


def unnaming(db: Session, community_id: int, actions: Iterable[Action] = ()) -> Unnaming:
    """The community's rule, knowing the descriptions of ``actions`` (an issue's: its history's lines)."""
    return Unnaming(named_owners(db, community_id), private_owner_names(db, community_id),
                    tuple(sorted({a.what for a in actions}, key=len, reverse=True)))
