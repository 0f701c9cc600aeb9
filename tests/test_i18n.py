"""Every message in code and templates has a Chinese translation; a missing one fails here.

To add translations: `pybabel extract -F babel.cfg -k N_ --ignore-dirs '.* __pycache__' -o messages.pot .`
then `pybabel update -i messages.pot -d forum/locale -l zh_Hans`, then fill in the empty msgstr entries.
"""

from __future__ import annotations

import ast
import gc
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from forum import i18n

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("forum/**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"forum/**.py": {},
           "templates/**.html": {"extensions": "jinja2.ext.i18n,jinja2.ext.do"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extracted() -> dict[str, tuple[str, int]]:
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, options_map=OPTIONS, keywords=KEYWORDS,
        # Babel skips folders starting with "_" by default; templates/_partials must be read.
        directory_filter=lambda path: not Path(path).name.startswith(".") and Path(path).name != "__pycache__",
    ):
        key = message[0] if isinstance(message, tuple) else message
        found.setdefault(key, (filename, lineno))
    return found


def catalog():
    with i18n.po_path("zh-Hans").open("rb") as f:
        return read_po(f, locale="zh_Hans")


def test_messages_are_found():
    messages = extracted()
    # A sample from code, templates and a module-level label: the extraction itself works.
    assert "Raise an issue" in messages
    assert "Kitchen fumes" in messages
    assert "Skip to content" in messages


def test_every_message_has_a_chinese_translation():
    po = catalog()
    missing = []
    for msgid, (filename, lineno) in sorted(extracted().items()):
        entry = po.get(msgid)
        strings = entry.string if entry else None
        if isinstance(strings, tuple | list):
            ok = all(s.strip() for s in strings)
        else:
            ok = bool(strings and strings.strip())
        if not ok or (entry is not None and entry.fuzzy):
            missing.append(f"{filename}:{lineno}: {msgid!r}")
    assert not missing, "untranslated messages:\n" + "\n".join(missing)


@pytest.mark.parametrize("message", ["Issues", "Raise an issue", "Weekly talk", "Owners taking part"])
def test_translation_is_used(message):
    token = i18n.set_language("zh-Hans")
    try:
        chinese = i18n.gettext(message)
    finally:
        i18n.reset_language(token)
    assert chinese != message and any("\u4e00" <= ch <= "\u9fff" for ch in chinese)
    token = i18n.set_language("en")
    try:
        assert i18n.gettext(message) == message
    finally:
        i18n.reset_language(token)


# ---------------------------------------------------------------- nothing shown outside the catalog

# Modules whose English is not shown to people using forum: counting's errors are for programmers
# (votes turns each into a message of the catalog), the command line and the benchmarks speak to
# whoever runs them in a terminal, the demo is data, settings' errors stop the server at start.
# Paths under forum/; a folder stands for every module in it.
NOT_SHOWN = {"counting.py", "bench", "cli.py", "demo", "server.py", "settings.py", "i18n.py",
             "cli_admin.py", "cli_bench.py", "hall.py"}
_WORD = re.compile(r"^[A-Za-z’',.;:!?()-]+$")


def _looks_english(text: str) -> bool:
    """A sentence someone would read: three words or more, the first capitalised, nearly all
    words of Latin letters, and nothing of code about it (no braces, tags, paths or names_like_this)."""
    words = text.split()
    if len(words) < 3 or re.search(r"[{}<>=/_\\]", text) or not re.match(r"^[A-Z][a-z’']*$", words[0]):
        return False
    return sum(bool(_WORD.match(w)) for w in words) >= 0.8 * len(words)


def _parse(source: str) -> ast.Module:
    """``ast.parse`` with the garbage collector held off: on CPython 3.11 a finalizer that runs
    Python code in the middle of building the tree (a pooled database connection collected from an
    earlier test) upsets its recursion count, and the parse fails with "AST constructor recursion
    depth mismatch" (fixed in later CPython releases)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source)
    finally:
        if enabled:
            gc.enable()


def untranslated_literals(root: Path) -> list[str]:
    """English sentences in forum's code that reach no gettext: not inside ``_``/``gettext``/
    ``ngettext``/``N_``, a docstring, a log call or a raised exception."""
    found = []
    for path in sorted((root / "forum").rglob("*.py")):
        inside = path.relative_to(root / "forum")
        if str(inside) in NOT_SHOWN or inside.parts[0] in NOT_SHOWN:
            continue
        tree = _parse(path.read_text(encoding="utf-8"))
        skip: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = getattr(func, "id", None) or getattr(func, "attr", None)
                owner = getattr(func, "value", None)
                if name in KEYWORDS or (isinstance(owner, ast.Name) and owner.id in ("log", "logging")):
                    skip |= {id(n) for n in ast.walk(node)}
            elif isinstance(node, ast.Raise) and node.exc is not None:
                skip |= {id(n) for n in ast.walk(node.exc)}
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body \
                    and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
                skip.add(id(node.body[0].value))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip \
                    and _looks_english(node.value.strip()):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    return found


def test_every_sentence_in_the_code_goes_through_gettext():
    assert untranslated_literals(ROOT) == []


def test_an_unmarked_sentence_is_found(tmp_path):
    # The check itself: the tablet's thank-you as it once was, a plain string in a dict.
    (tmp_path / "forum" / "views").mkdir(parents=True)
    (tmp_path / "forum" / "views" / "votes.py").write_text(
        'MESSAGES = {"counted": "Your ballot is counted. Thank you.", "x": N_("A ballot was counted already.")}\n'
        'log.info("vote %s: %d ballots counted", 1, 2)\n', encoding="utf-8")
    assert untranslated_literals(tmp_path) == [
        "forum/views/votes.py:1: 'Your ballot is counted. Thank you.'"]
