"""The OCR copy of a page: turned upright, deskewed, borders and shadows removed.

Everything here works on a copy made for Tesseract; the archived image stays the scanned
pixels. What it finds about the sheet (its rotation, skew and whether it is blank) goes into
the record, and the affine map from the OCR copy back to the scan lets the text layer put
each word on the scan exactly where it is printed.

Orientation: Tesseract's OSD costs more than OCR of a sparse page and misreads upside-down
Vietnamese, so the page is read here from its ink: text lines give a sharp projection
profile along one axis (0/180 versus 90/270), and Vietnamese puts far more ink above the
x-height band (capitals, ascenders, nearly every vowel's marks) than below it (descenders,
the dot below), which tells upright from upside down. Only when that margin is thin does OCR
confidence decide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ocr.results import IDENTITY, Affine

_ANALYSIS_DPI = 100  # the ink analysis runs on a copy at this resolution
_MAX_SKEW = 10.0
_SAMPLE = 60_000  # ink pixels sampled for the skew search: plenty for 0.05° steps
_BLANK_INK_FRACTION = 0.0015
_UPSIDE_DOWN_MARGIN = 0.15  # |log(above/below)| under this is "not sure"
_COLOUR_NOISE = 30  # brightest minus darkest channel a neutral pixel may show (JPEG chroma)
_COLOUR_LIFT = 2  # how much lighter each further step of colour makes a pixel
_PEN_HUES = (75, 150)  # OpenCV hues of pen ink kept in the header: cyan, blue, violet (not red seals)
HEADER_ZONE = 0.4  # the top of the upright page holding number, date, type heading


@dataclass(frozen=True)
class Orientation:
    rotation: int  # clockwise degrees to turn the scan upright: 0, 90, 180 or 270
    skew: float  # degrees the upright text is rotated counter-clockwise
    sure: bool  # False: the up/down evidence was thin, let OCR confidence decide


@dataclass(frozen=True)
class PreparedPage:
    image: np.ndarray  # grey uint8 copy for OCR: upright, deskewed, cleaned
    orientation_sure: bool
    rotation: int  # clockwise degrees the scan is turned (its /Rotate) to display upright
    skew: float  # degrees the text lay rotated counter-clockwise on the upright scan
    blank: bool
    page_size: tuple[int, int]  # width, height in pixels of the upright scan
    to_page: Affine  # OCR copy pixels -> upright scan pixels


def to_grey(pixels: np.ndarray, *, keep_ink: bool = False) -> np.ndarray:
    """Grey for OCR. Colour pages take the brightest channel: black print stays black while
    a red seal or a blue signature over it turns to paper.

    keep_ink: the office's pen is kept. In the header zone the number and the date are
    often written by hand in blue in the printed slots (`Số: 136 /ĐN-CC-TC`); erasing blue
    there erases the very number. So only what is clearly a seal or a mark is lifted — red,
    orange, yellow and magenta hues — while blue to violet pen (and black, grey, pencil)
    takes the darkest channel, which shows blue ink as dark as print."""
    if pixels.ndim == 2:
        return pixels if pixels.dtype == np.uint8 else (pixels > 0).astype(np.uint8) * 255
    rgb = np.ascontiguousarray(pixels[..., :3])
    red, green, blue = cv2.split(rgb)
    brightest = cv2.max(cv2.max(red, green), blue)
    darkest = cv2.min(cv2.min(red, green), blue)
    # Stamp ink is never quite paper-bright in its own channel, and its blurred, JPEG-smeared
    # edges are only half coloured: a hard cut leaves the seal behind as a grey outline that
    # Tesseract reads as junk beside the signer's name. So the more coloured a pixel, the
    # nearer paper it is pushed; print (even under the seal) is dark in every channel and
    # stays. The dead zone keeps the chroma noise of a JPEG off black text's edges.
    colour = cv2.subtract(brightest, darkest)
    lift = cv2.convertScaleAbs(cv2.subtract(colour, _COLOUR_NOISE), alpha=_COLOUR_LIFT)
    erased = cv2.add(brightest, lift)
    if not keep_ink:
        return erased
    hue = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 0]  # 0-179: red 0/179, yellow 30, blue 120
    pen = (hue >= _PEN_HUES[0]) & (hue <= _PEN_HUES[1]) & (colour > _COLOUR_NOISE // 2)
    return np.where(pen, darkest, erased)


def keep_header_ink(upright_erased: np.ndarray, upright_kept: np.ndarray) -> np.ndarray:
    """The OCR copy with the pen kept in the header zone (the top of the upright page,
    where Nghị định 30 puts the number and the date) and erased below it, where a blue
    signature over the signer's name would only give OCR junk."""
    band = int(round(upright_erased.shape[0] * HEADER_ZONE))
    out = upright_erased.copy()
    out[:band] = upright_kept[:band]
    return out


