"""No silent new archive (issue 13, point 4): every command but `init` refuses a folder that
is not an initialised home; `init` records the agency's name and code; `sohoa agency set`
renames it and renews the test signing identity."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from tests.conftest import SOHOA, json_lines, run_sohoa
from tests.test_watch_support import make_home, tiny_scan

COMMANDS = [
    ("search", "văn bản"), ("show", "1"), ("status",), ("verify", "--all"), ("audit",), ("set", "1", "number=1/QĐ"),
    ("ingest", "{scan}"), ("watch",), ("reindex",), ("check",), ("review",), ("timestamp", "renew"),
    ("agency", "set", "--name", "Sở Nội vụ"),
]


@pytest.mark.parametrize("made", [False, True], ids=["missing-folder", "empty-folder"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c[:2]))
def test_a_folder_without_config_is_refused_and_left_as_it_was(tmp_path, command, made):
    scan = tiny_scan(tmp_path / "scan.jpg")
    home = tmp_path / "nhầm chỗ" / "sohoa-data"
    if made:
        home.mkdir(parents=True)
    done = run_sohoa(home, *[part.format(scan=scan) for part in command])
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"sohoa: lỗi: {home} không phải kho dữ liệu sohoa (không có config.toml). "
        f"Tạo kho mới: sohoa --home {home} init"]
    assert done.stdout == ""
    if made:
        assert list(home.iterdir()) == []
    else:
        assert not home.parent.exists()


def test_the_default_home_in_the_current_folder_is_not_created_either(tmp_path):
    done = subprocess.run([str(SOHOA), "search", "x"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2 and "sohoa-data không phải kho dữ liệu sohoa" in done.stderr
    assert list(tmp_path.iterdir()) == []


def certificate_of(home: Path):
    keys = home / "keys"
    pin = (keys / "sohoa-THU-NGHIEM-khong-tin-cay.pin").read_text().strip()
    _, certificate, _ = pkcs12.load_key_and_certificates(
        (keys / "sohoa-THU-NGHIEM-khong-tin-cay.p12").read_bytes(), pin.encode())
    return certificate


def attribute(certificate, oid) -> str:
    return certificate.subject.get_attributes_for_oid(oid)[0].value


def test_init_takes_the_agency_name_and_code(tmp_path):
    home = tmp_path / "sohoa-data"
    done = run_sohoa(home, "init", "--agency-name", "Sở Nội vụ tỉnh Bình Định", "--agency-code", "H09.01")
    assert done.returncode == 0, done.stderr
    config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    assert config["agency"]["name"] == "Sở Nội vụ tỉnh Bình Định"
    assert config["metadata"]["agency_code"] == "H09.01"
    assert "# " in (home / "config.toml").read_text(encoding="utf-8")  # the comments are kept
    certificate = certificate_of(home)
    assert attribute(certificate, NameOID.ORGANIZATION_NAME) == "Sở Nội vụ tỉnh Bình Định"
    assert attribute(certificate, NameOID.ORGANIZATION_IDENTIFIER) == "H09.01"
    assert "THỬ NGHIỆM" in attribute(certificate, NameOID.COMMON_NAME)


def test_a_long_vietnamese_agency_name_fits_in_the_test_certificate(tmp_path):
    """Certificate names hold 64 UTF-8 bytes; a full agency name is often longer (it crashed
    init, leaving a home without keys). The config keeps the whole name."""
    home = tmp_path / "sohoa-data"
    name = "Chi cục An toàn vệ sinh thực phẩm tỉnh Hậu Giang - Sở Y tế tỉnh Hậu Giang"
    done = run_sohoa(home, "init", "--agency-name", name)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))["agency"]["name"] == name
    certificate = certificate_of(home)
    common_name = attribute(certificate, NameOID.COMMON_NAME)
    assert common_name.startswith("Chi cục An toàn") and common_name.endswith("(THỬ NGHIỆM)")
    assert len(common_name.encode()) <= 64
    assert len(attribute(certificate, NameOID.ORGANIZATION_NAME).encode()) <= 64


def test_init_without_a_terminal_or_flags_uses_the_default_and_says_so(tmp_path):
    home = tmp_path / "sohoa-data"
    done = run_sohoa(home, "init")
    assert done.returncode == 0, done.stderr
    assert "Cơ quan chưa đặt tên" in done.stderr and "agency set" in done.stderr
    assert tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))["agency"]["name"] == "Cơ quan chưa đặt tên"


def test_init_on_an_existing_home_does_not_rename_silently(tmp_path):
    home = tmp_path / "sohoa-data"
    assert run_sohoa(home, "init", "--agency-name", "A").returncode == 0
    done = run_sohoa(home, "init", "--agency-name", "B")
    assert done.returncode == 1 and "agency set" in done.stderr
    assert tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))["agency"]["name"] == "A"


def test_agency_set_renames_and_renews_the_test_identity_old_signatures_still_verify(tmp_path):
    home = make_home(tmp_path / "sohoa-data")
    done = run_sohoa(home, "ingest", "--json", str(tiny_scan(tmp_path / "a.jpg")))
    assert done.returncode == 0, done.stderr
    [old_document] = json_lines(done.stdout)
    old_certificate = certificate_of(home)

    done = run_sohoa(home, "agency", "set", "--name", "UBND xã Tân Phong", "--code", "X01")
    assert done.returncode == 0, done.stderr
    config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    assert config["agency"]["name"] == "UBND xã Tân Phong" and config["metadata"]["agency_code"] == "X01"
    new_certificate = certificate_of(home)
    assert new_certificate.serial_number != old_certificate.serial_number
    assert attribute(new_certificate, NameOID.ORGANIZATION_NAME) == "UBND xã Tân Phong"
    [kept] = (home / "keys").glob("previous-*")
    assert (kept / "sohoa-THU-NGHIEM-khong-tin-cay.p12").is_file()
    roots = (home / "keys" / "sohoa-THU-NGHIEM-goc-khong-tin-cay.pem").read_text()
    assert roots.count("BEGIN CERTIFICATE") == 2

    done = run_sohoa(home, "ingest", "--json", str(tiny_scan(tmp_path / "b.jpg", variant=1)))
    assert done.returncode == 0, done.stderr
    [new_document] = json_lines(done.stdout)
    done = run_sohoa(home, "verify", str(old_document["id"]), str(new_document["id"]))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith(f"✓ [mã {old_document['id']}]") for line in lines)
    assert any(line.startswith(f"✓ [mã {new_document['id']}]") and "UBND xã Tân Phong" in line for line in lines)


def test_init_at_a_terminal_asks_for_the_agency(tmp_path):
    import os
    import pty

    home = tmp_path / "sohoa-data"
    pid, fd = pty.fork()
    if pid == 0:  # the child: sohoa on a terminal, as an operator runs it
        os.execv(str(SOHOA), [str(SOHOA), "--home", str(home), "init"])
    said = b""

    def read_until(token: str) -> None:
        nonlocal said
        while token.encode() not in said:
            said += os.read(fd, 1024)

    read_until("Tên cơ quan lưu trữ")
    os.write(fd, "Văn phòng UBND huyện Tuy Phước\n".encode())
    read_until("Mã định danh cơ quan")
    os.write(fd, b"H52.10\n")
    read_until("Đã tạo kho dữ liệu")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    assert config["agency"]["name"] == "Văn phòng UBND huyện Tuy Phước"
    assert config["metadata"]["agency_code"] == "H52.10"
    assert attribute(certificate_of(home), NameOID.ORGANIZATION_IDENTIFIER) == "H52.10"
