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
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

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


class WebServer:
    """`sohoa serve` as a user starts it, on a port the system picks (--bind 127.0.0.1:0,
    the address read from its own start line), stopped with Ctrl-C."""

    def __init__(self, home: Path, log: Path):
        self.home = Path(home)
        self.log = log
        self.url = ""
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> "WebServer":
        environment = {k: v for k, v in os.environ.items() if k != "SOHOA_HOME"}
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            # A process group of its own, as at a terminal: Ctrl-C reaches it and only it.
            self.process = subprocess.Popen(
                [str(BIN / "sohoa"), "--home", str(self.home), "serve", "--bind", "127.0.0.1:0", "--json"],
                cwd=REPO, env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            self.url = self._until(self._started, timeout, "its start line").rstrip("/")
            self._until(self._answers, timeout, f"an HTTP answer on {self.url}")
        except BaseException:
            self.stop()
            raise
        return self

    def _until(self, condition, timeout: float, what: str):
        """Poll until condition() gives something; fail at once, with the log, if the
        process ended first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"sohoa serve ended (code {self.process.returncode}) before {what}:\n"
                                     f"{self.log_text()}")
            value = condition()
            if value:
                return value
            time.sleep(0.1)  # poll interval, not evidence: the condition is
        raise AssertionError(f"sohoa serve gave no {what} within {timeout} s:\n{self.log_text()}")

    def _started(self) -> str | None:
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line still being written
                if event.get("event") == "web-started":
                    return event["url"]
        return None

    def _answers(self) -> bool:
        address = urlsplit(self.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
        try:
            connection.request("GET", "/dang-nhap/")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self, timeout: float = 60) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGINT)  # Ctrl-C at the terminal
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            raise AssertionError(f"sohoa serve did not stop within {timeout} s of Ctrl-C:\n{self.log_text()}")


def add_users(home: Path, users: list[tuple[str, Role, Level]], password: str = PASSWORD) -> None:
    """Staff accounts, each made with `sohoa user add NAME --role R --clearance L` and the
    password on standard input, as an administrator makes them (all at once: each command
    is a process start)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("SOHOA_HOME", "SOHOA_PASSWORD")}
    running = []
    for name, role, clearance in users:
        command = [str(BIN / "sohoa"), "--home", str(home), "user", "add", name, "--role", role.slug,
                   "--clearance", clearance.slug]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, env=environment)
        running.append((name, process))
    failures = []
    for name, process in running:
        said, _ = process.communicate(password + "\n", timeout=120)
        if process.returncode != 0:
            failures.append(f"sohoa user add {name}: {said}")
    assert not failures, "\n".join(failures)


def launch_chromium(playwright):
    if not Path(CHROMIUM).exists():
        raise AssertionError(f"{CHROMIUM} is missing: the browser journeys need Debian's chromium "
                             "(apt-get install chromium; `make test` installs it)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def screenshot(target, name: str) -> Path:
    """A page (whole, scrolled) or one element of it, as test-artifacts/web/<name>.png."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    if hasattr(target, "goto"):
        target.screenshot(path=str(path), full_page=True)
    else:
        target.screenshot(path=str(path))
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
