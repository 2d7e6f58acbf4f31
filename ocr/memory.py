"""A memory limit for each process that reads a document or a page, so that one file that
needs too much (a decompression bomb that slipped past the size checks, a page too big for
the machine) fails alone instead of taking the machine's memory from every other file.

The limit is RLIMIT_DATA, not RLIMIT_AS: the address space counts what is only reserved,
never used — glibc's per-thread malloc arenas, thread stacks, shared libraries, OpenBLAS's
buffers. An OCR process reading a small page had 800 MB of address space for 180 MB
resident; its data segment (heap and private anonymous memory, what grows with a page)
was 300 MB. Children (pdftoppm, tesseract) inherit the limit, each on its own.
"""

from __future__ import annotations

import resource

from ocr.errors import TooMuchMemory

_WORDS = ("bad_alloc", "insufficient memory", "out of memory", "cannot allocate memory")


def limit_memory(megabytes: int) -> None:
    """From now on this process (and what it starts) gets MemoryError past megabytes; 0: no limit."""
    if megabytes <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    wanted = megabytes << 20
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))


def memory_limit_mb() -> int:
    """This process's limit in MB; 0: none."""
    soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
    return 0 if soft == resource.RLIM_INFINITY else soft >> 20


def is_out_of_memory(error: BaseException) -> bool:
    """MemoryError, or a library's own words for it (OpenCV's "Insufficient memory", a C++
    std::bad_alloc passed on as text). Not an OSError's ENOMEM: the machine short of memory
    for a moment (a fork refused) is not the file's fault."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (MemoryError, TooMuchMemory)):
            return True
        if not isinstance(error, OSError) and any(word in str(error).lower() for word in _WORDS):
            return True
        error = error.__cause__ or error.__context__
    return False


def too_much_memory(limit_mb: int | None = None, *, died: bool = False) -> TooMuchMemory:
    limit = memory_limit_mb() if limit_mb is None else limit_mb
    where = f" (giới hạn {limit} MB mỗi tiến trình, [limits] memory_limit_mb)" if limit else ""
    what = "tiến trình xử lý bị dừng đột ngột, có thể do thiếu bộ nhớ" if died else "tệp cần quá nhiều bộ nhớ"
    return TooMuchMemory(f"{what}{where}; tệp có thể quá lớn, hỏng hoặc cố ý gây hại")
