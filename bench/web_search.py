"""The search page's speed and `sohoa serve`'s memory, beside the CLI search on the same index.

A home is filled with N generated documents (tests/fixtures/search_corpus.py: ~2 KB of
Vietnamese administrative text each, with metadata) the way a real one is: catalog rows
(documents, pages), then `sohoa reindex`. Then `sohoa serve` runs on a loopback port, a
cán bộ logs in, and the same queries are asked four ways, in the same run:

* the search page, as the server answers it (the whole HTML page, and the htmx partial),
  timed from the request to the last byte on loopback;
* the search page as the browser sees it (Chromium through Playwright: navigation start to
  the load event), fewer queries;
* the CLI, `sohoa search` (one process per query, start-up included);
* the reference: the index's own search in-process (open_index(...).search, 20 hits with
  snippets, count_matches and facets — what the page asks of it).

Memory: the resident set of the whole `sohoa serve` process tree (gunicorn's master and
workers, the watch service and its workers) at rest, and its peak under 20 concurrent
searches; beside the peak of one `sohoa search` process.

    .venv/bin/python bench/web_search.py [--documents 100000] [--queries 200] [--workdir DIR] [--quick]

The filled home is kept in --workdir and reused by the next run with the same size.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.patches import apply_all  # noqa: E402

apply_all()

SOHOA = Path(sys.executable).parent / "sohoa"
USER, PASSWORD = "bench-can-bo", "Mat-khau-do-toc-do-2026"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


def sohoa(home: Path, *args: str, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {})}
    environment.pop("SOHOA_HOME", None)
    done = subprocess.run([str(SOHOA), "--home", str(home), *args], capture_output=True, text=True,
                          env=environment, input=stdin)
    if done.returncode != 0:
        raise SystemExit(f"sohoa {' '.join(args)} failed:\n{done.stderr}")
    return done


# -- the home -----------------------------------------------------------------------------


def fill_home(home: Path, total: int) -> None:
    """Catalog rows for `total` generated documents, then `sohoa reindex`."""
    from tests.fixtures import search_corpus as corpus

    sohoa(home, "init", "--agency-name", "Sở Nội vụ (đo tốc độ)", "--agency-code", "H99.01")
    from core.database import use_home_database

    alias = use_home_database(home)
    from core.models import Document, Page
    batch = 2000
    for start in range(1, total + 1, batch):
        documents, pages = [], []
        for doc_id in range(start, min(total, start + batch - 1) + 1):
            entry = corpus.background_document(doc_id)
            metadata = {"summary": entry.title, "number": entry.number, "issue_date": entry.issue_date.isoformat(),
                        "doc_type": entry.doc_type, "issuing_body": entry.issuing_body, "profile": entry.profile}
            documents.append(Document(
                id=doc_id, received_at="2026-01-01T08:00:00+07:00", original_name=f"ban-quet-{doc_id}.pdf",
                original_format="pdf", original_sha256=f"{doc_id:064x}", original_size=1, archive_dir=f"bench/{doc_id}",
                original_file="original.pdf", pdfa_file="document.pdf", pdfa_sha256=f"{doc_id:064x}", pdfa_size=1,
                sidecar_file="metadata.json", sidecar_sha256=f"{doc_id:064x}", page_count=len(entry.pages),
                metadata_json=json.dumps(metadata, ensure_ascii=False)))
            pages += [Page(document_id=doc_id, page_number=n, text_source="ocr", text=text)
                      for n, text in enumerate(entry.pages, 1)]
        Document.objects.using(alias).bulk_create(documents)
        Page.objects.using(alias).bulk_create(pages)
    print(f"… {total:,} tài liệu trong danh mục; dựng chỉ mục (sohoa reindex)", file=sys.stderr, flush=True)
    sohoa(home, "reindex")
    sohoa(home, "user", "add", USER, "--role", "cán-bộ", "--clearance", "tuyệt-mật", env={"SOHOA_PASSWORD": PASSWORD})
    (home / "bench-filled").write_text(str(total))


def queries(count: int) -> list[str]:
    """The search bench's query mix (words with and without diacritics, phrases), texts only."""
    sys.argv, saved = [sys.argv[0]], sys.argv
    try:
        from bench.search_speed import _queries
    finally:
        sys.argv = saved
    texts = [text for mix in _queries(count).values() for text, _ in mix if text]
    return texts[:count]


