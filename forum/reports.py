"""Reports community offices send: the quarterly review report of a community (a printable A4
page, a Word .docx, CSV) and meeting minutes as .docx.

The report's figures are the dashboard's (forum.oversight, forum.figures), so the page, the
document and the spreadsheet say the same as the dashboard. Word shows Chinese only in a font
that has it: every style's East Asian font (``w:rFonts w:eastAsia``) is set, not just its name.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from sqlmodel import Session, col, func, select

from forum import exports, figures, oversight
from forum.figures import Period
from forum.i18n import N_
from forum.i18n import gettext as _
from forum.lifecycle import STATUS_LABELS
from forum.minutes import Record
from forum.models import CATEGORIES, MEETING_STATUSES, Area, Issue, IssueEvent, now
from forum.web import format_when

EAST_ASIAN_FONT = "宋体"  # SimSun: on every Chinese Windows, and what offices' templates use
RESOLVED_MAX = 500  # issues listed by name in one community's quarter


@dataclass
class QuarterReport:
    community: Area
    period: Period
    board: dict[str, Any]
    handled: int
    resolved: list[tuple[Issue, float]] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)  # owner key → name (a person: none)

    def figures(self) -> list[tuple[str, Any]]:
        """The headline figures as (label, value), labels translated, values as shown."""
        b = self.board
        median = "—" if b["median_days"] is None else f"{b['median_days']:.1f}"
        return [(_(label), value) for label, value in (
            (N_("Issues handled (any step taken in the quarter)"), self.handled),
            (N_("Issues raised"), b["raised"]),
            (N_("Issues resolved"), b["resolved"]),
            (N_("Open now"), b["open"]),
            (N_("Median days from raised to resolved"), median),
            (N_("Participation (people at meetings)"), b["participation"]),
            (N_("Meetings held"), b["meetings"]),
            (N_("Overdue actions (at the quarter's end, or now)"), b["overdue"]),
            (N_("Issues rated at the quarterly reviews"), b["rated"].issues),
            (N_("Satisfaction rate (satisfied and basically satisfied)"), figures.percent(b["satisfaction"])),
        )]

    def overdue_by_owner(self) -> list[tuple[str, int]]:
        return [(self.owners.get(key) or _("A person (not named)"), n)
                for key, n in self.board["overdue_by_owner"].items()]


def quarterly(db: Session, community: Area, period: Period, today: date) -> QuarterReport:
    scope = oversight.Scope([community])
    board = oversight.dashboard(db, scope, period, today, now())
    handled = db.exec(select(func.count(func.distinct(IssueEvent.issue_id)))
                      .join(Issue, col(Issue.id) == IssueEvent.issue_id)
                      .where(Issue.community_id == community.id, IssueEvent.at >= period.first_moment,
                             IssueEvent.at < period.after_moment)).one()
    resolved = db.exec(select(Issue).where(Issue.community_id == community.id,
                                           col(Issue.resolved_at) >= period.first_moment,
                                           col(Issue.resolved_at) < period.after_moment)
                       .order_by(Issue.resolved_at).limit(RESOLVED_MAX)).all()
    rows = [(i, (i.resolved_at - i.raised_at).total_seconds() / 86400) for i in resolved]
    owners = oversight.owner_names(db, list(board["overdue_by_owner"]))
    return QuarterReport(community, period, board, handled, rows, owners)


def title_of(report: QuarterReport) -> str:
    return _("Quarterly review report: %(community)s, %(quarter)s") % {
        "community": report.community.name, "quarter": report.period.label}


# ---------------------------------------------------------------- Word


def _chinese_fonts(document) -> None:
    """Every paragraph, character and table style in SimSun for Chinese (Latin text keeps the
    template's theme font)."""
    for style in document.styles:
        if style.type not in (WD_STYLE_TYPE.PARAGRAPH, WD_STYLE_TYPE.CHARACTER, WD_STYLE_TYPE.TABLE):
            continue
        r_pr = style.element.get_or_add_rPr()
        fonts = r_pr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            r_pr.insert(0, fonts)
        fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)
        fonts.attrib.pop(qn("w:eastAsiaTheme"), None)  # a theme font would win over the one named


def _document():
    document = Document()
    _chinese_fonts(document)
    document.styles["Normal"].font.size = Pt(11)
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)  # A4, not the template's Letter
    section.left_margin = section.right_margin = Mm(20)
    document.core_properties.language = "zh-CN"
    return document


