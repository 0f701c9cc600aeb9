"""Minutes (会议纪要) generated from a meeting's record: who came, what was discussed and decided.

The same record feeds the HTML page (printable on A4) and the Markdown download. Residents' names
and flats are for the staff of the meeting's community (``people.may_see``): everyone else gets
the public record, where attendance is counted by role and speakers and comments are marked
resident or guest. Per-entry sections (each entry's vote results) come from the table in
:mod:`forum.parts`, handed to :func:`record` by the minutes pages; a section function returns
``None`` when it has nothing to say about an entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from forum import agenda
from forum.i18n import format_when
from forum.i18n import gettext as _
from forum.models import (
    CATEGORIES,
    MEETING_STATUSES,
    AgendaEntry,
    Area,
    Attendance,
    Comment,
    Issue,
    Meeting,
    SpeakingRequest,
    User,
)


@dataclass
class Section:
    """A titled block of lines under an agenda entry (e.g. a vote's result)."""

    title: str
    lines: list[str]


SectionFn = Callable[[Session, Meeting, AgendaEntry], "Section | None"]


@dataclass
class EntryRecord:
    entry: AgendaEntry
    issue: Issue | None
    speakers: list[Attendance] = field(default_factory=list)
    comments: list[tuple[Comment, Attendance | None]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


@dataclass
class Record:
    meeting: Meeting
    community: Area | None
    facilitator: User | None
    attendance: list[Attendance]
    entries: list[EntryRecord]
    full: bool = True  # False: the public record, with roles and counts instead of names and flats

    @property
    def guests(self) -> int:
        return sum(1 for a in self.attendance if a.is_guest)


def record(db: Session, meeting: Meeting, *, full: bool = True, sections: Sequence[SectionFn] = ()) -> Record:
    entries = agenda.entries_of(db, meeting.id)
    people = list(db.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)
                          .order_by(Attendance.checked_in_at, Attendance.id)))
    by_id = {a.id: a for a in people}
    spoke = db.exec(select(SpeakingRequest).where(SpeakingRequest.meeting_id == meeting.id,
                                                  col(SpeakingRequest.started_at).is_not(None))
                    .order_by(SpeakingRequest.started_at, SpeakingRequest.id)).all()
    comments = db.exec(select(Comment).where(Comment.meeting_id == meeting.id).order_by(Comment.at, Comment.id)).all()
    records = []
    for entry in entries:
        rec = EntryRecord(entry=entry, issue=db.get(Issue, entry.issue_id))
        for request in spoke:
            person = by_id.get(request.attendance_id)
            if request.agenda_entry_id == entry.id and person is not None and person not in rec.speakers:
                rec.speakers.append(person)
        rec.comments = [(c, by_id.get(c.attendance_id)) for c in comments if c.agenda_entry_id == entry.id]
        rec.sections = [s for s in (fn(db, meeting, entry) for fn in sections) if s is not None]
        records.append(rec)
    rec = Record(meeting=meeting, community=db.get(Area, meeting.community_id),
                 facilitator=db.get(User, meeting.facilitator_id) if meeting.facilitator_id else None,
                 attendance=people, entries=records)
    return rec if full else _public(rec)


def _public(rec: Record) -> Record:
    """The record with each attendee replaced by their role: no name, no flat, the counts kept.
    (Copies, never the session's rows, so nothing anonymised can be written back.)"""
    roles = {a.id: Attendance(id=a.id, meeting_id=a.meeting_id, is_guest=a.is_guest,
                              name=_("Guest") if a.is_guest else _("Resident")) for a in rec.attendance}
    for e in rec.entries:
        e.speakers = [roles[a.id] for a in e.speakers]
        e.comments = [(c, roles.get(a.id) if a else None) for c, a in e.comments]
    rec.attendance, rec.full = list(roles.values()), False
    return rec


def _home(a: Attendance) -> str:
    return f"{a.building}-{a.unit}-{a.room}" if a.building else ""


def _md(text: str) -> str:
    """Plain text safe inside a Markdown line: no accidental headings, lists or emphasis."""
    escaped = "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text)
    return " ".join(escaped.split())


def markdown(rec: Record) -> str:
    m = rec.meeting
    lines = [f"# {_('Minutes')}: {_md(m.title)}", ""]
    lines += [f"- **{_('Date')}:** {format_when(m.starts_at)}",
              f"- **{_('Place')}:** {_md(m.place)}",
              f"- **{_('Community')}:** {_md(rec.community.name) if rec.community else '—'}",
              f"- **{_('Facilitator')}:** {_md(rec.facilitator.display_name) if rec.facilitator else '—'}",
              f"- **{_('Status')}:** {_(MEETING_STATUSES[m.status])}"]
    if m.started_at:
        lines.append(f"- **{_('Held')}:** {format_when(m.started_at)}"
                     + (f" – {format_when(m.ended_at, 'time')}" if m.ended_at else ""))
    lines += ["", f"## {_('Attendance')} ({len(rec.attendance)})", ""]
    if rec.attendance and not rec.full:
        lines += [f"- {_('Residents')}: {len(rec.attendance) - rec.guests}", f"- {_('Guests')}: {rec.guests}"]
    elif rec.attendance:
        for a in rec.attendance:
            home = _home(a)
            guest = f" — {_('guest')}" if a.is_guest else ""
            # The flat is typed on a tablet like the name: escaped the same way.
            lines.append(f"- {_md(a.name)}" + (f" ({_md(home)})" if home else "") + guest)
    else:
        lines.append(_("Nobody checked in."))
    lines += ["", f"## {_('Agenda')}", ""]
    for i, e in enumerate(rec.entries, start=1):
        issue = e.issue
        title = _md(issue.title) if issue else "—"
        lines += [f"### {i}. {title}", ""]
        if issue is not None:
            lines.append(f"- **{_('Category')}:** {_(CATEGORIES.get(issue.category, issue.category))}")
            if issue.place:
                lines.append(f"- **{_('Place')}:** {_md(issue.place)}")
        speakers = ", ".join(_md(a.name) for a in e.speakers) or _("none")
        lines.append(f"- **{_('Speakers')}:** {speakers}")
        lines.append(f"- **{_('Decision')}:** {_md(e.entry.decision) if e.entry.decision else _('none recorded')}")
        if e.comments:
            lines += ["", f"**{_('Written comments')}:**", ""]
            lines += [f"- {_md(c.text)} — {_md(a.name) if a else _('Anonymous')}" for c, a in e.comments]
        for section in e.sections:
            lines += ["", f"**{_md(section.title)}:**", ""]
            lines += [f"- {_md(line)}" for line in section.lines]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
