"""A scanner's invisible OCR layer is replaced by sohoa's own OCR (as OCRmyPDF's --redo-ocr);
the visible text of a born-digital page is kept; the record says which, page by page."""

import json
import subprocess
import unicodedata
from pathlib import Path

import page as page_validator
import pikepdf
import pytest
from fontTools.ttLib import TTFont
from pikepdf import Name
from PIL import Image, ImageChops

from ocr.scannertext import INVISIBLE, VISIBLE, strip_invisible_text, text_layer_kind
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans

REAL_SCANS = Path(__file__).resolve().parents[2] / "shared" / "realscans"
SERIF = scans.FONT_DIR / "LiberationSerif-Regular.ttf"

# What a poor scanner OCR makes of the words (the Alaris layers have "Dộc lập", "VỊ Thanh")
WRONG = {"Độc": "Dộc", "Định,": "Dịnh,", "ngày": "ngảy", "tháng": "thàng", "dụng": "dựng"}


def _pdftotext(path) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True).stdout
    return unicodedata.normalize("NFC", out.decode("utf-8"))


def _ingest(home, source):
    if not (home / "config.toml").exists():
        assert run_sohoa(home, "init").returncode == 0
    return run_sohoa(home, "ingest", "--json", str(source))


def _show(home, document_id) -> dict:
    return json.loads(run_sohoa(home, "show", str(document_id), "--json").stdout)


def _image_streams(path) -> list[bytes]:
    """The raw bytes of every image the pages draw (in forms too), in a stable order."""
    found = []
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream) and obj.get(Name.Subtype) == Name.Image:
                found.append(obj.read_raw_bytes())
    return sorted(found)


def _with_wrong_words(source: Path, target: Path) -> Path:
    """The Tesseract layer (GlyphLessFont, two-byte codes = Unicode) with words misread."""
    with pikepdf.open(source) as pdf:
        page = pdf.pages[0]
        instructions = []
        for operands, operator in pikepdf.parse_content_stream(page):
            if str(operator) == "TJ":
                parts = []
                for part in operands[0]:
                    if isinstance(part, pikepdf.String):
                        word = unicodedata.normalize("NFC", bytes(part).decode("utf-16-be")).strip()
                        if word in WRONG:
                            part = pikepdf.String(WRONG[word].encode("utf-16-be"))
                    parts.append(part)
                operands = [pikepdf.Array(parts)]
            instructions.append(pikepdf.ContentStreamInstruction(operands, operator))
        page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))
        pdf.save(target)
    return target


def _born_digital(path: Path, lines: list[str]) -> Path:
    """A page of visible text in an embedded TrueType font (Liberation Serif, WinAnsi), as
    an office program writes it: no image at all."""
    font_file = TTFont(SERIF)
    scale = 1000 / font_file["head"].unitsPerEm
    cmap, hmtx = font_file.getBestCmap(), font_file["hmtx"]
    widths = [round(hmtx[cmap[c]][0] * scale) if c in cmap else 0 for c in range(32, 127)]
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    program = pdf.make_stream(SERIF.read_bytes())
    program.Length1 = SERIF.stat().st_size
    descriptor = pikepdf.Dictionary(Type=Name.FontDescriptor, FontName=Name("/LiberationSerif"), Flags=34,
                                    FontBBox=[-543, -303, 1278, 981], ItalicAngle=0, Ascent=891, Descent=-216,
                                    CapHeight=662, StemV=80, FontFile2=program)
    font = pikepdf.Dictionary(Type=Name.Font, Subtype=Name.TrueType, BaseFont=Name("/LiberationSerif"),
                              FirstChar=32, LastChar=126, Widths=widths,
                              FontDescriptor=pdf.make_indirect(descriptor), Encoding=Name.WinAnsiEncoding)
    page = pdf.pages[0]
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pdf.make_indirect(font)))
    drawing = ["BT /F1 13 Tf 16 TL 72 740 Td"]
    drawing += [f"({line}) '" for line in lines]
    drawing.append("ET")
    page.obj.Contents = pdf.make_stream("\n".join(drawing).encode("ascii"))
    pdf.save(path)
    return path


def test_a_scanners_wrong_invisible_layer_is_replaced_by_our_reading(tmp_path):
    home = tmp_path / "home"
    page = scans.render_page("cong_van_268", dpi=150)
    searchable = scans.write_searchable_pdf(tmp_path / "tesseract.pdf", page)
    source = _with_wrong_words(searchable, tmp_path / "máy-quét-đã-ocr.pdf")
    before = _pdftotext(source)
    assert "Dộc lập" in before and "Dịnh," in before  # the scanner's misreadings are there
    done = _ingest(home, source)
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    after = _pdftotext(result["pdfa"])
    assert "Độc lập" in after and "Bình Định" in after and "268/SGTVT-VP" in after
    for wrong in WRONG.values():
        assert wrong not in after
    # one text layer: the page's words once, not twice
    assert after.count("268/SGTVT-VP") == 1
    shown = _show(home, result["id"])
    assert [p["text_source"] for p in shown["page_details"]] == ["redone-ocr"]
    assert result["metadata"]["text_source"] == "redone-ocr"
    loaded = next(e for e in shown["events"] if e["step"] == "loaded")
    assert loaded["detail"]["redone_text_pages"] == [1]
    assert "nhận dạng lại" in run_sohoa(home, "show", str(result["id"])).stdout
    # the page image is the scan's, byte for byte
    assert _image_streams(result["pdfa"]) == _image_streams(source)


