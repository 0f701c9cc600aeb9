"""htmx is vendored, version-pinned and served from static/: tablets in a hall may have no internet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
HTMX = ROOT / "static" / "vendor" / "htmx"
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
VERSION = "4.0.1"


@pytest.mark.parametrize("name", ["htmx.js", "htmx.min.js"])
def test_htmx_version(name):
    text = (HTMX / name).read_text(encoding="utf-8")
    assert re.search(r"""version\s*[:=]\s*['"]""" + re.escape(VERSION) + "['\"]", text), f"{name} is not {VERSION}"
    # and no other 4.x version is mentioned as the version
    assert set(re.findall(r"""version\s*[:=]\s*['"](\d+\.\d+\.\d+[^'"]*)['"]""", text)) == {VERSION}


@pytest.mark.parametrize("name", ["hx-ws.js", "htmx.js", "htmx.min.js", "LICENSE"])
def test_vendored_files_present(name):
    path = HTMX / name
    assert path.is_file() and path.stat().st_size > 0


def test_ws_extension_is_htmx_ws():
    assert "hx-ws" in (HTMX / "hx-ws.js").read_text(encoding="utf-8")


def test_base_references_the_vendored_htmx():
    soup = BeautifulSoup((ROOT / "templates" / "base.html").read_text(encoding="utf-8"), "html.parser")
    sources = [s.get("src", "") for s in soup.find_all("script")]
    assert any("vendor/htmx/htmx" in src for src in sources), sources


def test_templates_found():
    assert len(TEMPLATES) >= 10


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_no_cdn(template):
    soup = BeautifulSoup(template.read_text(encoding="utf-8"), "html.parser")
    for tag in soup.find_all(["script", "link", "img"]):
        for attribute in ("src", "href"):
            value = tag.get(attribute) or ""
            assert not value.lower().startswith(("http:", "https:", "//")), f"{template.name}: {tag}"
    assert "unpkg.com" not in template.read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in template.read_text(encoding="utf-8")


def test_vendored_files_are_served(client):
    response = client.get("/static/vendor/htmx/htmx.min.js")
    assert response.status_code == 200
    assert VERSION in response.text
