"""What a PDF/A check found, and the level-U rule pikepdf's validator does not know.

Shared by the OCR step, which writes the PDF/A, and by signing, which checks that the
signed file still conforms.
"""

from __future__ import annotations

from dataclasses import dataclass

import pikepdf
from pikepdf import Name


@dataclass(frozen=True)
class PdfaReport:
    flavour: str  # "2u"
    validator: str
    passed: bool
    findings: tuple[str, ...]


def unicode_mapping_findings(pdf: pikepdf.Pdf) -> list[str]:
    """PDF/A-2u: every font used must let a reader map its glyphs to Unicode."""
    findings = []
    for number, page in enumerate(pdf.pages, start=1):
        fonts = page.resources.get(Name.Font, {})
        for name, font in fonts.items():
            if Name.ToUnicode in font:
                continue
            subtype = font.get(Name.Subtype)
            encoding = font.get(Name.Encoding)
            standard = encoding in (Name.WinAnsiEncoding, Name.MacRomanEncoding, Name.StandardEncoding)
            if subtype in (Name.Type1, Name.TrueType) and standard:
                continue
            findings.append(f"trang {number}: phông {name} không có bảng ánh xạ Unicode (ToUnicode)")
    return findings