def _normalise_background(grey: np.ndarray, dpi: float) -> np.ndarray:
    """Divide out the paper (uneven light, fold shadows, yellowed paper): text on white.

    The paper is estimated at low resolution by a max filter wider than any stroke, so it is
    cheap on a 600-dpi page and never binarises anything.
    """
    factor = max(1, int(dpi // 50))
    small = cv2.resize(grey, (max(1, grey.shape[1] // factor), max(1, grey.shape[0] // factor)),
                       interpolation=cv2.INTER_AREA)
    kernel = np.ones((7, 7), np.uint8)  # 7 px at 50 dpi: wider than any letter stroke
    paper = cv2.dilate(small, kernel)
    paper = cv2.GaussianBlur(paper, (0, 0), 3)
    paper = cv2.resize(paper, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(grey, np.maximum(paper, 1), scale=255)


def _dark_regions(grey: np.ndarray, dpi: float) -> np.ndarray:
    """Dark areas no letter could make — scanner lid borders, punch holes, black bars.

    Letter strokes are a fraction of a millimetre wide; an opening with a 1.5 mm square keeps
    only what is thicker than that.
    """
    dark = (grey < 100).astype(np.uint8)
    size = max(3, int(round(dpi * 1.5 / 25.4)))
    solid = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((size, size), np.uint8))
    return cv2.dilate(solid, np.ones((5, 5), np.uint8)) > 0


def _ink_mask(grey: np.ndarray, dpi: float) -> tuple[np.ndarray, float]:
    """Ink at the analysis resolution (bool), without borders and holes; and the scale."""
    scale = min(1.0, _ANALYSIS_DPI / dpi)
    small = cv2.resize(grey, (max(1, int(grey.shape[1] * scale)), max(1, int(grey.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA) if scale < 1 else grey
    flat = _normalise_background(small, dpi * scale)
    ink = flat < 160
    ink &= ~_dark_regions(small, dpi * scale)
    return ink, scale


def _profile_sharpness(coordinate: np.ndarray) -> float:
    counts = np.bincount(coordinate - coordinate.min())
    return float(np.dot(counts, counts))


def _best_skew(ys: np.ndarray, xs: np.ndarray) -> tuple[float, float]:
    """Angle (degrees, counter-clockwise) that makes the rows of ink sharpest, and its score."""

    def score(angle: float) -> float:
        theta = math.radians(angle)
        # A line rotated counter-clockwise by theta rises to the right (y down): undo it.
        projected = np.round(ys * math.cos(theta) + xs * math.sin(theta)).astype(np.int64)
        return _profile_sharpness(projected)

    best, best_score = 0.0, -1.0
    for step, span in ((0.5, _MAX_SKEW), (0.05, 0.5), (0.01, 0.05)):
        centre = best
        for angle in np.arange(centre - span, centre + span + step / 2, step):
            value = score(float(angle))
            if value > best_score:
                best, best_score = float(angle), value
    return best, best_score


def _sample_ink(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(ink)
    if ys.size > _SAMPLE:
        pick = np.random.default_rng(0).choice(ys.size, _SAMPLE, replace=False)
        ys, xs = ys[pick], xs[pick]
    return ys.astype(np.float64), xs.astype(np.float64)


def _above_below(ink: np.ndarray) -> tuple[float, float]:
    """Ink above and below the x-height band of each text line, summed over the page."""
    rows = ink.sum(axis=1).astype(np.float64)
    if rows.max() <= 0:
        return 0.0, 0.0
    in_line = rows > 0.02 * rows.max()
    above = below = 0.0
    start = None
    for y, inside in enumerate(np.append(in_line, False)):
        if inside and start is None:
            start = y
        elif not inside and start is not None:
            line = rows[start:y]
            if line.size >= 4:
                core = np.nonzero(line >= 0.5 * line.max())[0]
                above += line[: core[0]].sum()
                below += line[core[-1] + 1:].sum()
            start = None
    return above, below


def _rotate_small(ink: np.ndarray, angle: float) -> np.ndarray:
    height, width = ink.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -angle, 1.0)
    return cv2.warpAffine(ink.astype(np.uint8), matrix, (width, height), flags=cv2.INTER_NEAREST) > 0


def detect_orientation(ink: np.ndarray) -> Orientation:
    """Rotation and skew of the text on an ink mask (see the module's docstring)."""
    ys, xs = _sample_ink(ink)
    if ys.size < 200:
        return Orientation(0, 0.0, True)
    skew_rows, score_rows = _best_skew(ys, xs)
    # Lines running top to bottom: the same search with the axes swapped.
    skew_cols, score_cols = _best_skew(xs, -ys)
    sideways = score_cols > score_rows
    if sideways:
        # Turned a quarter: look at the page turned back clockwise, its lines then run
        # left to right (either upright or upside down).
        upright = np.ascontiguousarray(np.rot90(ink, k=-1))
        skew = skew_cols
        base = 90
    else:
        upright, skew, base = ink, skew_rows, 0
    above, below = _above_below(_rotate_small(upright, skew))
    if above <= 0 or below <= 0:
        return Orientation(base, skew, False)
    margin = math.log(above / below)
    rotation = base if margin > 0 else (base + 180) % 360
    return Orientation(rotation, skew, abs(margin) >= _UPSIDE_DOWN_MARGIN)


def turn_clockwise(pixels: np.ndarray, degrees: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(pixels, k=-(degrees // 90) % 4))


def deskew_copy(grey: np.ndarray, skew: float) -> tuple[np.ndarray, Affine]:
    """Rotate the text level (canvas grown, paper-white corners); and the map back."""
    if abs(skew) < 0.05:
        return grey, IDENTITY
    height, width = grey.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -skew, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos) + 1, int(height * cos + width * sin) + 1
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    level = cv2.warpAffine(grey, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    back = cv2.invertAffineTransform(matrix)
    return level, tuple(float(v) for v in back.reshape(-1))


def noise_level(grey: np.ndarray) -> float:
    """Standard deviation of the sensor noise (Immerkær's estimate, median-based so that
    the edges of letters do not count), measured on a central crop."""
    height, width = grey.shape
    crop = grey[height // 4: 3 * height // 4, width // 4: 3 * width // 4]
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = np.abs(cv2.filter2D(crop.astype(np.float32), -1, kernel))
    # A median over every 7th response is as good an estimate and a seventh of the work.
    return float(np.median(response.ravel()[::7])) / 0.6745 / 6.0


def _is_bilevel(grey: np.ndarray) -> bool:
    sample = grey[:: max(1, grey.shape[0] // 64)]
    return bool(np.all((sample == 0) | (sample == 255)))


_NOISY = 6.0  # estimated sigma (grey levels) above which speckle costs Tesseract dearly


@dataclass(frozen=True)
class CleanupSteps:
    """Which clean-up steps run. All on by default; the accuracy bench turns each off in
    turn to show what it is worth (bench/ocr_accuracy.py --ablation)."""

    orientation: bool = True
    deskew: bool = True
    despeckle: bool = True
    flatten_background: bool = True
    remove_dark_regions: bool = True
    drop_colour_ink: bool = True
    keep_header_ink: bool = True  # blue pen kept in the header zone (handwritten number and date)


ALL_STEPS = CleanupSteps()


def clean_for_ocr(grey: np.ndarray, dpi: float, steps: CleanupSteps = ALL_STEPS) -> np.ndarray:
    """Paper made white and even; dark borders and holes painted as paper; speckle removed
    where the page has it. Never binarised: Tesseract thresholds grey better than we could.

    The 3x3 median helps only on noisy and fax-like (bilevel) pages — on those it took the
    bench's error rate from ~20 % to ~1 % — and costs a little on clean ones, so it is applied
    only there.
    """
    if steps.despeckle and (_is_bilevel(grey) or noise_level(grey) > _NOISY):
        grey = cv2.medianBlur(grey, 3)
    flat = _normalise_background(grey, dpi) if steps.flatten_background else grey.copy()
    if steps.remove_dark_regions:
        flat[_dark_regions(grey, dpi)] = 255
    return flat


def prepare_page(pixels: np.ndarray, dpi: float, *, orientation: Orientation | None = None,
                 steps: CleanupSteps = ALL_STEPS) -> PreparedPage:
    """The OCR copy of a page image (as displayed), with what was found about the sheet."""
    grey = to_grey(pixels) if steps.drop_colour_ink or pixels.ndim == 2 else cv2.cvtColor(
        np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2GRAY)
    ink, _ = _ink_mask(grey, dpi)
    blank = ink.mean() < _BLANK_INK_FRACTION
    if orientation is None:
        orientation = Orientation(0, 0.0, True) if blank else detect_orientation(ink)
        if not steps.orientation:
            orientation = Orientation(0, orientation.skew, True)
        if not steps.deskew:
            orientation = Orientation(orientation.rotation, 0.0, orientation.sure)
    upright = turn_clockwise(grey, orientation.rotation)
    if steps.keep_header_ink and steps.drop_colour_ink and pixels.ndim == 3:
        upright = keep_header_ink(upright, turn_clockwise(to_grey(pixels, keep_ink=True), orientation.rotation))
    cleaned = clean_for_ocr(upright, dpi, steps)
    level, to_page = deskew_copy(cleaned, orientation.skew)
    return PreparedPage(
        image=level,
        orientation_sure=orientation.sure,
        rotation=orientation.rotation,
        skew=round(orientation.skew, 2),
        blank=bool(blank),
        page_size=(upright.shape[1], upright.shape[0]),
        to_page=to_page,
    )
