"""Typed, immutable OCR results: what Tesseract read, and where on the page image."""

from __future__ import annotations

from dataclasses import dataclass

Box = tuple[int, int, int, int]  # left, top, right, bottom, in pixels of the OCR image


@dataclass(frozen=True)
class OcrWord:
    text: str  # NFC
    box: Box
    confidence: float  # Tesseract's word confidence, 0-100


@dataclass(frozen=True)
class OcrLine:
    words: tuple[OcrWord, ...]
    box: Box
    # hOCR baseline: y = box.bottom + offset + slope * (x - box.left), in image pixels.
    baseline_slope: float
    baseline_offset: float
    # Height of the line's letters from descender to ascender, in pixels.
    text_height: float

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


Affine = tuple[float, float, float, float, float, float]  # x' = a x + b y + c; y' = d x + e y + f
IDENTITY: Affine = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@dataclass(frozen=True)
class OcrPage:
    """What OCR found on one page.

    Word and line boxes are in pixels of the copy Tesseract read; to_page maps them onto the
    page as displayed upright (width x height pixels), which differs when the copy was
    deskewed. rotation is how far (clockwise) the scan must turn to be upright: the PDF
    page's /Rotate grows by it, the image itself is never re-encoded.
    """

    width: int  # pixels of the page as displayed upright
    height: int
    dpi: float
    lines: tuple[OcrLine, ...]
    engine: str  # e.g. "tesseract 5.3.0 -l vie"
    to_page: Affine = IDENTITY
    rotation: int = 0
    skew: float = 0.0  # degrees the text lay rotated counter-clockwise
    blank: bool = False

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def words(self) -> tuple[OcrWord, ...]:
        return tuple(word for line in self.lines for word in line.words)

    @property
    def mean_confidence(self) -> float | None:
        words = self.words
        if not words:
            return None
        return sum(w.confidence for w in words) / len(words)
