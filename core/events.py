"""The steps of the audit trail (the catalog's events table), each with its PREMIS event type.

A step's value is the very string the events table has always held, so catalogs written
before this enum read the same. `premis` is the eventType of the PREMIS controlled
vocabulary (id.loc.gov/vocabulary/preservation/eventType) an export names the event by.
"""

from __future__ import annotations

import enum


class Step(enum.StrEnum):
    premis: str

    def __new__(cls, value: str, premis: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.premis = premis
        return member

    # One document's intake, in the order ingest writes them.
    RECEIVED = "received", "ingestion start"  # copied into staging and hashed
    LOADED = "loaded", "format identification"  # its pages read, their text and resolution noted
    NORMALISED = "normalised", "normalization"  # what had to be changed for PDF/A (recorded)
    DAMAGED = "damaged", "validation"  # archived as far as it could be read
    OCR = "ocr", "metadata extraction"  # the text layer recognised (or kept)
    HEADER = "header", "metadata extraction"  # number, date, issuer ... read from the first page
    PDFA = "pdfa", "migration"  # written as PDF/A-2u and validated
    SIGNED = "signed", "digital signature generation"
    SIGNATURE_VERIFIED = "signature_verified", "digital signature validation"  # arrived signed
    DUPLICATE = "duplicate", "validation"  # the same document already archived (kept all the same)
    ARCHIVED = "archived", "ingestion end"
    INDEXED = "indexed", "metadata extraction"  # entered in the search index
    # Later, on a record.
    CORRECTED = "corrected", "metadata modification"
    WITHDRAWN = "deaccession", "deaccession"
    REINSTATED = "reinstatement", "accession"
    FIXITY_CHECK = "fixity check", "fixity check"  # `sohoa audit`, per document
    VERIFIED = "verified", "digital signature validation"  # `sohoa verify-archive`, per document
    TIMESTAMP_RENEWED = "timestamp_renewed", "digital signature generation"  # a new document timestamp
    # Runs over the whole archive (document_id NULL).
    AUDIT_RUN = "audit", "fixity check"
    VERIFY_RUN = "verify_run", "digital signature validation"
