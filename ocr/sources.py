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
import warnings
from dataclasses import dataclass
from pathlib import Path

import img2pdf
import pikepdf
from pikepdf import Name
from PIL import Image, UnidentifiedImageError

from ocr.errors import CorruptFile, EmptyFile, EncryptedPdf, TooManyPixels, UnsupportedFormat
from ocr.pdfpages import is_jpeg_stream

log = logging.getLogger(__name__)

# We check pixel counts ourselves, with a message a clerk understands, before decoding.
Image.MAX_IMAGE_PIXELS = None

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
_A4_SHORT_SIDE_IN = 8.27


# img2pdf stores an image it cannot embed as it is (an LZW or Deflate TIFF page: PDF/A
# forbids LZW) as PNG data written by Pillow at zlib level 6: a third of a CPU-second for one
# A5 200-dpi grey page, as long as Tesseract takes to read it. Level 3 is four times faster
# and the page stays the size of the scanner's own LZW (measured on bench pages: 910 KB
# against 818 KB at level 6, LZW 910 KB). The pixels are the same either way.
_PNG_LEVEL = 3


def _png_data(image: Image.Image) -> tuple[bytes, bytes, int]:
    """img2pdf.to_png_data at a faster zlib level (same return: IDAT, palette, bit depth)."""
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=_PNG_LEVEL)
    idat, palette = img2pdf.parse_png(buffer.getvalue())
    depth = buffer.getvalue()[24]  # IHDR's bit depth: the first chunk, at a fixed offset
    if depth not in (1, 2, 4, 8, 16):
        raise ValueError(f"invalid bit depth: {depth}")
    return idat, palette, depth


if hasattr(img2pdf, "to_png_data") and hasattr(img2pdf, "parse_png"):
    img2pdf.to_png_data = _png_data


@dataclass(frozen=True)
class LoadedSource:
    format: str  # pdf, tiff, jpeg, png
    pdf: pikepdf.Pdf  # one page per scanned sheet, the scan untouched


def sniff_format(path: Path) -> str:
    """The file's real format from its first bytes; the name alone is not trusted."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError as error:
        raise CorruptFile(f"không đọc được tệp ({error.strerror})") from error
    if not head:
        raise EmptyFile("tệp rỗng (0 byte)")
    # Some scanners write a few bytes of junk before %PDF; readers accept up to 1 KiB.
    if b"%PDF-" in head:
        return "pdf"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
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


def load_source(path: Path, *, max_pixels: int) -> LoadedSource:
    fmt = sniff_format(path)
    if fmt == "pdf":
        return LoadedSource(fmt, _load_pdf(path, max_pixels=max_pixels))
    return LoadedSource(fmt, _load_image(path, fmt, max_pixels=max_pixels))


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
    if x < _PLAUSIBLE_SCAN_DPI or y < _PLAUSIBLE_SCAN_DPI:
        return None
    return x, y


def _detail(error: Exception, path: Path) -> str:
    """The library's own words about the damage, without our staging path in them."""
    text = str(error).replace(f"'{path}'", "").replace(str(path), "").strip(" :")
    return f" ({text})" if text else ""


