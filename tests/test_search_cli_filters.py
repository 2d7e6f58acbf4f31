"""`sohoa search` filters, sorting and snippets, `sohoa reindex` and `sohoa check`, through
the real CLI on a real catalog and index, with each engine.

The catalog is filled with generated records (metadata and page texts, as the header reader
and OCR would leave them) instead of OCR'd scans: these tests are about the index, and OCR
costs seconds per page. tests/test_search_cli.py searches real ingested scans.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from index import ENGINES, IndexedDocument
from core.catalog import Catalog, PageRecord
from tests.conftest import SOHOA, run_sohoa
from tests.fixtures.search_corpus import PLANTED_IDS, background_document, collection


def _record(doc: IndexedDocument) -> tuple[dict, dict, list[PageRecord]]:
    metadata = {
        "title": f"tai-lieu-{doc.doc_id}.pdf", "summary": doc.title, "number": doc.number,
        "issue_date": doc.issue_date.isoformat() if doc.issue_date else None, "doc_type": doc.doc_type,
        "issuing_body": doc.issuing_body, "profile": doc.profile, "signature_status": doc.signature_status,
    }
    digest = f"{doc.doc_id:064x}"
    row = {
        "received_at": "2026-01-01T08:00:00+07:00", "original_name": f"tai-lieu-{doc.doc_id}.pdf",
        "original_format": "pdf", "original_sha256": digest, "original_size": 1,
        "archive_dir": f"{digest[:2]}/{digest[2:4]}/{digest}", "original_file": f"{digest}/original.pdf",
        "pdfa_file": f"{digest}/document.pdf", "pdfa_sha256": digest, "pdfa_size": 1,
        "sidecar_file": f"{digest}/metadata.json", "sidecar_sha256": digest,
        "page_count": len(doc.page_texts), "metadata_json": json.dumps(metadata, ensure_ascii=False),
    }
    pages = [PageRecord(number=n, text_source="ocr", dpi=300.0, width_px=None, height_px=None,
                        ocr_confidence=None, text=text) for n, text in enumerate(doc.page_texts, start=1)]
    return metadata, row, pages


def catalogue(home: Path, documents: list[IndexedDocument]) -> None:
    """Add records to the home's catalog, ids in order, in one transaction."""
    with Catalog(home / "catalog.sqlite") as catalog, catalog.transaction() as db:
        for doc in documents:
            _, row, pages = _record(doc)
            assert Catalog.insert_document(db, row) == doc.doc_id
            Catalog.insert_pages(db, doc.doc_id, pages)


def new_home(tmp_path: Path, engine: str) -> Path:
    home = tmp_path / "sohoa-data"
    assert run_sohoa(home, "init").returncode == 0
    config = home / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('engine = "tantivy"', f'engine = "{engine}"'),
                      encoding="utf-8")
    return home


