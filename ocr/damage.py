"""A damaged or truncated PDF is never shortened silently.

qpdf reads what it can of a damaged file: it rebuilds a lost cross-reference table by
scanning the bytes, and a page tree entry whose object is gone is left out with no more
than a warning. A 3-page scan cut short by an interrupted copy then opens as a 1-page
document. What the file says of itself is compared with what was read: the /Count of its
page tree's root, and the /N (pages) and /L (file length) of a linearised file's first
dictionary. Any disagreement, a rebuilt cross-reference table, or a page that does not
decode is damage: refused, or archived with the damage recorded where a profile accepts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pikepdf import Name

from ocr.errors import InputRejected

# qpdf's words when it had to rebuild the cross-reference table (QPDF::reconstruct_xref).
_REBUILT = ("file is damaged", "reconstruct", "can't find startxref", "xref not found")
_DROPPED_PAGE = "Pages tree includes non-dictionary object"
_PAGE_PREFIX = "PDF hỏng hoặc bị cắt cụt: "  # how ocr/sources.py begins a page it cannot read
_LINEARIZED = re.compile(rb"/Linearized\b(.{0,400}?)>>", re.S)

ADVICE = "hãy quét lại hoặc chép lại tệp từ máy quét"
# qpdf's reasons for not opening a file at all, in words a clerk can read.
_QPDF_SAID = (
    ("unable to find trailer dictionary", "không còn phần cuối tệp (trailer) để dựng lại"),
    ("unable to find /Root", "không tìm thấy gốc tài liệu (/Root)"),
    ("unable to find page tree", "không tìm thấy cây trang"),
    ("can't find PDF header", "không có phần đầu %PDF-"),
)


class DamagedPdf(InputRejected):
    code = "damaged"


@dataclass(frozen=True)
class Declared:
    count: int | None  # /Count of the page tree's root, as written
    linearized_pages: int | None  # /N of the linearisation dictionary, when that is current
    truncated_bytes: int  # /L said the file is this much longer than it is (0: not known short)


def declared_pages(source: pikepdf.Pdf, path: Path) -> Declared:
    """What the file says of itself; read before its pages are walked (qpdf corrects /Count
    when it writes, and a page tree it had to repair is read anew)."""
    count = None
    try:
        value = source.Root.Pages.get(Name.Count)
        count = int(value) if isinstance(value, int | pikepdf.Object) and int(value) >= 0 else None
    except (AttributeError, TypeError, ValueError, pikepdf.PdfError):
        count = None
    return Declared(count, *linearization(path))


def linearization(path: Path) -> tuple[int | None, int]:
    """(pages, bytes missing) a linearised file's first dictionary declares: its /N when it
    is current (not after an incremental update), and how much shorter the file is than its
    /L says (0: not known short)."""
    linearized, short = None, 0
    with open(path, "rb") as handle:
        head = handle.read(2048)
        size = handle.seek(0, 2)
    found = _LINEARIZED.search(head)
    if found:
        length = re.search(rb"/L\s+(\d+)", found.group(1))
        pages = re.search(rb"/N\s+(\d+)", found.group(1))
        declared_length = int(length.group(1)) if length else None
        if declared_length is not None and declared_length > size:
            short = declared_length - size
        # After an incremental update (/L shorter than the file) /N may be out of date.
        if pages and (declared_length is None or declared_length >= size):
            linearized = int(pages.group(1))
    return linearized, short


def refusal(cause: str) -> str:
    """The one line for a damaged PDF: what is wrong with it, then what the clerk can do."""
    return f"tệp PDF bị hỏng hoặc bị cắt cụt: {cause}; {ADVICE}"


def unreadable_message(path: Path, qpdf_said: str) -> str:
    """The one line for a PDF qpdf cannot open at all: what it declared if it said, else
    whether it stops short, else qpdf's reason in plain words. qpdf's own English stays in
    the log (the exception chain), where a technician can read it."""
    pages, short = linearization(path)
    if pages and short:
        return refusal(f"khai báo {pages} trang nhưng không đọc được trang nào (tệp thiếu {short} byte cuối)")
    if not _ends_with_eof(path):
        return refusal("dừng giữa chừng, thiếu phần cuối (không có dấu kết thúc %%EOF)")
    said = next((plain for words, plain in _QPDF_SAID if words in qpdf_said), "không đọc được cấu trúc tệp")
    return refusal(said)


def _ends_with_eof(path: Path) -> bool:
    # Writers may add a newline or a few bytes of padding after the end marker.
    with open(path, "rb") as handle:
        handle.seek(max(0, handle.seek(0, 2) - 1024))
        return b"%%EOF" in handle.read()


def rebuilt(warnings: list[str]) -> bool:
    return any(word in warning for warning in warnings for word in _REBUILT)


@dataclass(frozen=True)
class Damage:
    declared: int  # pages the file says it has
    read: int  # pages read whole (archived, when damage is accepted)
    reasons: tuple[str, ...]
    unreadable: tuple[int, ...] = ()  # pages found but not readable whole (left out)

    def message(self) -> str:
        if self.read < self.declared:
            said = f"khai báo {self.declared} trang nhưng chỉ đọc được {self.read} trang"
        else:
            said = f"{'; '.join(self.reasons)} (đọc được {self.read}/{self.declared} trang)"
        return refusal(said)

    def as_detail(self) -> dict:
        return {"declared_pages": self.declared, "read_pages": self.read, "reasons": list(self.reasons),
                "unreadable_pages": list(self.unreadable), "needs_review": True}


def assess(declared: Declared, warnings: list[str], found: int, unreadable: dict[int, str]) -> Damage | None:
    """found: pages qpdf gave; unreadable: those among them that did not decode, with why."""
    reasons = []
    if rebuilt(warnings):
        reasons.append("bảng tham chiếu (xref) phải dựng lại")
    if declared.truncated_bytes:
        reasons.append(f"tệp thiếu {declared.truncated_bytes} byte cuối so với độ dài khai báo")
    # Each page entry qpdf left out is one warning; when it had no trailer to start from it
    # mends the tree (and its /Count) while opening, before declared_pages could read it.
    dropped = sum(_DROPPED_PAGE in warning for warning in warnings)
    said = [n for n in (declared.count, declared.linearized_pages) if n is not None]
    claimed = max([found + dropped, *said])
    if claimed > found:
        reasons.append(f"cây trang khai báo {claimed} trang, đọc được {found}")
    if not reasons:
        return None  # whole: a page that does not decode is the file's own fault, said as such
    # Each names its page; the words a page's own refusal starts with are said once, above.
    reasons += [why.removeprefix(_PAGE_PREFIX) for _, why in sorted(unreadable.items())]
    return Damage(claimed, found - len(unreadable), tuple(reasons), tuple(sorted(unreadable)))
