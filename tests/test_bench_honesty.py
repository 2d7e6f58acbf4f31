"""The benches' references can fail (issue 14, point 7): search distractors hold the queries'
words, the held-back extraction split is the one its rule names, and the OCR floor times
the loaded library's recognition alone."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
# appended, never first: bench/signing.py must not shadow the signing package
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))

import search_distractors as sd  # noqa: E402

from index import Sort  # noqa: E402
from tests.fixtures import documents_labelled  # noqa: E402
from tests.fixtures.search_corpus import PLANTED, QUERIES, collection  # noqa: E402


def _folded_words(text: str) -> set[str]:
    import re

    return {sd.fold(word.strip(".")) for word in re.findall(r"[\w/.-]+", text)}


def test_every_query_with_words_meets_distractors_holding_them():
    first = len(PLANTED) + 1
    documents = sd.distractors(first, per_query=4)
    asked = [q for q in QUERIES if q.text and q.sort is Sort.RELEVANCE]
    assert len(documents) == 4 * len(asked)
    for n, query in enumerate(asked):
        words = {sd.fold(w) for w in sd.query_words(query)}
        own = documents[4 * n:4 * n + 4]
        held = [len(words & _folded_words(d.text)) for d in own]
        # one holds them all (scattered), every one holds all but at most one
        assert max(held) == len(words), (query.text, held)
        assert min(held) >= len(words) - 1, (query.text, held)
        assert all(d.doc_id >= first for d in own)


def test_distractors_spell_words_as_the_planted_document_does():
    by_text = {q.text: q for q in QUERIES}
    # an OCR error in the query: the distractor holds the document's right spelling
    assert "luồng" in sd.query_words(by_text["nạo vét luồug cảng cá"])
    # an OCR error in the document: the distractor holds the document's wrong spelling
    assert "khoáug" in sd.query_words(by_text["khai thác khoáng sản trái phép"])
    assert sd.query_words(by_text["thuy dien Vinh Son"]) == ["thủy", "điện", "Vĩnh", "Sơn"]


def test_plain_bm25_baseline_is_beaten_by_distractors_somewhere():
    documents = collection(300)
    documents += sd.distractors(len(documents) + 1)
    baseline = sd.PlainBM25(documents)
    firsts = {q.text: baseline.search(q.text, 10)[0].doc_id if baseline.search(q.text, 10) else None
              for q in sd.plain_queries()}
    wrong_first = [q.text for q in sd.plain_queries() if firsts[q.text] != q.expected_ids[0]]
    assert wrong_first, "distractors that no plain ranking ever puts first test nothing"
    assert len(wrong_first) < len(sd.plain_queries())


def test_held_back_file_is_the_hash_rule_and_names_known_documents():
    text = (BENCH / "extraction_heldback.txt").read_text(encoding="utf-8")
    named = [line for line in text.splitlines() if line and not line.startswith("#")]
    names = sorted(documents_labelled.DOCUMENTS)
    rule = sorted(sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())[:len(names) // 3])
    assert named == rule
    assert set(named) < set(names)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")
def test_library_floor_times_the_recognition_only(tmp_path):
    import floor
    from PIL import Image, ImageDraw

    image = Image.new("L", (900, 200), 255)
    ImageDraw.Draw(image).text((40, 80), "Van ban 123", fill=0)
    path = tmp_path / "page.png"
    image.save(path, dpi=(200, 200))
    grey = floor.grey_pixels(path)
    assert grey.dtype == np.uint8 and grey.ndim == 2
    floor.warm_up(grey, 200)
    hocr, cpu, wall = floor.library_hocr(grey, 200)
    assert b"ocr_page" in hocr
    assert 0 < cpu and 0 < wall < 30
    timing = floor.library_floor([(path, 200), (path, 200)], processes=2)
    assert timing.pages == 2 and timing.cpu > 0 and timing.wall > 0
