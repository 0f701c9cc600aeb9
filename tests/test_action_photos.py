"""Photo evidence on follow-up actions (issue #12): a JPEG or PNG checked by its bytes, EXIF
stripped, kept resized with a thumbnail, served to those who report on the action; anything else
refused by the field with the note kept and nothing stored."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlmodel import Session, select
from starlette.testclient import TestClient

from forum import action_registry, photos
from forum.followup import Owner
from forum.models import ActionNote, ActionPhoto, AuditEntry, Issue
from tests.conftest import sign_in
from tests.test_followup_pages import decided  # noqa: F401  (the fixture)


def picture(fmt: str, size=(2400, 1200), exif: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    options = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # Make
        data[0x8825] = {2: (31.0, 14.0, 0.0)}  # GPS: where the photo was taken
        options["exif"] = data.tobytes()
    image.save(out, fmt, **options)
    return out.getvalue()


@pytest.fixture
def action_id(demo_engine, decided) -> int:  # noqa: F811
    with Session(demo_engine, expire_on_commit=False) as db:
        action = action_registry.create(db, db.get(Issue, decided["issue"]), what="面馆更换油烟净化设备",
                                        owner=Owner(organisation_id=decided["org"]),
                                        due=date.today() + timedelta(days=10), actor="t", today=date.today())
        db.commit()
        return action.id


@pytest.fixture
def liaison(app):
    with TestClient(app) as client:
        yield sign_in(client, "liaison")


@pytest.fixture
def other_liaison(app, decided):  # noqa: F811
    with TestClient(app) as client:
        yield sign_in(client, "other.liaison")


def post(client: TestClient, action: int, content: bytes, name: str, kind: str = "progress", **fields):
    data = {"note": "已更换净化器"} if kind == "progress" else {"status": "done", "note": "已完成"}
    return client.post(f"/actions/{action}/{kind}", data=data | fields, files={"photo": (name, content, "image/jpeg")},
                       follow_redirects=False)


def stored(engine) -> tuple[int, int]:
    with Session(engine) as db:
        return len(db.exec(select(ActionPhoto)).all()), len(db.exec(select(ActionNote)).all())


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_a_photo_is_kept_resized_and_served_back(liaison, demo_engine, decided, action_id, fmt, mime):  # noqa: F811
    r = post(liaison, action_id, picture(fmt), f"p.{fmt.lower()}")
    assert r.status_code == 303, r.text
    with Session(demo_engine) as db:
        photo = db.exec(select(ActionPhoto)).one()
        assert photo.note_id is not None and photo.event_id is not None
        assert db.exec(select(AuditEntry).where(AuditEntry.action == "action_photo")).one()
    url = f"/actions/{action_id}/photos/{photo.id}"
    large = liaison.get(url)
    assert large.status_code == 200
    assert large.headers["content-type"] == mime
    assert large.headers["x-content-type-options"] == "nosniff"
    assert Image.open(io.BytesIO(large.content)).size == (1600, 800)
    thumb = liaison.get(url, params={"size": "thumb"})
    assert Image.open(io.BytesIO(thumb.content)).size == (320, 160)
    # The thumbnail links to the larger picture, on the action's page and on the issue's timeline.
    assert f'{url}"' in liaison.get(f"/actions/{action_id}").text
    assert f'{url}"' in liaison.get(f"/issues/{decided['issue']}").text


def test_exif_is_gone(liaison, demo_engine, action_id):
    raw = picture("JPEG", (800, 600), exif=True)
    assert Image.open(io.BytesIO(raw)).getexif()  # the upload carries it
    assert post(liaison, action_id, raw, "p.jpg").status_code == 303
    with Session(demo_engine) as db:
        photo = db.exec(select(ActionPhoto)).one()
    kept = liaison.get(f"/actions/{action_id}/photos/{photo.id}").content
    assert not Image.open(io.BytesIO(kept)).getexif()
    assert b"PhoneMaker" not in kept


def test_a_done_may_carry_a_photo(liaison, demo_engine, action_id):
    assert post(liaison, action_id, picture("PNG", (100, 50)), "p.png", kind="status").status_code == 303
    assert stored(demo_engine)[0] == 1


GIF = io.BytesIO()
Image.new("RGB", (10, 10)).save(GIF, "GIF")


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"just some text, not a picture\n" * 10, "evidence.jpg", "不是照片"),
    (GIF.getvalue(), "p.gif", "只能添加 JPEG 或 PNG 照片"),
    (b"\xff\xd8\xff" + b"\0" * (photos.MAX_BYTES + 100_000), "big.jpg", "照片太大"),
], ids=["text-renamed-jpg", "gif", "oversized"])
def test_bad_input_is_refused_by_the_field_with_the_note_kept(liaison, demo_engine, action_id, content, name, message):
    before = stored(demo_engine)
    r = post(liaison, action_id, content, name, note="照片见附件")
    assert r.status_code == 422
    assert message in r.text
    assert 'id="p-photo-error"' in r.text
    assert "照片见附件" in r.text  # what was typed is kept
    assert stored(demo_engine) == before  # nothing stored: no photo, no note


def test_a_decompression_bomb_is_refused_before_decoding():
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 million pixels, a few KB
    with pytest.raises(photos.Refused) as refused:
        photos.process(out.getvalue())
    assert refused.value.field == "photo"


def test_a_liaison_of_another_organisation_can_neither_upload_nor_fetch(liaison, other_liaison, demo_engine,
                                                                          action_id):
    assert post(other_liaison, action_id, picture("PNG", (50, 50)), "p.png").status_code == 403
    assert stored(demo_engine)[0] == 0
    assert post(liaison, action_id, picture("PNG", (50, 50)), "p.png").status_code == 303
    with Session(demo_engine) as db:
        photo = db.exec(select(ActionPhoto)).one()
    assert other_liaison.get(f"/actions/{action_id}/photos/{photo.id}").status_code == 403
    assert other_liaison.get(f"/actions/{action_id}/photos/{photo.id}", params={"size": "thumb"}).status_code == 403
    assert "/photos/" not in other_liaison.get(f"/actions/{action_id}").text
