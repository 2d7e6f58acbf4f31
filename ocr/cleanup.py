"""The OCR copy of a page: turned upright, deskewed, borders and shadows removed.

Everything here works on a copy made for Tesseract; the archived image stays the scanned
pixels. What it finds about the sheet (its rotation, skew and whether it is blank) goes into
the record, and the affine map from the OCR copy back to the scan lets the text layer put
each word on the scan exactly where it is printed.

Orientation: Tesseract's OSD costs more than OCR of a sparse page and misreads upside-down
Vietnamese, so the page is read here from its letters, and only its letters: connected
blobs of letter size (not a table's rules, a chart's bars, a drawing's strokes, a photo's
patches, nor specks). Letters of a line stand closer side by side than lines stand apart
(0/180 versus 90/270), and Vietnamese puts far more ink above the x-height band (capitals,
ascenders) than below it (descenders), which tells upright from upside down. A page is
turned only on evidence: enough letters in enough lines, a clear axis, a clear and agreed
up. With little text (a chart's labels, a caption) it stays as scanned; with middling
evidence it stays unless OCR reads the turned copy clearly better (ocr/pages.py).

Blank: a sheet without a single word or number on it and with next to no ink (what is
left after borders, punch holes and the paper's tone). One short line of text is not blank,
nor is a photo without any text, nor a page whose dpi tag is so wrong that its letters
measure out of letter size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from core.ocr_results import IDENTITY, Affine

_ANALYSIS_DPI = 100  # the ink analysis runs on a copy at this resolution
_MAX_SKEW = 10.0
_SAMPLE = 60_000  # ink pixels sampled for the skew search: plenty for 0.05° steps
_BLANK_INK_FRACTION = 0.0015  # more ink than this is never blank, letters or not
_SPECK_PIXELS = 4  # blobs this small at the analysis resolution are noise, not ink
_UPSIDE_DOWN_MARGIN = 0.15  # |log(above/below)| under this is "not sure"
# A letter (or letters run together) in millimetres: longest side, widest short side,
# longest run; long over short at most; solid blobs (fill) are not letters.
_LETTER_MIN_MM, _LETTER_MAX_MM, _LETTER_RUN_MM = 1.0, 8.0, 25.0
_LETTER_ASPECT, _LETTER_FILL = 12.0, 0.85
_MIN_SKEW_LETTERS = 8  # letters in words before the text's skew is measured at all
_MIN_LETTERS = 120  # letters in words, and lines, before the page's text may turn it
_MIN_LINES = 4
_AXIS_MARGIN = 0.25  # log(sharpness across / down): beyond this the axis is clear
_LINE_VOTE = 0.2  # a line leans up or down when one side has this share more ink
_LINES_AGREE = 0.65  # of the lines that lean, the share that must lean the page's way
_WORD_SPACE_MM = 1.5
_DASH_MM = 0.6  # strokes no thicker than this and twice as long are rules and dashes
_AXIS_DOUBT = 0.08  # between the two, OCR confidence has to confirm a turn
_CONFIDENCE_MARGIN = 8.0  # mean word confidence a turned reading needs over the page as scanned
_MIN_CONFIRMING_WORDS = 10
_COLOUR_NOISE = 30  # brightest minus darkest channel a neutral pixel may show (JPEG chroma)
_COLOUR_LIFT = 2  # how much lighter each further step of colour makes a pixel
_PEN_HUES = (75, 150)  # OpenCV hues of pen ink kept in the header: cyan, blue, violet (not red seals)
HEADER_ZONE = 0.4  # the top of the upright page holding number, date, type heading


@dataclass(frozen=True)
class Orientation:
    rotation: int  # clockwise degrees to turn the scan upright: 0, 90, 180 or 270
    skew: float  # degrees the upright text is rotated counter-clockwise
    sure: bool  # False: the evidence was thin, OCR confidence decides against the alternative
    alternative: Orientation | None = None  # read too when not sure; taken only if clearly better


@dataclass(frozen=True)
class PreparedPage:
    image: np.ndarray  # grey uint8 copy for OCR: upright, deskewed, cleaned
    orientation_sure: bool
    alternative: Orientation | None  # when not sure: the other reading for OCR to try
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


def _line_evidence(ink: np.ndarray) -> tuple[int, float, float, int, int]:
    """Text lines of an upright ink mask; the ink above and below their x-height band,
    summed over the page; and how many lines have clearly more above (votes up) or below.

    Each line votes on its own: one odd line (a row of digits, a table's ruled row) must
    not carry the page."""
    rows = ink.sum(axis=1).astype(np.float64)
    if rows.max() <= 0:
        return 0, 0.0, 0.0, 0, 0
    edges = np.diff(np.concatenate(([0], (rows > 0.02 * rows.max()).astype(np.int8), [0])))
    lines = up = down = 0
    above = below = 0.0
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        line = rows[start:end]
        if line.size < 4:
            continue
        lines += 1
        core = np.nonzero(line >= 0.5 * line.max())[0]
        over, under = line[: core[0]].sum(), line[core[-1] + 1:].sum()
        above, below = above + over, below + under
        if over + under > 0 and abs(over - under) >= _LINE_VOTE * (over + under):
            up, down = up + (over > under), down + (under > over)
    return lines, above, below, up, down


def _without_dashes(upright: np.ndarray, dpi: float) -> np.ndarray:
    """Upright text ink without flat strokes: pieces of a table's rules, underlines, dashes
    and hyphens lie on or under the x-height band and would read as descenders."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(upright.astype(np.uint8), connectivity=8)
    height, width = stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_WIDTH]
    thin = max(2, round(_DASH_MM * dpi / 25.4))
    # flat strokes, and hairlines upright (a rule's pieces; also l, i and 1, which are as tall
    # above the band as below it once a rule's piece stands beside them)
    drop = ((height <= thin) & (width >= 2 * height)) | (width <= thin)
    drop[0] = True  # the background
    return ~drop[labels]


