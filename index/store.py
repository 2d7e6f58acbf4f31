"""The index directory: generations, the pointer to the current one, and write locks.

    index/
      CURRENT.json     {"generation": "g-000002", "engine": "tantivy", "schema_version": 2,
                        "needs_rebuild": false}
      REBUILD.json     progress of an unfinished `sohoa reindex` (see index.rebuild)
      g-000002/        the engine's files, and sohoa-write.lock

A rebuild writes a new generation beside the current one and switches CURRENT.json by one
atomic rename, so searches never see a half-built index and an interrupted rebuild leaves
the current index untouched. An index written by another engine or schema version (or by
sohoa before generations existed) is replaced by a new, empty generation marked
needs_rebuild; the CLI then rebuilds it from the catalog.

One writer at a time per generation (WriteLock, an flock on sohoa-write.lock), and never for
long: a ManagedIndex takes the lock for one write (or one `writing()` block: a drain of the
catalog's index queue, pipeline/index_queue.py) and lets it go at once, closing the engine's
own writer with it. Only a rebuild's switch holds it longer (lock_writes()). A process killed
while it holds the lock loses it with its file descriptors: the next writer goes on.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import pathlib
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

from index.engine import (
    SCHEMA_VERSION,
    IndexedDocument,
    SearchHit,
    SearchIndex,
    SearchIndexError,
    SearchOptions,
)

ENGINES = ("tantivy", "whoosh")
CURRENT = "CURRENT.json"
REBUILD = "REBUILD.json"
_LAYOUT_LOCK = ".layout.lock"
_WRITE_LOCK = "sohoa-write.lock"
_GENERATION = re.compile(r"g-(\d{6,})")
# Files of an index written directly into the directory by sohoa before generations.
_LEGACY_FILES = re.compile(
    r"meta\.json|\.managed\.json|\.tantivy-\w+\.lock|[0-9a-f]{32}\.\w+(\.del)?|[0-9a-f]{32}\.\d+\.del"
)


@dataclass(frozen=True)
class Generation:
    generation: str
    engine: str
    schema_version: int
    needs_rebuild: bool = False


def engine_class(engine: str):
    """The SearchIndex class of an engine, imported only when used (a platform without
    tantivy wheels can run Whoosh)."""
    if engine == "tantivy":
        from index.tantivy_engine import TantivyIndex

        return TantivyIndex
    if engine == "whoosh":
        from index.whoosh_engine import WhooshIndex

        return WhooshIndex
    raise SearchIndexError(
        f"bộ máy tìm kiếm không hợp lệ «{engine}» ([index] engine trong config.toml); "
        f"chọn một trong: {', '.join(ENGINES)}"
    )


def write_json_durably(path: pathlib.Path, value: dict) -> None:
    """Temp file, fsync, rename, fsync the directory: the file is old or new, never torn."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(value, out, ensure_ascii=False)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)