def search(home: Path, *args: str) -> list[dict]:
    done = run_sohoa(home, "search", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["results"]


def found(home: Path, *args: str) -> list[int]:
    return [result["id"] for result in search(home, *args)]


@pytest.fixture(scope="module", params=ENGINES)
def planted_home(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = new_home(tmp_path_factory.mktemp(request.param), request.param)
    catalogue(home, collection(200))
    done = run_sohoa(home, "reindex")
    assert done.returncode == 0, done.stderr
    assert "225 tài liệu" in done.stdout
    return home


KH, BC = PLANTED_IDS["kho_luu_tru_kh"], PLANTED_IDS["kho_luu_tru_bc"]


def test_filters(planted_home: Path) -> None:
    query = "kho lưu trữ Phú Tài"
    assert sorted(found(planted_home, query)) == sorted([KH, BC])
    assert found(planted_home, query, "--type", "KH") == [KH]
    assert found(planted_home, query, "--type", "báo cáo") == [BC]
    assert found(planted_home, query, "--from", "2025") == [KH]
    assert found(planted_home, query, "--to", "31/12/2024") == [BC]
    assert found(planted_home, query, "--from", "06/2023", "--to", "06/2023") == [BC]
    assert found(planted_home, query, "--agency", "sở nội vụ") == [KH]
    assert found(planted_home, query, "--profile", "van-ban-di") == [BC]
    assert found(planted_home, query, "--signature", "signed") == [KH]
    assert found(planted_home, query, "--signature", "signed", "--type", "BC") == []


def test_filters_alone_and_sort_by_date(planted_home: Path) -> None:
    assert found(planted_home, "", "--type", "Nghị định", "--from", "2020", "--to", "2020") == [PLANTED_IDS["nghi_dinh"]]
    assert found(planted_home, "rừng", "--sort", "date") == [PLANTED_IDS["ngap_man_twin"], PLANTED_IDS["dam_thi_nai"]]
    dated = search(planted_home, "", "--from", "2015", "--limit", "30")
    dates = [result["date"] for result in dated]
    assert len(dated) == 30 and dates == sorted(dates, reverse=True)


def test_results_show_summary_number_date_body_and_snippet(planted_home: Path) -> None:
    result = search(planted_home, "khảo cổ học")[0]
    assert result["id"] == PLANTED_IDS["thap_banh_it"]
    assert result["title"] == "Về việc phê duyệt dự án tu bổ di tích tháp Bánh Ít"
    assert result["number"] == "1321/QĐ-SVHTT"
    assert result["date"] == "2021-11-02"
    assert result["issuing_body"] == "Sở Văn hóa và Thể thao" and result["type"] == "Quyết định"
    assert result["snippet_page"] == 2 and "<mark>khảo</mark> <mark>cổ</mark> <mark>học</mark>" in result["snippet"]
    assert result["pages"] == 2
    plain = run_sohoa(planted_home, "search", "khao co hoc")
    assert plain.returncode == 0
    assert "số 1321/QĐ-SVHTT — ngày 02/11/2021 — Quyết định — Sở Văn hóa và Thể thao (2 trang)" in plain.stdout
    assert "trang 2: " in plain.stdout and "«khảo» «cổ» «học»" in plain.stdout


@pytest.mark.parametrize("planted_home", ["tantivy"], indirect=True)  # engine-independent CLI behaviour
def test_typing_mistakes_get_one_line_errors(planted_home: Path) -> None:
    bad_date = run_sohoa(planted_home, "search", "văn bản", "--from", "31/02/2024")
    assert bad_date.returncode == 1
    assert bad_date.stderr.strip().splitlines() == ["sohoa: lỗi: ngày không hợp lệ «31/02/2024»: không có ngày, tháng này"]
    nothing = run_sohoa(planted_home, "search", "")
    assert nothing.returncode == 1 and len(nothing.stderr.strip().splitlines()) == 1
    assert "từ khóa" in nothing.stderr
    bad_sort = run_sohoa(planted_home, "search", "văn bản", "--sort", "size")
    assert bad_sort.returncode == 2


def test_check_reports_what_is_missing_or_gone(planted_home: Path, tmp_path: Path) -> None:
    done = run_sohoa(planted_home, "check")
    assert done.returncode == 0, done.stdout
    assert "khớp" in done.stdout
    # A copy of the home, so the module's home stays intact for the other tests.
    home = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(planted_home), str(home)], check=True)
    with sqlite3.connect(home / "catalog.sqlite") as db:
        db.execute("DELETE FROM pages WHERE document_id = 5")
        db.execute("DELETE FROM documents WHERE id = 5")
    catalogue(home, [background_document(226), background_document(227)])  # catalogued, never indexed
    with sqlite3.connect(home / "catalog.sqlite") as db:
        # 226 was indexed once and its entry lost since; 227 still waits for the index
        # (no "indexed" event), so check's drain of the queue indexes it first.
        db.execute("INSERT INTO events (document_id, step, outcome, at) VALUES (226, 'indexed', 'ok', '2026-01-01T00:00:00+07:00')")
    done = run_sohoa(home, "check")
    assert done.returncode == 1
    assert "1 tài liệu có trong danh mục nhưng không tìm được: mã 226" in done.stdout
    assert "1 tài liệu trong chỉ mục không còn trong danh mục: mã 5" in done.stdout
    report = json.loads(run_sohoa(home, "check", "--json").stdout)
    assert (report["missing_from_index"], report["gone_from_catalog"], report["ok"]) == ([226], [5], False)
    assert run_sohoa(home, "reindex").returncode == 0
    assert run_sohoa(home, "check").returncode == 0


