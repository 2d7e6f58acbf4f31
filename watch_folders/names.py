"""File names in the inbox: which to leave alone, and how to show and record them.

Scanners, copiers and file-sharing clients write under a temporary name and rename when
done; those names, hidden files and the desktop's own litter are never taken. A name that
is not UTF-8 (an old Windows machine writing over SMB in its code page) is shown and
recorded decoded as Windows-1258, the Vietnamese code page, instead of being refused.
"""

from __future__ import annotations

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
