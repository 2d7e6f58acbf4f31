"""Is a copy in the inbox whole? Real multi-revision, signed, linearised and xref-stream PDFs,
cut at every byte as a paused copy leaves them (completeness.py, pdf_xref.py), and the
service waiting for a copy paused after a PDF's first revision."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import io
import os
import re
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import pikepdf
import pytest

from tests.fixtures import scans
from tests.test_watch_support import (
    Service, _page, big_pdf, jobs, jpeg_bytes, make_home, tiny_scan, wait_for, wait_settled,
)
from watch_folders.completeness import opens_as_claimed, why_incomplete
from watch_folders.steadiness import SteadinessTracker

WHITESPACE = b"\x00\t\n\x0c\r "


# -- real PDFs with more than one revision ------------------------------------------------


def base_pdf(pages: int = 3, **save) -> bytes:
    """A small PDF as qpdf writes it, each page with a little content of its own."""
    pdf = pikepdf.new()
    for number in range(pages):
        pdf.add_blank_page()
        pdf.pages[-1].Contents = pdf.make_stream(f"BT /F1 12 Tf 72 700 Td (trang {number}) Tj ET".encode())
    buffer = io.BytesIO()
    pdf.save(buffer, **save)
    return buffer.getvalue()


def pyhanko_update(data: bytes, title: str = "Công văn") -> bytes:
    """An incremental update as pyHanko writes one (the way a signature is added)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    writer.root["/SohoaTitle"] = generic.TextStringObject(title)
    writer.update_root()
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


@pytest.fixture(scope="module")
def signer():
    """A throwaway self-signed key: enough for pyHanko to write a real signature revision."""
    from asn1crypto import keys as asn1_keys, x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.sign import signers

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Văn thư thử nghiệm")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return signers.SimpleSigner(signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
                                signing_key=asn1_keys.PrivateKeyInfo.load(der_key), cert_registry=None)


def signed(data: bytes, signer, field: str = "ChuKy1") -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    return signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name=field), signer=signer).getvalue()


def hand_update(data: bytes) -> bytes:
    """An incremental update written by hand: one new object, an xref table for it, and a
    trailer whose /Prev is the previous revision's cross-reference."""
    previous = int(re.findall(rb"startxref\s+(\d+)\s+%%EOF", data)[-1])
    root = re.findall(rb"/Root\s+(\d+ \d+ R)", data)[-1].decode()
    number = max(int(n) for n in re.findall(rb"/Size\s+(\d+)", data))
    body = f"{number} 0 obj\n<< /Producer (sohoa thu) >>\nendobj\n".encode()
    xref_at = len(data) + len(body)
    section = (f"xref\n0 1\n0000000000 65535 f \n{number} 1\n{len(data):010d} 00000 n \n"
               f"trailer\n<< /Size {number + 1} /Root {root} /Prev {previous} >>\n"
               f"startxref\n{xref_at}\n%%EOF\n").encode()
    return data + body + section


def stream_update(data: bytes, *, hybrid: bool = False, padding: int = 0, xrefstm_at: int | None = None) -> bytes:
    """An incremental update by hand whose cross-reference is a stream (/W [1 4 1]); or, hybrid,
    a table whose trailer's /XRefStm points at that stream (as some writers do for readers
    that predate streams). `padding` zero bytes are compressed after the entries."""
    previous = int(re.findall(rb"startxref\s+(\d+)\s+%%EOF", data)[-1])
    root = re.findall(rb"/Root\s+(\d+ \d+ R)", data)[-1].decode()
    number = max(int(n) for n in re.findall(rb"/Size\s+(\d+)", data))
    body = f"{number} 0 obj\n<< /Producer (sohoa thu) >>\nendobj\n".encode()
    stream_at = len(data) + len(body)
    packed = zlib.compress(struct.pack(">BIB", 1, len(data), 0) + struct.pack(">BIB", 1, stream_at, 0) + bytes(padding))
    stream = (f"{number + 1} 0 obj\n<< /Type /XRef /Size {number + 2} /W [1 4 1] /Index [{number} 2] /Root {root}"
              f" /Prev {previous} /Filter /FlateDecode /Length {len(packed)} >>\nstream\n").encode() \
        + packed + b"\nendstream\nendobj\n"
    if not hybrid:
        return data + body + stream + f"startxref\n{stream_at}\n%%EOF\n".encode()
    table_at = stream_at + len(stream)
    table = (f"xref\n0 1\n0000000000 65535 f \n{number} 1\n{len(data):010d} 00000 n \n"
             f"trailer\n<< /Size {number + 2} /Root {root} /Prev {previous} /XRefStm {stream_at if xrefstm_at is None else xrefstm_at} >>\n"
             f"startxref\n{table_at}\n%%EOF\n").encode()
    return data + body + stream + table


