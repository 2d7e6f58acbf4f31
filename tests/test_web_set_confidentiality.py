"""Setting a document's confidentiality level from its page (POST /tai-lieu/<id>/do-mat/):
the form only for lưu trữ and up, CSRF required, the same pipeline as `sohoa set` (catalog
column, audit event naming the web user and the reason, search index), a level above the
user's own clearance refused (403), an unknown level or no reason a form error that changes
nothing; once raised, a cán bộ below the new level neither finds nor opens the document.

A home of this module's own (two documents): the session's web_archive is read by other
modules and must keep its levels."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from core.confidentiality import Level
from core.roles import Role
from tests.web_support import make_user, use_web_home

WORDS = {"ke_hoach_42": "hạ long", "cong_van_268": "điện tử"}
_names = itertools.count()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from tests.conftest import json_lines, run_sohoa
    from tests.fixtures import scans

    home = tmp_path_factory.mktemp("web-do-mat") / "sohoa-data"
    folder = tmp_path_factory.mktemp("web-do-mat-scans")
    assert run_sohoa(home, "init").returncode == 0
    config = home / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("sign = true", "sign = false"), encoding="utf-8")
    paths = [scans.write_png(folder / f"{name}.png", scans.render_page(name)) for name in WORDS]
    done = run_sohoa(home, "ingest", "--json", *map(str, paths))
    assert done.returncode == 0, done.stderr
    ids = {name: result["id"] for name, result in zip(WORDS, json_lines(done.stdout))}
    return home, ids


@pytest.fixture(autouse=True)
def _home(archive):
    from django.conf import settings

    home, _ = archive
    if getattr(settings, "SOHOA_HOME", None) != home.resolve():
        use_web_home(home)


def logged_in(role: Role | None, clearance: Level = Level.THUONG, **client_options):
    from django.test import Client

    user = make_user(f"mat-{role.value if role else 'none'}-{int(clearance)}-{next(_names)}", role, clearance)
    client = Client(**client_options)
    client.force_login(user)
    return client, user


def level_of(doc_id: int) -> int:
    from core.models import Document

    return Document.objects.get(pk=doc_id).confidentiality


def corrections_of(doc_id: int) -> list[dict]:
    from core.events import Step
    from core.models import Event

    return [json.loads(row.detail) for row in Event.objects.filter(document_id=doc_id, step=Step.CORRECTED)]


def reset(home, doc_id: int, level: Level) -> None:
    """The level set with the CLI, as the office would, before a test begins."""
    from tests.conftest import run_sohoa

    done = run_sohoa(home, "set", str(doc_id), f"confidentiality={level.slug}", "--by", "chuẩn bị")
    assert done.returncode == 0, done.stderr
    assert level_of(doc_id) == int(level)


def found(client, word: str) -> list[int]:
    response = client.get("/", {"q": word})
    assert response.status_code == 200
    return [int(i) for i in re.findall(r'<li class="result" data-id="(\d+)"', response.content.decode())]


def form_of(html: str) -> str | None:
    match = re.search(r'<form class="set-confidentiality".*?</form>', html, re.S)
    return match.group(0) if match else None


def test_only_lưu_trữ_and_up_get_the_form_and_below_gets_403(archive):
    home, ids = archive
    doc = ids["ke_hoach_42"]
    reset(home, doc, Level.THUONG)
    before = len(corrections_of(doc))
    clerk, _ = logged_in(Role.VAN_THU, Level.TUYET_MAT)
    officer, _ = logged_in(Role.CAN_BO, Level.TUYET_MAT)
    page = officer.get(f"/tai-lieu/{doc}/")
    assert page.status_code == 200 and form_of(page.content.decode()) is None
    assert "/do-mat/" not in page.content.decode()
    for client in (clerk, officer):
        refused = client.post(f"/tai-lieu/{doc}/do-mat/", {"level": "tuyệt-mật", "reason": "thử"})
        assert refused.status_code == 403
    assert level_of(doc) == 0 and len(corrections_of(doc)) == before

    for role in (Role.LUU_TRU, Role.QUAN_TRI):
        client, _ = logged_in(role, Level.TOI_MAT)
        page = client.get(f"/tai-lieu/{doc}/")
        form = form_of(page.content.decode())
        assert form is not None, role
        assert 'name="csrfmiddlewaretoken"' in form and f'action="/tai-lieu/{doc}/do-mat/"' in form
        options = re.findall(r'<option value="([^"]+)"( selected)?( disabled)?>([^<]+)</option>', form)
        assert [(value, label.split(" (")[0]) for value, _, _, label in options] == \
            [(level.slug, level.label) for level in Level]
        assert [value for value, selected, _, _ in options if selected] == ["thường"]  # the current level
        assert [value for value, _, disabled, _ in options if disabled] == ["tuyệt-mật"]  # above tối mật
        assert re.search(r'<input type="text" name="reason"[^>]* required', form)
        # strict CSP: the form brings no inline script or style
        assert "<script" not in form and "style=" not in form
        assert "unsafe-inline" not in page.headers.get("Content-Security-Policy", "unsafe-inline")


def test_raising_the_level_goes_through_the_pipeline_and_hides_it_from_a_lower_cán_bộ(archive):
    home, ids = archive
    doc, word = ids["cong_van_268"], WORDS["cong_van_268"]
    reset(home, doc, Level.THUONG)
    officer, _ = logged_in(Role.CAN_BO, Level.MAT)
    assert doc in found(officer, word) and officer.get(f"/tai-lieu/{doc}/").status_code == 200

    archivist, user = logged_in(Role.LUU_TRU, Level.TUYET_MAT, enforce_csrf_checks=True)
    page = archivist.get(f"/tai-lieu/{doc}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_of(page)).group(1)
    # without the token: refused, nothing changed
    assert archivist.post(f"/tai-lieu/{doc}/do-mat/", {"level": "tối-mật", "reason": "x"}).status_code == 403
    assert level_of(doc) == 0
    before = len(corrections_of(doc))
    response = archivist.post(f"/tai-lieu/{doc}/do-mat/", {"level": "tối-mật", "reason": "Có số liệu quốc phòng",
                                                           "csrfmiddlewaretoken": token}, follow=True)
    assert response.redirect_chain == [(f"/tai-lieu/{doc}/", 302)]
    html = response.content.decode()
    assert "Đã đặt độ mật: tối mật" in html
    assert re.search(r'<dd id="do-mat"[^>]*>tối mật</dd>', html)
    assert level_of(doc) == int(Level.TOI_MAT)
    events = corrections_of(doc)[before:]
    mark = [e for e in events if e["field"] == "confidentiality"]
    assert len(mark) == 1 and mark[0]["new"] == "tối mật"
    assert all(e["by"] == user.username and e["reason"] == "Có số liệu quốc phòng" for e in events)
    assert "lý do: Có số liệu quốc phòng" in html  # the audit trail on the page says why

    # the index and the catalog both follow: the mật cán bộ neither finds it nor opens it
    assert doc not in found(officer, word)
    assert officer.get(f"/tai-lieu/{doc}/").status_code == 404
    higher, _ = logged_in(Role.CAN_BO, Level.TOI_MAT)
    assert doc in found(higher, word) and higher.get(f"/tai-lieu/{doc}/").status_code == 200

    # lowering it again, from the page, gives it back
    again = archivist.post(f"/tai-lieu/{doc}/do-mat/", {"level": "thường", "reason": "Đã giải mật",
                                                        "csrfmiddlewaretoken": token})
    assert again.status_code == 302 and level_of(doc) == 0
    assert doc in found(officer, word)


def test_a_level_above_ones_own_clearance_is_refused(archive):
    home, ids = archive
    doc = ids["ke_hoach_42"]
    reset(home, doc, Level.THUONG)
    before = len(corrections_of(doc))
    client, _ = logged_in(Role.LUU_TRU, Level.MAT)
    response = client.post(f"/tai-lieu/{doc}/do-mat/", {"level": "tối-mật", "reason": "thử"})
    assert response.status_code == 403
    html = response.content.decode()
    assert re.search(r'id="tu-choi">Không đặt được độ mật «tối mật» cho tài liệu mã \d+: mức này cao hơn mức '
                     r'bạn được xem \(mật\)', html)
    assert level_of(doc) == 0 and len(corrections_of(doc)) == before
    # up to their own clearance is fine
    assert client.post(f"/tai-lieu/{doc}/do-mat/", {"level": "mật", "reason": "thử"}).status_code == 302
    assert level_of(doc) == int(Level.MAT)
    reset(home, doc, Level.THUONG)


@pytest.mark.parametrize("posted, error", [
    ({"level": "bí-mật-quốc-gia", "reason": "thử"}, "mức mật «bí-mật-quốc-gia» không có"),
    ({"level": "", "reason": "thử"}, "Hãy chọn độ mật."),
    ({"level": "mật", "reason": "   "}, "Hãy ghi lý do đặt độ mật"),
], ids=["unknown-level", "no-level", "no-reason"])
def test_an_unknown_level_or_no_reason_is_a_form_error_and_changes_nothing(archive, posted, error):
    home, ids = archive
    doc = ids["ke_hoach_42"]
    reset(home, doc, Level.THUONG)
    before = len(corrections_of(doc))
    client, _ = logged_in(Role.QUAN_TRI, Level.TUYET_MAT)
    response = client.post(f"/tai-lieu/{doc}/do-mat/", posted)
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html and "Tài liệu chưa thay đổi." in html
    assert form_of(html) is not None  # the form again, to correct
    assert level_of(doc) == 0 and len(corrections_of(doc)) == before


def test_a_document_the_user_cannot_see_is_404_and_get_is_not_allowed(archive):
    home, ids = archive
    doc = ids["ke_hoach_42"]
    reset(home, doc, Level.TOI_MAT)
    try:
        client, _ = logged_in(Role.LUU_TRU, Level.MAT)
        assert client.post(f"/tai-lieu/{doc}/do-mat/", {"level": "mật", "reason": "thử"}).status_code == 404
        assert client.post("/tai-lieu/999999/do-mat/", {"level": "mật", "reason": "thử"}).status_code == 404
        assert level_of(doc) == int(Level.TOI_MAT)
        assert client.get(f"/tai-lieu/{ids['cong_van_268']}/do-mat/").status_code == 405
    finally:
        reset(home, doc, Level.THUONG)
