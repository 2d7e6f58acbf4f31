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
    assert results[0]["id"] == archived["pdf"].result["id"]
    assert results[0]["number"] == "268/SGTVT-VP"
    # and by a part of it
    assert archived["pdf"].result["id"] in ids(search(archive_home, "SGTVT"))


def test_limit_and_no_result(archived, archive_home):
    assert len(search(archive_home, "năm", "--limit", "2")) == 2
    assert search(archive_home, "từkhôngcótrongkho") == []
    plain = run_sohoa(archive_home, "search", "từkhôngcótrongkho")
    assert plain.returncode == 0 and "Không tìm thấy" in plain.stdout


def test_human_output_names_title_and_number(archived, archive_home):
    done = run_sohoa(archive_home, "search", "van ban dien tu")
    assert "công-văn-268.pdf" in done.stdout and "268/SGTVT-VP" in done.stdout
