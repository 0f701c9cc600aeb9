"""Languages of the interface: Chinese (zh-Hans, the default) and English.

Also how dates and times are written in each language (``format_when``, the templates' ``when``).

Message ids in code and templates are English; ``locale/zh_Hans/LC_MESSAGES/messages.po`` holds
the Chinese. The .po file is compiled in memory at start-up, so a checkout needs no build step
and no binary .mo file is committed. The language of the current request lives in a context
variable, which Starlette copies into the threadpool where sync views render.
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
import io
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel.core import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "zh-Hans"
# Shown in the language switch, each in its own language.
LANGUAGES: dict[str, str] = {"zh-Hans": "中文", "en": "English"}

_current: contextvars.ContextVar[str] = contextvars.ContextVar("forum_language", default=DEFAULT_LANGUAGE)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language.replace("-", "_") / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalog of a language; English is the message ids themselves."""
    path = po_path(language)
    if language == "en" or not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=language.replace("-", "_"))
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def normalise(language: str | None) -> str | None:
    """Map what a browser or a user says ("zh-CN", "zh", "en-GB") to a supported language."""
    if not language:
        return None
    tag = language.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-Hans"
    if tag.startswith("en"):
        return "en"
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The first supported language in an Accept-Language header, or None."""
    if not accept_language:
        return None
    weighted = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        weighted.append((-q, i, tag))
    for _q, _i, tag in sorted(weighted):
        found = normalise(tag)
        if found:
            return found
    return None


def set_language(language: str) -> contextvars.Token[str]:
    return _current.set(language)


def reset_language(token: contextvars.Token[str]) -> None:
    _current.reset(token)


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark a message for extraction where it is defined; translate it where it is shown."""
    return message


def _babel_locale() -> Locale:
    return _LOCALES["zh-Hans" if current_language() == "zh-Hans" else "en"]


# Parsed once: babel parses a locale's name again on every date it writes, half the cost of a date.
_LOCALES = {"zh-Hans": Locale.parse("zh_Hans_CN"), "en": Locale.parse("en_GB")}


def format_when(value: datetime | date | None, style: str = "medium") -> str:
    """Dates and times as people in the current language write them."""
    if value is None:
        return ""
    locale = _babel_locale()
    if isinstance(value, datetime):
        if style == "time":
            return format_time(value, "short", locale=locale)
        if style == "date":
            return format_date(value, "full", locale=locale)
        # Minutes, not seconds: people read "19:30", never "19:30:00".
        return f"{format_date(value, 'medium', locale=locale)} {format_time(value, 'short', locale=locale)}"
    return format_date(value, "medium", locale=locale)
