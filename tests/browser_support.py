"""The browser suite's parts: the web application served for real (its own process on a free
loopback port, as a user starts it), Debian's Chromium driven by Playwright (never a
downloaded browser), screenshots kept as test artifacts, and axe-core's accessibility check.

Nothing here skips: a missing /usr/bin/chromium or a server that does not come up fails the
test with the cause, so CI cannot pass without having run the journeys.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from core.confidentiality import Level
from core.roles import Role

REPO = Path(__file__).resolve().parents[1]
# Git-ignored; CI keeps the folder as the run's artifacts (screenshots, axe reports, server log).
ARTIFACTS = REPO / "test-artifacts" / "web"
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium as a container runs it: no sandbox (no user namespaces in CI), no GPU,
# and nothing that reaches out to Google's servers (there is no network to reach).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic",
]
PASSWORD = "mật-khẩu-thử-nghiệm-42"
# axe's impacts that fail a page; minor and moderate ones are written to the report.
BLOCKING_IMPACTS = ("serious", "critical")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Until `sohoa serve` and `sohoa user add` exist (commands/web.py), gunicorn directly and
# users written in-process; then the site is started and the users made as a user does.
USE_CLI = False


def has_serve_command() -> bool:
    return USE_CLI


class WebServer:
    """The web application in a process of its own, serving one home on 127.0.0.1:port."""

    def __init__(self, home: Path, log: Path):
        self.home = Path(home)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        if has_serve_command():
            return [str(BIN / "sohoa"), "--home", str(self.home), "serve", "--bind", f"127.0.0.1:{self.port}"]
        return [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "4",
                "--timeout", "120",
                # not the shared ~/.gunicorn/gunicorn.ctl: other servers may run beside this one
                "--no-control-socket", "web.wsgi:application"]

    def start(self, timeout: float = 90) -> "WebServer":
        environment = {k: v for k, v in os.environ.items() if k not in ("SOHOA_HOME", "DJANGO_SETTINGS_MODULE")}
        environment.update(DJANGO_SETTINGS_MODULE="web.settings", SOHOA_HOME=str(self.home))
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            # A session of its own: stopping it reaches gunicorn's workers (and serve's watcher) too.
            self.process = subprocess.Popen(self.command(), cwd=REPO, env=environment, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready(timeout)
        return self

    def answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/dang-nhap/")
            return connection.getresponse().status < 500
        except OSError:
            return False
        finally:
            connection.close()

    def wait_ready(self, timeout: float) -> None:
        """Poll until the site answers an HTTP request; fail at once, with its log, if the
        process ended first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the web server ended (code {self.process.returncode}) before answering:\n"
                                     f"{self.log_text()}")
            if self.answers():
                return
            time.sleep(0.1)  # poll interval, not evidence: the HTTP answer is
        self.stop()
        raise AssertionError(f"the web server did not answer on {self.url} within {timeout} s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self, timeout: float = 30) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # Ctrl-C for `sohoa serve`, as a user stops it; gunicorn's graceful stop is SIGTERM.
        how = signal.SIGINT if has_serve_command() else signal.SIGTERM
        os.killpg(self.process.pid, how)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            raise AssertionError(f"the web server did not stop within {timeout} s of {how.name}:\n{self.log_text()}")


def add_user(home: Path, name: str, role: Role, clearance: Level, password: str = PASSWORD) -> None:
    """A staff account, made with `sohoa user add` (password on standard input) as an
    administrator makes one."""
    command = [str(BIN / "sohoa"), "--home", str(home), "user", "add", name, "--role", role.slug,
               "--clearance", clearance.slug]
    environment = {k: v for k, v in os.environ.items() if k != "SOHOA_HOME"}
    done = subprocess.run(command, input=password + "\n", capture_output=True, text=True, env=environment,
                          timeout=120)
    assert done.returncode == 0, f"sohoa user add {name}: {done.stdout}{done.stderr}"


def add_user_in_process(home: Path, name: str, role: Role, clearance: Level, password: str = PASSWORD) -> None:
    """Until `sohoa user add` exists: the same rows written through Django in this process
    (the home's SQLite database is shared with the server)."""
    from tests.web_support import make_user, use_web_home

    use_web_home(home)
    make_user(name, role, clearance, password=password)


def launch_chromium(playwright):
    if not Path(CHROMIUM).exists():
        raise AssertionError(f"{CHROMIUM} is missing: the browser journeys need Debian's chromium "
                             "(apt-get install chromium; `make test` installs it)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def screenshot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def check_accessibility(page, name: str) -> list[dict]:
    """axe-core on the page as it is now: fails on a serious or critical violation, writes
    every violation to test-artifacts/web/axe-<name>.json and returns the lesser ones."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(violations, ensure_ascii=False, indent=1),
                                                 encoding="utf-8")
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    assert not blocking, f"{name} ({page.url}): accessibility violations\n" + describe(blocking)
    return [v for v in violations if v not in blocking]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        targets = [" ".join(map(str, node.get("target", []))) for node in violation.get("nodes", [])][:5]
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation.get('help')} at {targets}")
    return "\n".join(lines)
