"""The one schema: every table of the catalog, the watch service and (through
django.contrib) the web application, defined once for SQLite and PostgreSQL.

Table and column names are the ones the catalog had before Django (migrations 1-7 of
core/catalog.py), so homes created then are adopted in place (core/legacy.py).
Timestamps stay ISO 8601 text with their offset, as archived records and exports show
them; sizes and file identities are 64-bit.
"""

from __future__ import annotations

from django.db import models

WATCH_STATES = ("received", "processing", "done", "failed", "duplicate")


class Document(models.Model):
    id = models.BigAutoField(primary_key=True)
    received_at = models.TextField()
    original_name = models.TextField()
    original_format = models.TextField()
    original_sha256 = models.TextField(unique=True)
    original_size = models.BigIntegerField()
    archive_dir = models.TextField()
    original_file = models.TextField()
    pdfa_file = models.TextField()
    pdfa_sha256 = models.TextField()
    pdfa_size = models.BigIntegerField()
    sidecar_file = models.TextField()
    sidecar_sha256 = models.TextField()
    page_count = models.IntegerField()
    metadata_json = models.TextField()
    # (number, symbol, issuing body, year) folded, when all are known (header/record.py)
    duplicate_key = models.TextField(null=True)
    sidecar_size = models.BigIntegerField(null=True)
    # set by `sohoa withdraw`: out of search, files and rows kept
    withdrawn_at = models.TextField(null=True)
    withdrawn_reason = models.TextField(null=True)
    # core.confidentiality.Level: who may see it (a user's clearance >= this)
    confidentiality = models.SmallIntegerField(db_default=0)

    class Meta:
        db_table = "documents"
        indexes = [models.Index(fields=["duplicate_key"], name="documents_by_duplicate_key")]


class Page(models.Model):
    pk = models.CompositePrimaryKey("document", "page_number")
    # Nothing in the archive is ever deleted: DO_NOTHING, and the database refuses orphans.
    document = models.ForeignKey(Document, models.DO_NOTHING, db_index=False, related_name="+")
    page_number = models.IntegerField()
    text_source = models.TextField()
    dpi = models.FloatField(null=True)
    width_px = models.IntegerField(null=True)
    height_px = models.IntegerField(null=True)
    ocr_confidence = models.FloatField(null=True)
    text = models.TextField()
    rotation = models.IntegerField(db_default=0)
    skew = models.FloatField(null=True)
    blank = models.BooleanField(db_default=False)

    class Meta:
        db_table = "pages"


class Event(models.Model):
    """The audit trail: every step a document went through, in order of id."""

    id = models.BigAutoField(primary_key=True)
    document = models.ForeignKey(Document, models.DO_NOTHING, null=True, db_index=False, related_name="+")
    step = models.TextField()
    outcome = models.TextField()
    at = models.TextField()
    detail = models.TextField(null=True)  # JSON

    class Meta:
        db_table = "events"
        indexes = [models.Index(fields=["document"], name="events_by_document")]