def test_a_born_digital_page_keeps_its_visible_text(tmp_path):
    home = tmp_path / "home"
    lines = ["CONG VAN SO 42/UBND-VP", "Ve viec kiem ke tai san cuoi nam",
             "Kinh gui: cac phong chuyen mon thuoc Uy ban"]
    source = _born_digital(tmp_path / "soạn-trên-máy.pdf", lines)
    assert " ".join(_pdftotext(source).split()) == " ".join(lines)
    done = _ingest(home, source)
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    shown = _show(home, result["id"])
    assert [p["text_source"] for p in shown["page_details"]] == ["kept"]
    steps = {e["step"]: e for e in shown["events"]}
    assert steps["ocr"]["outcome"] == "skipped"
    text = _pdftotext(result["pdfa"])
    for line in lines:
        assert line in text
    # the same drawing instructions: nothing was taken out of the page
    with pikepdf.open(source) as before, pikepdf.open(result["pdfa"]) as after:
        kept = pikepdf.unparse_content_stream(pikepdf.parse_content_stream(before.pages[0]))
        assert kept in pikepdf.unparse_content_stream(pikepdf.parse_content_stream(after.pages[0]))


@pytest.mark.skipif(not REAL_SCANS.is_dir(), reason="../shared/realscans not present")
def test_a_real_alaris_scan_gets_our_reading_instead_of_the_scanners(tmp_path):
    """hau-giang-2010-21.pdf, one page: its Alaris layer (Times New Roman, Identity-H, Tr 3)
    reads "XÃ HÔI", "VỊ Thanh", "máy vãn phòng"."""
    source = REAL_SCANS / "hau-giang-2010-21.pdf"
    before = " ".join(_pdftotext(source).split())
    assert "XÃ HÔI" in before and "VỊ Thanh" in before and "vãn phòng" in before
    home = tmp_path / "home"
    done = _ingest(home, source)
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    after = " ".join(_pdftotext(result["pdfa"]).split())
    for wrong in ("XÃ HÔI", "VỊ Thanh", "vãn phòng"):
        assert wrong not in after
    for right in ("Độc lập", "XÃ HỘI CHỦ NGHĨA", "Vị Thanh", "máy văn phòng", "Hậu Giang"):
        assert right in after
    assert [p["text_source"] for p in _show(home, result["id"])["page_details"]] == ["redone-ocr"]
    assert _image_streams(result["pdfa"]) == _image_streams(source)
    with pikepdf.open(result["pdfa"]) as pdf:
        # the scanner's Times New Roman went with its layer; only sohoa's text font is left
        fonts = {str(f.get(Name.BaseFont)) for f in pdf.pages[0].resources.get(Name.Font, {}).values()}
        assert not any("TimesNewRoman" in f for f in fonts), fonts
    report = page_validator.validate_pdf(Path(result["pdfa"]), profile="2u")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]


# -- the page taken apart, without OCR --------------------------------------------------


def _page_with(drawing: bytes, image: bool = True) -> pikepdf.Pdf:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0]
    font = pikepdf.Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pdf.make_indirect(font)))
    if image:
        scan = pdf.make_stream(b"\x80" * (60 * 85), Type=Name.XObject, Subtype=Name.Image, Width=60, Height=85,
                               ColorSpace=Name.DeviceGray, BitsPerComponent=8)
        resources.XObject = pikepdf.Dictionary(Im0=scan)
    page.obj.Resources = resources
    page.obj.Contents = pdf.make_stream(drawing)
    return pdf


def test_text_under_a_page_sized_image_counts_as_invisible_and_goes():
    pdf = _page_with(b"BT /F1 12 Tf 72 700 Td (Dooc lap) Tj ET q 595 0 0 842 0 0 cm /Im0 Do Q")
    page = pdf.pages[0]
    assert text_layer_kind(page) == INVISIBLE
    image = page.resources.XObject.Im0.read_raw_bytes()
    assert strip_invisible_text(page)
    assert b"Tj" not in page.obj.Contents.read_bytes() and b"/Im0 Do" in page.obj.Contents.read_bytes()
    assert Name.Font not in page.resources  # the font only the old layer used went with it
    assert page.resources.XObject.Im0.read_raw_bytes() == image


def test_visible_text_beside_an_invisible_layer_keeps_the_page_as_it_is():
    drawing = (b"q 595 0 0 842 0 0 cm /Im0 Do Q BT 3 Tr /F1 12 Tf 72 700 Td (ocr) Tj ET "
               b"BT 0 Tr /F1 12 Tf 72 600 Td (Typed note) Tj ET")
    pdf = _page_with(drawing)
    assert text_layer_kind(pdf.pages[0]) == VISIBLE
    assert not strip_invisible_text(pdf.pages[0])
    assert pdf.pages[0].obj.Contents.read_bytes() == drawing


@pytest.mark.skipif(not REAL_SCANS.is_dir(), reason="../shared/realscans not present")
def test_taking_the_alaris_layer_out_leaves_every_pixel_of_the_page(tmp_path):
    """Alaris sets the fill colour of the JBIG2 text mask inside its text object: that
    setting stays, so the page looks exactly as before."""
    source = REAL_SCANS / "hau-giang-2010-21.pdf"
    stripped = tmp_path / "stripped.pdf"
    with pikepdf.open(source) as pdf:
        assert strip_invisible_text(pdf.pages[0])
        pdf.save(stripped)
    assert _pdftotext(stripped).strip() == ""
    for path in (source, stripped):
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", str(path), str(tmp_path / path.stem)],
                       check=True, capture_output=True)
    before, after = (Image.open(tmp_path / f"{p.stem}.png").convert("RGB") for p in (source, stripped))
    assert ImageChops.difference(before, after).getbbox() is None
