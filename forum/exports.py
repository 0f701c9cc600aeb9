"""CSV exports of the public record: issues, meetings, attendance counts, follow-up actions.

Files open in Excel on Chinese Windows: UTF-8 with a byte-order mark (without it Excel reads GBK
and shows mojibake). A text cell that begins with = + - @, a tab or a carriage return would be
taken by a spreadsheet for a formula (CSV injection: ``=HYPERLINK(...)`` in an issue's title), so
such cells get a leading apostrophe, which spreadsheets show as text and do not evaluate.
Numbers are written as numbers. What is exported is what forum.api makes public: nothing personal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from forum.i18n import N_

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell as a spreadsheet will read it as text: formulas defused, numbers left alone."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return BOM + out.getvalue()


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return csv_text(header, rows).encode("utf-8")


# Each file's columns: a key (the row's field) and a heading in the reader's language.
ISSUE_COLUMNS = (("id", N_("Number")), ("title", N_("Title")), ("category", N_("Category")), ("status", N_("Status")),
                 ("committee", N_("Committee")), ("place", N_("Place")), ("source", N_("How it was raised")),
                 ("raised_at", N_("Raised")), ("resolved_at", N_("Resolved")),
                 ("days_to_resolve", N_("Days to resolve")), ("description", N_("Description")))
MEETING_COLUMNS = (("id", N_("Number")), ("starts_at", N_("Starts")), ("title", N_("Title")),
                   ("cadence", N_("Cadence")), ("place", N_("Place")), ("status", N_("Status")),
                   ("agenda_entries", N_("Agenda entries")), ("decisions", N_("Decisions")),
                   ("attendance", N_("Participation")))
ATTENDANCE_COLUMNS = (("meeting_id", N_("Meeting")), ("starts_at", N_("Starts")), ("title", N_("Title")),
                      ("cadence", N_("Cadence")), ("residents", N_("Residents")), ("guests", N_("Guests")),
                      ("attendance", N_("Participation")))
ACTION_COLUMNS = (("id", N_("Number")), ("what", N_("What is to be done")), ("owner", N_("Owner")),
                  ("due", N_("Due")), ("status", N_("Status")), ("overdue", N_("Overdue")),
                  ("days_late", N_("Days overdue")), ("issue_id", N_("Issue")), ("issue_title", N_("Issue title")),
                  ("done_at", N_("Done")))
