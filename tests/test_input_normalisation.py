"""Issue 12 points 2 and 4: the archive copy is built from what the pages show, and a
damaged or truncated PDF is never shortened silently.

Ordinary scan PDFs carrying a thumbnail, private scanner data, a transition, an image
name, a form field, annotations, a JPEG 2000 image, a stray 1-bit mask or a scanner's text
layer in a font it did not embed are archived as valid PDF/A with every page, the choices
made recorded; a 3-page PDF cut short is refused with code "damaged", or archived with a ⚠
and the damage recorded under --accept-damaged. All through the real `sohoa` command.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import img2pdf
import numpy as np
import page as page_validator
import pikepdf
import pikepdf.pdfa
import pytest
from PIL import Image, features
from pikepdf import Array, Dictionary, Name

from core.pdf.xmp import extension_schema_findings, without_declared_extensions
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans

REAL_SCANS = Path(__file__).resolve().parents[2] / "shared" / "realscans"
SMALL_REAL = ("hau-giang-2010-36.pdf", "hau-giang-2010-47.pdf")  # one page each, ~250 KB
DPI = 100


# -- inputs, built here ------------------------------------------------------------------


def _scan_pdf(pages: int = 1) -> pikepdf.Pdf:
    """An image-only scan PDF (img2pdf: one JPEG page image per page)."""
    images = [scans.render_page("ke_hoach_42", i, dpi=DPI) if pages > 1 else scans.render_page("giay_moi_17", dpi=DPI)
              for i in range(pages)]
    jpegs = []
    for sample in images:
        buffer = io.BytesIO()
        sample.image.save(buffer, "JPEG", quality=85, dpi=(DPI, DPI))
        jpegs.append(buffer.getvalue())
    return pikepdf.open(io.BytesIO(img2pdf.convert(jpegs, nodate=True, engine=img2pdf.Engine.internal)))


def _appearance(pdf: pikepdf.Pdf, width: int, height: int) -> pikepdf.Stream:
    """A form's or an annotation's appearance: a red box and blue text in Helvetica (not
    embedded, as Acrobat's /Helv is)."""
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica,
                                        Encoding=Name.WinAnsiEncoding))
    stream = pdf.make_stream(b"q 1 0 0 RG 2 w 1 1 %d %d re S BT /Helv 12 Tf 0 0 1 rg 4 6 Td (Da duyet) Tj ET Q"
                             % (width - 2, height - 2))
    stream.Type, stream.Subtype, stream.BBox = Name.XObject, Name.Form, [0, 0, width, height]
    stream.Resources = Dictionary(Font=Dictionary(Helv=font))
    return stream


def with_page_extras(path: Path) -> Path:
    pdf = _scan_pdf()
    page = pdf.pages[0]
    thumb = pdf.make_stream(b"\x80" * (10 * 14))
    thumb.Type, thumb.Subtype, thumb.Width, thumb.Height = Name.XObject, Name.Image, 10, 14
    thumb.ColorSpace, thumb.BitsPerComponent = Name.DeviceGray, 8
    page.obj.Thumb = thumb
    page.obj.PieceInfo = Dictionary(AlarisCapture=Dictionary(LastModified=pikepdf.String("D:20100705"),
                                                             Private=Dictionary(Profile=pikepdf.String("Gray"))))
    page.obj.LastModified = pikepdf.String("D:20100705")
    page.obj.Trans = Dictionary(Type=Name.Trans, S=Name.Dissolve, D=1)
    for image in page.get_images().values():
        image.Name = Name.Im0  # the deprecated /Name of an image XObject
    pdf.save(path)
    return path