def _load_image(path: Path, fmt: str, *, max_pixels: int) -> pikepdf.Pdf:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about damage it then raises on
            image = Image.open(path)
        with image:
            size = image.size
            dpi = _scan_dpi(image)
            frames = getattr(image, "n_frames", 1)
            for index in range(frames):
                image.seek(index)
                _check_pixels(*image.size, max_pixels, f"trang {index + 1}")
            if image.format == "JPEG":
                # img2pdf keeps a JPEG's bytes without decoding them, so check its data now;
                # at 1/8 scale the decoder still reads the whole stream, 8x faster. PNG data
                # is read by img2pdf and Tesseract, TIFF frames when they are read for OCR.
                image.draft(image.mode, (size[0] // 8, size[1] // 8))
                image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        if isinstance(error, UnidentifiedImageError):
            raise CorruptFile(f"ảnh {fmt.upper()} hỏng: không đọc được cấu trúc tệp") from error
        raise CorruptFile(f"ảnh {fmt.upper()} hỏng hoặc bị cắt cụt{_detail(error, path)}") from error
    layout = {}
    if dpi is None:
        # No credible resolution tag (phone photo, some fax software): assume an A4 sheet
        # so the page has a sensible physical size and Tesseract a sensible scale.
        guess = max(_PLAUSIBLE_SCAN_DPI, min(size) / _A4_SHORT_SIDE_IN)
        layout = {"layout_fun": img2pdf.get_fixed_dpi_layout_fun((guess, guess))}
        log.info("%s: no resolution tag, assuming %.0f dpi", path.name, guess)
    try:
        data = img2pdf.convert(str(path), rotation=_rotation(fmt), nodate=True, **layout)
    except img2pdf.AlphaChannelError:
        data = _convert_flattened(path, layout)
    except Exception as error:  # img2pdf reports a malformed PNG or TIFF as a bare Exception
        raise CorruptFile(f"ảnh {fmt.upper()} hỏng hoặc bị cắt cụt{_detail(error, path)}") from error
    return pikepdf.open(io.BytesIO(data))


def _rotation(fmt: str) -> img2pdf.Rotation:
    """Honour an EXIF orientation (phones, some scanners) through the page's /Rotate.

    Not for PNG: Pillow decodes a whole PNG to look for an EXIF chunk, twice, which costs
    more than the OCR budget allows, and PNG scans do not carry one in practice.
    """
    return img2pdf.Rotation.none if fmt == "png" else img2pdf.Rotation.ifvalid


def _convert_flattened(path: Path, layout: dict) -> bytes:
    """PDF/A forbids nothing about alpha here, but img2pdf refuses it: a scan's alpha is
    meaningless, so lay the pixels on white paper and store them losslessly."""
    pages = []
    with Image.open(path) as image:
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, "white")
            flat.paste(rgba, mask=rgba.getchannel("A"))
            buffer = io.BytesIO()
            flat.save(buffer, format="PNG", dpi=image.info.get("dpi", (300, 300)))
            pages.append(buffer.getvalue())
    return img2pdf.convert(pages, nodate=True, **layout)


def _load_pdf(path: Path, *, max_pixels: int) -> pikepdf.Pdf:
    try:
        source = pikepdf.open(path)
    except pikepdf.PasswordError as error:
        raise EncryptedPdf("PDF có mật khẩu mở tệp; hãy gỡ mật khẩu rồi gửi lại") from error
    except pikepdf.PdfError as error:
        raise CorruptFile(f"PDF hỏng hoặc bị cắt cụt{_detail(error, path)}") from error
    if source.is_encrypted:
        # Opens without a password but carries restrictions: PDF/A forbids encryption,
        # and the original is archived untouched anyway.
        log.info("%s: PDF encryption without a user password removed in the PDF/A copy", path.name)
    try:
        _check_pdf_readable(source, max_pixels)
        pdf = pikepdf.new()
        pdf.pages.extend(source.pages)
    except pikepdf.PdfError as error:
        raise CorruptFile(f"PDF hỏng hoặc bị cắt cụt{_detail(error, path)}") from error
    return pdf


def _check_pdf_readable(source: pikepdf.Pdf, max_pixels: int) -> None:
    """qpdf silently repairs damaged files: decode every page and image to be sure."""
    if len(source.pages) == 0:
        raise CorruptFile("PDF không có trang nào")
    for number, page in enumerate(source.pages, start=1):
        xobjects = page.resources.get(Name.XObject, {})
        for operands, _ in pikepdf.parse_content_stream(page, "Do"):
            if operands[0] not in xobjects:
                raise CorruptFile(f"PDF hỏng hoặc bị cắt cụt: trang {number} thiếu ảnh {operands[0]}")
        for image in page.get_images().values():
            _check_pixels(int(image.Width), int(image.Height), max_pixels, f"trang {number}")
            _check_image_decodes(image, number)


def _check_image_decodes(image: pikepdf.Stream, page_number: int) -> None:
    try:
        if is_jpeg_stream(image):
            # As for a JPEG file: at 1/8 scale the decoder still reads the whole stream.
            pil = Image.open(io.BytesIO(image.read_raw_bytes()))
            pil.draft(pil.mode, (pil.size[0] // 8, pil.size[1] // 8))
        else:
            pil = pikepdf.PdfImage(image).as_pil_image()
        pil.load()
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
