"""The header reader: number, date, type, summary, bodies, signer ... of a Vietnamese
administrative document, read from its OCR'd pages as Nghị định 30/2020 lays them out.

    read_header(pages) -> DocumentHeader    # pages: the OcrPage of each page, None if not OCR'd
    read_header(pages, document_types)      # with the home's types (core.lookup), not the static table

Steps, each in its own module:
  layout.py      OCR words onto the upright page; the zones (header columns, heading,
                 closing columns) found from anchors (Quốc hiệu, `Số:`, `ngày ... tháng ...`,
                 `Nơi nhận:`) rather than from fixed positions;
  readers.py     one reader per field, on the rows of its zone;
  text.py        repairs of OCR damage (digits, diacritics of known capitals, spacing);
  vocabulary.py  types and symbols, marks, authority prefixes, bodies, provinces;
  fields.py      the result: each field with its confidence, page and box.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.ocr_results import OcrPage
from header.fields import FIELD_NAMES, LIST_FIELDS, REQUIRED, DocumentHeader, HeaderField
from header.layout import find_closing, find_header, page_text
from header.vocabulary import STATIC_TYPES, type_table
from header.readers import (
    find_heading,
    nfc_fields,
    read_addressees,
    read_bodies,
    read_date,
    read_marks,
    read_number,
    read_number_line,
    read_recipients,
    read_signer,
    read_type_and_summary,
)

__all__ = ["FIELD_NAMES", "LIST_FIELDS", "REQUIRED", "DocumentHeader", "HeaderField", "read_header"]


def read_header(pages: Sequence[OcrPage | None], document_types: Mapping[str, str] | None = None) -> DocumentHeader:
    """Read the header fields from the first page with text and the closing fields (signer,
    recipients) from the last; pages without OCR (None) or without text are skipped.
    document_types: symbol -> name as the home keeps them (core.lookup); the static table
    of Nghị định 30 when None."""
    readable = [(number, page) for number, page in enumerate(pages, start=1)
                if page is not None and page.lines and not page.blank]
    if not readable:
        return DocumentHeader({})
    first = page_text(readable[0][1], readable[0][0])
    last = page_text(readable[-1][1], readable[-1][0]) if len(readable) > 1 else first

    fields = {}
    header = find_header(first)
    fields.update(read_date(header))
    fields.update(read_bodies(header, _value(fields, "place")))
    fields.update(read_marks(header))
    types = STATIC_TYPES if document_types is None else type_table(document_types)
    heading, heading_type, heading_factor = find_heading(header, types)
    bodies = [_value(fields, "issuing_body"), _value(fields, "parent_body")]
    fields.update(read_number(header, heading_type, bodies, types))
    if "number" not in fields:  # no `Số:` row found: a `Số:` line above the body, if any
        fields.update(read_number_line("\n".join(page.text for _, page in readable)))
    fields.update(read_type_and_summary(header, heading, heading_type, heading_factor, _value(fields, "symbol"), types))
    fields.update(read_addressees(header))

    closing = find_closing(last)
    fields.update(read_signer(closing))
    fields.update(read_recipients(closing))
    return DocumentHeader(nfc_fields(fields))


def _value(fields: dict[str, HeaderField], name: str):
    found = fields.get(name)
    return None if found is None else found.value
