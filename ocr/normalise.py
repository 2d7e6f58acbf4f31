"""The archive copy of a PDF is built from what its pages show, not from how it was made.

A scanner's or an office program's PDF carries things an archive copy does not need or
PDF/A forbids: thumbnails, private application data (/PieceInfo), slide transitions,
deprecated image names, form fields, annotations. None of it is a reason to refuse a
scan. Here, on the opened input before its pages are copied:

- forms and annotations that have an appearance are drawn into the page (qpdf's
  flattening: what a viewer shows is what the archive keeps); those without one, or that
  a viewer does not show, are dropped; every choice is returned for the record;
- page, image and form keys outside what a page needs to look as it does are dropped;
- a dynamic XFA form (its pages are drawn by Adobe's engine, the PDF holds a placeholder)
  is refused in one line: there is nothing on its pages to archive.

JPEG 2000 images are kept as they are (PDF/A-2 allows them; core/pdf/jpx.py checks its rules).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pikepdf
from pikepdf import Name

from ocr.errors import NotPdfaConvertible

log = logging.getLogger(__name__)

# What a page needs to look as it does (ISO 32000-1 Table 30); the rest is dropped.
_PAGE_KEYS = {Name.Type, Name.Parent, Name.Resources, Name.MediaBox, Name.CropBox, Name.BleedBox, Name.TrimBox,
              Name.ArtBox, Name.Rotate, Name.Contents, Name.Group, Name.UserUnit, Name.Annots}
# Named in the record as a clerk would know them; any other dropped key by its PDF name.
_PAGE_KEY_WORDS = {
    "/Thumb": "ảnh thu nhỏ (/Thumb)",
    "/PieceInfo": "dữ liệu riêng của phần mềm quét (/PieceInfo)",
    "/Trans": "hiệu ứng chuyển trang (/Trans)",
    "/AA": "hành động tự chạy (/AA)",
    "/Metadata": "siêu dữ liệu riêng của trang (/Metadata)",
}
# Image and form XObject keys that change nothing drawn and that PDF/A forbids or its
# validators do not know: the deprecated /Name (ImageName), OPI proxies, alternate images,
# PostScript, reference XObjects, private data.
_XOBJECT_DROPPED = (Name("/Name"), Name.OPI, Name.Alternates, Name.PieceInfo, Name.LastModified,
                    Name("/Subtype2"), Name.PS, Name.Ref, Name.Metadata, Name.StructParent, Name.StructParents,
                    Name.ID, Name.Interpolate)
# Annotation flags (ISO 32000-1 Table 165): Invisible, Hidden, NoView
_NOT_SHOWN = 1 | 2 | 32


@dataclass
class Normalised:
    """What was changed on the way to the archive copy, for the record and the audit trail."""

    dropped_keys: dict[str, list[int]] = field(default_factory=dict)  # key words -> page numbers
    forms: list[dict] = field(default_factory=list)  # {"name", "value", "page", "choice"}
    annotations: list[dict] = field(default_factory=list)  # {"type", "page", "choice", "text"?}
    xobject_keys: set[str] = field(default_factory=set)

    def as_detail(self) -> dict:
        detail = {}
        if self.dropped_keys:
            detail["dropped"] = {key: pages for key, pages in sorted(self.dropped_keys.items())}
        if self.xobject_keys:
            detail["image_keys_dropped"] = sorted(self.xobject_keys)
        if self.forms:
            detail["form_fields"] = self.forms
        if self.annotations:
            detail["annotations"] = self.annotations
        return detail

    def notes(self) -> list[str]:
        """One Vietnamese line per kind of change (sohoa show, the audit trail)."""
        lines = []
        if self.dropped_keys:
            lines.append("bản PDF/A bỏ phần không thuộc nội dung trang: " + ", ".join(sorted(self.dropped_keys)))
        for choice, word in (("flattened", "vẽ vào trang"), ("dropped", "bỏ")):
            forms = [f["name"] for f in self.forms if f["choice"] == choice]
            if forms:
                lines.append(f"ô biểu mẫu {word}: {', '.join(forms)}")
            annots = [a["type"] for a in self.annotations if a["choice"] == choice]
            if annots:
                lines.append(f"chú thích {word}: {', '.join(annots)}")
        return lines


def refuse_dynamic_xfa(source: pikepdf.Pdf) -> None:
    """A dynamic XFA form's pages are drawn by Adobe's XFA engine from the XML it carries;
    the PDF pages hold only a placeholder ("Please wait..."). Nothing on them to archive."""
    form = source.Root.get(Name.AcroForm)
    if not isinstance(form, pikepdf.Dictionary) or Name.XFA not in form:
        return
    fields = form.get(Name.Fields)
    dynamic = bool(source.Root.get(Name.NeedsRendering, False)) or not fields
    if dynamic:
        raise NotPdfaConvertible(
            "biểu mẫu XFA động: nội dung trang chỉ được phần mềm Adobe dựng khi mở, tệp không có nội dung "
            "trang để lưu; hãy mở bằng Adobe Reader, in ra PDF (Microsoft Print to PDF) rồi gửi lại")


def normalise(source: pikepdf.Pdf) -> Normalised:
    """Change the opened input in place so that its pages carry only what they show."""
    done = Normalised()
    refuse_dynamic_xfa(source)
    _flatten(source, done)
    for number, page in enumerate(source.pages, start=1):
        for key in list(page.obj.keys()):
            if Name(key) in _PAGE_KEYS:
                continue
            if key != "/StructParents" and key != "/LastModified":  # bookkeeping, nothing to say
                done.dropped_keys.setdefault(_PAGE_KEY_WORDS.get(key, key), []).append(number)
            del page.obj[key]
        _clean_xobjects(page.obj.get(Name.Resources), done, set(), 0)
    return done


def _flatten(source: pikepdf.Pdf, done: Normalised) -> None:
    """Draw the appearance of what a viewer shows into the page; drop the rest."""
    form = source.Root.get(Name.AcroForm)
    if isinstance(form, pikepdf.Dictionary):
        if Name.XFA in form:
            del form[Name.XFA]  # a static XFA form: its AcroForm fields draw the same pages
        if form.get(Name.NeedAppearances, False):
            try:
                source.generate_appearance_streams()  # qpdf draws text and choice fields' values
            except pikepdf.PdfError as error:
                log.info("form appearances could not be generated: %s", error)
    # What each annotation is, before qpdf flattens (and removes) those with an appearance.
    before = []
    for number, page in enumerate(source.pages, start=1):
        for annot in _annotations(page):
            before.append((number, annot, _describe(annot)))
    if not before:
        if Name.AcroForm in source.Root:
            del source.Root[Name.AcroForm]
        return
    # Hidden ones first: qpdf's "screen" mode would skip them, but they must not stay either.
    for page in source.pages:
        annots = _annotations(page)
        shown = [a for a in annots if not int(a.get(Name.F, 0)) & _NOT_SHOWN]
        if len(shown) != len(annots):
            page.obj.Annots = pikepdf.Array(shown)
    source.flatten_annotations("screen")
    remaining = {a.objgen for page in source.pages for a in _annotations(page) if a.is_indirect}
    remaining_ids = {id(a) for page in source.pages for a in _annotations(page) if not a.is_indirect}
    for number, annot, description in before:
        kept = (annot.objgen in remaining) if annot.is_indirect else (id(annot) in remaining_ids)
        hidden = bool(int(annot.get(Name.F, 0)) & _NOT_SHOWN)
        has_appearance = isinstance(annot.get(Name.AP), pikepdf.Dictionary)
        choice = "dropped" if kept or hidden or not has_appearance else "flattened"
        reason = ("ẩn, không hiện trên trang" if hidden else
                  "không có hình hiển thị" if kept or not has_appearance else None)
        entry = {**description, "page": number, "choice": choice, **({"reason": reason} if reason else {})}
        (done.forms if description.get("kind") == "form" else done.annotations).append(entry)
    for page in source.pages:
        if Name.Annots in page.obj:
            del page.obj[Name.Annots]
    if Name.AcroForm in source.Root:
        del source.Root[Name.AcroForm]


def _annotations(page: pikepdf.Page) -> list:
    annots = page.obj.get(Name.Annots)
    if not isinstance(annots, pikepdf.Array):
        return []
    return [a for a in annots if isinstance(a, pikepdf.Dictionary)]


def _text(value) -> str | None:
    if isinstance(value, pikepdf.String):
        return str(value)[:500]
    return None


def _describe(annot: pikepdf.Dictionary) -> dict:
    subtype = str(annot.get(Name.Subtype, "/?"))[1:]
    if subtype == "Widget":
        name, value, node = [], None, annot
        for _ in range(32):  # a field's full name is its parents' names joined by dots
            if Name.T in node:
                name.insert(0, str(node.T))
            if value is None and Name.V in node:
                value = node.V
            if not isinstance(node.get(Name.Parent), pikepdf.Dictionary):
                break
            node = node.Parent
        shown = _text(value) if isinstance(value, pikepdf.String) else (str(value)[1:] if isinstance(value, Name) else None)
        return {"kind": "form", "name": ".".join(name) or "(không tên)", **({"value": shown} if shown else {})}
    detail = {"kind": "annotation", "type": subtype}
    text = _text(annot.get(Name.Contents))
    if text:
        detail["text"] = text
    action = annot.get(Name.A)
    if isinstance(action, pikepdf.Dictionary) and isinstance(action.get(Name.URI), pikepdf.String):
        detail["uri"] = str(action.URI)[:500]
    return detail


def _clean_xobjects(resources, done: Normalised, seen: set, depth: int) -> None:
    if not isinstance(resources, pikepdf.Dictionary) or depth > 8:
        return
    xobjects = resources.get(Name.XObject)
    if not isinstance(xobjects, pikepdf.Dictionary):
        return
    for xobject in xobjects.values():
        if not isinstance(xobject, pikepdf.Stream) or xobject.objgen in seen:
            continue
        if xobject.is_indirect:
            seen.add(xobject.objgen)
        for stream in (xobject, xobject.get(Name.SMask), xobject.get(Name.Mask)):
            if not isinstance(stream, pikepdf.Stream):
                continue
            for key in _XOBJECT_DROPPED:
                if key in stream:
                    if key != Name.Interpolate or bool(stream[key]):
                        done.xobject_keys.add(str(key))
                    del stream[key]
        if xobject.get(Name.Subtype) == Name.Form:
            _clean_xobjects(xobject.get(Name.Resources), done, seen, depth + 1)


def unembedded_fonts(page: pikepdf.Page) -> list[str]:
    """The page's fonts (its own and its forms') whose program is not in the file. PDF/A
    needs every font a page uses embedded; a font cannot be embedded from here (which
    Times New Roman did the scanner mean?), so such a page loses its text layer (an
    invisible scanner layer, redone by OCR) or is rasterised (visible text)."""
    found: list[str] = []
    _fonts(page.obj.get(Name.Resources), found, set(), 0)
    return found


def _embedded(font: pikepdf.Dictionary) -> bool:
    if font.get(Name.Subtype) == Name.Type3:
        return True  # its glyphs are drawings in the file
    if font.get(Name.Subtype) == Name.Type0:
        descendants = font.get(Name.DescendantFonts)
        if not isinstance(descendants, pikepdf.Array) or not len(descendants):
            return False
        font = descendants[0]
    descriptor = font.get(Name.FontDescriptor)
    return isinstance(descriptor, pikepdf.Dictionary) and any(
        key in descriptor for key in (Name.FontFile, Name.FontFile2, Name.FontFile3))


def _fonts(resources, found: list, seen: set, depth: int) -> None:
    if not isinstance(resources, pikepdf.Dictionary) or depth > 8:
        return
    fonts = resources.get(Name.Font)
    if isinstance(fonts, pikepdf.Dictionary):
        for name, font in fonts.items():
            if isinstance(font, pikepdf.Dictionary) and not _embedded(font):
                found.append(str(font.get(Name.BaseFont, name))[1:])
    xobjects = resources.get(Name.XObject)
    if isinstance(xobjects, pikepdf.Dictionary):
        for xobject in xobjects.values():
            if isinstance(xobject, pikepdf.Stream) and xobject.get(Name.Subtype) == Name.Form:
                if xobject.is_indirect:
                    if xobject.objgen in seen:
                        continue
                    seen.add(xobject.objgen)
                _fonts(xobject.get(Name.Resources), found, seen, depth + 1)


def pages_not_carried(pdf: pikepdf.Pdf) -> dict[int, list[str]]:
    """Pages (0-based) that would not pass as PDF/A-2 as they are, with pikepdf.pdfa's
    words: what normalise() could not mend (a transfer function, a PostScript form, a font
    that maps no glyph to Unicode ...). Such a page is carried over as an image of itself.

    pikepdf.pdfa.check looks at the document in memory as it would be written (about 0.1 s
    a page); its findings name objects, mapped here to the pages that reach them. What no
    page reaches (the catalog, the metadata not yet written) is write_pdfa's to settle.
    """
    import pikepdf.pdfa

    from core.pdf.jpx import without_checked_jpx

    try:
        # As write_pdfa will: the sRGB output intent (device colour is judged against it), XMP.
        pikepdf.pdfa.prepare(pdf, "2b", output_intent="sRGB")
        report = pikepdf.pdfa.check(pdf, "2b")
    except Exception as error:  # an odd document the check cannot take: write_pdfa judges it
        log.warning("PDF/A pre-check not made: %s: %s", type(error).__name__, error)
        return {}
    flagged: dict[tuple[int, int], list[str]] = {}
    for finding in report.findings:
        words = str(finding.where).split()
        if len(words) < 3 or words[0] != "obj" or not (words[1].isdigit() and words[2].isdigit()):
            continue
        if not without_checked_jpx([finding.message]):
            continue  # JPEG 2000 data: core/pdf/jpx.py's to check, after writing
        flagged.setdefault((int(words[1]), int(words[2])), []).append(f"{finding.rule}: {finding.message}")
    if not flagged:
        return {}
    found = {}
    for index, page in enumerate(pdf.pages):
        reasons = [r for objgen in _reachable(page.obj) if objgen in flagged for r in flagged[objgen]]
        if reasons:
            found[index] = sorted(set(reasons))
    return found


def _reachable(obj, limit: int = 100_000) -> set[tuple[int, int]]:
    """The indirect objects a page reaches (not through /Parent)."""
    seen: set[tuple[int, int]] = set()
    todo = [obj]
    while todo and len(seen) < limit:
        item = todo.pop()
        if isinstance(item, (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)):
            if item.is_indirect:
                if item.objgen in seen:
                    continue
                seen.add(item.objgen)
            if isinstance(item, pikepdf.Array):
                todo.extend(item)
            else:
                todo.extend(value for key, value in item.items() if key != "/Parent")
    return seen
