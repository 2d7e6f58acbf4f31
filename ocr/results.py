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


@dataclass(frozen=True)
class OcrPage:
    width: int  # pixels of the image Tesseract read
    height: int
    dpi: float
    lines: tuple[OcrLine, ...]
    engine: str  # e.g. "tesseract 5.3.0 -l vie"

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
