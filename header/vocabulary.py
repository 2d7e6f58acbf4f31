"""What a Nghị định 30 header is made of: types and symbols, marks, authority prefixes, and
the capitals OCR is checked against (bodies, titles, provinces)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from core.document_types import DOCUMENT_TYPES
from header.text import Lexicon, fold_letters

CONG_VAN = "Công văn"
# Headings offices print outside Nghị định 30's list (seen on real scans of 2010): read as the
# document's type, though they have no symbol of their own.
UNLISTED_HEADINGS = {"BẢN ĐỀ NGHỊ": "Bản đề nghị", "GIẤY THÔI TRẢ LƯƠNG": "Giấy thôi trả lương"}


@dataclass(frozen=True)
class TypeTable:
    """The document types the reader knows, looked up every way it needs them."""

    by_symbol: Mapping[str, str]  # "QĐ" -> "Quyết định"
    symbol_by_type: Mapping[str, str]  # "Quyết định" -> "QĐ"
    by_heading: Mapping[str, str]  # the heading as printed: "QUYẾT ĐỊNH" -> "Quyết định"
    symbols_by_fold: Mapping[str, list[str]]  # folded, upper-case spelling: "HD" -> ["HD", "HĐ"]


def type_table(types: Mapping[str, str]) -> TypeTable:
    """The TypeTable of symbol -> name (the static table, or the home's: core.lookup)."""
    return _type_table(tuple(types.items()))


@functools.lru_cache(maxsize=8)  # the same home's table for every document of a run
def _type_table(items: tuple[tuple[str, str], ...]) -> TypeTable:
    by_symbol = dict(items)
    by_heading = {name.upper(): name for name in by_symbol.values()}
    by_heading.update(UNLISTED_HEADINGS)
    symbols_by_fold: dict[str, list[str]] = {}
    for symbol in by_symbol:
        symbols_by_fold.setdefault(fold_letters(symbol).upper(), []).append(symbol)
    return TypeTable(by_symbol, {name: symbol for symbol, name in by_symbol.items()}, by_heading, symbols_by_fold)


# Điều 7 and Phụ lục III of Nghị định 30/2020, plus the legal normative types whose symbols
# appear in numbers with a year (30/2020/NĐ-CP, 05/2025/TT-BNV): the reader's table when no
# home's table is given (tests, tools without a database).
STATIC_TYPES = type_table(DOCUMENT_TYPES)
TYPE_BY_SYMBOL = STATIC_TYPES.by_symbol
SYMBOL_BY_TYPE = STATIC_TYPES.symbol_by_type
TYPE_BY_HEADING = STATIC_TYPES.by_heading
SYMBOLS_BY_FOLD = STATIC_TYPES.symbols_by_fold

SUMMARY_PREFIXES = {"ve viec": "Về việc", "vv": "V/v"}

URGENCY = ("HỎA TỐC", "THƯỢNG KHẨN", "KHẨN")
CONFIDENTIALITY = ("TUYỆT MẬT", "TỐI MẬT", "MẬT")
CIRCULATION = ("XEM XONG TRẢ LẠI", "LƯU HÀNH NỘI BỘ")
MARKS = {**{m: "urgency" for m in URGENCY}, **{m: "confidentiality" for m in CONFIDENTIALITY},
         **{m: "circulation" for m in CIRCULATION}}

# Authority prefixes of the signer's title: thay mặt, ký thay, thừa lệnh, thừa ủy quyền, quyền.
AUTHORITY_PREFIXES = ("TM.", "KT.", "TL.", "TUQ.", "Q.")

# First words of a body's name: a header line starting with one begins a new body (the
# issuing body under its parent); any other line continues the name above it
# ("ỦY BAN NHÂN DÂN" / "TỈNH BÌNH ĐỊNH").
BODY_STARTS = (
    "ỦY BAN", "UBND", "HỘI ĐỒNG", "HĐND", "BỘ", "SỞ", "CỤC", "CHI CỤC", "TỔNG CỤC", "VỤ", "PHÒNG",
    "BAN", "VĂN PHÒNG", "TRUNG TÂM", "THANH TRA", "BỆNH VIỆN", "TRƯỜNG", "VIỆN", "ĐẠI HỌC",
    "TÒA ÁN", "KHO BẠC", "CÔNG AN", "BỘ CHỈ HUY", "TỔNG CÔNG TY", "CÔNG TY", "ĐẢNG ỦY", "HỘI",
    "CHÍNH PHỦ", "THỦ TƯỚNG", "QUỐC HỘI", "ĐÀI", "BÁO", "BẢO HIỂM", "ĐOÀN",
)
BODY_START_KEYS = {tuple(fold_letters(w) for w in start.split()) for start in BODY_STARTS}

PROVINCES = (
    "An Giang", "Bà Rịa - Vũng Tàu", "Bắc Giang", "Bắc Kạn", "Bạc Liêu", "Bắc Ninh", "Bến Tre",
    "Bình Định", "Bình Dương", "Bình Phước", "Bình Thuận", "Cà Mau", "Cao Bằng", "Cần Thơ",
    "Đà Nẵng", "Đắk Lắk", "Đắk Nông", "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang",
    "Hà Nam", "Hà Nội", "Hà Tĩnh", "Hải Dương", "Hải Phòng", "Hậu Giang", "Hòa Bình", "Hồ Chí Minh",
    "Huế", "Hưng Yên", "Khánh Hòa", "Kiên Giang", "Kon Tum", "Lai Châu", "Lâm Đồng", "Lạng Sơn",
    "Lào Cai", "Long An", "Nam Định", "Nghệ An", "Ninh Bình", "Ninh Thuận", "Phú Thọ", "Phú Yên",
    "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh", "Quảng Trị", "Sóc Trăng", "Sơn La",
    "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế", "Tiền Giang",
    "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái",
)

def _both_tone_placements(name: str) -> str:
    """"KHÁNH HÒA/KHÁNH HOÀ": old and new tone placement are both correct spellings."""
    new_style = (name.replace("òa", "oà").replace("óa", "oá").replace("ỏa", "oả").replace("ủy", "uỷ")
                 .replace("ÒA", "OÀ").replace("ÓA", "OÁ").replace("ỎA", "OẢ").replace("ỦY", "UỶ"))
    return name if new_style == name else f"{name}/{new_style}"


# Words of bodies, titles and headings, in capitals. Multi-word phrases tell apart words that
# fold alike ("TÀI CHÍNH", "VẬN TẢI").
_CAPITALS = """
ỦY BAN NHÂN DÂN/UỶ BAN NHÂN DÂN|HỘI ĐỒNG NHÂN DÂN|UBND|HĐND
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM/CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM
BỘ|SỞ|CỤC|CHI CỤC|TỔNG CỤC|VỤ|PHÒNG|BAN|VĂN PHÒNG|TRUNG TÂM|THANH TRA|BỆNH VIỆN|TRƯỜNG|VIỆN
TỈNH|THÀNH PHỐ|HUYỆN|QUẬN|THỊ XÃ|XÃ|PHƯỜNG|THỊ TRẤN|ẤP|THÔN|NHÀ NƯỚC|CHÍNH PHỦ|TRUNG ƯƠNG
NỘI VỤ|TÀI CHÍNH|Y TẾ|GIÁO DỤC VÀ ĐÀO TẠO|XÂY DỰNG|TƯ PHÁP|CÔNG THƯƠNG|KẾ HOẠCH VÀ ĐẦU TƯ
NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN|NÔNG NGHIỆP VÀ|PHÁT TRIỂN NÔNG THÔN|NÔNG NGHIỆP VÀ MÔI TRƯỜNG
TÀI NGUYÊN VÀ MÔI TRƯỜNG|TÀI NGUYÊN|VÀ MÔI TRƯỜNG|MÔI TRƯỜNG|GIAO THÔNG VẬN TẢI|VẬN TẢI
LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI|VĂN HÓA, THỂ THAO VÀ DU LỊCH/VĂN HOÁ, THỂ THAO VÀ DU LỊCH
VĂN HÓA VÀ THỂ THAO/VĂN HOÁ VÀ THỂ THAO|VĂN HÓA/VĂN HOÁ
KHOA HỌC VÀ CÔNG NGHỆ|THÔNG TIN VÀ TRUYỀN THÔNG|DÂN TỘC|NGOẠI VỤ|QUẢN LÝ|VĂN THƯ VÀ|LƯU TRỮ
VĂN THƯ VÀ LƯU TRỮ NHÀ NƯỚC|LƯU TRỮ NHÀ NƯỚC|VĂN THƯ|ĐA KHOA|KHO BẠC|CÔNG AN|BẢO HIỂM XÃ HỘI
AN TOÀN VỆ SINH THỰC PHẨM|AN TOÀN THỰC PHẨM|AN TOÀN|VỆ SINH|THỰC PHẨM|Y TẾ DỰ PHÒNG|DỰ PHÒNG
GIÁM ĐỐC|PHÓ GIÁM ĐỐC|CHỦ TỊCH|PHÓ CHỦ TỊCH|TRƯỞNG PHÒNG|PHÓ TRƯỞNG PHÒNG|TRƯỞNG BAN
PHÓ TRƯỞNG BAN|CHÁNH VĂN PHÒNG|PHÓ CHÁNH VĂN PHÒNG|CỤC TRƯỞNG|PHÓ CỤC TRƯỞNG|CHI CỤC TRƯỞNG
VỤ TRƯỞNG|PHÓ VỤ TRƯỞNG|BỘ TRƯỞNG|THỨ TRƯỞNG|CHÁNH THANH TRA|HIỆU TRƯỞNG|VIỆN TRƯỞNG|TỔNG CỤC TRƯỞNG
THỦ TƯỚNG|PHÓ THỦ TƯỚNG|BÍ THƯ|TRƯỞNG|PHÓ
TM.|KT.|TL.|TUQ.|Q.
HỎA TỐC/HOẢ TỐC|THƯỢNG KHẨN|KHẨN|TUYỆT MẬT|TỐI MẬT|MẬT|XEM XONG TRẢ LẠI|LƯU HÀNH NỘI BỘ
"""
CAPITALS = Lexicon(
    [p.strip() for line in _CAPITALS.split("\n") for p in line.split("|") if p.strip()]
    + list(TYPE_BY_HEADING)
)
# Place names are only given back their diacritics (exact folded match): a letter off may be
# another place ("Hải Châu", "Lai Châu").
PLACES = Lexicon((_both_tone_placements(p) for p in PROVINCES), fuzzy=False)
PLACES_UPPER = Lexicon((_both_tone_placements(p.upper()) for p in PROVINCES), fuzzy=False)
# In a body's name these words are followed by a proper name ("HUYỆN PHONG ĐIỀN"), which the
# administrative vocabulary must not touch ("PHONG" is not "PHÒNG" there).
ADMINISTRATIVE_LEVELS = ("THÀNH PHỐ", "THỊ XÃ", "THỊ TRẤN", "TỈNH", "HUYỆN", "QUẬN", "XÃ", "PHƯỜNG")
