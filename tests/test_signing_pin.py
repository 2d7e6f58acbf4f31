"""A wrong token PIN (issue 11, point 6): one try of the token's few, never one per file.

A VNPT-CA or Viettel-CA token blocks its PIN after 3 to 10 wrong tries. The token here is
a real SoftHSM2 token (tests/pki); the tries are counted by the token itself: SoftHSM2
rewrites its token object at every C_Login, right or wrong, and the object file starts with
a generation number it increments each time (nothing else these tests do writes it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pkcs11
import pytest

from signing.errors import IdentityUnavailable, PinRejected
from signing.identity import pin_refusal
from signing.pin_pause import PAUSE_FILE
from tests.conftest import run_sohoa
from tests.pki import SoftHsmToken
from tests.pki.fixtures import configure, text_pdf
from tests.test_watch_support import Service, inbox_files, jobs, make_home, wait_for, wait_settled
from watch_folders.transient import is_transient
from watch_folders.workers import _failure

WRONG_PIN = "000000"
DOCS = ("cong_van_268", "quyet_dinh_15", "ke_hoach_42", "thong_bao_05", "giay_moi_17")


def drop(home: Path, tmp_path: Path, profile: str, name: str, doc: str) -> Path:
    """A scan with a text layer (no OCR to wait for), made aside and renamed into the inbox."""
    made = text_pdf(tmp_path, name, doc)
    target = home / "inbox" / profile / name
    made.replace(target)
    return target


def login_attempts(token: SoftHsmToken) -> int:
    """C_Login calls the token has seen (see the module's docstring)."""
    (token_object,) = (token.conf.parent / "tokens").glob("*/token.object")
    return int.from_bytes(token_object.read_bytes()[:8], "big")


def use_token(home: Path, token: SoftHsmToken, pin_file: Path, pin: str, pki) -> None:
    """The home signs with the SoftHSM2 token, its PIN read from pin_file."""
    config = home / "config.toml"
    text = re.sub(r"^pkcs12 = .*\n^pin_file = .*\n", "", config.read_text(encoding="utf-8"), flags=re.MULTILINE)
    config.write_text(text, encoding="utf-8")
    pin_file.write_text(pin + "\n", encoding="utf-8")
    configure(home, pkcs11_module=str(token.module), token_label=token.label, key_label="agency",
              level="B-B", pin_file=str(pin_file), trust_roots=[str(pki.root_pem)])


@pytest.fixture
def token(softhsm_token, monkeypatch) -> SoftHsmToken:
    # The services and commands get the test process's environment: the token's
    # configuration, and no PIN variable that would win over the pin file.
    monkeypatch.setenv("SOFTHSM2_CONF", str(softhsm_token.conf))
    monkeypatch.delenv("SOHOA_SIGNING_PIN", raising=False)
    return softhsm_token


def status(home: Path) -> tuple[str, dict]:
    text = run_sohoa(home, "status")
    as_json = run_sohoa(home, "status", "--json")
    assert text.returncode == 0 and as_json.returncode == 0, text.stderr + as_json.stderr
    return text.stdout, json.loads(as_json.stdout)


def test_a_wrong_pin_at_start_costs_one_try_files_wait_and_a_restart_with_the_right_pin_does_them(
        tmp_path, pki, token):
    home = make_home(tmp_path / "home", signing=True)
    pin_file = tmp_path / "pin.txt"
    use_token(home, token, pin_file, WRONG_PIN, pki)
    before = login_attempts(token)

    with Service(home) as service:
        wait_for(lambda: "event=signing-paused" in service.log(), 30, "the service to say the PIN is wrong")
        console = service.output()
        said = [line for line in console.splitlines() if "Mã PIN của token ký số sai" in line]
        assert len(said) == 1, console
        assert "đã dừng ký số để token không bị khóa" in said[0] and str(pin_file) in said[0]
        assert "khởi động lại dịch vụ" in said[0]

        to_sign = [drop(home, tmp_path, "van-ban-di", f"cv-{n}.pdf", DOCS[n]) for n in range(4)]
        not_signed = drop(home, tmp_path, "van-ban-den", "den.pdf", DOCS[4])
        # A profile that does not sign goes on; each file to sign is said to wait.
        wait_for(lambda: any(j["state"] == "done" and j["source_cleared"] for j in jobs(home)), 120,
                 "the unsigned profile's file")
        wait_for(lambda: service.log().count("event=waiting-for-pin") >= 4, 30, "the 4 files to be held")
        assert not not_signed.exists()

        held = [j for j in jobs(home) if j["profile"] == "van-ban-di"]
        assert [j["state"] for j in held] == ["received"] * 4
        assert all(j["attempts"] == 0 for j in held), held  # no try counted against the files
        assert login_attempts(token) - before == 1  # the start's one login; none for the 4 files
        assert inbox_files(home) == sorted(to_sign)
        assert not list((home / "failed").rglob("*.*"))
        text, report = status(home)
        assert "Ký số ĐANG DỪNG" in text and "Mã PIN của token ký số sai" in text, text
        assert report["signing_paused"] is not None and report["queued"] == 4

    # Stopped, it still says so: the pause is written in the home.
    text, _ = status(home)
    assert "Ký số ĐANG DỪNG" in text
    assert login_attempts(token) - before == 1
    assert WRONG_PIN not in (home / PAUSE_FILE).read_text(encoding="utf-8")

    # Started again (by systemd after a crash, say) with the PIN still the refused one:
    # said again, and no try spent.
    with Service(home) as service:
        assert "reason=same-pin-as-refused" in service.log()
        assert "Mã PIN của token ký số sai" in service.output()
        wait_for(lambda: service.log().count("event=waiting-for-pin") >= 8, 30, "the 4 files to be held again")
        assert [j["state"] for j in jobs(home) if j["profile"] == "van-ban-di"] == ["received"] * 4
    assert login_attempts(token) - before == 1

    pin_file.write_text(token.pin + "\n", encoding="utf-8")
    with Service(home) as service:
        done = wait_settled(home, 5)
        assert [j["state"] for j in done] == ["done"] * 5
        assert "event=signing-paused" not in service.log().split(f"event=started pid={service.process.pid}")[-1]
    assert not (home / PAUSE_FILE).exists()
    assert inbox_files(home) == [] and sorted(p.name for p in (home / "done" / "van-ban-di").iterdir()) == \
        [f"cv-{n}.pdf" for n in range(4)]
    text, report = status(home)
    assert "Ký số" not in text and report["signing_paused"] is None


def test_a_pin_gone_wrong_while_running_costs_one_try_for_all_the_workers(tmp_path, pki, token):
    """Three workers start documents to sign at once, each to log in for the first time:
    the first meets the wrong PIN, the others find the pause and do not try."""
    home = make_home(tmp_path / "home", signing=True, documents_in_flight=3)
    pin_file = tmp_path / "pin.txt"
    use_token(home, token, pin_file, token.pin, pki)

    with Service(home) as service:
        assert "event=signing-ready" in service.log()
        pin_file.write_text(WRONG_PIN + "\n", encoding="utf-8")  # the operator's slip
        before = login_attempts(token)
        to_sign = [drop(home, tmp_path, "van-ban-di", f"cv-{n}.pdf", DOCS[n]) for n in range(4)]
        wait_for(lambda: "event=signing-paused" in service.log(), 120, "the service to say the PIN is wrong")
        wait_for(lambda: len(jobs(home)) == 4 and all(j["state"] == "received" for j in jobs(home))
                 and service.log().count("event=waiting-for-pin") >= 4, 60, "the 4 files to be held")
        assert login_attempts(token) - before == 1
        assert all(j["attempts"] == 0 for j in jobs(home)), jobs(home)
        assert inbox_files(home) == sorted(to_sign)
        assert not list((home / "failed").rglob("*.*"))
        said = [line for line in service.output().splitlines() if "Mã PIN của token ký số sai" in line]
        assert len(said) == 1, service.output()
        assert "Ký số ĐANG DỪNG" in status(home)[0]
    assert login_attempts(token) - before == 1


def test_ingest_with_a_wrong_pin_stops_before_the_first_file(tmp_path, pki, token):
    home = tmp_path / "home"
    assert run_sohoa(home, "init").returncode == 0
    use_token(home, token, tmp_path / "pin.txt", WRONG_PIN, pki)
    files = [text_pdf(tmp_path, f"{name}.pdf", doc) for name, doc in zip("abc", DOCS)]
    contents = [f.read_bytes() for f in files]
    before = login_attempts(token)

    done = run_sohoa(home, "ingest", *map(str, files))

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "sai mã PIN" in done.stderr and token.label in done.stderr and "không thử tiếp" in done.stderr
    assert token.pin not in done.stderr + done.stdout
    assert login_attempts(token) - before == 1
    assert [f.read_bytes() for f in files] == contents
    assert not [p for p in (home / "archive").rglob("*") if p.is_file()]
    # `sohoa ingest` does not pause the service: its PIN may come from another place
    assert not (home / PAUSE_FILE).exists()


@pytest.mark.parametrize("refusal, says", [
    (pkcs11.exceptions.PinIncorrect, "sai mã PIN"),
    (pkcs11.exceptions.PinLenRange, "sai độ dài"),
    (pkcs11.exceptions.PinInvalid, "ký tự"),
    (pkcs11.exceptions.PinLocked, "đã bị khóa"),
    (pkcs11.exceptions.PinExpired, "hết hạn"),
])
def test_every_pin_refusal_pauses_signing_and_is_never_retried(refusal, says):
    try:
        try:
            raise refusal()
        except refusal as error:
            raise pin_refusal(error, "token «t»", "tệp /etc/sohoa/pin") from None
    except PinRejected as rejected:
        error = rejected
    assert error.code == "signing-pin" and says in error.reason
    assert "khởi động lại dịch vụ" in error.advice and "/etc/sohoa/pin" in error.advice
    assert not is_transient(error)
    done = _failure(7, error)
    assert done.outcome == "signing-paused" and done.error_code == "signing-pin" and done.reason == error.advice
    # a token unplugged is still a "not now"
    assert is_transient(IdentityUnavailable("token «t»: không mở được token (TokenNotPresent)"))