def revision_ends(data: bytes) -> list[int]:
    """Where each revision's %%EOF ends."""
    return [m.end() for m in re.finditer(rb"%%EOF", data)]


def complete_cuts(data: bytes, ends: list[int]) -> set[int]:
    """The lengths at which a prefix of data is, byte for byte, a whole file: right after one
    of `ends`, or in the whitespace that follows it."""
    cuts = set()
    for end in ends:
        cut = end
        while cut <= len(data) and not data[end:cut].strip(WHITESPACE):
            cuts.add(cut)
            cut += 1
    return cuts


def verdicts_at_every_cut(path: Path, data: bytes, start: int = 1) -> dict[int, str | None]:
    """why_incomplete for every prefix of data from `start` bytes on (one file, truncated
    shorter and shorter: a copy paused at that byte)."""
    path.write_bytes(data)
    found = {}
    for cut in range(len(data), start - 1, -1):
        os.truncate(path, cut)
        found[cut] = why_incomplete(path)
    return found


def assert_whole_only_at(path: Path, data: bytes, whole_at: set[int], start: int = 1) -> None:
    verdicts = verdicts_at_every_cut(path, data, start)
    taken = {cut for cut, why in verdicts.items() if why is None}
    assert taken == {cut for cut in whole_at if cut >= start}, sorted(taken ^ whole_at)[:10]


# -- the format's own proof ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["signed", "signed-twice", "pyhanko-update", "hand-written", "xref-streams",
                                  "stream-update", "hybrid"])
def test_a_multi_revision_pdf_is_whole_only_where_a_revision_ends(tmp_path, signer, kind):
    """Cut anywhere inside a later revision (after the first %%EOF, mid-revision, in its
    xref or trailer, before its %%EOF) the copy is not whole; cut exactly where an earlier
    revision ended, it is that revision, byte for byte a whole PDF (the open-for-writing
    probe below, and the clear-time check, cover that one)."""
    streams = kind in ("xref-streams", "stream-update")
    base = base_pdf(object_stream_mode=pikepdf.ObjectStreamMode.generate) if streams else base_pdf()
    data = {
        "signed": lambda: signed(base, signer),
        "signed-twice": lambda: signed(signed(base, signer), signer, "ChuKy2"),
        "pyhanko-update": lambda: pyhanko_update(base),
        "hand-written": lambda: hand_update(base),
        "xref-streams": lambda: pyhanko_update(base),
        "stream-update": lambda: stream_update(base),
        "hybrid": lambda: stream_update(base, hybrid=True),
    }[kind]()
    ends = revision_ends(data)
    assert len(ends) == (3 if kind == "signed-twice" else 2) and data.startswith(base)
    if kind == "xref-streams":
        assert b"/Type /XRef" in data[len(base):]  # the update's cross-reference is a stream too
    path = tmp_path / "hop-dong.pdf"
    path.write_bytes(data)
    assert why_incomplete(path) is None and opens_as_claimed(path)
    assert_whole_only_at(path, data, complete_cuts(data, ends))
    # what a cut after the first revision plus a little of the next one is told
    path.write_bytes(data[:ends[0] + 20])
    assert why_incomplete(path) == "does not end with %%EOF"


