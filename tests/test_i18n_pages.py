"""A Chinese tablet shows no English: the vote pages, the ballot and every reply to a cast, the
shared tablet, the room pages and the minutes, rendered in zh-Hans and read for English words.

Catches what the catalog test cannot: a message that never reached gettext at all (the tablet's
"Your ballot is counted. Thank you." once did not), as well as a catalog message left untranslated.
"""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from forum import i18n
from tests import test_votes
from tests.test_votes import (
    close,
    create,
    open_,
    tablet,
)

# The vote tests' fixtures: a session on the demo database, and the lift meeting with people checked in.
db = test_votes.db
room = test_votes.room

# Latin-letter words a Chinese page may show: the language switch, units, and the names of things.
ALLOWED = {"English", "QR", "m²", "htmx", "PDF", "A4", "Markdown"}
PHRASE = re.compile(r"[A-Za-z][A-Za-z’']+(?:[ ,.;:!?-]+[A-Za-z][A-Za-z’']*)+")
SHOWN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


def english_msgids() -> set[str]:
    with i18n.po_path("zh-Hans").open("rb") as f:
        catalog = read_po(f, locale="zh_Hans")
    return {m.id for m in catalog if isinstance(m.id, str) and len(m.id.split()) >= 2}


KNOWN = english_msgids()


def english_on(html: str) -> list[str]:
    """English phrases a person would read on the page (text and the attributes read aloud)."""
    soup = BeautifulSoup(html, "html.parser")
    for gone in soup.select("script, style, template, svg desc[data-lang]"):
        gone.decompose()
    texts = [" ".join(soup.get_text(" ").split())]
    for tag in soup.find_all(True):
        texts += [str(tag.get(a)) for a in SHOWN_ATTRIBUTES if tag.get(a)]
        if tag.name == "input" and tag.get("type") in ("submit", "button"):
            texts.append(str(tag.get("value", "")))
    found = []
    for text in texts:
        found += [m for m in PHRASE.findall(text) if m not in ALLOWED]
        found += [m for m in KNOWN if m in text]
    return sorted(set(found))


def test_the_detector_sees_english(app):
    found = english_on("<p>您的票已计入</p><p>Your ballot is counted. Thank you.</p>")
    assert "Your ballot is counted. Thank you." in found
    assert "Cast ballot" in english_on('<button aria-label="Cast ballot">投票</button>')
    assert english_on("<p>中文</p><p>English</p><p>面积 12 m²</p>") == []


def pages_of_a_meeting_in_zh(app, facilitator, db, room) -> dict[str, str]:
    meeting, entry, people, guest = room
    out: dict[str, str] = {}
    named = create(facilitator, meeting, entry, question="是否同意？")
    open_(facilitator, named)
    pad = tablet(app, people[0])
    key = f"p{people[0].person_id}"
    out["ballot page"] = pad.get(f"/votes/{named}/ballot").text
    htmx = {"HX-Request": "true"}
    out["cast: counted"] = pad.post(f"/votes/{named}/cast", data={"voter": key, "choice": "for"}, headers=htmx).text
    out["cast: unchanged"] = pad.post(f"/votes/{named}/cast", data={"voter": key, "choice": "for"}).text
    out["cast: no change"] = pad.post(f"/votes/{named}/cast", data={"voter": key, "choice": "against"}).text
    out["cast: unknown choice"] = pad.post(f"/votes/{named}/cast", data={"voter": key, "choice": "maybe"}).text
    out["vote page, staff"] = facilitator.get(f"/votes/{named}").text
    out["vote page, visitor"] = TestClient(app).get(f"/votes/{named}").text
    facilitator.post(f"/votes/{named}/shared-tablet", data={"voter": f"p{people[1].person_id}"})
    nonce = BeautifulSoup(facilitator.get(f"/votes/{named}/shared-tablet").text, "html.parser") \
        .select_one("input[name=nonce]")["value"]
    out["shared tablet ballot"] = facilitator.get(f"/votes/{named}/shared-tablet").text
    out["shared tablet: counted"] = facilitator.post(f"/votes/{named}/shared-tablet/cast",
                                                     data={"nonce": nonce, "choice": "for"}).text
    out["shared tablet: stale"] = facilitator.post(f"/votes/{named}/shared-tablet/cast",
                                                   data={"nonce": nonce, "choice": "for"}).text
    out["hands refused"] = facilitator.post(f"/votes/{named}/hands", data={"hands-for": "99"}).text
    close(facilitator, named)
    out["result page"] = TestClient(app).get(f"/votes/{named}").text

    secret = create(facilitator, meeting, entry, question="无记名表决？", secret="on")
    open_(facilitator, secret)
    pad = tablet(app, people[2])
    key = f"p{people[2].person_id}"
    out["secret: received"] = pad.post(f"/votes/{secret}/cast", data={"voter": key, "choice": "for"}).text
    out["secret: waiting"] = pad.get(f"/votes/{secret}/ballot?waiting={key}", headers=htmx).text
    out["secret: already"] = pad.post(f"/votes/{secret}/cast", data={"voter": key, "choice": "for"}).text
    other = f"p{people[3].person_id}"
    out["secret: lost"] = tablet(app, people[3]).get(f"/votes/{secret}/ballot?waiting={other}", headers=htmx).text
    facilitator.post(f"/votes/{secret}/shared-tablet", data={"voter": other})
    nonce = BeautifulSoup(facilitator.get(f"/votes/{secret}/shared-tablet").text, "html.parser") \
        .select_one("input[name=nonce]")["value"]
    out["secret shared tablet: received"] = facilitator.post(f"/votes/{secret}/shared-tablet/cast",
                                                             data={"nonce": nonce, "choice": "for"}).text
    out["secret vote page"] = facilitator.get(f"/votes/{secret}").text
    out["console"] = facilitator.get(f"/meetings/{meeting.id}/run").text
    out["screen"] = TestClient(app).get(f"/meetings/{meeting.id}/screen").text
    out["tablet"] = tablet(app, guest).get(f"/meetings/{meeting.id}/tablet").text
    close(facilitator, secret)
    out["secret: closed ballot"] = pad.get(f"/votes/{secret}/ballot").text
    out["minutes"] = TestClient(app).get(f"/meetings/{meeting.id}/minutes").text
    out["not found"] = TestClient(app).get("/votes/999999").text
    return out


def test_a_chinese_tablet_and_console_show_no_english(app, facilitator, db, room):
    pages = pages_of_a_meeting_in_zh(app, facilitator, db, room)
    found = {where: english_on(html) for where, html in pages.items()}
    assert {where: words for where, words in found.items() if words} == {}


@pytest.mark.parametrize("message", ["Your ballot is counted. Thank you.", "Secret ballots counted"])
def test_an_english_message_on_a_page_would_be_found(message):
    # As the tablet showed it before its messages were in the catalog.
    assert message in english_on(f'<div id="ballot-1"><p class="notice" role="status">{message}</p></div>')
