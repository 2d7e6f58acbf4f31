"""Signing time per document (PAdES B-B and B-LTA) and offline verification throughput,
each beside its reference measured in the same run.

* B-B: sohoa's signing step (AgencySigner.sign: the signature, the PDF/A re-validation of
  the output and the signing time read back) against the floor, the signature alone:
  pyHanko's PdfSigner with sohoa's key kept loaded, same documents, same appearance. A second
  reference is pyHanko's default PKCS#12 signer (SimpleSigner.load_pkcs12), which turns the
  stored key back into a key object, and re-validates it, on every raw signature. Each is
  timed around its own calls, alternating document by document. Target: ≤ 100 ms per document.
* B-LTA: signature timestamp, OCSP/CRL fetch, DSS and document timestamp against a real
  TSA and OCSP responder (certomancer on loopback). Network round trips count in wall time.
  No reference is printed: the B-B floor above is the part without the network.
* Offline verification: documents per CPU-second for sohoa's full verdict (integrity,
  coverage, chain, embedded revocation data, timestamps) against pyHanko's bare
  validate_pdf_signature with the same trust root. Target: ≥ 20 documents per CPU-second.

    .venv/bin/python bench/signing.py [--documents N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.patches import apply_all  # noqa: E402

apply_all()  # as sohoa's entry points do at start: the patched libraries, one OCR thread

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign import fields, signers  # noqa: E402
from pyhanko.sign.fields import SigSeedSubFilter  # noqa: E402
from pyhanko.sign.validation import validate_pdf_signature  # noqa: E402
from pyhanko_certvalidator import ValidationContext  # noqa: E402

from ocr.pdfa import DocumentInfo, write_pdfa  # noqa: E402
from ocr.sources import load_source  # noqa: E402
from signing.identity import open_identity  # noqa: E402
from core.signing_settings import Pkcs12Identity, SigningSettings  # noqa: E402
from signing.sign import FIELD_NAME, AgencySigner, load_trust_roots  # noqa: E402
from signing.verify import VerifyPolicy, verify_pdf  # noqa: E402
from tests.fixtures.scans import DOCUMENTS, render_page, write_png  # noqa: E402
from tests.pki import build_pki  # noqa: E402

PASSPHRASE = "bench"
AGENCY = "Sở Giao thông Vận tải Bình Định"


def make_documents(folder: Path, count: int) -> list[bytes]:
    """Distinct one-page PDF/A-2u files (A5 scans at 150 dpi) from the pipeline's writer."""
    names = sorted(DOCUMENTS)
    documents = []
    for number in range(count):
        png = write_png(folder / f"p{number}.png", render_page(names[number % len(names)], dpi=150 + number))
        out = folder / f"d{number}.pdf"
        info = DocumentInfo(title=out.name, source_name=png.name, creator_tool="sohoa bench",
                            created=dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).replace(microsecond=0))
        write_pdfa(load_source(png, max_pixels=10**8).pdf, info, out)
        documents.append(out.read_bytes())
    return documents


def timed(function, items) -> tuple[list, list[float], float]:
    """(results, wall seconds per item, CPU seconds in total)."""
    results, walls = [], []
    cpu = time.process_time()
    for item in items:
        start = time.perf_counter()
        results.append(function(item))
        walls.append(time.perf_counter() - start)
    return results, walls, time.process_time() - cpu


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} ms median, {statistics.mean(values) * 1000:7.1f} ms mean"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-signing-") as tmp:
        folder = Path(tmp)
        pki = build_pki(folder / "pki")
        pki.start()
        try:
            return run(folder, pki, args.documents)
        finally:
            pki.stop()