def with_form_field(path: Path) -> Path:
    pdf = _scan_pdf()
    page = pdf.pages[0]
    field = pdf.make_indirect(Dictionary(
        Type=Name.Annot, Subtype=Name.Widget, FT=Name.Tx, T=pikepdf.String("so_van_ban"),
        V=pikepdf.String("Da duyet"), Rect=[100, 40, 250, 64], F=4, P=page.obj,
        AP=Dictionary(N=_appearance(pdf, 150, 24)), DA=pikepdf.String("/Helv 12 Tf 0 g")))
    page.obj.Annots = pdf.make_indirect(Array([field]))
    pdf.Root.AcroForm = Dictionary(Fields=Array([field]), DA=pikepdf.String("/Helv 12 Tf 0 g"))
    pdf.save(path)
    return path


def with_annotations(path: Path) -> Path:
    """A typed FreeText annotation with an appearance, and a sticky note without one."""
    pdf = _scan_pdf()
    typed = pdf.make_indirect(Dictionary(
        Type=Name.Annot, Subtype=Name.FreeText, Rect=[100, 80, 250, 104], Contents=pikepdf.String("Da duyet"),
        DA=pikepdf.String("/Helv 12 Tf 0 0 1 rg"), AP=Dictionary(N=_appearance(pdf, 150, 24))))
    note = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Text, Rect=[20, 20, 40, 40],
                                        Contents=pikepdf.String("ghi chu")))
    pdf.pages[0].obj.Annots = Array([typed, note])
    pdf.save(path)
    return path


def with_jpx_image(path: Path) -> Path:
    image = scans.render_page("giay_moi_17", dpi=DPI).image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG2000", irreversible=True, quality_mode="rates", quality_layers=[40])
    path.write_bytes(img2pdf.convert(buffer.getvalue(), layout_fun=img2pdf.get_fixed_dpi_layout_fun((DPI, DPI)),
                                     nodate=True))
    return path


def with_stray_mask(path: Path) -> Path:
    """A 1-bit stencil mask of 6000 x 1000 pixels drawn over a 30 x 5 point speck: 14 400 dpi
    if it set the page's resolution (some 10 000 million pixels to OCR)."""
    pdf = _scan_pdf()
    page = pdf.pages[0]
    width, height = 6000, 1000
    mask = pdf.make_stream(bytes(((width + 7) // 8) * height))
    mask.Type, mask.Subtype, mask.Width, mask.Height = Name.XObject, Name.Image, width, height
    mask.ImageMask, mask.BitsPerComponent = True, 1
    page.obj.Resources.XObject.Mk0 = mask
    page.contents_add(pdf.make_stream(b"q 0 0 0 rg 30 0 0 5 10 10 cm /Mk0 Do Q"), prepend=False)
    pdf.save(path)
    return path


def with_scanner_text(path: Path) -> Path:
    """An invisible text layer (render mode 3) in a Times New Roman the scanner did not embed."""
    pdf = _scan_pdf()
    page = pdf.pages[0]
    font = pdf.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.TrueType, BaseFont=Name("/TimesNewRomanPSMT"), FirstChar=32, LastChar=126,
        Widths=Array([500] * 95), Encoding=Name.WinAnsiEncoding,
        FontDescriptor=Dictionary(Type=Name.FontDescriptor, FontName=Name("/TimesNewRomanPSMT"), Flags=34,
                                  FontBBox=[-568, -306, 2045, 1039], ItalicAngle=0, Ascent=891, Descent=-216,
                                  CapHeight=662, StemV=82)))
    page.obj.Resources.Font = Dictionary(F0=font)
    page.contents_add(pdf.make_stream(b"BT 3 Tr /F0 11 Tf 1 0 0 1 60 500 Tm (GIAY MOI Doc lap) Tj ET"), prepend=False)
    pdf.save(path)
    return path


def with_transfer_function(path: Path) -> Path:
    """A graphics state with a transfer function (/TR): PDF/A-2 forbids it (6.2.5) and
    nothing on the page can be mended to do without it: the page becomes an image of itself."""
    pdf = _scan_pdf()
    page = pdf.pages[0]
    page.obj.Resources.ExtGState = Dictionary(GS0=Dictionary(Type=Name.ExtGState, TR=Name.Identity))
    page.contents_add(pdf.make_stream(b"q /GS0 gs Q"), prepend=True)
    pdf.save(path)
    return path


def _three_page_pdf() -> tuple[bytes, list[int]]:
    """A 3-page scan PDF laid out as scanners write one: the page tree, then each page's
    dictionary, drawing and image in turn. The bytes and where each page's objects start."""
    objects, kids = [], []
    for i in range(3):
        sample = scans.render_page("ke_hoach_42", i, dpi=DPI)
        buffer = io.BytesIO()
        sample.image.save(buffer, "JPEG", quality=80)
        jpeg = buffer.getvalue()
        width, height = sample.image.size
        box = f"{width * 72 / DPI:.2f} 0 0 {height * 72 / DPI:.2f} 0 0"
        n = 3 + 3 * i
        kids.append(f"{n} 0 R")
        drawing = f"q {box} cm /Im0 Do Q".encode()
        objects += [
            (n, f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width * 72 / DPI:.2f} {height * 72 / DPI:.2f}] "
                f"/Contents {n + 1} 0 R /Resources << /XObject << /Im0 {n + 2} 0 R >> >> >>".encode()),
            (n + 1, b"<< /Length %d >>\nstream\n%s\nendstream" % (len(drawing), drawing)),
            (n + 2, b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                    b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % (width, height, len(jpeg))
             + jpeg + b"\nendstream"),
        ]
    head = [(1, b"<< /Type /Catalog /Pages 2 0 R >>"),
            (2, f"<< /Type /Pages /Count 3 /Kids [{' '.join(kids)}] >>".encode())]
    out, offsets, starts = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), {}, []
    for number, body in head + objects:
        if number in (3, 6, 9):
            starts.append(len(out))
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in sorted(offsets))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref)
    return bytes(out), starts