def _table(document, header: list[str], rows: list[list[Any]]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = document.styles["Table Grid"]
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = str(text)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = str(value)


def _bytes(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def report_docx(report: QuarterReport) -> bytes:
    document = _document()
    document.add_heading(title_of(report), level=1)
    document.add_paragraph(f"{format_when(report.period.start)} – {format_when(report.period.end)}")
    document.add_heading(_("The quarter in figures"), level=2)
    _table(document, [_("Figure"), _("Value")], [[label, value] for label, value in report.figures()])
    document.add_heading(_("Issues resolved"), level=2)
    if report.resolved:
        _table(document, [_("Title"), _("Category"), _("Status"), _("Days to resolve")],
               [[i.title, _(CATEGORIES.get(i.category, i.category)), _(STATUS_LABELS[i.status]), f"{days:.1f}"]
                for i, days in report.resolved])
    else:
        document.add_paragraph(_("No issue was resolved in this quarter."))
    document.add_heading(_("Overdue actions by owner"), level=2)
    if report.overdue_by_owner():
        _table(document, [_("Owner"), _("Overdue actions")], [list(row) for row in report.overdue_by_owner()])
    else:
        document.add_paragraph(_("No action is overdue."))
    document.add_heading(_("Meetings held against the cadence"), level=2)
    _table(document, [_("Series"), _("Expected"), _("Took place"), _("Gaps")],
           [[c.series.title, c.cadence.expected, c.cadence.held,
             "、".join(g.strftime("%m-%d") for g in c.cadence.gaps) or "—"] for c in report.board["cadences"]])
    document.add_heading(_("Participation per month"), level=2)
    _table(document, [_("Month"), _("Participation")],
           [[month.strftime("%Y-%m"), n] for month, n in report.board["participation_by_month"]])
    document.add_heading(_("Median days from raised to resolved, per quarter"), level=2)
    _table(document, [_("Quarter"), _("Median days"), _("Resolved")],
           [[q.period.label, "—" if q.median_days is None else f"{q.median_days:.1f}", q.resolved]
            for q in report.board["medians"]])
    return _bytes(document)


def report_csv(report: QuarterReport) -> bytes:
    rows: list[list[Any]] = [[label, value] for label, value in report.figures()]
    rows += [[]] + [[_("Title"), _("Category"), _("Days to resolve")]]
    rows += [[i.title, _(CATEGORIES.get(i.category, i.category)), round(days, 1)] for i, days in report.resolved]
    rows += [[]] + [[_("Owner"), _("Overdue actions")]] + [list(row) for row in report.overdue_by_owner()]
    return exports.csv_bytes([title_of(report), report.period.label], rows)


def minutes_docx(rec: Record) -> bytes:
    """The minutes as the minutes page shows them to this reader (``rec.full`` or the public record)."""
    m = rec.meeting
    document = _document()
    document.add_heading(f"{_('Minutes')}: {m.title}", level=1)
    facts = [(_("Date"), format_when(m.starts_at)), (_("Place"), m.place),
             (_("Community"), rec.community.name if rec.community else "—"),
             (_("Facilitator"), rec.facilitator.display_name if rec.facilitator else "—"),
             (_("Status"), _(MEETING_STATUSES[m.status]))]
    _table(document, [_("Figure"), _("Value")], [list(f) for f in facts])
    document.add_heading(f"{_('Attendance')} ({len(rec.attendance)})", level=2)
    if rec.full:
        for a in rec.attendance:
            document.add_paragraph(a.name + (f" ({a.building}-{a.unit}-{a.room})" if a.building else "")
                                   + (f" — {_('guest')}" if a.is_guest else ""), style="List Bullet")
    else:
        document.add_paragraph(f"{_('Residents')}: {len(rec.attendance) - rec.guests}", style="List Bullet")
        document.add_paragraph(f"{_('Guests')}: {rec.guests}", style="List Bullet")
    document.add_heading(_("Agenda"), level=2)
    for n, e in enumerate(rec.entries, 1):
        document.add_heading(f"{n}. {e.issue.title if e.issue else '—'}", level=3)
        speakers = "、".join(a.name for a in e.speakers) or _("none")
        document.add_paragraph(f"{_('Speakers')}: {speakers}")
        document.add_paragraph(f"{_('Decision')}: {e.entry.decision or _('none recorded')}")
        for c, a in e.comments:
            document.add_paragraph(f"{c.text} — {a.name if a else _('Anonymous')}", style="List Bullet")
        for section in e.sections:
            document.add_paragraph(section.title).runs[0].bold = True
            for line in section.lines:
                document.add_paragraph(line, style="List Bullet")
    return _bytes(document)
