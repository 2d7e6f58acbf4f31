"""The four roles of the web application, from least to most: what each may do is decided
in one place (web/permissions.py); here only their names."""

from __future__ import annotations

import enum

from core.text import fold


class Role(enum.Enum):
    VAN_THU = "van-thu"  # clerks: upload, watch folders, correct headers
    CAN_BO = "can-bo"  # staff: search and read
    LUU_TRU = "luu-tru"  # archivists: verify, dossiers, hand-over, access log
    QUAN_TRI = "quan-tri"  # administrators: users, lookup tables, everything

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def slug(self) -> str:
        """As typed on the command line: văn-thư, cán-bộ, lưu-trữ, quản-trị."""
        return _SLUGS[self]

    @classmethod
    def parse(cls, text: str) -> "Role":
        wanted = fold(text).replace(" ", "-")
        for role in cls:
            if wanted in (role.value, fold(role.slug), fold(role.label).replace(" ", "-")):
                return role
        raise ValueError(f"vai trò «{text}» không có; dùng một trong: {', '.join(r.slug for r in cls)}")


_LABELS = {Role.VAN_THU: "văn thư", Role.CAN_BO: "cán bộ", Role.LUU_TRU: "lưu trữ viên", Role.QUAN_TRI: "quản trị"}
_SLUGS = {Role.VAN_THU: "văn-thư", Role.CAN_BO: "cán-bộ", Role.LUU_TRU: "lưu-trữ", Role.QUAN_TRI: "quản-trị"}