def _axis_margin(text: np.ndarray, letters: int, dpi: float) -> float:
    """log(letters joined across / letters joined down) when each is grown by a word
    space: letters and words of a line lie closer side by side than lines lie apart,
    also in a table whose columns line up as sharply as its rows."""
    reach = max(3, round(_WORD_SPACE_MM * dpi / 25.4))
    mask = text.astype(np.uint8)

    def joined(kernel: np.ndarray) -> int:
        return letters - (cv2.connectedComponents(cv2.dilate(mask, kernel), connectivity=8)[0] - 1)

    across = joined(np.ones((1, reach), np.uint8))
    down = joined(np.ones((reach, 1), np.uint8))
    return math.log((across + 1) / (down + 1))


def _rotate_small(ink: np.ndarray, angle: float) -> np.ndarray:
    height, width = ink.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -angle, 1.0)
    return cv2.warpAffine(ink.astype(np.uint8), matrix, (width, height), flags=cv2.INTER_NEAREST) > 0


def text_ink(ink: np.ndarray, dpi: float) -> tuple[np.ndarray, int, int]:
    """The ink of letter-like components only; how many there are; and how many of them
    stand beside another (letters of a word, digits of a number).

    A letter is a connected blob of ink a few millimetres long, not solid: that leaves out
    the rules and grids of a table, the bars and axes of a chart, the strokes of a drawing
    and the patches of a photo, whose shapes say nothing about which way is up, and the
    specks of dust and sensor noise, which are smaller than any letter.
    """
    mm = dpi / 25.4
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    width, height, area = (stats[1:, k].astype(np.float64) for k in
                           (cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT, cv2.CC_STAT_AREA))
    long_side, short_side = np.maximum(width, height), np.minimum(width, height)
    fill = area / (width * height)
    letter = ((long_side >= _LETTER_MIN_MM * mm) & (long_side <= _LETTER_RUN_MM * mm)
              & (short_side <= _LETTER_MAX_MM * mm) & (long_side <= _LETTER_ASPECT * np.maximum(short_side, 2))
              & ((fill <= _LETTER_FILL) | (short_side < 4)))
    keep = np.concatenate(([False], letter))
    mask = keep[labels]
    letters = int(letter.sum())
    if letters < 2:
        return mask, letters, 0
    # Letters of one word or number lie within a millimetre of each other: grown by that
    # much they join, while a lone blob stays alone.
    reach = 2 * max(1, int(round(mm))) + 1
    grown = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    _, groups = cv2.connectedComponents(grown, connectivity=8)
    # each letter once, with the group it fell in
    pairs = np.unique(labels[mask].astype(np.int64) * (int(groups.max()) + 1) + groups[mask])
    group = pairs % (int(groups.max()) + 1)
    per_group = np.bincount(group)
    return mask, letters, int((per_group[group] >= 2).sum())


@dataclass(frozen=True)
class OrientationReading:
    """What the ink says about the page's orientation, and how strongly."""

    orientation: Orientation
    letters: int  # letter-like components
    paired: int  # letters beside another letter: in a word, a number
    lines: int  # text lines across the page as the guess turns it
    axis_margin: float  # log(sharpness of lines across / of lines down); < 0: sideways
    up_margin: float  # log(ink above / ink below the x-height band) as the axis turns it


def _normalised_sharpness(ys: np.ndarray, xs: np.ndarray, angle: float, extent: int) -> float:
    """Profile sharpness over that of the same ink spread evenly across the page (extent
    pixels along the profile): on a tall page an even scatter, a photo, is otherwise
    sharper across its narrow width than along its height."""
    theta = math.radians(angle)
    projected = np.round(ys * math.cos(theta) + xs * math.sin(theta)).astype(np.int64)
    return _profile_sharpness(projected) * extent / float(projected.size) ** 2


