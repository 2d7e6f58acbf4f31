"""A record's metadata (the catalog's `metadata_json`, the sidecar's `metadata`) as one typed,
immutable object with one serialisation.

The keys are the ones ingest, `sohoa set`, withdrawal and the Thông tư 05 record really write;
readers take the typed attributes instead of guessing spellings. A key this version does not
know (a watch profile's own default, a home written by an older or newer sohoa) is kept in
`extra` and written back unchanged; so is a known key whose stored value is not of its type.
A known key stored as null stays null (`nulls`). Text is NFC on the way out.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class SignatureLevel(enum.StrEnum):
    """The PAdES level of the agency's signature, as the signing step records it."""

    B_B = "PAdES B-B"
    B_T = "PAdES B-T"
    B_LT = "PAdES B-LT"
    B_LTA = "PAdES B-LTA"

    @classmethod
    def parse(cls, value: object) -> SignatureLevel | None:
        """The level from "PAdES B-LTA" or "B-LTA"; None for anything else."""
        if not isinstance(value, str):
            return None
        text = value.strip()
        text = text if text.startswith("PAdES ") else f"PAdES {text}"
        try:
            return cls(text)
        except ValueError:
            return None


_TEXT, _INT, _TEXTS, _INTS, _MAP = "text", "int", "texts", "ints", "map"


def _kind(**kinds: str) -> dict[str, str]:
    return kinds


# Every key the catalog's metadata_json holds, with the JSON kind of its value.
KINDS = _kind(
    # ingest (pipeline/ingest.py _found_metadata)
    title=_TEXT,  # the original file name (the index shows the summary once known)
    language=_TEXT, agency=_TEXT, page_count=_INT, text_source=_TEXT, blank_pages=_INTS,
    # the header reader's fields (header/fields.py FIELD_NAMES), each under its own key
    number=_TEXT, serial=_TEXT, symbol=_TEXT, number_year=_TEXT, issue_date=_TEXT, place=_TEXT,
    doc_type=_TEXT, summary=_TEXT, summary_prefix=_TEXT, issuing_body=_TEXT, parent_body=_TEXT,
    signer_name=_TEXT, signer_title=_TEXT, signer_authority=_TEXT, addressees=_TEXTS, recipients=_TEXTS,
    urgency=_TEXT, confidentiality=_TEXT, circulation=_TEXT,
    header=_MAP,  # every field's detail: value, confidence, page, box, source
    review=_TEXTS,  # fields read with too little confidence
    # what the archive copy did with the input (ocr/normalise.py, ocr/damage.py)
    input_changes=_MAP, rasterised_pages=_MAP, damaged=_MAP,
    needs_review=_TEXTS,  # junk archived all the same, with the reasons
    # a watch profile's defaults and the job that brought the file
    profile=_TEXT, register=_TEXT, intake=_MAP,
    # Thông tư 05 codes and notes given before the record is made (a profile, [metadata]):
    # header/record.py archival_record takes them over its defaults
    retention=_TEXT, access_mode=_TEXT, reliability=_TEXT, physical_state=_TEXT, information_code=_TEXT,
    annotations=_TEXT, backup_mode=_TEXT, backup_state=_TEXT, notes=_TEXT,
    # the agency's signature level, written at ingest: what timestamp renewal selects on
    signature_level=_TEXT,
    # the catalog's own
    duplicate_of=_INTS, record=_MAP,
)


def _fits(kind: str, value: object) -> bool:
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _TEXTS:
        return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    if kind == _INTS:
        return isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    return isinstance(value, Mapping)


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, Mapping):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nfc(v) for v in value]
    return value


@dataclass(frozen=True)
class RecordMetadata:
    title: str | None = None
    language: str | None = None
    agency: str | None = None
    page_count: int | None = None
    text_source: str | None = None
    blank_pages: tuple[int, ...] | None = None
    number: str | None = None
    serial: str | None = None
    symbol: str | None = None
    number_year: str | None = None
    issue_date: str | None = None  # ISO 8601 as read; `date` parses it
    place: str | None = None
    doc_type: str | None = None
    summary: str | None = None
    summary_prefix: str | None = None
    issuing_body: str | None = None
    parent_body: str | None = None
    signer_name: str | None = None
    signer_title: str | None = None
    signer_authority: str | None = None
    addressees: tuple[str, ...] | None = None
    recipients: tuple[str, ...] | None = None
    urgency: str | None = None
    confidentiality: str | None = None
    circulation: str | None = None
    header: Mapping[str, Any] | None = None
    review: tuple[str, ...] | None = None
    input_changes: Mapping[str, Any] | None = None
    rasterised_pages: Mapping[str, Any] | None = None
    damaged: Mapping[str, Any] | None = None
    needs_review: tuple[str, ...] | None = None
    profile: str | None = None
    register: str | None = None
    intake: Mapping[str, Any] | None = None
    retention: str | None = None
    access_mode: str | None = None
    reliability: str | None = None
    physical_state: str | None = None
    information_code: str | None = None
    annotations: str | None = None
    backup_mode: str | None = None
    backup_state: str | None = None
    notes: str | None = None
    signature_level: str | None = None
    duplicate_of: tuple[int, ...] | None = None
    record: Mapping[str, Any] | None = None
    # keys this version does not know, or known keys holding a value not of their type
    extra: Mapping[str, Any] = field(default_factory=dict)
    # known keys stored as an explicit null
    nulls: frozenset[str] = frozenset()

    # -- the one serialisation --------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RecordMetadata:
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        nulls = set()
        for key, value in data.items():
            kind = KINDS.get(key)
            if kind is not None and value is None:
                nulls.add(key)
            elif kind is not None and _fits(kind, value):
                values[key] = tuple(value) if kind in (_TEXTS, _INTS) else copy.deepcopy(value)
            else:
                extra[key] = copy.deepcopy(value)
        return cls(**_nfc_values(values), extra=_nfc(extra), nulls=frozenset(nulls))

    @classmethod
    def from_json(cls, text: str | bytes | None) -> RecordMetadata:
        """The stored JSON read back; an empty or non-object value reads as no metadata."""
        data = json.loads(text) if text else {}
        return cls.from_mapping(data if isinstance(data, Mapping) else {})

    def as_dict(self) -> dict[str, Any]:
        """The JSON object, known keys in their order, then the others; NFC."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("extra", "nulls"):
                continue
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = list(value) if isinstance(value, tuple) else copy.deepcopy(dict(value)) \
                    if isinstance(value, Mapping) else value
            elif f.name in self.nulls:
                out[f.name] = None
        out.update(copy.deepcopy(dict(self.extra)))
        return _nfc(out)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False)

    def with_values(self, **changes: Any) -> RecordMetadata:
        """A copy with these keys set (None: removed), known or not."""
        data = self.as_dict()
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return RecordMetadata.from_mapping(data)

    # -- what readers ask ---------------------------------------------------------------------

    @property
    def date(self) -> dt.date | None:
        """The issue date, if it is a date."""
        try:
            return dt.date.fromisoformat(self.issue_date.strip()[:10]) if self.issue_date else None
        except ValueError:
            return None

    @property
    def display_title(self) -> str | None:
        """The summary once the header reader provides it; the file name until then."""
        return _stripped(self.summary) or _stripped(self.title)

    @property
    def level(self) -> SignatureLevel | None:
        return SignatureLevel.parse(self.signature_level)


def _stripped(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _nfc_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(_nfc(list(v))) if isinstance(v, tuple) else _nfc(v) for k, v in values.items()}


__all__ = ["KINDS", "RecordMetadata", "SignatureLevel"]
