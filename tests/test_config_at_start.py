"""A setting that cannot work is refused at start (issue 13, point 5): one Vietnamese line
naming the setting and what to do, a non-zero exit, no inbox file moved, no folder or file
created. Real `sohoa ingest` and `sohoa watch` processes on a real home."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SOHOA, run_sohoa
from tests.pki import SOFTHSM_MODULE
from tests.test_watch_support import make_home, tiny_scan

# (name, config.toml edit as (pattern, replacement) or text appended, the setting the line names,
#  a word of what to do)
MISTAKES = [
    ("engine", (r'^engine = "tantivy"$', 'engine = "tantivyy"'), "[index] engine", "sửa thành"),
    ("language", (r'^language = "vie"$', 'language = "vie+xyz"'), "[ocr] language", "cài gói tesseract-ocr-xyz"),
    ("pkcs12", (r'^pkcs12 = .*$', 'pkcs12 = "keys/khong-co.p12"'), "[signing] pkcs12", "sửa [signing] pkcs12"),
    ("pin-file", (r'^pin_file = .*$', 'pin_file = "keys/khong-co.pin"'), "[signing] pin_file", "sửa [signing] pin_file"),
    ("pkcs11-module", (r'^pkcs12 = .*\npin_file = .*$',
                       'pkcs11_module = "/khong-co/libcryptoki.so"\ntoken_label = "VNPT-CA"\nkey_label = "agency"'),
     "[signing] pkcs11_module", "sửa [signing] pkcs11_module"),
]
WATCH_ONLY = [
    ("profile-language", "\n[profiles.tieng-xyz]\ntitle = \"Thử\"\nocr_language = \"xyz\"\n",
     "[profiles.tieng-xyz] ocr_language", "cài gói tesseract-ocr-xyz"),
    ("profile-after-done", "\n[profiles.hong]\ntitle = \"Hỏng\"\nafter_done = \"xoa\"\n",
     "[profiles.hong] after_done", "chọn \"delete\" hoặc \"move\""),
]


def configured(home: Path, edit) -> None:
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    if isinstance(edit, tuple):
        text, count = re.subn(edit[0], edit[1], text, count=1, flags=re.M)
        assert count == 1, edit
    else:
        text += edit
    config.write_text(text, encoding="utf-8")


def tree(root: Path) -> dict[str, int]:
    """Every path under the home with its size; logs/ left out (every command logs there, this refusal too)."""
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*"))
            if p.relative_to(root).parts[0] != "logs"}


@pytest.fixture
def home(tmp_path) -> Path:
    home = make_home(tmp_path / "sohoa-data", signing=True)
    tiny_scan(home / "inbox" / "van-ban-di" / "giấy-mời.jpg", variant=3)
    return home


def assert_refused(done: subprocess.CompletedProcess, setting: str, advice: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sohoa: lỗi: ") and "config.toml" in lines[0], lines
    assert setting in lines[0] and advice in lines[0], lines[0]
    assert "Traceback" not in done.stdout + done.stderr


def watch(home: Path) -> subprocess.CompletedProcess:
    """`sohoa watch`, which must refuse at once (a timeout would mean it started)."""
    env = {k: v for k, v in os.environ.items() if k != "SOHOA_HOME"}
    return subprocess.run([str(SOHOA), "--home", str(home), "watch"], capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.mark.parametrize("name, edit, setting, advice", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_ingest_refuses_a_setting_that_cannot_work(home, tmp_path, name, edit, setting, advice):
    configured(home, edit)
    scan = tiny_scan(tmp_path / "giấy-mời.jpg", variant=4)
    before, scan_bytes = tree(home), scan.read_bytes()
    done = run_sohoa(home, "ingest", str(scan))
    assert_refused(done, setting, advice)
    assert tree(home) == before and scan.read_bytes() == scan_bytes
    assert not (home / "archive").exists() or not any((home / "archive").iterdir())


@pytest.mark.parametrize("name, edit, setting, advice", MISTAKES + WATCH_ONLY,
                         ids=[m[0] for m in MISTAKES + WATCH_ONLY])
def test_watch_refuses_a_setting_that_cannot_work(home, name, edit, setting, advice):
    configured(home, edit)
    before = tree(home)
    done = watch(home)
    assert_refused(done, setting, advice)
    assert tree(home) == before  # the scan still in its inbox, no folder, no lock file made


@pytest.mark.skipif(not SOFTHSM_MODULE.exists(), reason="SoftHSM2 is not installed")
@pytest.mark.parametrize("command", ["ingest", "watch"])
def test_a_token_not_plugged_in_is_refused_without_a_login(home, tmp_path, command):
    tokens = tmp_path / "tokens"  # SoftHSM2 with no token of that label: as if unplugged
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n", encoding="utf-8")
    configured(home, (r'^pkcs12 = .*\npin_file = .*$',
                      f'pkcs11_module = "{SOFTHSM_MODULE}"\ntoken_label = "VNPT-CA"\nkey_label = "agency"'))
    env = {k: v for k, v in os.environ.items() if k != "SOHOA_HOME"}
    env.update(SOFTHSM2_CONF=str(conf), SOHOA_SIGNING_PIN="123456")
    scan = tiny_scan(tmp_path / "giấy-mời.jpg", variant=5)
    before = tree(home)
    args = ["ingest", str(scan)] if command == "ingest" else ["watch"]
    done = subprocess.run([str(SOHOA), "--home", str(home), *args], capture_output=True, text=True, env=env,
                          timeout=60)
    assert_refused(done, "[signing] token_label", "cắm token")
    assert tree(home) == before
