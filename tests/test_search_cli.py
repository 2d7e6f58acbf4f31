"""`sohoa search` finds archived documents with and without diacritics, and by number."""

import json

from tests.conftest import run_sohoa


def search(home, query, *extra):
    done = run_sohoa(home, "search", query, "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["results"]


def ids(results):
    return [r["id"] for r in results]


def test_with_and_without_diacritics_both_find_the_document(archived, archive_home):
    wanted = archived["pdf"].result["id"]
    assert wanted in ids(search(archive_home, "văn bản điện tử"))
    assert wanted in ids(search(archive_home, "van ban dien tu"))


def test_words_of_a_three_page_tiff_are_found_on_any_page(archived, archive_home):
    wanted = archived["tiff"].result["id"]
    last_page_words = archived["tiff"].pages[2].text.split()
    word = max(last_page_words, key=len)
    assert wanted in ids(search(archive_home, word))
    assert ids(search(archive_home, "vinh Ha Long"))[0] == wanted


def test_the_document_number_finds_its_document_first(archived, archive_home):
    results = search(archive_home, "268/SGTVT-VP")
    # Other tests archive more scans of the same letter: every document with that number
    # comes before any other.
    same_number = [r["id"] for r in results if r["number"] == "268/SGTVT-VP"]
    assert archived["pdf"].result["id"] in same_number
    assert [r["id"] for r in results[:len(same_number)]] == same_number
    # and by a part of it
    assert archived["pdf"].result["id"] in ids(search(archive_home, "SGTVT"))


def test_limit_and_no_result(archived, archive_home):
    assert len(search(archive_home, "năm", "--limit", "2")) == 2
    assert search(archive_home, "từkhôngcótrongkho") == []
    plain = run_sohoa(archive_home, "search", "từkhôngcótrongkho")
    assert plain.returncode == 0 and "Không tìm thấy" in plain.stdout


def test_human_output_names_title_and_number(archived, archive_home):
    done = run_sohoa(archive_home, "search", "van ban dien tu")
    # the title is the summary (trích yếu) the header reader found, the file name before it
    assert "tăng cường sử dụng văn bản điện tử" in done.stdout and "268/SGTVT-VP" in done.stdout


def test_snippet_shows_the_page_of_the_match_escaped_and_marked(archived, archive_home):
    wanted = archived["tiff"].result["id"]
    result = next(r for r in search(archive_home, "vinh Ha Long") if r["id"] == wanted)
    assert result["snippet_page"] == 1
    assert "<mark>" in result["snippet"] and "\n" not in result["snippet"]
    # A word only the last page has: the snippet comes from page 3.
    first_pages = " ".join(page.text for page in archived["tiff"].pages[:2]).lower()
    word = next(w for w in archived["tiff"].pages[2].text.split()
                if len(w) >= 5 and w.isalpha() and w.lower() not in first_pages)
    result = next(r for r in search(archive_home, word) if r["id"] == wanted)
    assert result["snippet_page"] == 3
    plain = run_sohoa(archive_home, "search", word)
    assert "trang 3: " in plain.stdout


def test_check_finds_the_archive_and_index_in_step(archived, archive_home):
    import sqlite3

    # Other tests add documents to the shared archive too: count what the catalog holds.
    with sqlite3.connect(archive_home / "catalog.sqlite") as db:
        documents = db.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert documents >= len(archived)
    done = run_sohoa(archive_home, "check")
    assert done.returncode == 0, done.stdout
    assert f"Danh mục: {documents} tài liệu; chỉ mục tìm kiếm: {documents} tài liệu." in done.stdout


def test_signature_filter_follows_the_audit_trail(archived, archive_home):
    import sqlite3

    with sqlite3.connect(archive_home / "catalog.sqlite") as db:
        rows = db.execute("SELECT document_id, step, outcome FROM events "
                          "WHERE step IN ('signed', 'signature_verified') ORDER BY id").fetchall()
    expected = {}
    for doc_id, step, outcome in rows:
        if step == "signed":
            expected[doc_id] = "unsigned" if outcome == "skipped" else "signed"
        else:
            expected[doc_id] = "signed" if outcome == "ok" else "invalid"
    assert expected, "the archive's documents went through the signing step"
    for status in ("signed", "unsigned"):
        found = {r["id"] for r in search(archive_home, "", "--signature", status, "--limit", "50")}
        assert found == {doc_id for doc_id, value in expected.items() if value == status}