def test_a_linearised_pdf_cut_after_its_first_page_section_is_not_whole(tmp_path):
    data = base_pdf(6, linearize=True)
    first_page_end = revision_ends(data)[0]
    assert b"/Linearized" in data[:1024] and first_page_end < len(data) // 2
    path = tmp_path / "ke-hoach.pdf"
    path.write_bytes(data[:first_page_end + 1])  # the first-page section and its own %%EOF
    assert why_incomplete(path) == "no cross-reference section at 0"  # qpdf writes `startxref 0` there
    # Written by another tool the first-page trailer may point at its own table and have no
    # /Prev: that chain parses, but lists the first page's objects, not there yet.
    xref_at = data.index(b"xref")
    prefix = data[:first_page_end + 1].replace(b"startxref\n0\n%%EOF", b"startxref\n%d\n%%%%EOF" % xref_at)
    prefix = re.sub(rb"/Prev \d+", lambda m: b" " * len(m.group()), prefix)
    path.write_bytes(prefix)
    furthest = max(int(offset) for offset in re.findall(rb"(\d{10}) 00000 n", prefix))
    assert furthest >= len(prefix)
    assert why_incomplete(path) == f"the cross-reference section at {xref_at} lists an object at {furthest}, past the end"
    assert_whole_only_at(path, data, {len(data)})


def test_a_linearised_pdf_shorter_or_longer_than_its_length_says_is_not_whole(tmp_path):
    data = base_pdf(6, linearize=True)
    length = re.search(rb"/L (\d+)", data)
    assert int(length.group(1)) == len(data)
    path = tmp_path / "ke-hoach.pdf"
    for claimed, why in ((len(data) + 500, f"linearised for {len(data) + 500} bytes, but the file has {len(data)}"),
                         (len(data) - 500, f"linearised for {len(data) - 500} bytes, but the file has {len(data)} "
                                           "and no revision was appended")):
        path.write_bytes(data[:length.start(1)] + str(claimed).encode() + data[length.end(1):])
        assert why_incomplete(path) == why


def test_a_linearised_pdf_updated_since_is_whole_and_not_when_its_update_is_cut(tmp_path):
    linearised = base_pdf(4, linearize=True)
    data = hand_update(linearised)
    path = tmp_path / "cap-nhat.pdf"
    # the linearised file is whole at its /L exactly (a byte short is a byte short)
    assert_whole_only_at(path, data, {len(linearised)} | complete_cuts(data, revision_ends(data)[-1:]),
                         start=len(linearised) - 10)
    path.write_bytes(linearised + b"\r\n")  # a scanner's newline after the end
    assert why_incomplete(path) is None


