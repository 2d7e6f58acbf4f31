"""Image loading: turn an input file into a PDF whose pages show the scans untouched.

Images become PDF pages through img2pdf, which embeds the scanned data without
re-compression where PDF allows it (a JPEG keeps its bytes, a CCITT G4 TIFF page keeps its
strip) and losslessly otherwise; bilevel pages are stored as CCITT G4. Image-only PDFs keep
their own page images. Everything is checked first, so a bad file is refused before any
work is done.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import img2pdf
import pikepdf
from pikepdf import Name
from PIL import Image, UnidentifiedImageError

from core.patches import PNG_LEVEL, allow_page_pixels
from ocr.colour import CONVERTED_MODES, archival_frame
from ocr.damage import Damage, DamagedPdf, assess, declared_pages, refusal, unreadable_message
from ocr.errors import (CorruptFile, EmptyFile, EncryptedPdf, ImplausiblePageSize, TooLargeContent, TooManyPages,
                        TooManyPixels, UnsupportedFormat)
from ocr.normalise import normalise
from core.pdf.pages import drawing_size, is_jpeg_stream, page_geometry, walk
from core.pdf.streamsize import decoded_size

log = logging.getLogger(__name__)

_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
)
_SUFFIXES = {".pdf": "pdf", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}
# Below this a resolution tag is a camera default (72/96 dpi), not a scanner's.
_PLAUSIBLE_SCAN_DPI = 100
# Above this it is a broken tag (60000 dpi was seen): no document scanner goes past 4800.
_IMPLAUSIBLE_SCAN_DPI = 4800
# A PDF page side must lie between these, in points (PDF 1.7, Annex C: 3 to 14 400 units).
_PAGE_SIDE_PT = (3.0, 14_400.0)
_A4_SHORT_SIDE_IN = 8.27


@dataclass(frozen=True)
class LoadedSource:
    format: str  # pdf, tiff, jpeg, png
    pdf: pikepdf.Pdf  # one page per scanned sheet, the scan untouched
    notes: tuple[str, ...] = ()  # what was assumed or converted, for the audit trail
    # What the archive copy left out or drew into its pages (ocr/normalise.py), for the record
    normalised: dict | None = None
    damage: Damage | None = None  # a damaged PDF archived as far as it could be read


def sniff_format(path: Path) -> str:
    """The file's real format from its first bytes; the name alone is not trusted."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError as error:
        raise CorruptFile(f"không đọc được tệp ({error.strerror})") from error
    if not head:
        raise EmptyFile("tệp rỗng (0 byte)")
    # A file is what it starts with: a PNG whose text chunk quotes "%PDF-" is a PNG.
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    # Some scanners write a few bytes of junk before %PDF; readers accept up to 1 KiB.
    if b"%PDF-" in head:
        return "pdf"
    claimed = _SUFFIXES.get(path.suffix.lower())
    if claimed:
        raise UnsupportedFormat(
            f"tên tệp là {path.suffix} nhưng nội dung không phải {claimed.upper()}"
            + (" (là tệp văn bản)" if _looks_like_text(head) else "")
        )
    raise UnsupportedFormat("không phải PDF, TIFF, JPEG hay PNG")


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# The defaults of config.toml's [limits] (core/config.py).
DEFAULT_MAX_PAGES = 2000
DEFAULT_MAX_PAGE_CONTENT = 8 << 20
# A bomb is measured on past the limit, up to this many times it, to name its size.
_MEASURED_PAST_LIMIT = 16


def load_source(path: Path, *, max_pixels: int, max_pages: int = DEFAULT_MAX_PAGES,
                max_page_content: int = DEFAULT_MAX_PAGE_CONTENT, accept_damaged: bool = False) -> LoadedSource:
    """max_pages and max_page_content (decoded bytes of a page's drawing): 0 = no limit.
    accept_damaged: a damaged PDF's readable pages are loaded (LoadedSource.damage says
    what is missing) instead of the file being refused with DamagedPdf."""
    limits = _Limits(max_pixels, max_pages, max_page_content)
    fmt = sniff_format(path)
    if fmt == "pdf":
        return _load_pdf(path, limits, accept_damaged)
    pdf, notes = _load_image(path, fmt, max_pixels=max_pixels, max_pages=max_pages)
    return LoadedSource(fmt, pdf, notes)