class WatchJob(models.Model):
    """One file taken from an inbox by the watch service, found again by its SHA-256."""

    id = models.BigAutoField(primary_key=True)
    sha256 = models.TextField()
    profile = models.TextField()
    source_path = models.TextField()
    source_raw = models.BinaryField()
    source_size = models.BigIntegerField()
    source_mtime_ns = models.BigIntegerField()
    state = models.TextField()
    attempts = models.IntegerField(db_default=0)
    retry_at = models.TextField(null=True)
    document = models.ForeignKey(Document, models.DO_NOTHING, null=True, db_index=False, related_name="+")
    page_count = models.IntegerField(null=True)
    error_code = models.TextField(null=True)
    reason = models.TextField(null=True)
    received_at = models.TextField()
    started_at = models.TextField(null=True)
    finished_at = models.TextField(null=True)
    source_cleared = models.BooleanField(db_default=False)
    # device and inode of the very file taken, so only it ever leaves the inbox; NULL before
    source_dev = models.BigIntegerField(null=True)
    source_ino = models.BigIntegerField(null=True)

    class Meta:
        db_table = "watch_jobs"
        indexes = [
            models.Index(fields=["sha256"], name="watch_jobs_by_sha256"),
            models.Index(fields=["state"], name="watch_jobs_by_state"),
            models.Index(fields=["finished_at"], name="watch_jobs_by_finished_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=WATCH_STATES), name="watch_jobs_state_known"),
        ]


class DocumentField(models.Model):
    """A header field read from the page: value, confidence, page and box (JSON, pixels of
    the upright page), and whether it awaits review."""

    pk = models.CompositePrimaryKey("document", "name")
    document = models.ForeignKey(Document, models.DO_NOTHING, db_index=False, related_name="+")
    name = models.TextField()
    value = models.TextField(null=True)
    confidence = models.FloatField(null=True)
    page = models.IntegerField(null=True)
    box = models.TextField(null=True)
    source = models.TextField()
    needs_review = models.BooleanField(db_default=False)

    class Meta:
        db_table = "document_fields"
        indexes = [models.Index(fields=["needs_review", "document"], name="document_fields_to_review")]


# -- the web application's own tables ------------------------------------------------------


class StaffProfile(models.Model):
    """What sohoa adds to a Django user: a role (core.roles.Role) and a clearance
    (core.confidentiality.Level)."""

    user = models.OneToOneField("auth.User", models.CASCADE, primary_key=True, related_name="sohoa_profile")
    role = models.TextField()
    clearance = models.SmallIntegerField(db_default=0)

    class Meta:
        db_table = "staff_profiles"


class AccessLogEntry(models.Model):
    """Every view and download of a document: who, when, what, from where. Kept when the
    user is deleted (the name is copied), never edited."""

    id = models.BigAutoField(primary_key=True)
    at = models.TextField()  # ISO 8601 with offset, as the audit trail
    user = models.ForeignKey("auth.User", models.SET_NULL, null=True, related_name="+")
    username = models.TextField()
    document = models.ForeignKey(Document, models.DO_NOTHING, db_index=False, related_name="+")
    action = models.TextField()  # view, page, download-pdfa, download-original
    page = models.IntegerField(null=True)
    address = models.TextField()  # the client's IP address
    channel = models.TextField()  # web or api

    class Meta:
        db_table = "access_log"
        indexes = [models.Index(fields=["document"], name="access_log_by_document"),
                   models.Index(fields=["at"], name="access_log_by_time")]


class ApiToken(models.Model):
    """A machine's token for the REST API. Only its SHA-256 is stored: a copy of the
    database does not hand out working tokens."""

    id = models.BigAutoField(primary_key=True)
    key_sha256 = models.TextField(unique=True)
    user = models.ForeignKey("auth.User", models.CASCADE, related_name="+")
    name = models.TextField()
    created_at = models.TextField()
    last_used_at = models.TextField(null=True)

    class Meta:
        db_table = "api_tokens"


# -- lookup tables the administrator keeps (issue 15) --------------------------------------
# Seeded from the static tables (core/document_types.py, core/record_defaults.py) by
# migration 0004; those stay the fallback where no database is at hand. A row documents
# may use is never deleted, only deactivated (the admin offers no delete).


class DocumentType(models.Model):
    """A document type and its symbol (Nghị định 30/2020, Phụ lục III), as the header
    reader and the search filter know them (core/lookup.py)."""

    id = models.BigAutoField(primary_key=True)
    symbol = models.TextField(unique=True)
    name = models.TextField()
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "document_types"


class RetentionPeriod(models.Model):
    """A retention period of the Thông tư 05/2025 record (thời hạn bảo quản): code, label."""

    id = models.BigAutoField(primary_key=True)
    code = models.TextField(unique=True)
    label = models.TextField()
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "retention_periods"
