"""PDF structure shared by OCR and signing: pages, streams, XMP, JPEG 2000, conformance checks."""
