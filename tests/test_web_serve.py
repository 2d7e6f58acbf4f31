"""`sohoa serve` as an operator runs it: a real process on a free port, gunicorn answering
the login page, the watch half archiving a dropped scan, Ctrl-C stopping both with nothing
left running, and one half dying taking the other down with a Vietnamese line."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import SOHOA
from tests.test_watch_support import Service, make_home, tiny_scan, wait_for, wait_settled

PASSWORD = "trăm-năm-trong-cõi-người-ta"


class Serve:
    """`sohoa --home HOME serve --bind 127.0.0.1:0 --json` in a session of its own, as a
    terminal runs it (Ctrl-C goes to its whole foreground process group)."""

    def __init__(self, home: Path, *extra: str):
        self.home = home
        self.tag = uuid.uuid4().hex  # inherited by serve and every process under it
        self.out = home.parent / f"serve-{self.tag[:8]}.out"
        self.err = home.parent / f"serve-{self.tag[:8]}.err"
        env = {k: v for k, v in os.environ.items() if k not in ("SOHOA_HOME", "SOHOA_SECRET_KEY")}
        env["SOHOA_TEST_TAG"] = self.tag
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen([str(SOHOA), "--home", str(home), "serve", "--json", *extra],
                                            stdout=out, stderr=err, env=env, start_new_session=True)

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.out.read_text(encoding="utf-8").splitlines()
                if line.startswith("{")]

    def url(self) -> str:
        def started():
            assert self.process.poll() is None, self.err.read_text(encoding="utf-8")
            return next((e["url"] for e in self.events() if e["event"] == "web-started"), None)

        return wait_for(started, 120, "serve to say its address")

    def processes(self) -> dict[int, str]:
        """Every live process under this serve (by the tag in its environment): pid -> cmdline."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if f"SOHOA_TEST_TAG={self.tag}".encode() not in (entry / "environ").read_bytes().split(b"\0"):
                    continue
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
        return found

    def children(self) -> dict[int, str]:
        return {pid: cmd for pid, cmd in self.processes().items()
                if _parent(pid) == self.process.pid}

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in self.processes():  # nothing of a failed test left on the CPUs
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.fixture
def home(tmp_path) -> Path:
    root = make_home(tmp_path / "sohoa-data")
    added = subprocess.run([str(SOHOA), "--home", str(root), "user", "add", "lan", "--role", "cán-bộ"],
                           input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    return root


@pytest.fixture
def serve(home):
    running = []

    def start(*extra: str) -> Serve:
        running.append(Serve(home, *extra))
        return running[-1]

    yield start
    for one in running:
        one.close()


def _log_in(url: str) -> tuple[int, str]:
    """Log in through gunicorn as a browser does: the form's CSRF cookie and token, then POST."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(url + "dang-nhap/", timeout=60).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"username": "lan", "password": PASSWORD, "csrfmiddlewaretoken": token,
                                   "next": "/dang-nhap/"}).encode()
    answer = opener.open(urllib.request.Request(url + "dang-nhap/", data=data), timeout=60)
    return answer.status, " ".join(cookie.name for cookie in jar)


def test_serve_answers_through_gunicorn_archives_a_dropped_scan_and_stops_on_ctrl_c(home, serve):
    running = serve("--bind", "127.0.0.1:0")
    url = running.url()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url) and not url.endswith(":0/")

    page = urllib.request.urlopen(url + "dang-nhap/", timeout=60)
    assert page.status == 200 and page.headers["Server"].startswith("gunicorn")
    assert "Đăng nhập" in page.read().decode()
    children = running.children()
    assert any("-m gunicorn web.wsgi:application" in cmd for cmd in children.values()), children
    assert any(cmd.rstrip().endswith(" watch --json") for cmd in children.values()), children
    # a logged-in session through the real server (CSRF cookie and token, session cookie)
    status, cookies = _log_in(url)
    assert status == 200 and "sessionid" in cookies

    # the watch half: a scan dropped into an inbox is archived
    tiny_scan(home / "inbox" / "luu-tru" / "giấy-mời.jpg")
    (job,) = wait_settled(home, 1, timeout=180)
    assert job["state"] == "done", job

    # no secret on any command line (`ps` shows them to every user of the machine)
    secret = (home / "web-secret-key").read_text().strip()
    assert all(secret not in cmd and PASSWORD not in cmd for cmd in running.processes().values())

    os.killpg(running.process.pid, signal.SIGINT)  # Ctrl-C at the terminal
    assert running.process.wait(timeout=120) == 0, running.err.read_text(encoding="utf-8")
    said = [e["event"] for e in running.events()]
    assert said[-1] == "stopped" and "stopping" in said
    wait_for(lambda: not running.processes(), 30, "every process of serve to end")
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "dang-nhap/", timeout=5)


def test_when_the_web_server_dies_the_watch_service_is_stopped_too(home, serve):
    running = serve("--bind", "127.0.0.1:0")
    running.url()
    (web_pid,) = [pid for pid, cmd in running.children().items() if "-m gunicorn" in cmd]
    os.kill(web_pid, signal.SIGKILL)
    assert running.process.wait(timeout=120) == 1
    said = running.err.read_text(encoding="utf-8").strip().splitlines()
    assert said[-1].startswith("sohoa: lỗi: trang web (gunicorn) đã dừng bất thường (bị tín hiệu SIGKILL dừng)")
    assert "đã dừng cả dịch vụ theo dõi thư mục" in said[-1]
    wait_for(lambda: not running.processes(), 60, "the watch service and gunicorn's workers to end")


def test_a_port_in_use_is_said_before_anything_starts(home, serve):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = serve("--bind", f"127.0.0.1:{port}")
        assert running.process.wait(timeout=120) == 1
    said = running.err.read_text(encoding="utf-8").strip()
    assert said == (f"sohoa: lỗi: cổng {port} trên 127.0.0.1 đang có chương trình khác dùng (có thể một sohoa "
                    f"serve khác); chọn cổng khác: --bind 127.0.0.1:{port + 1}")
    assert not running.processes()


def test_a_watch_service_already_running_on_the_home_is_said_before_the_web_starts(home, serve):
    with Service(home) as watching:
        running = serve("--bind", "127.0.0.1:0")
        assert running.process.wait(timeout=120) == 1
        said = running.err.read_text(encoding="utf-8").strip()
        assert said == (f"sohoa: lỗi: dịch vụ theo dõi thư mục của kho {home} đang chạy (tiến trình "
                        f"{watching.process.pid}); hãy dừng nó trước (Ctrl-C hoặc systemctl stop sohoa-watch) "
                        "rồi chạy lại sohoa serve")
        assert not running.processes()


def test_serve_killed_outright_leaves_nothing_running(home, serve):
    """kill -9 of serve itself (an OOM kill, a careless operator): its children get SIGTERM
    from the kernel (PR_SET_PDEATHSIG) and stop on their own, the port is freed."""
    running = serve("--bind", "127.0.0.1:0")
    url = running.url()
    assert len(running.children()) == 2
    os.kill(running.process.pid, signal.SIGKILL)
    running.process.wait(timeout=30)
    wait_for(lambda: not running.processes(), 90, "gunicorn and the watch service to stop after serve's death")
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "dang-nhap/", timeout=5)