def test_an_xref_stream_pdf_is_whole_only_whole_and_not_when_its_stream_is_damaged(tmp_path):
    data = base_pdf(5, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert b"/Type /XRef" in data and b"\nxref\n" not in data
    path = tmp_path / "bien-ban.pdf"
    assert_whole_only_at(path, data, complete_cuts(data, [len(data) - 1]))
    stream_at = data.index(b"stream", data.rindex(b"/Type /XRef")) + len(b"stream\n")
    damaged = bytearray(data)
    damaged[stream_at + 8] ^= 0x55
    path.write_bytes(bytes(damaged))
    assert why_incomplete(path) is not None and "cross-reference stream" in why_incomplete(path)


def test_a_hybrid_files_xrefstm_must_point_at_a_cross_reference_stream(tmp_path):
    base = base_pdf()
    path = tmp_path / "lai.pdf"
    path.write_bytes(stream_update(base, hybrid=True, xrefstm_at=len(base)))  # at the /Producer object
    assert why_incomplete(path) == f"the object at {len(base)} is not a cross-reference stream"
    path.write_bytes(stream_update(base, hybrid=True, xrefstm_at=10 ** 9))
    assert why_incomplete(path) == f"startxref or /Prev points at {10 ** 9}, outside the file"


def test_a_cross_reference_stream_is_inflated_no_further_than_its_entries(tmp_path):
    """A stream of two entries followed by 50 MB of zeros (50 KB compressed): a bomb for
    whoever inflates it all."""
    path = tmp_path / "bom.pdf"
    path.write_bytes(stream_update(base_pdf(object_stream_mode=pikepdf.ObjectStreamMode.generate), padding=50 << 20))
    tracemalloc.start()
    try:
        assert why_incomplete(path) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20, peak


@pytest.mark.parametrize("after, whole", [
    (b"\n", True), (b"\r\n", True), (b"\x00\x00 \n", True),
    (b"x", False), (b"\n%garbage\n", False), (b"\n%%EOF\n", False),
])
def test_only_whitespace_may_follow_the_last_eof(tmp_path, after, whole):
    path = tmp_path / "quet.pdf"
    path.write_bytes(hand_update(base_pdf()) + after)
    assert (why_incomplete(path) is None) is whole


def test_junk_before_the_header_is_allowed_as_readers_allow_it(tmp_path):
    data = hand_update(base_pdf())
    path = tmp_path / "may-quet.pdf"
    path.write_bytes(b"\r\n\x00\x00HP\n" + data)
    assert why_incomplete(path) is None
    path.write_bytes(b"\r\n\x00\x00HP\n" + data[:-40])
    assert why_incomplete(path) is not None


def test_a_large_cross_reference_is_checked_quickly_without_reading_the_pages(tmp_path):
    pages = 3000
    data = hand_update(base_pdf(pages))
    path = tmp_path / "lon.pdf"
    path.write_bytes(data)
    started = time.perf_counter()
    assert why_incomplete(path) is None
    seconds = time.perf_counter() - started
    print(f"\n{pages * 2 + 3} objects, {len(data) // 1024} KB: checked in {seconds * 1000:.1f} ms")
    assert seconds < 2  # a generous bound: measured ~10 ms; a scan of the content would be far more
    path.write_bytes(data[:len(data) - 300])
    assert why_incomplete(path) is not None


# -- what the content is, whatever the name -----------------------------------------------------


def test_the_content_decides_the_format_not_the_name(tmp_path):
    pdf = hand_update(base_pdf())
    named_bin = tmp_path / "scan0001.bin"
    named_bin.write_bytes(pdf[:revision_ends(pdf)[0] + 30])
    assert why_incomplete(named_bin) == "does not end with %%EOF"
    named_bin.write_bytes(pdf)
    assert why_incomplete(named_bin) is None
    jpeg_named_pdf = tmp_path / "anh.pdf"
    jpeg_named_pdf.write_bytes(jpeg_bytes())
    assert why_incomplete(jpeg_named_pdf) is None
    jpeg_named_pdf.write_bytes(jpeg_bytes()[:-2000])
    assert why_incomplete(jpeg_named_pdf) == "JPEG without its end-of-image marker"
    png_named_jpg = tmp_path / "anh.jpg"
    png_named_jpg.write_bytes(scans.write_png(tmp_path / "p.png", _page("giay_moi_17")).read_bytes()[:-8])
    assert why_incomplete(png_named_jpg) == "PNG without its IEND chunk"


def test_content_no_check_knows_is_taken_only_after_the_incomplete_period(tmp_path):
    clock = [0.0]
    tracker = SteadinessTracker(quiet_seconds=1, incomplete_seconds=5, clock=lambda: clock[0])
    unknown = tmp_path / "ghi-chu.docx"
    unknown.write_bytes(b"PK\x03\x04 half of an office file")
    jpeg = tmp_path / "anh.dat"  # a whole JPEG under a name no check knows: the content decides
    jpeg.write_bytes(jpeg_bytes())
    assert why_incomplete(unknown) == "not PDF, JPEG, PNG or TIFF: nothing shows it whole"
    tracker.note(unknown)
    tracker.note(jpeg)
    clock[0] = 1.5
    ready, _ = tracker.poll()
    assert [r.path for r in ready] == [jpeg] and ready[0].opens
    for moment in (3.0, 4.9):
        clock[0] = moment
        assert tracker.poll() == ([], [])
    clock[0] = 5.1
    ready, _ = tracker.poll()
    assert [r.path for r in ready] == [unknown] and not ready[0].opens


def test_a_symlink_or_a_fifo_is_not_whole_and_does_not_block(tmp_path):
    target = tmp_path / "that.pdf"
    target.write_bytes(base_pdf())
    link = tmp_path / "link.pdf"
    link.symlink_to(target)
    assert why_incomplete(link).startswith("cannot be opened")
    fifo = tmp_path / "fifo.pdf"
    os.mkfifo(fifo)
    assert why_incomplete(fifo) == "not a regular file"  # returns: no writer needed


# -- a copy paused exactly where a revision ends ------------------------------------------------


def leases_work(folder: Path) -> bool:
    probe = folder / "lease-probe"
    probe.write_bytes(b"x")
    fd = os.open(probe, os.O_RDONLY)
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETLEASE", 1024), fcntl.F_RDLCK)
        fcntl.fcntl(fd, getattr(fcntl, "F_SETLEASE", 1024), fcntl.F_UNLCK)
        return True
    except OSError as error:
        return error.errno not in (errno.EINVAL, errno.EACCES, errno.ENOSYS)
    finally:
        os.close(fd)
        probe.unlink()


def test_a_file_still_open_for_writing_is_not_whole_whatever_its_content(tmp_path, signer):
    if not leases_work(tmp_path):
        pytest.skip("this file system gives no leases: the content alone decides there")
    data = signed(base_pdf(), signer)
    first = revision_ends(data)[0] + 1
    path = tmp_path / "dang-chep.pdf"
    with open(path, "wb") as copy:
        copy.write(data[:first])  # the first revision, whole: the copy pauses here
        copy.flush()
        assert why_incomplete(path) == "still open for writing"
        copy.write(data[first:])
    assert why_incomplete(path) is None


# -- the service ----------------------------------------------------------------------------


def test_the_service_waits_for_a_copy_paused_after_a_pdfs_first_revision(tmp_path):
    """Two copies of two-revision PDFs pause after the first revision: one still open (as
    smbd or cp keep it), one closed with part of the second revision written. Neither is
    taken; once the rest is written, each job takes, archives and deletes (after_done =
    "delete") the whole file."""
    home = make_home(tmp_path / "sohoa-data", incomplete_seconds=120)  # never the half file by timeout
    inbox = home / "inbox" / "luu-tru"
    full = {}
    for name, pages in (("ho-so-mo.pdf", 1), ("ho-so-cat.pdf", 2)):
        base = big_pdf(tmp_path / name, pages).read_bytes()
        full[name] = pyhanko_update(base, title=name)
    open_copy, cut_copy = inbox / "ho-so-mo.pdf", inbox / "ho-so-cat.pdf"
    open_first = revision_ends(full["ho-so-mo.pdf"])[0] + 1
    cut_at = (revision_ends(full["ho-so-cat.pdf"])[0] + len(full["ho-so-cat.pdf"])) // 2
    with Service(home) as service:
        written = time.monotonic()
        writer = open(open_copy, "wb")
        writer.write(full["ho-so-mo.pdf"][:open_first])
        writer.flush()
        cut_copy.write_bytes(full["ho-so-cat.pdf"][:cut_at])

        def waiting(name: str, reason: str) -> bool:
            return re.search(rf'event=waiting-incomplete file=\S*/{name} reason="{reason}"', service.log()) is not None

        # The tracker has looked at each, steady past the quiet period, and left it.
        wait_for(lambda: waiting("ho-so-mo.pdf", "still open for writing")
                 and waiting("ho-so-cat.pdf", "does not end with %%EOF"), 30, "the tracker to find both not whole")
        # It goes on looking: a scan dropped after them is taken and done while they wait.
        tiny_scan(home / "inbox" / "van-ban-den" / "moc.jpg")
        wait_settled(home, 1)
        # and three quiet periods at least since they were written (a fast machine gets
        # here sooner): time enough to have taken them, were they taken when steady
        wait_for(lambda: time.monotonic() - written >= 3 * 0.5, 10, "three quiet periods", interval=0.05)
        assert [job["source_path"] for job in jobs(home)] == ["van-ban-den/moc.jpg"]
        assert open_copy.stat().st_size == open_first and cut_copy.stat().st_size == cut_at

        writer.write(full["ho-so-mo.pdf"][open_first:])
        writer.close()
        with open(cut_copy, "ab") as rest:
            rest.write(full["ho-so-cat.pdf"][cut_at:])
        done = {job["source_path"]: job for job in wait_settled(home, 3)}
    for name, data in full.items():
        job = done[f"luu-tru/{name}"]
        sha256 = hashlib.sha256(data).hexdigest()
        assert job["state"] == "done" and job["sha256"] == sha256, job
        original = home / "archive" / sha256[:2] / sha256[2:4] / sha256 / "original.pdf"
        assert original.read_bytes() == data
        assert not (inbox / name).exists()  # deleted only once the whole file was archived
