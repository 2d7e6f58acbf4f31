"""Why an input file was refused, in words a clerk understands.

Each error carries a Vietnamese reason for people and a stable English code for logs,
JSON output and tests.
"""

from __future__ import annotations

from core.errors import SohoaError


class InputRejected(SohoaError):
    """The file cannot become an archive record; nothing was written."""

    code = "rejected"


class EmptyFile(InputRejected):
    code = "empty"


class UnsupportedFormat(InputRejected):
    code = "unsupported-format"


class CorruptFile(InputRejected):
    code = "corrupt"


class EncryptedPdf(InputRejected):
    code = "encrypted"


class TooManyPixels(InputRejected):
    code = "too-many-pixels"


class NotPdfaConvertible(InputRejected):
    code = "not-pdfa"


class ImplausiblePageSize(InputRejected):
    """A page box no paper has (0 wide, or kilometres long): valid syntax, nothing to scan."""

    code = "page-size"


class TooLargeContent(InputRejected):
    """A page's drawing or an image inflates far beyond what a scan or a document needs:
    a decompression bomb, or a damaged stream."""

    code = "too-large-content"


class TooManyPages(InputRejected):
    code = "too-many-pages"


class TooMuchMemory(InputRejected):
    """Reading the file needed more memory than a worker process may use."""

    code = "too-much-memory"
