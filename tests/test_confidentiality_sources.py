"""Where a document's confidentiality level comes from, and that the catalog column the web
filters on always says the same as the record: the header reader's stamp on the page, a
watch profile's level, `ingest --confidentiality`, `sohoa set ID confidentiality=…`, and the
upgrade of a home whose rows predate the column (core migration 0003)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from core.confidentiality import Level
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans
from tests.test_watch_support import Service, make_home, wait_settled

ACCEPTED = "thường, mật, tối-mật, tuyệt-mật"


def column(home: Path, document_id: int) -> int:
    with sqlite3.connect(f"file:{home / 'catalog.sqlite'}?mode=ro", uri=True) as db:
        return db.execute("SELECT confidentiality FROM documents WHERE id = ?", (document_id,)).fetchone()[0]


def show(home: Path, document_id: int) -> dict:
    done = run_sohoa(home, "show", str(document_id), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ingest(home: Path, *files: Path, flag: str | None = None) -> list[dict]:
    done = run_sohoa(home, "ingest", "--json", *(["--confidentiality", flag] if flag else []), *map(str, files))
    assert done.returncode == 0, done.stderr
    results = json_lines(done.stdout)
    assert [r["status"] for r in results] == ["archived"] * len(files), results
    return results


def no_signing(home: Path) -> None:
    config = home / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("sign = true", "sign = false"), encoding="utf-8")


@pytest.fixture(scope="module")
def stamped(tmp_path_factory):
    """A home with scans whose pages carry no stamp, MẬT, TỐI MẬT or TUYỆT MẬT, ingested
    without a level, with --confidentiality tối-mật and with --confidentiality mật."""
    home = tmp_path_factory.mktemp("stamped") / "sohoa-data"
    folder = tmp_path_factory.mktemp("stamped-scans")
    assert run_sohoa(home, "init").returncode == 0
    no_signing(home)

    def page(doc: str, *marks: str, name: str) -> Path:
        return scans.write_png(folder / f"{name}.png", scans.render_stamped_page(doc, *marks, name=name))

    plain, mat, toi_mat = ingest(home, page("cong_van_268", name="plain"), page("cong_van_268", "MẬT", name="mat"),
                                 page("quyet_dinh_15", "TỐI MẬT", name="toi-mat"))
    flag_plain, flag_over_mat = ingest(home, page("thong_bao_05", name="flag-plain"),
                                       page("giay_moi_17", "MẬT", name="flag-over-mat"), flag="tối-mật")
    (stamp_over_flag,) = ingest(home, page("thong_bao_05", "TUYỆT MẬT", name="stamp-over-flag"), flag="mật")
    ids = {"plain": plain["id"], "mat": mat["id"], "toi_mat": toi_mat["id"], "flag_plain": flag_plain["id"],
           "flag_over_mat": flag_over_mat["id"], "stamp_over_flag": stamp_over_flag["id"]}
    return home, ids


@pytest.fixture
def own_home(stamped, tmp_path):
    """A copy of the stamped home for a test that changes it (a home holds no absolute path)."""
    home, ids = stamped
    copy = tmp_path / "sohoa-data"
    shutil.copytree(home, copy, symlinks=True)
    return copy, ids


# -- at ingest ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, level, mark", [
    ("plain", Level.THUONG, None),
    ("mat", Level.MAT, "MẬT"),  # the header reader's stamp, as read on the rendered page
    ("toi_mat", Level.TOI_MAT, "TỐI MẬT"),
])
def test_the_level_comes_from_the_stamp_on_the_page(stamped, name, level, mark):
    home, ids = stamped
    shown = show(home, ids[name])
    assert shown["metadata"].get("confidentiality") == mark
    assert column(home, ids[name]) == level
    assert shown["confidentiality"] == {"level": int(level), "label": level.label}
    text = run_sohoa(home, "show", str(ids[name])).stdout
    assert f"Độ mật:     {level.label}\n" in text
    # a secret record is not công khai in its Thông tư 05 record
    assert shown["metadata"]["record"]["access_mode"] == ("03" if level else "01")


@pytest.mark.parametrize("name, level, mark", [
    ("flag_plain", Level.TOI_MAT, "tối mật"),  # no stamp: the flag's level
    ("flag_over_mat", Level.TOI_MAT, "tối mật"),  # the flag is stronger than the stamp
    ("stamp_over_flag", Level.TUYET_MAT, "TUYỆT MẬT"),  # a flag never lowers a stamp
])
def test_ingest_confidentiality_gives_the_least_level_and_the_stronger_wins(stamped, name, level, mark):
    home, ids = stamped
    assert show(home, ids[name])["metadata"]["confidentiality"] == mark
    assert column(home, ids[name]) == level


def test_ingest_refuses_an_unknown_level_before_reading_any_file(tmp_path):
    home = tmp_path / "sohoa-data"
    assert run_sohoa(home, "init").returncode == 0
    scan = scans.write_png(tmp_path / "a.png", scans.render_page("giay_moi_17", dpi=100))
    done = run_sohoa(home, "ingest", "--confidentiality", "bí-mật", str(scan))
    assert done.returncode == 2, done.stderr  # a usage mistake
    assert ACCEPTED in done.stderr and "bí-mật" in done.stderr
    assert not list((home / "archive").rglob("document.pdf"))


def test_a_watch_profile_gives_its_level_and_a_stamp_raises_it(tmp_path):
    home = make_home(tmp_path / "sohoa-data", extra_config=(
        '\n[profiles.mat]\ntitle = "Văn bản mật"\nafter_done = "delete"\nconfidentiality = "mật"\n'))
    inbox = home / "inbox" / "mat"
    inbox.mkdir(parents=True, exist_ok=True)
    scans.write_jpeg(inbox / "plain.jpg", scans.render_page("giay_moi_17", dpi=100, colour=True))
    scans.write_jpeg(inbox / "stamped.jpg", scans.render_stamped_page("cong_van_268", "TỐI MẬT", name="w", dpi=150))
    with Service(home):
        jobs = wait_settled(home, 2, timeout=240)
    assert [job["state"] for job in jobs] == ["done", "done"], jobs
    by_name = {Path(job["source_path"]).name: job["document_id"] for job in jobs}
    assert column(home, by_name["plain.jpg"]) == Level.MAT
    assert show(home, by_name["plain.jpg"])["metadata"]["confidentiality"] == "mật"
    assert column(home, by_name["stamped.jpg"]) == Level.TOI_MAT  # the stamp is stronger
    assert show(home, by_name["stamped.jpg"])["metadata"]["confidentiality"] == "TỐI MẬT"


def test_a_profile_level_not_known_is_a_config_error_naming_the_accepted_ones():
    from core.config import ConfigError
    from watch_folders.settings import parse_watch_settings

    settings = parse_watch_settings({"profiles": {"a": {"confidentiality": "Tối mật"}, "b": {}}})
    assert [p.confidentiality for p in settings.profiles] == [Level.TOI_MAT, Level.THUONG]
    assert settings.profiles[0].metadata_defaults() == {"confidentiality": "tối mật"}
    assert settings.profiles[1].metadata_defaults() == {}
    with pytest.raises(ConfigError) as refused:
        parse_watch_settings({"profiles": {"a": {"confidentiality": "bí mật"}}}, where="config.toml")
    assert "[profiles.a] confidentiality" in str(refused.value) and ACCEPTED in str(refused.value)


# -- sohoa set --------------------------------------------------------------------------------


def test_set_changes_the_level_everywhere_and_is_audited(own_home):
    home, ids = own_home
    document_id = ids["plain"]
    done = run_sohoa(home, "set", str(document_id), "confidentiality=tối-mật", "--by", "Lê Văn Thư")
    assert done.returncode == 0, done.stderr
    assert "Độ mật: (trống) → «tối mật» (Lê Văn Thư)" in done.stdout
    assert column(home, document_id) == Level.TOI_MAT
    shown = show(home, document_id)
    assert shown["metadata"]["confidentiality"] == "tối mật"
    assert shown["metadata"]["header"]["confidentiality"]["source"] == "manual"
    assert shown["metadata"]["record"]["access_mode"] == "03"
    corrected = [e["detail"] for e in shown["events"] if e["step"] == "corrected"]
    assert {"field": "confidentiality", "old": None, "new": "tối mật", "by": "Lê Văn Thư"} in corrected
    sidecar = json.loads(Path(shown["sidecar"]).read_text(encoding="utf-8"))
    assert sidecar["metadata"]["confidentiality"] == "tối mật"
    # The index entry was made again from the new record, and search still finds it.
    found = run_sohoa(home, "search", "268/SGTVT-VP", "--json", "--limit", "50")
    assert document_id in {r["id"] for r in json.loads(found.stdout)["results"]}, found.stdout
    checked = run_sohoa(home, "check", "--json")
    assert json.loads(checked.stdout)["differing"] == [], checked.stdout
    assert_the_index_holds_the_level(home, document_id, Level.TOI_MAT)


def assert_the_index_holds_the_level(home: Path, document_id: int, level: Level) -> None:
    """A reader cleared below the level does not find the document; one cleared for it does."""
    from index import SearchFilters, SearchOptions, open_index

    index = open_index(home / "index")  # the default engine, as `sohoa init` configures it
    try:
        def hits(clearance: int) -> dict[int, int]:
            found = index.search("268/SGTVT-VP", 50, SearchOptions(filters=SearchFilters(max_confidentiality=clearance)))
            return {hit.doc_id: hit.confidentiality for hit in found}

        assert hits(int(level)).get(document_id) == level
        assert document_id not in hits(int(level) - 1)
    finally:
        index.close()


def test_set_takes_a_level_with_or_without_diacritics_and_the_same_level_is_no_change(own_home):
    home, ids = own_home
    document_id = ids["mat"]  # the stamp read MẬT
    same = run_sohoa(home, "set", str(document_id), "confidentiality=mat")
    assert same.returncode == 0 and "không có gì thay đổi" in same.stdout, same.stdout
    assert show(home, document_id)["metadata"]["confidentiality"] == "MẬT"  # the stamp's reading kept
    for slug, level in (("tuyet-mat", Level.TUYET_MAT), ("Tối Mật", Level.TOI_MAT), ("thường", Level.THUONG)):
        done = run_sohoa(home, "set", str(document_id), f"confidentiality={slug}")
        assert done.returncode == 0, done.stderr
        assert column(home, document_id) == level, slug
    # thường is no mark at all, as on a page without a stamp
    assert "confidentiality" not in show(home, document_id)["metadata"]


def test_set_refuses_an_unknown_level_in_one_line_and_changes_nothing(own_home):
    home, ids = own_home
    document_id = ids["toi_mat"]
    before = show(home, document_id)
    bad_number = run_sohoa(home, "set", str(document_id), "number=abc")
    for value in ("bí-mật", ""):
        done = run_sohoa(home, "set", str(document_id), f"confidentiality={value}")
        assert done.returncode == bad_number.returncode != 0
        (line,) = done.stderr.strip().splitlines()
        assert ACCEPTED in line and f"«{value}»" in line
    after = show(home, document_id)
    assert after["metadata"] == before["metadata"] and after["events"] == before["events"]
    assert column(home, document_id) == Level.TOI_MAT


# -- upgrading a home ---------------------------------------------------------------------------


def _migrate_back_to(home: Path, migration: str) -> None:
    """Django's own backwards migration of the home's catalog (in this process, its
    connection closed after), so every later migration runs again on the next open."""
    from django.core.management import call_command

    from core import database

    alias = database.use_home_database(home)
    call_command("migrate", "core", migration, database=alias, verbosity=0, interactive=False)
    database._migrated.discard(alias)
    database.close(alias)


def test_upgrading_a_home_sets_the_column_from_the_records_marks(own_home):
    """Rows written before migration 0002 read 0 (thường) whatever their records say; 0003
    gives each the level of its mark, a mark not understood counts as mật, and a level
    already higher is kept."""
    home, ids = own_home
    _migrate_back_to(home, "0002_web_tables")  # as a home last opened by the release with 0002
    with sqlite3.connect(home / "catalog.sqlite") as db:
        db.execute("UPDATE documents SET confidentiality = 0")
        db.execute("UPDATE documents SET confidentiality = 3 WHERE id = ?", (ids["mat"],))
        metadata = json.loads(db.execute("SELECT metadata_json FROM documents WHERE id = ?",
                                         (ids["plain"],)).fetchone()[0])
        metadata["confidentiality"] = "MẬT (bản sao)"  # a mark no level is spelt as
        db.execute("UPDATE documents SET metadata_json = ? WHERE id = ?",
                   (json.dumps(metadata, ensure_ascii=False), ids["plain"]))
        assert not db.execute("SELECT 1 FROM django_migrations WHERE app = 'core' AND name = ?",
                              ("0003_confidentiality_from_metadata",)).fetchall()
    assert column(home, ids["toi_mat"]) == 0
    shown = show(home, ids["toi_mat"])  # any command opens the catalog, which migrates it
    assert shown["confidentiality"]["level"] == Level.TOI_MAT
    assert column(home, ids["toi_mat"]) == Level.TOI_MAT
    assert column(home, ids["plain"]) == Level.MAT
    assert column(home, ids["mat"]) == Level.TUYET_MAT  # never lowered
    assert column(home, ids["stamp_over_flag"]) == Level.TUYET_MAT
    assert column(home, ids["flag_plain"]) == Level.TOI_MAT


def test_a_home_from_before_the_django_catalog_keeps_its_secret_records_secret(tmp_path):
    """A release home (raw sqlite3 catalog, no column at all) is adopted, then migrated
    through 0002 and 0003: its MẬT record arrives mật, not thường."""
    from tests.test_data_layer_upgrade import _legacy_home

    home = tmp_path / "kho cũ"
    row = _legacy_home(home, 7)
    with sqlite3.connect(home / "catalog.sqlite") as db:
        db.execute("UPDATE documents SET metadata_json = ? WHERE id = ?",
                   (json.dumps({"summary": "Về chuyển đổi số", "confidentiality": "MẬT"}, ensure_ascii=False),
                    row["id"]))
    shown = run_sohoa(home, "show", str(row["id"]), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["confidentiality"] == {"level": int(Level.MAT), "label": "mật"}
    assert column(home, row["id"]) == Level.MAT