def cut_in_page_3_image(path: Path) -> Path:
    data, starts = _three_page_pdf()
    image = data.index(b"stream\n", data.index(b"/Subtype /Image", starts[2])) + 7
    path.write_bytes(data[: image + (len(data) - image) // 2])
    return path


def cut_after_page_1(path: Path) -> Path:
    """Cut inside page 2's dictionary: only page 1 survives qpdf's reconstruction."""
    data, starts = _three_page_pdf()
    path.write_bytes(data[: starts[1] + 40])
    return path


GOOD = {
    # file name: (writer, pages)
    "thumb-pieceinfo-trans.pdf": (with_page_extras, 1),
    "ô-biểu-mẫu.pdf": (with_form_field, 1),
    "chú-thích.pdf": (with_annotations, 1),
    "jpeg2000.pdf": (with_jpx_image, 1),
    "mặt-nạ-lạc.pdf": (with_stray_mask, 1),
    "lớp-chữ-máy-quét.pdf": (with_scanner_text, 1),
    "hàm-truyền.pdf": (with_transfer_function, 1),
}
DAMAGED = {
    # file name: (writer, pages declared, pages readable)
    "cắt-giữa-ảnh-trang-3.pdf": (cut_in_page_3_image, 3, 2),
    "chỉ-còn-trang-1.pdf": (cut_after_page_1, 3, 1),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for name, (writer, _) in GOOD.items():
        writer(folder / name)
    for name, (writer, _, _) in DAMAGED.items():
        writer(folder / name)
    for name in SMALL_REAL:
        shutil.copyfile(REAL_SCANS / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("normalisation") / "sohoa-data"
    assert run_sohoa(home, "init").returncode == 0
    return home


@pytest.fixture(scope="module")
def archived(home, inputs) -> dict[str, dict]:
    """Every good input and the two real scans, in one `sohoa ingest --json` run."""
    names = [*GOOD, *SMALL_REAL]
    done = run_sohoa(home, "ingest", "--json", *[str(inputs / name) for name in names])
    results = {Path(r["file"]).name: r for r in json_lines(done.stdout)}
    assert done.returncode == 0, (done.stderr, results)
    return results


def _shown(home: Path, document_id: int) -> dict:
    return json.loads(run_sohoa(home, "show", str(document_id), "--json").stdout)


# -- point 2: what the pages show is archived ----------------------------------------------


@pytest.mark.parametrize("name", [*GOOD, *SMALL_REAL])
def test_archived_as_valid_pdfa_with_every_page(archived, inputs, name):
    result = archived[name]
    assert result["status"] == "archived"
    with pikepdf.open(inputs / name) as source:
        assert result["pages"] == len(source.pages)
    pdfa = Path(result["pdfa"])
    with pikepdf.open(pdfa) as pdf:
        assert len(pdf.pages) == result["pages"]
        # no form field or annotation of the input is left; the agency's signature may be
        widgets = [a for p in pdf.pages for a in p.obj.get(Name.Annots, [])]
        assert all(a.get(Name.FT, a.get(Name.Parent, {}).get(Name.FT)) == Name.Sig for a in widgets)
    report = page_validator.validate_pdf(pdfa, profile="2u")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]
    checked = pikepdf.pdfa.validate_written(pdfa, "2b")
    # As tests/test_pdfa.py: pikepdf knows level B only (we declare U) and not PDF/A
    # extension schemas (core/pdf/xmp.py checks ours).
    with pikepdf.open(pdfa) as pdf:
        violations = without_declared_extensions([str(f) for f in checked.findings if f.kind == "violation"], pdf)
        assert extension_schema_findings(pdf) == []
    assert [v.split()[1] for v in violations] == ["ISO_19005_2:6.6.4-3"]
    # Only what pikepdf cannot look into: the agency's signature form (signing/pdfa.py)
    # and JPEG 2000 data (core/pdf/jpx.py); `page` above checks both.
    unchecked = [f for f in checked.findings if f.kind != "violation"]
    assert all("/AcroForm" in f"{f.where} {f.message}" or "JPEG 2000" in f.message for f in unchecked), unchecked


def test_page_extras_are_left_out_and_named(archived, home):
    shown = _shown(home, archived["thumb-pieceinfo-trans.pdf"]["id"])
    dropped = shown["metadata"]["input_changes"]["dropped"]
    assert set(dropped) == {"ảnh thu nhỏ (/Thumb)", "dữ liệu riêng của phần mềm quét (/PieceInfo)",
                            "hiệu ứng chuyển trang (/Trans)"}
    assert "/Name" in shown["metadata"]["input_changes"]["image_keys_dropped"]
    with pikepdf.open(shown["pdfa"]) as pdf:
        page = pdf.pages[0].obj
        assert not {Name.Thumb, Name.PieceInfo, Name.Trans} & set(page.keys())
        assert all(Name("/Name") not in image for image in pdf.pages[0].get_images().values())


def test_a_form_field_is_drawn_into_the_page_and_recorded(archived, home):
    shown = _shown(home, archived["ô-biểu-mẫu.pdf"]["id"])
    (field,) = shown["metadata"]["input_changes"]["form_fields"]
    assert field == {"kind": "form", "name": "so_van_ban", "value": "Da duyet", "page": 1, "choice": "flattened"}
    assert any(e["step"] == "normalised" and e["detail"]["form_fields"] for e in shown["events"])
    # Its Helvetica cannot be embedded from here: the page is an image of itself, OCR'd.
    assert shown["metadata"]["rasterised_pages"]["1"]["fonts"] == ["Helvetica"]
    assert shown["page_details"][0]["text_source"] != "existing"


def test_annotations_are_drawn_or_dropped_and_recorded(archived, home):
    shown = _shown(home, archived["chú-thích.pdf"]["id"])
    choices = {(a["type"], a["choice"]) for a in shown["metadata"]["input_changes"]["annotations"]}
    assert choices == {("FreeText", "flattened"), ("Text", "dropped")}
    note = next(a for a in shown["metadata"]["input_changes"]["annotations"] if a["type"] == "Text")
    assert note["text"] == "ghi chu"  # what the note said is kept in the record


def test_the_typed_annotation_shows_in_the_archive_copy(archived, inputs, home, tmp_path):
    """Flattened, not dropped: the annotation's red box is on the archived page."""
    from pdf2image import convert_from_path

    (image,) = convert_from_path(archived["chú-thích.pdf"]["pdfa"], dpi=72)
    box = np.asarray(image.convert("RGB").crop((100, image.height - 104, 250, image.height - 80))).astype(int)
    reds = int(((box[..., 0] > 180) & (box[..., 1] < 90) & (box[..., 2] < 90)).sum())
    assert reds > 100


@pytest.mark.skipif(not features.check("jpg_2000"), reason="Pillow without OpenJPEG")
def test_a_jpeg_2000_image_is_kept_as_it_is(archived, inputs):
    with pikepdf.open(inputs / "jpeg2000.pdf") as source:
        (before,) = source.pages[0].get_images().values()
        raw = before.read_raw_bytes()
    with pikepdf.open(archived["jpeg2000.pdf"]["pdfa"]) as pdf:
        images = list(pdf.pages[0].get_images().values())
        assert [i.Filter for i in images] == [Name.JPXDecode]
        assert images[0].read_raw_bytes() == raw


def test_a_stray_mask_does_not_set_the_pages_resolution(archived, home):
    shown = _shown(home, archived["mặt-nạ-lạc.pdf"]["id"])
    assert shown["page_details"][0]["dpi"] == pytest.approx(DPI, rel=0.02)


def test_a_scanners_text_in_an_unembedded_font_is_not_carried_over(archived, home):
    shown = _shown(home, archived["lớp-chữ-máy-quét.pdf"]["id"])
    assert shown["page_details"][0]["text_source"] == "redone-ocr"
    with pikepdf.open(shown["pdfa"]) as pdf:
        fonts = [str(f.get(Name.BaseFont)) for f in pdf.pages[0].resources.get(Name.Font, {}).values()]
        assert not any("Times" in font for font in fonts)


def test_a_page_that_cannot_be_carried_over_is_rasterised_at_its_resolution_and_ocrd(archived, home):
    shown = _shown(home, archived["hàm-truyền.pdf"]["id"])
    (why,) = shown["metadata"]["rasterised_pages"].values()
    assert any("/TR" in finding for finding in why["findings"])
    assert shown["page_details"][0]["dpi"] == pytest.approx(DPI, rel=0.02)
    assert shown["page_details"][0]["ocr_confidence"] is not None
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", shown["pdfa"], "-"], capture_output=True, text=True,
                          check=True).stdout
    assert len(text.split()) > 30  # its words are OCR'd into the text layer
    with pikepdf.open(shown["pdfa"]) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert abs(int(image.Width) - pdf.pages[0].mediabox[2] * DPI / 72) < 2  # its own resolution


# -- point 2: what truly cannot be archived is refused in one line --------------------------


def test_a_dynamic_xfa_form_is_refused_naming_the_cause(home, tmp_path):
    pdf = _scan_pdf()
    pdf.Root.AcroForm = Dictionary(Fields=Array([]), XFA=pdf.make_stream(b"<xdp:xdp/>"))
    pdf.Root.NeedsRendering = True
    pdf.save(tmp_path / "xfa.pdf")
    done = run_sohoa(home, "ingest", "--json", str(tmp_path / "xfa.pdf"))
    (result,) = json_lines(done.stdout)
    assert done.returncode == 1 and result["error"] == "not-pdfa"
    assert "XFA" in result["reason"] and "in ra PDF" in result["reason"]
    assert len(done.stderr.strip().splitlines()) == 1


# -- point 4: damaged files are never shortened silently ------------------------------------


def _documents(home: Path) -> int:
    with sqlite3.connect(home / "catalog.sqlite") as db:
        return db.execute("SELECT count(*) FROM documents").fetchone()[0]


@pytest.mark.parametrize("name", DAMAGED)
def test_a_truncated_pdf_is_refused_as_damaged(archived, home, inputs, name):
    _, declared, readable = DAMAGED[name]
    before = _documents(home)
    done = run_sohoa(home, "ingest", "--json", str(inputs / name))
    (result,) = json_lines(done.stdout)
    assert done.returncode == 1 and result["status"] == "failed" and result["error"] == "damaged"
    assert (f"PDF bị hỏng hoặc bị cắt cụt: khai báo {declared} trang nhưng chỉ đọc được {readable} trang; "
            "hãy quét lại hoặc chép lại tệp") in result["reason"]
    (line,) = done.stderr.strip().splitlines()
    assert name in line
    assert _documents(home) == before


@pytest.mark.parametrize("name", DAMAGED)
def test_a_truncated_pdf_accepted_is_archived_with_a_warning_and_the_damage_recorded(inputs, name, tmp_path):
    # A home of its own: archived here, the same bytes would be a duplicate to the refusal
    # test on the module's home when that runs after (tests run in random order).
    home = tmp_path / "sohoa-data"
    assert run_sohoa(home, "init").returncode == 0
    _, declared, readable = DAMAGED[name]
    done = run_sohoa(home, "ingest", "--accept-damaged", str(inputs / name))
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("⚠ ") and "✓" not in done.stdout and f"{readable} trang" in first
    assert f"khai báo {declared} trang" in done.stdout
    document_id = int(first.split("mã ")[1].split(",")[0])
    shown = _shown(home, document_id)
    damage = shown["metadata"]["damaged"]
    assert (damage["declared_pages"], damage["read_pages"], damage["needs_review"]) == (declared, readable, True)
    assert shown["pages"] == readable
    (event,) = [e for e in shown["events"] if e["step"] == "damaged"]
    assert event["outcome"] == "warning" and event["detail"]["declared_pages"] == declared
    assert page_validator.validate_pdf(shown["pdfa"], profile="2u").is_compliant


def test_the_whole_three_page_file_is_not_damaged(tmp_path):
    """The check can tell: the same file uncut loads whole, no damage."""
    from ocr.sources import load_source

    data, _ = _three_page_pdf()
    (tmp_path / "whole.pdf").write_bytes(data)
    loaded = load_source(tmp_path / "whole.pdf", max_pixels=250_000_000)
    assert len(loaded.pdf.pages) == 3 and loaded.damage is None


# -- point 4 in the watch service: a profile decides --------------------------------------


def test_the_watch_service_refuses_damage_or_archives_it_with_a_warning_as_the_profile_says(tmp_path):
    from tests.test_watch_support import Service, make_home, wait_settled

    home = make_home(tmp_path / "sohoa-data")
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[profiles.luu-tru]\n", "[profiles.luu-tru]\naccept_damaged = true\n", 1),
                      encoding="utf-8")
    cut_in_page_3_image(home / "inbox" / "van-ban-den" / "cắt.pdf")
    cut_in_page_3_image(home / "inbox" / "luu-tru" / "cắt.pdf")
    with Service(home) as service:
        rows = wait_settled(home, 2)
        output = service.output()
    by_profile = {row["source_path"].split("/")[0]: row for row in rows}
    assert by_profile["van-ban-den"]["state"] == "failed" and by_profile["van-ban-den"]["error_code"] == "damaged"
    assert by_profile["luu-tru"]["state"] == "done" and by_profile["luu-tru"]["page_count"] == 2
    assert "⚠ luu-tru/cắt.pdf → mã" in output and "✓ luu-tru/cắt.pdf" not in output
    assert "khai báo 3 trang, lưu 2 trang" in output
    shown = _shown(home, by_profile["luu-tru"]["document_id"])
    assert shown["metadata"]["damaged"]["declared_pages"] == 3
