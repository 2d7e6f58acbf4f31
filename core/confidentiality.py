"""Confidentiality levels (Luật Bảo vệ bí mật nhà nước 2018: mật, tối mật, tuyệt mật; the
rest thường) and the one rule that uses them: a user sees a document only when their
clearance is at least its level. Stored as the level's number, so the rule is a `<=` that
the catalog and the index both filter on."""

from __future__ import annotations

import enum

from core.text import fold


class Level(enum.IntEnum):
    THUONG = 0
    MAT = 1
    TOI_MAT = 2
    TUYET_MAT = 3

    @property
    def label(self) -> str:
        """As a clerk writes it: thường, mật, tối mật, tuyệt mật."""
        return _LABELS[self]

    @property
    def slug(self) -> str:
        """As typed on the command line: thường, mật, tối-mật, tuyệt-mật."""
        return _LABELS[self].replace(" ", "-")

    @classmethod
    def parse(cls, text: str) -> "Level":
        """A level from its label or slug, with or without diacritics (toi-mat, Tối mật,
        TUYỆT MẬT); ValueError naming the accepted values otherwise."""
        wanted = _key(text)
        for level in cls:
            if wanted == _key(level.label):
                return level
        raise ValueError(f"mức mật «{text}» không có; dùng một trong: {', '.join(l.slug for l in cls)}")

    @classmethod
    def of_mark(cls, mark: object) -> "Level":
        """The level a record's confidentiality mark stands for (the header reader's "MẬT",
        a label set with `sohoa set`): no mark is thường; a mark not understood counts as
        mật, never less, so a stamp spelt in an unexpected way never makes a secret public."""
        if not isinstance(mark, str) or not mark.strip():
            return cls.THUONG
        try:
            return cls.parse(mark)
        except ValueError:
            return cls.MAT


_LABELS = {Level.THUONG: "thường", Level.MAT: "mật", Level.TOI_MAT: "tối mật", Level.TUYET_MAT: "tuyệt mật"}


def _key(text: str) -> str:
    return " ".join(fold(text).replace("-", " ").replace("_", " ").split())


def may_see(clearance: int, level: int) -> bool:
    return int(clearance) >= int(level)