def read_orientation(ink: np.ndarray, dpi: float = _ANALYSIS_DPI) -> OrientationReading:
    """The page's orientation from its letters, with the evidence for it.

    A page is turned only where its text says so: enough letters in lines, lines clearly
    sharper along one axis than along the other, and clearly more ink above the x-height
    band than below it. With little text the page stays as scanned (rotation 0); with some
    evidence but not enough, it stays as scanned unless OCR reads the ink's guess clearly
    better (sure=False, the guess as the alternative).
    """
    text, letters, paired = text_ink(ink, dpi)
    if paired < _MIN_SKEW_LETTERS:
        return OrientationReading(Orientation(0, 0.0, True), letters, paired, 0, 0.0, 0.0)
    axis_margin = _axis_margin(text, letters, dpi)
    sideways = axis_margin < 0
    ys, xs = _sample_ink(text)
    # Turned a quarter, the page turned back clockwise has its lines left to right.
    if sideways:
        skew_rows, (skew, _) = 0.0, _best_skew(xs, -ys)
        upright, base = np.ascontiguousarray(np.rot90(text, k=-1)), 90
    else:
        (skew_rows, _), upright, base = _best_skew(ys, xs), text, 0
        skew = skew_rows
    lines, above, below, up, down = _line_evidence(_without_dashes(_rotate_small(upright, skew), dpi))
    up_margin = math.log(above / below) if above > 0 and below > 0 else 0.0
    guess = Orientation(base if up_margin >= 0 else (base + 180) % 360, skew, True)
    # the lines agree with the page's sum: most of those that lean, lean its way
    agree = (up if up_margin >= 0 else down) >= _LINES_AGREE * (up + down) and (up + down) >= _MIN_LINES
    # As scanned: the rows' skew still levels its text when the lines run across.
    kept = Orientation(0, skew_rows, True)

    def found(orientation: Orientation) -> OrientationReading:
        return OrientationReading(orientation, letters, paired, lines, axis_margin, up_margin)

    clear_axis = abs(axis_margin) >= _AXIS_MARGIN
    clear_up = abs(up_margin) >= _UPSIDE_DOWN_MARGIN and agree
    if paired < _MIN_LETTERS or lines < _MIN_LINES:
        return found(kept)
    if guess.rotation == 0:
        flipped = Orientation(180, skew_rows, True)
        return found(kept if clear_up else replace(kept, sure=False, alternative=flipped))
    if clear_axis and clear_up:
        return found(guess)
    if clear_axis or clear_up or abs(axis_margin) >= _AXIS_DOUBT:
        return found(replace(kept, sure=False, alternative=guess))
    return found(kept)


def _ink_beyond_specks(ink: np.ndarray) -> float:
    """Share of the page inked by more than sensor noise and dust (a few pixels at 100 dpi)."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] > _SPECK_PIXELS
    keep[0] = False
    return float(keep[labels].mean())


def confirms_turn(kept: tuple[float | None, int], turned: tuple[float | None, int]) -> bool:
    """Does OCR read the alternative orientation clearly better than the page as kept?
    Each side: (mean word confidence, number of words). A chart or a photo reads as junk
    both ways, a few points apart: that is no reason to turn it."""
    (kept_confidence, _), (turned_confidence, turned_words) = kept, turned
    if turned_confidence is None or turned_words < _MIN_CONFIRMING_WORDS:
        return False
    return turned_confidence >= (kept_confidence or 0.0) + _CONFIDENCE_MARGIN


def detect_orientation(ink: np.ndarray, dpi: float = _ANALYSIS_DPI) -> Orientation:
    """Rotation and skew of the text on an ink mask (see the module's docstring)."""
    return read_orientation(ink, dpi).orientation


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
    ink, scale = _ink_mask(grey, dpi)
    # Blank only without a single word or number on it (borders, holes and specks are not
    # letters) and without ink; the sheet is archived all the same, only without text.
    if orientation is None:
        reading = read_orientation(ink, dpi * scale)
        blank = reading.paired == 0 and _ink_beyond_specks(ink) < _BLANK_INK_FRACTION
        orientation = reading.orientation
        if not steps.orientation:
            orientation = Orientation(0, orientation.skew if orientation.rotation == 0 else 0.0, True)
        if not steps.deskew:
            orientation = replace(orientation, skew=0.0, alternative=orientation.alternative and replace(
                orientation.alternative, skew=0.0))
    else:
        blank = text_ink(ink, dpi * scale)[2] == 0 and _ink_beyond_specks(ink) < _BLANK_INK_FRACTION
    upright = turn_clockwise(grey, orientation.rotation)
    if steps.keep_header_ink and steps.drop_colour_ink and pixels.ndim == 3:
        upright = keep_header_ink(upright, turn_clockwise(to_grey(pixels, keep_ink=True), orientation.rotation))
    cleaned = clean_for_ocr(upright, dpi, steps)
    level, to_page = deskew_copy(cleaned, orientation.skew)
    return PreparedPage(
        image=level,
        orientation_sure=orientation.sure,
        alternative=None if orientation.sure else orientation.alternative,
        rotation=orientation.rotation,
        skew=round(orientation.skew, 2),
        blank=bool(blank),
        page_size=(upright.shape[1], upright.shape[0]),
        to_page=to_page,
    )