@dataclass(frozen=True)
class _Limits:
    pixels: int
    pages: int  # 0: none
    page_content: int  # bytes, 0: none


def _check_page_count(count: int, max_pages: int) -> None:
    if max_pages and count > max_pages:
        raise TooManyPages(
            f"tệp có {count} trang, vượt giới hạn {max_pages} trang ([limits] max_pages trong config.toml); "
            "hãy tách thành các tệp nhỏ hơn")


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):.0f} MB" if size >= 1 << 20 else f"{size / 1024:.0f} KB"


def _check_pixels(width: int, height: int, max_pixels: int, where: str) -> None:
    if width <= 0 or height <= 0:
        raise CorruptFile(f"{where}: kích thước ảnh không hợp lệ ({width}×{height})")
    if width * height > max_pixels:
        raise TooManyPixels(
            f"{where}: ảnh quá lớn ({width}×{height} = {width * height / 1e6:.0f} triệu điểm ảnh, "
            f"giới hạn {max_pixels / 1e6:.0f} triệu)"
        )


def _scan_dpi(image: Image.Image) -> tuple[float, float] | None:
    dpi = image.info.get("dpi")
    if not dpi:
        return None
    x, y = float(dpi[0]), float(dpi[1])
    if not all(_PLAUSIBLE_SCAN_DPI <= value <= _IMPLAUSIBLE_SCAN_DPI for value in (x, y)):
        return None
    return x, y


def check_jpeg_data(data: bytes) -> None:
    """Decode a JPEG stream once, whole, with libjpeg's warnings taken as damage.

    libjpeg mends what it cannot read: a stream cut short and closed with an end-of-image
    marker decodes as a page half grey with nothing but a warning ("Corrupt JPEG data:
    premature end of data segment"), which Pillow and OpenCV let pass. qpdf's decoder (the
    same libjpeg) raises on any warning, so the stream is decoded there: about 0.1 s for
    an A4 page at 300 dpi, and the decoded page's memory for a moment, as OCR takes anyway.
    Stray bytes before a marker count as damage too: libjpeg calls them corrupt data.
    Raises pikepdf.PdfError.
    """
    with pikepdf.new() as pdf:
        stream = pikepdf.Stream(pdf, data)
        stream.Filter = Name.DCTDecode
        stream.read_bytes(pikepdf.StreamDecodeLevel.all)


def _detail(error: Exception, path: Path) -> str:
    """The library's own words about the damage, without our staging path in them."""
    text = str(error).replace(f"'{path}'", "").replace(str(path), "").strip(" :")
    return f" ({text})" if text else ""