@pytest.mark.parametrize("planted_home", ["tantivy"], indirect=True)  # engine-independent CLI behaviour
def test_index_of_another_schema_version_is_rebuilt_by_itself(planted_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(planted_home), str(home)], check=True)
    pointer = home / "index" / "CURRENT.json"
    pointer.write_text(json.dumps({**json.loads(pointer.read_text()), "schema_version": 1}))
    done = run_sohoa(home, "search", "--json", "lễ hội Cầu Ngư")
    assert done.returncode == 0
    assert "dựng lại" in done.stderr
    assert [r["id"] for r in json.loads(done.stdout)["results"]] == [PLANTED_IDS["le_hoi"]]
    assert json.loads(pointer.read_text())["needs_rebuild"] is False
    again = run_sohoa(home, "search", "lễ hội Cầu Ngư")
    assert "dựng lại" not in again.stderr


@pytest.mark.parametrize("planted_home", ["tantivy"], indirect=True)  # engine-independent CLI behaviour
def test_changing_the_engine_in_the_config_rebuilds_with_it(planted_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(planted_home), str(home)], check=True)
    pointer = home / "index" / "CURRENT.json"
    other = next(engine for engine in ENGINES if engine != json.loads(pointer.read_text())["engine"])
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('engine = "tantivy"', f'engine = "{other}"').replace(
        'engine = "whoosh"', f'engine = "{other}"'), encoding="utf-8")
    assert found(home, "nước mắm Nhơn Lý") == [PLANTED_IDS["nuoc_mam"]]
    assert json.loads(pointer.read_text())["engine"] == other
    assert run_sohoa(home, "check").returncode == 0


@pytest.mark.parametrize("planted_home", ["tantivy"], indirect=True)  # engine-independent CLI behaviour
def test_unknown_engine_in_the_config_is_one_clear_line(planted_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(planted_home), str(home)], check=True)
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('engine = "tantivy"', 'engine = "lucene"').replace(
        'engine = "whoosh"', 'engine = "lucene"'), encoding="utf-8")
    done = run_sohoa(home, "search", "văn bản")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "sohoa: lỗi: bộ máy tìm kiếm không hợp lệ «lucene» ([index] engine trong config.toml); "
        "chọn một trong: tantivy, whoosh"]


def test_reindex_killed_midway_resumes(tmp_path: Path) -> None:
    home = new_home(tmp_path, "tantivy")
    catalogue(home, [background_document(n) for n in range(1, 3001)])
    state = home / "index" / "REBUILD.json"
    environment = {k: v for k, v in os.environ.items() if k != "SOHOA_HOME"}
    process = subprocess.Popen([str(SOHOA), "--home", str(home), "reindex", "--batch-size", "20"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    deadline = time.monotonic() + 120
    last = 0
    while time.monotonic() < deadline and process.poll() is None:
        try:
            last = json.loads(state.read_text())["last_doc_id"]
        except (OSError, ValueError):
            last = 0
        if last >= 200:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    assert process.wait(timeout=60) == -signal.SIGKILL, "reindex ended before it could be interrupted"
    interrupted_at = json.loads(state.read_text())["last_doc_id"]
    assert 200 <= interrupted_at < 3000
    done = run_sohoa(home, "reindex", "--batch-size", "500")
    assert done.returncode == 0, done.stderr
    assert f"tiếp tục lần dựng dở trước, sau tài liệu mã {interrupted_at}" in done.stdout
    assert "chỉ mục có 3.000 tài liệu" in done.stdout
    assert not state.exists()
    assert run_sohoa(home, "check").returncode == 0
    assert len([p for p in (home / "index").iterdir() if p.name.startswith("g-")]) == 1
