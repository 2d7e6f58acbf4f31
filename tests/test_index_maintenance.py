"""Index maintenance: schema versions and generations, resumable rebuilds, checks against the
catalog, and tantivy's segment garbage collection. Real indexes on disk, every engine."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
from collections.abc import Sequence

import pytest
import tantivy

from index import (
    ENGINES,
    SCHEMA_VERSION,
    DocumentSource,
    IndexedDocument,
    SearchIndexError,
    check_index,
    open_index,
    rebuild_index,
)
from index.store import CURRENT, REBUILD, IndexStore, WriteLock


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


class Catalogue:
    """A stand-in for the catalog with the three functions a rebuild reads, counting calls."""

    def __init__(self, count: int, fail_after_batches: int | None = None) -> None:
        self.documents = {n: IndexedDocument(n, f"tài liệu lưu trữ số {n} về kế hoạch") for n in range(1, count + 1)}
        self.fail_after_batches = fail_after_batches
        self.batches = 0

    def documents_after(self, after_id: int, limit: int) -> Sequence[IndexedDocument]:
        if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
            raise KeyboardInterrupt  # what Ctrl-C does in the middle of a rebuild
        self.batches += 1
        return [self.documents[n] for n in sorted(self.documents) if n > after_id][:limit]

    def source(self) -> DocumentSource:
        return DocumentSource(self.documents_after, lambda: set(self.documents), lambda: len(self.documents))


def current(directory: pathlib.Path) -> dict:
    return json.loads((directory / CURRENT).read_text())


def generations(directory: pathlib.Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.is_dir())


# -- generations and schema versions -------------------------------------------------------------


def test_new_index_records_engine_and_schema_version(tmp_path: pathlib.Path, engine: str) -> None:
    with open_index(tmp_path, engine) as index:
        assert not index.needs_rebuild
        index.add(IndexedDocument(1, "văn bản"))
    assert current(tmp_path) == {"generation": "g-000001", "engine": engine,
                                 "schema_version": SCHEMA_VERSION, "needs_rebuild": False}
    with open_index(tmp_path, engine) as again:  # same version: the same index, kept
        assert again.doc_ids() == {1} and not again.needs_rebuild


def test_schema_version_change_gives_a_new_index_to_rebuild(tmp_path: pathlib.Path, engine: str) -> None:
    with open_index(tmp_path, engine) as index:
        index.add(IndexedDocument(1, "văn bản"))
    old = current(tmp_path)
    (tmp_path / CURRENT).write_text(json.dumps({**old, "schema_version": SCHEMA_VERSION - 1}))
    with open_index(tmp_path, engine) as index:
        assert index.needs_rebuild
        assert index.doc_ids() == set()  # the old one is unreadable by this version
        assert generations(tmp_path) == ["g-000002"]  # and removed
    rebuild_index(tmp_path, engine, Catalogue(3).source())
    with open_index(tmp_path, engine) as index:
        assert not index.needs_rebuild
        assert index.doc_ids() == {1, 2, 3}
    assert current(tmp_path)["schema_version"] == SCHEMA_VERSION
    assert generations(tmp_path) == ["g-000003"]


def test_engine_change_gives_a_new_index_to_rebuild(tmp_path: pathlib.Path) -> None:
    with open_index(tmp_path, "tantivy") as index:
        index.add(IndexedDocument(1, "văn bản"))
    with open_index(tmp_path, "whoosh") as index:
        assert index.needs_rebuild and index.count() == 0
    rebuild_index(tmp_path, "whoosh", Catalogue(2).source())
    with open_index(tmp_path, "whoosh") as index:
        assert index.doc_ids() == {1, 2} and not index.needs_rebuild
    assert current(tmp_path)["engine"] == "whoosh"


def test_index_of_the_layout_before_generations_is_replaced(tmp_path: pathlib.Path) -> None:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("other")
    tantivy.Index(builder.build(), path=str(tmp_path))  # what sohoa wrote before generations
    (tmp_path / "notes.txt").write_text("not ours")
    assert (tmp_path / "meta.json").exists()
    with open_index(tmp_path, "tantivy") as index:
        assert index.needs_rebuild
    assert not (tmp_path / "meta.json").exists()
    assert (tmp_path / "notes.txt").exists()  # only the old index's files are removed


def test_unknown_engine_touches_nothing(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SearchIndexError, match="lucene"):
        open_index(tmp_path / "index", engine="lucene")
    assert not (tmp_path / "index" / CURRENT).exists()


# -- rebuilding ----------------------------------------------------------------------------------


def test_rebuild_replaces_the_index_atomically(tmp_path: pathlib.Path, engine: str) -> None:
    with open_index(tmp_path, engine) as index:
        index.add_many([IndexedDocument(n, "bản cũ") for n in (1, 2, 99)])
    with open_index(tmp_path, engine) as index:  # a reader, open across the rebuild
        assert len(index.search("bản cũ")) == 3
        catalogue = Catalogue(120)
        progress = []
        report = rebuild_index(tmp_path, engine, catalogue.source(), batch_size=25, progress=progress.append)
        # An index opened before the rebuild follows the switch to the new generation.
        assert index.doc_ids() == set(range(1, 121))
        assert index.search("bản cũ") == []
        index.add(IndexedDocument(500, "thêm sau khi dựng lại"))
    assert report.indexed == 120 and report.resumed_from == 0
    assert [p.done for p in progress] == [25, 50, 75, 100, 120]
    assert all(p.total == 120 for p in progress)
    assert not (tmp_path / REBUILD).exists()
    assert generations(tmp_path) == [report.generation]
    with open_index(tmp_path, engine) as index:
        assert index.doc_ids() == set(range(1, 121)) | {500}


def test_interrupted_rebuild_resumes_after_the_last_committed_batch(tmp_path: pathlib.Path, engine: str) -> None:
    with open_index(tmp_path, engine) as index:
        index.add(IndexedDocument(1, "bản cũ"))
    interrupted = Catalogue(100, fail_after_batches=3)
    with pytest.raises(KeyboardInterrupt):
        rebuild_index(tmp_path, engine, interrupted.source(), batch_size=10)
    # The fourth read failed; it came before the third batch was written (a batch is read,
    # and analysed, while the one before it is written).
    state = json.loads((tmp_path / REBUILD).read_text())
    assert state["last_doc_id"] == 20 and state["done"] == 20
    with open_index(tmp_path, engine) as index:  # meanwhile the old index still answers
        assert [hit.doc_id for hit in index.search("bản cũ")] == [1]
    resumed = Catalogue(100)
    report = rebuild_index(tmp_path, engine, resumed.source(), batch_size=10)
    assert report.resumed_from == 20 and report.indexed == 100
    assert resumed.batches == 8 + 1 + 1  # 21..100, one empty read, one catch-up read
    with open_index(tmp_path, engine) as index:
        assert index.doc_ids() == set(range(1, 101))
        assert index.search("bản cũ") == []


def test_rebuild_drops_documents_gone_from_the_catalog(tmp_path: pathlib.Path, engine: str) -> None:
    catalogue = Catalogue(10)
    calls = []

    def documents_after(after_id: int, limit: int):
        calls.append(after_id)
        if len(calls) == 2:  # removed from the catalog while the rebuild runs
            del catalogue.documents[3]
        return catalogue.documents_after(after_id, limit)

    source = DocumentSource(documents_after, lambda: set(catalogue.documents), lambda: 10)
    report = rebuild_index(tmp_path, engine, source, batch_size=5)
    assert report.removed == 1
    with open_index(tmp_path, engine) as index:
        assert index.doc_ids() == set(range(1, 11)) - {3}


def test_rebuild_waits_for_a_writer_then_says_so_and_keeps_its_progress(
    tmp_path: pathlib.Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.rebuild

    monkeypatch.setattr(index.rebuild, "_SWITCH_WAIT_SECONDS", 0.5)
    with open_index(tmp_path, engine) as writer:
        writer.lock_writes()  # held until close: another writer at work (a drain, a rebuild's switch)
        writer.add(IndexedDocument(1, "đang nhập"))
        with pytest.raises(SearchIndexError, match="locked"):
            rebuild_index(tmp_path, engine, Catalogue(20).source(), batch_size=10)
    assert json.loads((tmp_path / REBUILD).read_text())["last_doc_id"] == 20
    report = rebuild_index(tmp_path, engine, Catalogue(20).source(), batch_size=10)
    assert report.resumed_from == 20


def test_two_rebuilds_at_once_are_refused(tmp_path: pathlib.Path, engine: str) -> None:
    store = IndexStore(tmp_path)
    with open_index(tmp_path, engine):
        pass
    interrupted = Catalogue(30, fail_after_batches=1)
    with pytest.raises(KeyboardInterrupt):
        rebuild_index(tmp_path, engine, interrupted.source(), batch_size=10)
    target = store.path(json.loads((tmp_path / REBUILD).read_text())["generation"])
    lock = WriteLock(target)  # another rebuild is at work on it
    try:
        with pytest.raises(SearchIndexError, match="locked"):
            rebuild_index(tmp_path, engine, Catalogue(30).source(), batch_size=10)
    finally:
        lock.release()


# -- checking against the catalog ----------------------------------------------------------------


def test_check_reports_missing_and_orphaned_documents(tmp_path: pathlib.Path, engine: str) -> None:
    with open_index(tmp_path, engine) as index:
        index.add_many([IndexedDocument(n, "tài liệu") for n in (1, 2, 3, 7)])
        good = check_index(index, {1, 2, 3, 7})
        assert good.ok and good.index_count == good.catalog_count == 4
        bad = check_index(index, {1, 2, 3, 4, 5})
        assert not bad.ok
        assert bad.missing == (4, 5) and bad.orphaned == (7,)
    (tmp_path / CURRENT).write_text(json.dumps({**current(tmp_path), "schema_version": 0}))
    with open_index(tmp_path, engine) as index:
        stale = check_index(index, {1})
        assert stale.needs_rebuild and not stale.ok and stale.missing == (1,)


# -- tantivy segment garbage collection ----------------------------------------------------------


def _segment_files(directory: pathlib.Path) -> tuple[set[str], set[str]]:
    """(segment ids that have files on disk, segment ids meta.json lists)."""
    on_disk = {m.group(1) for p in directory.iterdir() if (m := re.match(r"([0-9a-f]{32})\.", p.name))}
    live = {segment["segment_id"].replace("-", "") for segment in json.loads((directory / "meta.json").read_text())["segments"]}
    return on_disk, live


_KILLED_WRITER = """
import os, pathlib, sys
from index import IndexedDocument
from index.documents import prepare
from index.tantivy_engine import TantivyIndex, _to_tantivy
index = TantivyIndex(pathlib.Path(sys.argv[1]), writer_heap_bytes=15_000_000)
writer = index._get_writer()
for n in range(20_000):  # fills the heap several times: segments are flushed to disk
    writer.add_document(_to_tantivy(prepare(IndexedDocument(n, "tài liệu số %d " % n * 20)))[1])