# -- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, home: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {k: v for k, v in os.environ.items() if k != "SOHOA_HOME"}
        self.log = open(home / "bench-serve.out", "wb")
        self.process = subprocess.Popen([str(SOHOA), "--home", str(home), "serve", "--bind", f"127.0.0.1:{self.port}"],
                                        stdout=self.log, stderr=subprocess.STDOUT, env=environment)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/dang-nhap/", timeout=5).read()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"sohoa serve ended: {(home / 'bench-serve.out').read_text()[-2000:]}")
                time.sleep(0.2)  # polling for readiness, not a measurement
        raise SystemExit("sohoa serve did not answer within 120 s")

    def tree(self) -> list[int]:
        found, frontier = [], [self.process.pid]
        while frontier:
            pid = frontier.pop()
            found.append(pid)
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            frontier += [int(c) for c in children]
        return found

    def rss_mb(self, only_web: bool = False) -> float:
        """Resident memory of the whole tree, or (only_web) of gunicorn's processes alone."""
        total = 0
        for pid in self.tree():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                if only_web and b"gunicorn" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            total += int(match.group(1)) if match else 0
        return total / 1024

    def stop(self) -> None:
        self.process.send_signal(2)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def logged_in_opener(base: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/dang-nhap/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(base + "/dang-nhap/", data=data, headers={"Referer": base + "/dang-nhap/"})
    answer = opener.open(request)
    if "/dang-nhap/" in answer.geturl():
        raise SystemExit("bench: login refused")
    return opener


def timed_get(opener, url: str, headers: dict | None = None) -> tuple[float, bytes]:
    started = time.perf_counter()
    body = opener.open(urllib.request.Request(url, headers=headers or {})).read()
    return (time.perf_counter() - started) * 1000, body


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


# -- the measurements ------------------------------------------------------------------------


def reference_in_process(home: Path, texts: list[str]) -> list[float]:
    """The index's own work for one page of results: 20 hits with snippets, the total, the facets."""
    from core.home import Home
    from index import SearchFilters, SearchOptions, open_index

    home_ = Home(home)
    options = SearchOptions(filters=SearchFilters(max_confidentiality=3))
    timings = []
    with open_index(home_.index_dir, home_.config().index_engine) as index:
        for text in texts[:20]:
            index.search(text, 20, options)
        for text in texts:
            started = time.perf_counter()
            index.search(text, 20, options)
            index.count_matches(text, options=options)
            if hasattr(index, "facets"):
                index.facets(text, options)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def cli_searches(home: Path, texts: list[str]) -> tuple[list[float], float]:
    timings, peak = [], 0.0
    for text in texts:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", str(SOHOA), "--home", str(home), "search", "--limit", "20",
                               text], capture_output=True, text=True)
        timings.append((time.perf_counter() - started) * 1000)
        peak = max(peak, int(done.stderr.strip().splitlines()[-1]) / 1024)
    return timings, peak


def browser_searches(base: str, texts: list[str]) -> list[float]:
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(base + "/dang-nhap/")
        page.fill("input[name=username]", USER)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form button[type=submit], form input[type=submit]").last.click()
        page.wait_for_url(lambda url: "/dang-nhap/" not in url)
        for text in texts[:5]:
            page.goto(base + "/?" + urllib.parse.urlencode({"q": text}))
        for text in texts:
            page.goto(base + "/?" + urllib.parse.urlencode({"q": text}), wait_until="load")
            timings.append(page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; }"))
        browser.close()
    return timings