def fsync_directory(directory: pathlib.Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexBusy(SearchIndexError):
    """Another process holds the index writer longer than this one would wait."""

    code = "index-busy"


class WriteLock:
    """An exclusive flock on one generation: held by whoever writes to it, until released."""

    def __init__(self, directory: pathlib.Path, *, wait_seconds: float = 0.0) -> None:
        self._fd: int | None = os.open(directory / _WRITE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    self.release()
                    raise
                if time.monotonic() >= deadline:
                    self.release()
                    raise IndexBusy(
                        f"chỉ mục tìm kiếm {directory} đang được một tiến trình sohoa khác ghi "
                        "(nhập tài liệu hoặc dựng lại chỉ mục); hãy thử lại sau (index locked)"
                    ) from exc
                time.sleep(0.2)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


class IndexStore:
    def __init__(self, directory: pathlib.Path) -> None:
        self.directory = pathlib.Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SearchIndexError(f"cannot open search index at {directory}: {exc}") from exc
        if not self.directory.is_dir():
            raise SearchIndexError(f"cannot open search index at {directory}: not a directory")

    @contextlib.contextmanager
    def layout_lock(self) -> Iterator[None]:
        """Serialises changes of CURRENT.json and of the generation folders between processes."""
        fd = os.open(self.directory / _LAYOUT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def path(self, generation: str) -> pathlib.Path:
        return self.directory / generation

    def current(self) -> Generation | None:
        try:
            data = json.loads((self.directory / CURRENT).read_text(encoding="utf-8"))
            return Generation(**data)
        except (OSError, ValueError, TypeError):
            return None

    def current_stamp(self) -> tuple[int, int] | None:
        """Changes whenever CURRENT.json is replaced (a new inode each time)."""
        try:
            status = (self.directory / CURRENT).stat()
        except OSError:
            return None
        return status.st_ino, status.st_mtime_ns

    def set_current(self, generation: Generation) -> None:
        write_json_durably(self.directory / CURRENT, asdict(generation))

    def new_generation(self) -> str:
        numbers = [int(m.group(1)) for p in self.directory.iterdir() if (m := _GENERATION.fullmatch(p.name))]
        name = f"g-{max(numbers, default=0) + 1:06d}"
        self.path(name).mkdir()
        fsync_directory(self.directory)
        return name

    def rebuild_state(self) -> dict | None:
        try:
            return json.loads((self.directory / REBUILD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write_rebuild_state(self, state: dict) -> None:
        write_json_durably(self.directory / REBUILD, state)

    def clear_rebuild_state(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.directory / REBUILD).unlink()
            fsync_directory(self.directory)

    def has_legacy_files(self) -> bool:
        return (self.directory / "meta.json").exists()

    def remove_stale(self) -> None:
        """Delete generations that are neither current nor being rebuilt, and files of the
        pre-generation layout. Call with layout_lock held."""
        current = self.current()
        keep = {current.generation} if current else set()
        state = self.rebuild_state()
        if state and isinstance(state.get("generation"), str):
            keep.add(state["generation"])
        for entry in self.directory.iterdir():
            if _GENERATION.fullmatch(entry.name) and entry.name not in keep and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.is_file() and _LEGACY_FILES.fullmatch(entry.name):
                entry.unlink(missing_ok=True)


def open_generation(store: IndexStore, engine: str) -> Generation:
    """The current generation for `engine`, replacing an unusable one by a new empty one."""
    engine_class(engine)  # unknown engine: fail before touching anything
    with store.layout_lock():
        current = store.current()
        if (
            current is not None
            and current.engine == engine
            and current.schema_version == SCHEMA_VERSION
            and store.path(current.generation).is_dir()
        ):
            return current
        had_index = current is not None or store.has_legacy_files()
        name = store.new_generation()
        engine_class(engine)(store.path(name)).close()  # a valid, empty index
        fresh = Generation(name, engine, SCHEMA_VERSION, needs_rebuild=had_index)
        store.set_current(fresh)
        store.remove_stale()
        return fresh


class ManagedIndex(SearchIndex):
    """The current generation of an index directory, behind the SearchIndex interface.

    Follows CURRENT.json: when a rebuild switched generations, the next operation goes to
    the new one. Each write takes the generation's write lock (waiting up to
    `write_wait_seconds` for another writer) and releases it when done, engine writer
    included, so no process keeps the index from the others for the length of a run.
    `writing()` holds it across a few writes; `lock_writes()` until close() (a rebuild's
    switch, which must not let anyone write to the generation it replaces).
    """

    def __init__(self, directory: pathlib.Path, engine: str, *, write_wait_seconds: float = 10.0,
                 **engine_options: object) -> None:
        self._store = IndexStore(directory)
        self._engine = engine
        self._options = engine_options
        self._write_wait = write_wait_seconds
        self._lock: WriteLock | None = None
        self._inner: SearchIndex | None = None
        self._closed = False
        self._open_current()

    @property
    def needs_rebuild(self) -> bool:
        """True when this generation replaced an index of another engine or schema and has
        not been rebuilt from the catalog yet."""
        current = self._store.current()
        return bool(current and current.needs_rebuild)

    @property
    def engine(self) -> str:
        return self._engine

    @property
    def generation_path(self) -> pathlib.Path:
        return self._store.path(self._generation.generation)

    def _open_current(self) -> None:
        self._stamp = self._store.current_stamp()
        self._generation = open_generation(self._store, self._engine)
        self._inner = engine_class(self._engine)(self.generation_path, **self._options)

    def _follow(self) -> SearchIndex:
        if self._closed:
            raise SearchIndexError(f"search index at {self._store.directory} is closed")
        if self._inner is None:  # its writer was let go after the last write
            self._open_current()
        elif self._store.current_stamp() != self._stamp:
            current = self._store.current()
            if current is None or current.generation != self._generation.generation:
                self._release_lock()
                self._inner.close()
                self._inner = None
                self._open_current()
            else:
                self._stamp = self._store.current_stamp()
        return self._inner  # type: ignore[return-value]

    def lock_writes(self, wait_seconds: float = 0.0) -> None:
        """Take this generation's write lock now and keep it until close()."""
        while self._lock is None:
            inner = self._follow()
            lock = WriteLock(self.generation_path, wait_seconds=wait_seconds)
            if self._follow() is inner:
                self._lock = lock
            else:  # the generation was switched while we waited: lock the new one
                lock.release()

    @contextlib.contextmanager
    def writing(self, wait_seconds: float | None = None) -> Iterator[ManagedIndex]:
        """Hold the writer for the writes in the block, then let it go (engine writer and
        lock). Raises IndexBusy when another process keeps it past wait_seconds. Inside a
        block (or after lock_writes()) it is already held: nothing more is taken or let go."""
        if self._lock is not None:
            yield self
            return
        self.lock_writes(self._write_wait if wait_seconds is None else wait_seconds)
        try:
            yield self
        finally:
            self._let_go()

    def _let_go(self) -> None:
        # The engine's writer holds a lock of its own (tantivy's): closed with ours.
        if self._inner is not None:
            self._inner.close()
            self._inner = None
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def add_many(self, docs: Iterable[IndexedDocument]) -> int:
        with self.writing():
            return self._follow().add_many(docs)

    def add_prepared(self, docs: list) -> int:
        with self.writing():
            return self._follow().add_prepared(docs)

    def delete(self, doc_id: int) -> None:
        with self.writing():
            self._follow().delete(doc_id)

    def search(
        self, query: str, limit: int = 10, options: SearchOptions | None = None, offset: int = 0
    ) -> list[SearchHit]:
        return self._follow().search(query, limit, options, offset)

    def facets(self, query: str, options: SearchOptions | None = None) -> dict[str, dict[str, int]]:
        return self._follow().facets(query, options)

    def count_matches(self, query: str, options: SearchOptions | None = None) -> int:
        return self._follow().count_matches(query, options)

    def stored_records(self) -> Iterator[tuple[int, bytes]]:
        return self._follow().stored_records()

    def doc_ids(self) -> set[int]:
        return self._follow().doc_ids()

    def count(self) -> int:
        return self._follow().count()

    def close(self) -> None:
        self._closed = True
        self._let_go()