os._exit(9)  # killed before committing
"""


def test_tantivy_old_segment_files_are_collected_after_commits(tmp_path: pathlib.Path) -> None:
    with open_index(tmp_path, "tantivy") as index:
        generation = index.generation_path
        for round_number in range(60):
            # Readers open while merges replace the segments they read.
            readers = [index.search("tài liệu") for _ in range(2)]
            index.add_many([IndexedDocument(n, f"tài liệu lần {round_number}") for n in range(1, 6)])
            assert all(len(found) == 5 for found in readers) or round_number == 0
        on_disk, live = _segment_files(generation)
        assert on_disk == live
        assert len(live) <= 12  # merged, not one segment per commit
    # A writer killed in the middle of a large batch leaves flushed, uncommitted segments.
    killed = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(generation)],
                            cwd=pathlib.Path(__file__).parent.parent)
    assert killed.returncode == 9
    on_disk, live = _segment_files(generation)
    assert on_disk > live
    with open_index(tmp_path, "tantivy") as index:
        index.add(IndexedDocument(6, "tài liệu mới"))
        on_disk, live = _segment_files(generation)
        assert on_disk == live
        assert index.doc_ids() == {1, 2, 3, 4, 5, 6}
    assert sum(p.stat().st_size for p in generation.iterdir()) < 1_000_000


def test_rebuild_with_analysis_in_helper_processes(
    tmp_path: pathlib.Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.rebuild

    monkeypatch.setattr(index.rebuild, "_PARALLEL_FROM", 0)  # large rebuilds use helpers
    report = rebuild_index(tmp_path, engine, Catalogue(130).source(), batch_size=25)
    assert report.indexed == 130
    with open_index(tmp_path, engine) as opened:
        assert opened.doc_ids() == set(range(1, 131))
        assert [hit.doc_id for hit in opened.search("số 77 kế hoạch")] == [77]