def concurrent_peak(server: Server, texts: list[str], clients: int = 20, each: int = 10
                    ) -> tuple[float, float, float, list[float]]:
    openers = [logged_in_opener(server.base) for _ in range(clients)]
    timings: list[float] = []
    lock = threading.Lock()
    peak = [0.0, 0.0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], server.rss_mb())
            peak[1] = max(peak[1], server.rss_mb(only_web=True))
            done.wait(0.05)

    def client(number: int):
        for k in range(each):
            text = texts[(number * each + k) % len(texts)]
            elapsed, _ = timed_get(openers[number], server.base + "/?" + urllib.parse.urlencode({"q": text}))
            with lock:
                timings.append(elapsed)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return peak[0], peak[1], clients * each / wall, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--browser-queries", type=int, default=40)
    parser.add_argument("--cli-queries", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sohoa-bench-web"))
    parser.add_argument("--quick", action="store_true", help="5,000 documents, few queries: checks the bench runs")
    args = parser.parse_args()
    if args.quick:
        args.documents, args.queries, args.browser_queries, args.cli_queries = 5000, 40, 10, 5
    home = args.workdir / f"home-{args.documents}"
    if not (home / "bench-filled").exists():
        shutil.rmtree(home, ignore_errors=True)
        home.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        fill_home(home, args.documents)
        print(f"… kho {args.documents:,} tài liệu dựng trong {time.perf_counter() - started:.0f} s", file=sys.stderr)
    texts = queries(args.queries)

    reference = reference_in_process(home, texts)
    cli, cli_peak = cli_searches(home, texts[:args.cli_queries])
    server = Server(home)
    try:
        opener = logged_in_opener(server.base)
        for text in texts[:20]:
            timed_get(opener, server.base + "/?" + urllib.parse.urlencode({"q": text}))
        rest_mb, rest_web_mb = server.rss_mb(), server.rss_mb(only_web=True)
        full = [timed_get(opener, server.base + "/?" + urllib.parse.urlencode({"q": t}))[0] for t in texts]
        partial = [timed_get(opener, server.base + "/?" + urllib.parse.urlencode({"q": t}), {"HX-Request": "true"})[0]
                   for t in texts]
        browser = browser_searches(server.base, texts[:args.browser_queries])
        peak_mb, peak_web_mb, per_second, loaded = concurrent_peak(server, texts)
    finally:
        server.stop()

    ref50, ref95 = percentiles(reference)
    print(f"\nTrang tìm kiếm, {args.documents:,} tài liệu, {len(texts)} truy vấn (cùng một lần chạy)")
    print(f"{'':44}{'p50 ms':>9}{'p95 ms':>9}{'p50 ×':>8}{'p95 ×':>8}")
    rows = [("chỉ mục trong tiến trình (tham chiếu)", reference), ("trang web, máy chủ trả đủ trang", full),
            ("trang web, phần kết quả (htmx)", partial), ("trang web, trình duyệt thấy (load)", browser),
            (f"sohoa search (CLI, {len(cli)} lần)", cli), ("20 người tìm cùng lúc, mỗi yêu cầu", loaded)]
    for label, values in rows:
        p50, p95 = percentiles(values)
        print(f"{label:44}{p50:9.1f}{p95:9.1f}{p50 / ref50:7.2f}×{p95 / ref95:7.2f}×")
    print(f"\nBộ nhớ sohoa serve (cả cây tiến trình): lúc nghỉ {rest_mb:.0f} MB, đỉnh khi 20 người tìm cùng lúc "
          f"{peak_mb:.0f} MB ({per_second:.1f} yêu cầu/s); một tiến trình sohoa search: {cli_peak:.0f} MB "
          f"(×{peak_mb / cli_peak:.1f})")
    print(f"  trong đó trang web (gunicorn, 2 tiến trình × 4 luồng): lúc nghỉ {rest_web_mb:.0f} MB, đỉnh {peak_web_mb:.0f} MB "
          f"(×{peak_web_mb / cli_peak:.1f} một sohoa search); phần còn lại là dịch vụ theo dõi thư mục với "
          f"các tiến trình OCR giữ sẵn Tesseract")


if __name__ == "__main__":
    main()
