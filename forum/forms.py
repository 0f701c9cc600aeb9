"""Reading what people send: whole numbers the database can hold, text without control characters.

Every form, query string and path goes through ``web.page``, which asks ``control_problems``
before a view runs, so no view stores a NUL byte or an escape sequence and no database is handed
a string it refuses (PostgreSQL rejects NUL in text with an error, not a refusal). Ids and
numbers are read with ``int_param``, which gives None for what the database's 64-bit integers
cannot hold, so a 20-digit id is "not found", never an overflow.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from forum.i18n import N_

# The range every integer column holds on every database forum runs on: SQLite's INTEGER holds 64
# bits, PostgreSQL's INTEGER (what the models' ids and numbers are there) 32, so 32 it is.
DB_INT_MIN, DB_INT_MAX = -(2**31), 2**31 - 1
# Longer digit strings are refused before int() parses them (its own limit is 4,300 digits).
DIGITS_MAX = 20

# Fields typed in a multi-line box keep their line breaks and tabs; every other field is one line.
MULTILINE = frozenset({"decision", "description", "note", "options", "question", "reason", "text"})
LINE_BREAKS = frozenset("\n\r\t")

CONTROL_MESSAGE = N_("“%(field)s” contains a control character (such as NUL) that cannot be saved. "
                     "Nothing was saved: go back, remove it and send the form again.")


def int_param(value: Any) -> int | None:
    """A whole number the database can store, or None (not a number, or out of its range)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip() if value is not None else ""
        if not text or len(text.lstrip("+-")) > DIGITS_MAX:
            return None
        try:
            number = int(text)
        except ValueError:
            return None
    return number if DB_INT_MIN <= number <= DB_INT_MAX else None


def id_param(value: Any) -> int | None:
    """A row id: a whole number from 1 to the database's largest, or None."""
    number = int_param(value)
    return number if number is not None and number >= 1 else None


def has_control(text: str, multiline: bool = False) -> bool:
    """Control characters (C0, DEL, C1) and lone surrogates; line breaks and tabs only where a
    field is multi-line."""
    for char in text:
        if multiline and char in LINE_BREAKS:
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            return True
    return False


def control_problems(fields: Iterable[tuple[str, Any]], multiline: frozenset[str] = MULTILINE) -> list[str]:
    """The names of text fields holding a control character, in order, each once."""
    bad: list[str] = []
    for name, value in fields:
        if not isinstance(value, str):
            continue  # an uploaded file: its reader checks its content
        if (has_control(name) or has_control(value, multiline=name in multiline)) and name not in bad:
            bad.append(name)
    return bad