def _load_image(path: Path, fmt: str, *, max_pixels: int, max_pages: int = 0) -> tuple[pikepdf.Pdf, tuple[str, ...]]:
    notes = []
    # Pillow's own bomb guard is at sohoa's default page limit (core/patches.py); a home
    # allowing larger pages raises it, so that only the check below decides.
    allow_page_pixels(max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about damage it then raises on
            image = Image.open(path)
        with image:
            size = image.size
            tagged = image.info.get("dpi")
            dpi = _scan_dpi(image)
            modes = set()
            _check_page_count(getattr(image, "n_frames", 1), max_pages)
            for index in range(getattr(image, "n_frames", 1)):
                image.seek(index)
                _check_pixels(*image.size, max_pixels, f"trang {index + 1}")
                modes.add(image.mode)
    except Image.DecompressionBombError as error:  # past twice Pillow's limit: not even opened
        raise TooManyPixels(f"ảnh quá lớn (hơn {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} triệu điểm ảnh, "
                            f"giới hạn {max_pixels / 1e6:.0f} triệu)") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        if isinstance(error, UnidentifiedImageError):
            raise CorruptFile(f"ảnh {fmt.upper()} hỏng: không đọc được cấu trúc tệp") from error
        raise CorruptFile(f"ảnh {fmt.upper()} hỏng hoặc bị cắt cụt{_detail(error, path)}") from error
    if fmt == "jpeg":
        # img2pdf keeps a JPEG's bytes without decoding them, so check its data now. PNG
        # data is read by img2pdf and Tesseract, TIFF frames when they are read for OCR.
        try:
            check_jpeg_data(path.read_bytes())
        except pikepdf.PdfError as error:
            raise CorruptFile("ảnh JPEG hỏng hoặc bị cắt cụt (dữ liệu ảnh thiếu hoặc sai)") from error
    layout = {}
    if dpi is None:
        # No credible resolution tag (phone photo, some fax software, a broken tag): assume
        # an A4 sheet so the page has a sensible physical size and Tesseract a sensible
        # scale; never a page side beyond what PDF allows.
        guess = max(_PLAUSIBLE_SCAN_DPI, min(size) / _A4_SHORT_SIDE_IN, max(size) * 72 / _PAGE_SIDE_PT[1])
        layout = {"layout_fun": img2pdf.get_fixed_dpi_layout_fun((guess, guess))}
        log.info("%s: no credible resolution tag (%s), assuming %.0f dpi", path.name, tagged, guess)
        if tagged and max(float(v) for v in tagged) > _IMPLAUSIBLE_SCAN_DPI:
            notes.append(f"độ phân giải ghi trong tệp ({float(max(tagged)):.0f} dpi) không hợp lý: "
                         f"bỏ qua, coi như {guess:.0f} dpi")
    converted = sorted(modes & set(CONVERTED_MODES)) if fmt != "png" else []  # img2pdf reads 16-bit PNG
    try:
        if converted:
            data = _convert_frames(path, layout, archival_frame)
            notes.append(f"ảnh màu {'/'.join(converted)}: bản PDF/A lưu ảnh đã chuyển đổi "
                         "(CMYK, Lab sang sRGB; xám 16 bit giữ 16 bit), bản gốc giữ nguyên")
        else:
            data = img2pdf.convert(str(path), rotation=_rotation(fmt), nodate=True, **layout)
    except img2pdf.AlphaChannelError:
        data = _convert_frames(path, layout, _on_white)
    except Exception as error:  # img2pdf reports a malformed PNG or TIFF as a bare Exception
        raise CorruptFile(f"ảnh {fmt.upper()} hỏng hoặc bị cắt cụt{_detail(error, path)}") from error
    return pikepdf.open(io.BytesIO(data)), tuple(notes)


def _rotation(fmt: str) -> img2pdf.Rotation:
    """Honour an EXIF orientation (phones, some scanners) through the page's /Rotate.

    Not for PNG: Pillow decodes a whole PNG to look for an EXIF chunk, twice, which costs
    more than the OCR budget allows, and PNG scans do not carry one in practice.
    """
    return img2pdf.Rotation.none if fmt == "png" else img2pdf.Rotation.ifvalid


def _on_white(image: Image.Image) -> Image.Image:
    """PDF/A forbids nothing about alpha here, but img2pdf refuses it: a scan's alpha is
    meaningless, so lay the pixels on white paper."""
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _convert_frames(path: Path, layout: dict, convert) -> bytes:
    """Pages for frames img2pdf cannot take as they are: each frame converted, stored losslessly."""
    pages = []
    with Image.open(path) as image:
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            buffer = io.BytesIO()
            convert(image).save(buffer, format="PNG", dpi=image.info.get("dpi", (300, 300)),
                                compress_level=PNG_LEVEL)
            pages.append(buffer.getvalue())
    return img2pdf.convert(pages, nodate=True, **layout)


def _load_pdf(path: Path, limits: _Limits, accept_damaged: bool) -> LoadedSource:
    try:
        source = pikepdf.open(path)
    except pikepdf.PasswordError as error:
        raise EncryptedPdf("PDF có mật khẩu mở tệp; hãy gỡ mật khẩu rồi gửi lại") from error
    except pikepdf.PdfError as error:
        raise CorruptFile(unreadable_message(path, str(error))) from error
    if source.is_encrypted:
        # Opens without a password but carries restrictions: PDF/A forbids encryption,
        # and the original is archived untouched anyway.
        log.info("%s: PDF encryption without a user password removed in the PDF/A copy", path.name)
    declared = declared_pages(source, path)  # what the file says of itself, before qpdf mends it
    damage = None
    try:
        # Before anything decodes a page: a bomb is refused, not opened.
        _check_page_count(len(source.pages), limits.pages)
        _check_decoded_sizes(source, limits)
        complaints = source.get_warnings()  # qpdf hands each warning out once
        unreadable = _check_pdf_readable(source, limits.pixels, complaints)
        damage = assess(declared, complaints, len(source.pages), {n: e.reason for n, e in unreadable.items()})
        if damage is None and unreadable:
            raise next(iter(unreadable.values()))
        if damage is not None and (not accept_damaged or damage.read == 0):
            if damage.read == 0:
                raise CorruptFile(refusal(f"không đọc được trang nào ({'; '.join(damage.reasons)})"))
            raise DamagedPdf(damage.message())
        for number in sorted(unreadable, reverse=True):
            del source.pages[number - 1]  # accepted damage: the record says which are missing
        normalised = normalise(source)
        pdf = pikepdf.new()
        pdf.pages.extend(source.pages)
    except pikepdf.PdfError as error:
        raise CorruptFile(unreadable_message(path, str(error))) from error
    return LoadedSource("pdf", pdf, tuple(normalised.notes()), normalised.as_detail() or None, damage)


def _check_pdf_readable(source: pikepdf.Pdf, max_pixels: int, complaints: list[str]) -> dict[int, CorruptFile]:
    """qpdf silently repairs damaged files: decode every page and image to be sure.
    Returns the pages that did not decode (page number -> why); the caller judges whether
    the file is damaged (ocr/damage.py) or merely wrong."""
    count = len(source.pages)
    # qpdf leaves out, with no more than a warning, a page object it cannot read: the
    # archive would lack that sheet (ocr/damage.py compares with what the file declares).
    if count == 0 or any(_DROPPED_PAGE in warning for warning in complaints):
        _refuse_overflowing_numbers(complaints)
        if count == 0:
            raise CorruptFile("PDF không có trang nào")
    unreadable = {}
    for number, page in enumerate(source.pages, start=1):
        try:
            _check_page_readable(page, number, max_pixels)
        except CorruptFile as error:
            unreadable[number] = error
        except pikepdf.PdfError as error:
            unreadable[number] = CorruptFile(f"PDF hỏng hoặc bị cắt cụt: trang {number} không đọc được ({error})")
    return unreadable


def _check_page_readable(page: pikepdf.Page, number: int, max_pixels: int) -> None:
    _check_page_size(page, number)
    xobjects = page.resources.get(Name.XObject, {})

    def draws(op: str, operands: list) -> None:
        if len(operands) != 1 or not isinstance(operands[0], Name):
            raise CorruptFile(f"PDF hỏng: trang {number} có lệnh vẽ ảnh (Do) thiếu tên ảnh")
        if operands[0] not in xobjects:
            raise CorruptFile(f"PDF hỏng hoặc bị cắt cụt: trang {number} thiếu ảnh {operands[0]}")

    walk(page, draws, {"Do"})
    for image in page.get_images().values():
        _check_pixels(int(image.Width), int(image.Height), _pixel_limit(image, max_pixels), f"trang {number}")
        _check_image_decodes(image, number)


def _pixel_limit(image: pikepdf.Object, max_pixels: int) -> int:
    """A 1-bit image (a scanner's stencil mask, a stray speck's mask) holds a pixel in a bit:
    it is bounded by the bytes a max_pixels grey image takes, not by its pixel count. Pages
    are rendered at their own resolution whatever a mask's size (pipeline/ingest.py)."""
    one_bit = bool(image.get(Name.ImageMask, False)) or int(image.get(Name.BitsPerComponent, 8) or 8) == 1
    return max_pixels * 8 if one_bit else max_pixels


def _check_decoded_sizes(source: pikepdf.Pdf, limits: _Limits) -> None:
    """Every stream of the file measured before anything decodes it (core/pdf/streamsize.py): each
    page's drawing (content streams and forms) within the page limit and all pages' together
    within _DOCUMENT_DRAWINGS times it; each image's data no longer than its declared pixels
    need; any other stream (a font, a colour profile ...) within _OTHER_STREAM times the page
    limit. A 1.5 MB file whose font inflated to 1.5 GB took 3.2 GB to write as PDF/A."""
    checked: set[tuple[int, int]] = set()
    total = 0
    for number, page in enumerate(source.pages, start=1):
        for image in page.get_images().values():
            for stream in (image, image.get(Name.SMask), image.get(Name.Mask)):
                if isinstance(stream, pikepdf.Stream):
                    _check_image_size(stream, f"trang {number}", limits.pixels)
                    checked.add(stream.objgen)
        if not limits.page_content:
            continue
        past = limits.page_content * _MEASURED_PAST_LIMIT
        size = drawing_size(page, past)
        if size > limits.page_content:
            raise TooLargeContent(
                f"trang {number}: nội dung trang giải nén quá lớn ({_shown(size, past)}, giới hạn "
                f"{_megabytes(limits.page_content)}); tệp có thể cố ý gây hại hoặc hỏng")
        total += size
        if total > limits.page_content * _DOCUMENT_DRAWINGS:
            raise TooLargeContent(
                f"nội dung các trang 1–{number} giải nén đã quá {_megabytes(total)} (giới hạn cả tệp "
                f"{_megabytes(limits.page_content * _DOCUMENT_DRAWINGS)}, gấp {_DOCUMENT_DRAWINGS} lần giới hạn "
                "một trang); tệp có thể cố ý gây hại hoặc hỏng")
    if limits.page_content:
        _check_other_streams(source, checked, limits)


# All pages' drawings together, and any stream that is not a drawing or an image (a font, a
# colour profile), in multiples of [limits] max_page_content_mb: 256 MB and 64 MB by default.
# A whole CJK font is 20-30 MB; 500 born-digital pages are some 50 MB of drawing.
_DOCUMENT_DRAWINGS = 32
_OTHER_STREAM = 8


def _check_other_streams(source: pikepdf.Pdf, checked: set, limits: _Limits) -> None:
    most = limits.page_content * _OTHER_STREAM
    for obj in source.objects:
        if not isinstance(obj, pikepdf.Stream) or obj.objgen in checked:
            continue
        try:
            if obj.get(Name.Subtype) == Name.Image:
                _check_image_size(obj, f"ảnh (đối tượng {obj.objgen[0]})", limits.pixels, pixels_checked=False)
                continue
            size = decoded_size(obj, most * _MEASURED_PAST_LIMIT)
        except pikepdf.PdfError:
            continue  # an unreadable object is the readability check's to judge, if a page uses it
        if size > most:
            raise TooLargeContent(
                f"một luồng dữ liệu trong tệp (đối tượng {obj.objgen[0]}) giải nén quá lớn "
                f"({_shown(size, most * _MEASURED_PAST_LIMIT)}, giới hạn {_megabytes(most)}); "
                "tệp có thể cố ý gây hại hoặc hỏng")


def _shown(size: int, measured_to: int) -> str:
    return f"hơn {_megabytes(measured_to)}" if size > measured_to else _megabytes(size)


def _check_image_size(image: pikepdf.Stream, where: str, max_pixels: int, *, pixels_checked: bool = True) -> None:
    try:
        width, height = int(image.get(Name.Width, 0)), int(image.get(Name.Height, 0))
    except (TypeError, ValueError):
        width = height = 0
    if pixels_checked:
        _check_pixels(width, height, _pixel_limit(image, max_pixels), where)
    else:  # an image no page draws directly: only its data is bounded here
        width, height = max(width, 0), max(height, 0)
    # Four 16-bit components is the most a pixel takes; a predictor adds a byte a row.
    most = width * height * 8 + height + (1 << 20)
    size = decoded_size(image, most)
    if size > most:
        raise TooLargeContent(
            f"{where}: dữ liệu ảnh giải nén quá lớn (hơn {_megabytes(most)} cho ảnh {width}×{height}); "
            "tệp có thể cố ý gây hại hoặc hỏng")


def _check_page_size(page: pikepdf.Page, number: int) -> None:
    """A box no sheet of paper has is not damage, but nothing to archive either: PDF itself
    bounds a page side to 3 .. 14 400 units (Annex C), past which viewers and poppler fail."""
    x0, y0, x1, y1 = page_geometry(page).box
    low, high = _PAGE_SIDE_PT
    if not all(low <= side <= high for side in (x1 - x0, y1 - y0)):
        raise ImplausiblePageSize(
            f"trang {number}: kích thước trang vô lý ({x1 - x0:g} × {y1 - y0:g} điểm; "
            f"một trang PDF rộng và cao từ {low:g} đến {high:g} điểm)")


_DROPPED_PAGE = "Pages tree includes non-dictionary object"


def _refuse_overflowing_numbers(complaints: list[str]) -> None:
    """A page whose box holds a number past 64 bits (a MediaBox of 1e30 written as an
    integer) is dropped by qpdf as unreadable: say so, rather than "no pages"."""
    for warning in complaints:
        found = re.search(r"overflow/underflow converting (\S+)", warning)
        if found:
            raise ImplausiblePageSize(
                f"kích thước trang vô lý: số {found.group(1)[:40]} vượt giới hạn của PDF, không đọc được trang")


def _check_image_decodes(image: pikepdf.Stream, page_number: int) -> None:
    try:
        if is_jpeg_stream(image):
            check_jpeg_data(image.read_raw_bytes())  # as for a JPEG file: libjpeg's warnings count
        else:
            pikepdf.PdfImage(image).as_pil_image().load()
    except (pikepdf.UnsupportedImageTypeError, pikepdf.DependencyError, pikepdf.NotExtractableError,
            pikepdf.HifiPrintImageNotTranscodableError, NotImplementedError):
        return  # an encoding we cannot decode here (JBIG2 without jbig2dec ...): poppler can
    except (pikepdf.PdfError, OSError, ValueError, SyntaxError, EOFError) as error:
        raise CorruptFile(f"trang {page_number}: ảnh quét hỏng hoặc bị cắt cụt ({error})") from error


def rasterise_page(pdf: pikepdf.Pdf, index: int, *, dpi: float, work: Path) -> None:
    """Replace page index by a lossless colour image of itself (for --force-ocr on a
    born-digital page, whose visible text would otherwise be OCR'd under itself)."""
    from pdf2image import convert_from_path

    single = pikepdf.new()
    single.pages.append(pdf.pages[index])
    single_path = work / f"rasterise-{index}.pdf"
    single.save(single_path)
    (image,) = convert_from_path(single_path, dpi=dpi, use_cropbox=True)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi))
    with pikepdf.open(io.BytesIO(img2pdf.convert(buffer.getvalue(), nodate=True))) as page_pdf:
        pdf.pages.insert(index, page_pdf.pages[0])
    del pdf.pages[index + 1]