def run(folder: Path, pki, count: int) -> int:
    documents = make_documents(folder, count)
    p12 = pki.pkcs12("agency", PASSPHRASE)
    (folder / "pin").write_text(PASSPHRASE)
    roots = load_trust_roots([pki.root_pem])

    def settings(level: str) -> SigningSettings:
        return SigningSettings(level=level, agency_name=AGENCY, identity=Pkcs12Identity(p12),
                               pin_file=folder / "pin", timestamp_url=pki.timestamp_url, font_dir=folder / "fonts")

    b_b = AgencySigner(open_identity(settings("B-B")), settings("B-B"), roots)
    b_b.sign(documents[0])  # warm-up: the derived font, imports

    # Reference: pyHanko's default PKCS#12 signer, otherwise the same signature.
    reference_signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=PASSPHRASE.encode())

    def reference_sign(data: bytes) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        box = (250, 540, 400, 580)
        output = io.BytesIO()
        signers.PdfSigner(
            signers.PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES),
            reference_signer, stamp_style=b_b.style, new_field_spec=fields.SigFieldSpec(FIELD_NAME, on_page=0, box=box),
        ).sign_pdf(writer, output=output, appearance_text_params={"agency": AGENCY})
        return output.getvalue()

    def ours_sign_only(data: bytes) -> bytes:  # the same work as the reference, our key handling
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        output = io.BytesIO()
        signers.PdfSigner(
            signers.PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES),
            b_b.identity.signer, stamp_style=b_b.style,
            new_field_spec=fields.SigFieldSpec(FIELD_NAME, on_page=0, box=(250, 540, 400, 580)),
        ).sign_pdf(writer, output=output, appearance_text_params={"agency": AGENCY})
        return output.getvalue()

    # Alternate rounds so that load on the machine hits both sides alike.
    ours_walls, reference_walls, full_walls = [], [], []
    cpu = {"floor": 0.0, "reference": 0.0, "sohoa": 0.0}
    signed_bb = []
    for data in documents:
        _, wall, spent = timed(ours_sign_only, [data])
        ours_walls += wall
        cpu["floor"] += spent
        _, wall, spent = timed(reference_sign, [data])
        reference_walls += wall
        cpu["reference"] += spent
        result, wall, spent = timed(lambda d: b_b.sign(d)[0], [data])
        full_walls += wall
        cpu["sohoa"] += spent
        signed_bb += result

    print(f"PAdES B-B signing, {count} one-page PDF/A documents (RSA 2048, visible Nghị định 30 block):")
    print(f"  sohoa signing step (sign + PDF/A re-validation + signing-time read-back): {ms(full_walls)}, "
          f"{1000 * cpu['sohoa'] / count:.1f} CPU-ms/doc  [target ≤ 100 ms]")
    print(f"  floor: pyHanko PdfSigner, key kept loaded, signature alone: {ms(ours_walls)}, "
          f"{1000 * cpu['floor'] / count:.1f} CPU-ms/doc")
    print(f"  pyHanko default PKCS#12 signer (2nd reference):             {ms(reference_walls)}, "
          f"{1000 * cpu['reference'] / count:.1f} CPU-ms/doc")
    print(f"  ratio sohoa / floor: {statistics.median(full_walls) / statistics.median(ours_walls):.2f}× (median wall), "
          f"{cpu['sohoa'] / cpu['floor']:.2f}× (CPU); sohoa / pyHanko default: "
          f"{statistics.median(full_walls) / statistics.median(reference_walls):.2f}× (median wall)")

    b_lta = AgencySigner(open_identity(settings("B-LTA")), settings("B-LTA"), roots)
    b_lta.sign(documents[0])
    lta_count = max(3, count // 4)
    signed_lta, lta_walls, _ = timed(lambda d: b_lta.sign(d)[0], documents[:lta_count])
    print(f"PAdES B-LTA signing, {lta_count} documents (TSA ×2, OCSP, CRL over loopback):")
    print(f"  sohoa:                                {ms(lta_walls)}")

    policy = VerifyPolicy(tuple(roots))
    for name, corpus in (("B-B", signed_bb), ("B-LTA", signed_lta)):
        verdicts, _, ours_cpu = timed(lambda d: verify_pdf(d, policy), corpus)
        assert all(v.ok for v in verdicts), [v for v in verdicts if not v.ok][:1]

        def reference_verify(data: bytes):
            sig = PdfFileReader(io.BytesIO(data)).embedded_regular_signatures[0]
            return validate_pdf_signature(sig, ValidationContext(trust_roots=list(roots)))

        _, _, reference_cpu = timed(reference_verify, corpus)
        ours_rate, reference_rate = len(corpus) / ours_cpu, len(corpus) / reference_cpu
        print(f"Offline verification, {name}, {len(corpus)} documents:")
        print(f"  sohoa full verdict:                   {ours_rate:7.1f} documents per CPU-second  [target ≥ 20]")
        print(f"  pyHanko validate_pdf_signature (ref): {reference_rate:7.1f} documents per CPU-second")
        print(f"  ratio sohoa / reference:              {ours_rate / reference_rate:7.2f}×")
    b_b.identity.close()
    b_lta.identity.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
