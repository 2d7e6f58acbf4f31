"""The Thông tư 05/2025 record's code lists and its configurable defaults ([metadata] of
config.toml): what the page does not say. In the bottom layer, beside the typed Config
(core/config.py) that holds them; header/record.py builds the record from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

# Code lists of Thông tư 05/2025 (domain notes, section 4).
RETENTION = {"01": "Vĩnh viễn", "02": "70 năm", "03": "50 năm", "04": "30 năm", "05": "20 năm", "06": "10 năm"}
ACCESS_MODE = {"01": "Công khai", "02": "Sử dụng có điều kiện", "03": "Mật"}
RELIABILITY = {"01": "Gốc điện tử", "02": "Số hóa", "03": "Hỗn hợp"}
PHYSICAL_STATE = {"01": "Tốt", "02": "Bình thường", "03": "Hỏng"}
CODE_LISTS = {"retention": RETENTION, "access_mode": ACCESS_MODE, "reliability": RELIABILITY,
              "physical_state": PHYSICAL_STATE}


@dataclass(frozen=True)
class RecordDefaults:
    """[metadata] of config.toml: what the page does not say."""

    retention: str = "01"  # thời hạn bảo quản: 01 vĩnh viễn ... 06 10 năm
    access_mode: str = "01"  # chế độ sử dụng: 01 công khai (03 mật when the page says MẬT)
    reliability: str = "02"  # mức độ tin cậy: 02 số hóa
    physical_state: str = "01"  # tình trạng vật lý: 01 tốt
    dossier_code: str = ""  # mã hồ sơ: the archival code is <dossier>.<7-digit ordinal>
    agency_code: str = ""  # mã định danh cơ quan lưu trữ, prefix of the document identifier
    backup_mode: str = ""  # chế độ dự phòng
    backup_state: str = ""  # tình trạng dự phòng
    review_threshold: float = 0.6  # a field read with less confidence is flagged for review (bench/extraction.py)


def parse_record_defaults(section: Mapping) -> RecordDefaults:
    """RecordDefaults from the [metadata] table; ValueError naming the bad key."""
    known = {f.name for f in fields(RecordDefaults)}
    values = {}
    for key in known & set(section):
        value = section[key]
        if key == "review_threshold":
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"review_threshold = {value!r}: cần một số từ 0 đến 1")
            values[key] = float(value)
            continue
        value = str(value).strip()
        if key in CODE_LISTS and value not in CODE_LISTS[key]:
            allowed = ", ".join(f"{code} ({name})" for code, name in CODE_LISTS[key].items())
            raise ValueError(f"{key} = {value!r}: mã không hợp lệ, dùng {allowed}")
        values[key] = value
    return RecordDefaults(**values)
