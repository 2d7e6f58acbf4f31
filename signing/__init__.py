"""The agency's digital signature on archived PDF/A files, and its verification.

Signing follows Nghị định 30/2020 for a digitised copy: a PAdES approval signature added as
an incremental update after the PDF/A is written, with a text-only block at the top right
of page 1 (or no appearance at all). pyHanko does the cryptography; this package chooses
the identity (PKCS#12 file or PKCS#11 token), the level (B-B, B-T, B-LT, B-LTA), the
appearance, keeps the file valid PDF/A, and turns pyHanko's validation results into plain
verdicts for archivists.

Modules: errors, secrets (PIN from env or file), identity (signers, the embedded test
identity), appearance (font and text block), pdfa (PDF/A check of a signed file), sign,
verify, renewal (document timestamp renewal), archive_checks (verification and renewal
over the catalog and the archive store).
The typed [signing] and [verify] settings are core/signing_settings.py (read with the rest
of config.toml). pyHanko's writers are corrected for PDF/A by core/patches.py, applied at start.
"""
