"""pytest fixtures for the signing tests (registered in tests/conftest.py).

Session-wide: one certomancer Animator on loopback, one SoftHSM2 token, a few small PDF/A
files made by the pipeline's own PDF/A writer from generated scans (no OCR needed).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import page as page_validator
import pytest

from tests.conftest import run_sohoa
from tests.fixtures import scans
from tests.pki import SoftHsmToken, TestPki, build_pki, build_token

VIETNAM = dt.timezone(dt.timedelta(hours=7))
P12_PASSPHRASE = "mật-khẩu-thử"


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TestPki:
    test_pki = build_pki(tmp_path_factory.mktemp("pki"))
    test_pki.start()
    yield test_pki
    test_pki.stop()


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory, pki) -> SoftHsmToken:
    return build_token(tmp_path_factory.mktemp("softhsm"), pki)


def make_pdfa(path: Path, doc_name: str = "cong_van_268") -> Path:
    """A one-page PDF/A-2u written by ocr.pdfa from a small generated scan."""
    # Imported here: ocr.sources lifts Pillow's decompression-bomb limit for the whole
    # process, which tests of the fixtures themselves must not see.
    from ocr.pdfa import DocumentInfo, write_pdfa
    from ocr.sources import load_source

    png = scans.write_png(path.with_suffix(".png"), scans.render_page(doc_name, dpi=100))
    source = load_source(png, max_pixels=50_000_000)
    info = DocumentInfo(title=path.name, source_name=png.name, creator_tool="sohoa test",
                        created=dt.datetime.now(VIETNAM).replace(microsecond=0))
    write_pdfa(source.pdf, info, path)
    # The signing tests judge what signing adds, so the input must pass `page` itself: once,
    # as written (core/pdf/streams.py settles the stream ends qpdf would leave ambiguous).
    report = page_validator.validate_pdf(path, profile="2u")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]
    return path


@pytest.fixture(scope="session")
def pdfa_file(tmp_path_factory) -> Path:
    return make_pdfa(tmp_path_factory.mktemp("pdfa") / "cong-van.pdf")


def text_pdf(folder: Path, name: str, doc_name: str = "thong_bao_05") -> Path:
    """A scan PDF that already has a text layer: ingesting it needs no OCR."""
    return scans.write_searchable_pdf(folder / name, scans.render_page(doc_name, dpi=100))


def configure(home: Path, **values) -> None:
    """Set keys of config.toml's [signing] and [verify] sections (commented or not)."""
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in values.items():
        rendered = _toml(value)
        pattern = re.compile(rf"^#? ?{key} = .*$", re.MULTILINE)
        if pattern.search(text):
            text = pattern.sub(lambda _: f"{key} = {rendered}", text, count=1)
        else:
            section = "[verify]" if key in ("trust_roots", "online", "renew_within_days") else "[signing]"
            text = text.replace(section, f"{section}\n{key} = {rendered}", 1)
    config.write_text(text, encoding="utf-8")


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def pki_home(tmp_path: Path, pki: TestPki, *, cert: str = "agency", level: str = "B-B",
             arch: str = "sohoa-test", **extra) -> Path:
    """`sohoa init`, then the config pointed at a certomancer identity in a PKCS#12 file."""
    home = tmp_path / "sohoa-data"
    assert run_sohoa(home, "init").returncode == 0
    p12 = pki.pkcs12(cert, P12_PASSPHRASE, arch=arch)
    pin = tmp_path / "pin.txt"
    pin.write_text(P12_PASSPHRASE + "\n", encoding="utf-8")
    configure(home, level=level, pkcs12=str(p12), pin_file=str(pin), timestamp_url=pki.timestamp_url,
              trust_roots=[str(pki.root_pem)], **{"name": "Sở Giao thông Vận tải Bình Định", **extra})
    return home
