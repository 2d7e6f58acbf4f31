"""File names in the inbox: which to leave alone, and how to show and record them.

Scanners, copiers and file-sharing clients write under a temporary name and rename when
done; those names, hidden files and the desktop's own litter are never taken. A name that
is not UTF-8 (an old Windows machine writing over SMB in its code page) is shown and
recorded decoded as Windows-1258, the Vietnamese code page, instead of being refused.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from pathlib import PurePath

# Temporary names written while a file is still arriving (browsers, rsync, WinSCP, Samba,
# scanner software, office suites).
_TEMP_SUFFIXES = (
    ".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".filepart", ".swp",
    ".lock", ".lck", ".!ut", ".!qb", ".~tmp",
)
_LITTER = {"thumbs.db", "desktop.ini", "ehthumbs.db", ".ds_store", "icon\r"}


def is_ignored(relative: PurePath) -> bool:
    """True for names that are not (yet) a scan to take: hidden anywhere in the path,
    temporary or system litter."""
    for part in relative.parts:
        if part.startswith((".", "~")) or part.endswith("~"):
            return True
    name = relative.name.lower()
    return name in _LITTER or name.endswith(_TEMP_SUFFIXES)


def printable(relative: PurePath | str) -> str:
    """The name as a person should read it and the catalog store it: NFC text.

    Names arrive from the file system as bytes; Python keeps undecodable bytes as lone
    surrogates, which SQLite and UTF-8 files refuse.
    """
    raw = os.fsencode(str(relative))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1258", errors="replace")
    return unicodedata.normalize("NFC", text)


def is_utf8(relative: PurePath | str) -> bool:
    try:
        os.fsencode(str(relative)).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# -- names that must fit the file system, and names shown to people -----------------------

NAME_MAX = 255  # bytes in one path component (ext4, xfs, btrfs, tmpfs)
_LONGEST_EXTENSION = 16
_HASH_LENGTH = 8


def byte_length(text: str) -> int:
    """Bytes the name takes on disk (undecodable bytes kept as surrogates count as one)."""
    return len(os.fsencode(text))


def fit_name(name: str, suffix: str = "") -> str:
    """name, or a shortened one, such that name + suffix (a note's ".reason.txt") fits in
    NAME_MAX. Temporary names are never made from a name (they have a fixed length), and a
    name numbered because it is taken ("name (2).pdf") is fitted again.

    A shortened name keeps its beginning (cut between characters, never inside one), its
    extension, and gets "…" and a short hash of the whole name: two long names that start
    alike stay apart, and the same name is always shortened the same way (a restart finds
    the note it wrote before).
    """
    limit = NAME_MAX - byte_length(suffix)
    if byte_length(name) <= limit:
        return name
    stem, extension = _split_extension(name)
    tag = "…" + hashlib.sha256(os.fsencode(name)).hexdigest()[:_HASH_LENGTH]
    return _cut(stem, limit - byte_length(tag) - byte_length(extension)) + tag + extension


def _split_extension(name: str) -> tuple[str, str]:
    extension = PurePath(name).suffix
    if not extension or byte_length(extension) > _LONGEST_EXTENSION:
        return name, ""
    return name[: -len(extension)], extension


def _cut(text: str, budget: int) -> str:
    used = end = 0
    for end, character in enumerate(text):
        used += byte_length(character)
        if used > budget:
            break
    else:
        return text
    # Not between a letter and its combining accent (an NFD name): drop the letter too.
    while end > 0 and unicodedata.combining(text[end]):
        end -= 1
    return text[:end]


def shown(text: str) -> str:
    """text for a console or a terminal: every character that is not printable (ESC, BEL,
    CR, newline, other C0/C1 controls, bidi overrides such as U+202E) as a visible escape,
    so a file name can neither move the cursor nor print a line of its own."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(character: str) -> str:
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
