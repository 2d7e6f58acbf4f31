"""Search speed: indexing rate, index size, query latency and peak memory, per engine and size.

Documents are generated (tests/fixtures/search_corpus.py): about 2 KB of Vietnamese
administrative text each, laid out like Nghị định 30 documents, with metadata. The index is
built the way `sohoa reindex` builds it (index.rebuild_index, default batch size) and queried
the way `sohoa search` queries it (index.open_index(...).search, ten hits with snippets).

Each engine and size runs in its own process, so peak memory (max RSS) is that run's alone.
Figures are printed beside the issue's targets (Tantivy: >= 3,000 documents/s indexed; p95
<= 20 ms at 100,000 and <= 100 ms at 1,000,000) and Whoosh beside Tantivy, as ratios.

    .venv/bin/python bench/search_speed.py [--sizes 100000,1000000] [--whoosh-sizes 100000]
        [--queries 200] [--workdir DIR] [--only-queries] [--quick]

The indexing rate is documents over the build's wall time, generating the documents (which
stands in for reading the catalog) included: the generator runs while helper processes
analyse the previous batch, so its time overlaps theirs and is not subtracted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.patches import apply_all  # noqa: E402

apply_all()  # as sohoa's entry points do at start: the patched libraries, one OCR thread

from index import DocumentSource, SearchFilters, SearchOptions, open_index, rebuild_index  # noqa: E402
from index.analysis import fold  # noqa: E402
from tests.fixtures import search_corpus as corpus  # noqa: E402

INDEXING_TARGET = 3_000  # documents per second, Tantivy
P95_TARGET_MS = {100_000: 20.0, 1_000_000: 100.0}  # Tantivy


def _queries(count: int) -> dict[str, list[tuple[str, SearchOptions]]]:
    """Deterministic query mixes: words (half without diacritics), phrases, filtered words."""
    rng = random.Random(7)
    phrases = [phrase for topic in corpus._TOPICS if len(phrase := topic.replace(",", "").split()) >= 2]
    fixed = ["hệ thống một cửa điện tử", "ngân sách địa phương", "đúng hạn", "hội trường",
             "báo cáo tham luận", "an toàn bảo mật thông tin", "văn bản điện tử", "quá hạn"]
    phrases += [phrase.split() for phrase in fixed]

    def words() -> str:
        phrase = rng.choice(phrases)
        start = rng.randrange(max(1, len(phrase) - 1))
        picked = phrase[start:start + rng.choice((2, 3))]
        if rng.random() < 0.3:
            picked.append(rng.choice(rng.choice(phrases)))
        text = " ".join(picked)
        return fold(text) if rng.random() < 0.5 else text

    def quoted() -> str:
        phrase = rng.choice(phrases)
        length = min(len(phrase), rng.choice((2, 3, 4)))
        start = rng.randrange(len(phrase) - length + 1)
        return '"' + " ".join(phrase[start:start + length]) + '"'

    def filters() -> SearchFilters:
        year = rng.randint(2015, 2026)
        extra = rng.choice(("type", "agency", "none"))
        return SearchFilters(
            date_from=dt.date(year, 1, 1), date_to=dt.date(year, 12, 31),
            doc_type=rng.choice(corpus._TYPES)[0] if extra == "type" else None,
            issuing_body=rng.choice(corpus._AGENCIES)[0] if extra == "agency" else None,
        )

    plain = SearchOptions()
    return {
        "terms": [(words(), plain) for _ in range(count)],
        "phrases": [(quoted(), plain) for _ in range(count)],
        "filtered": [(words(), SearchOptions(filters=filters())) for _ in range(count)],
    }


def _source(total: int, generating: list[float]) -> DocumentSource:
    def documents_after(after_id: int, limit: int):
        started = time.perf_counter()
        batch = [corpus.background_document(n) for n in range(after_id + 1, min(total, after_id + limit) + 1)]
        generating[0] += time.perf_counter() - started
        return batch

    return DocumentSource(documents_after, lambda: set(range(1, total + 1)), lambda: total)


def _directory_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def child(engine: str, total: int, directory: Path, query_count: int, only_queries: bool) -> dict:
    """One engine and size: build (unless only_queries), then time the queries."""
    result: dict[str, object] = {"engine": engine, "documents": total}
    if not only_queries:
        generating = [0.0]
        started = time.perf_counter()
        # An interrupted build of this folder is resumed, as `sohoa reindex` would; the
        # rate counts the documents indexed by this run only.
        report = rebuild_index(directory, engine, _source(total, generating))
        elapsed = time.perf_counter() - started
        indexed_now = report.indexed - report.resumed_from
        result["resumed_from"] = report.resumed_from
        result["index_seconds"] = elapsed
        result["generate_seconds"] = generating[0]
        # Generating the text stands in for reading the catalog. Its time is not subtracted:
        # rebuild_index generates the next batch while helper processes analyse this one.
        result["docs_per_second"] = indexed_now / elapsed
        result["peak_rss_indexing_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["index_bytes"] = _directory_size(directory)
    with open_index(directory, engine) as index:
        assert index.count() == total, (index.count(), total)
        mixes = _queries(query_count)
        for text, options in mixes["terms"][:20]:  # warm the caches, as a running system is
            index.search(text, 10, options)
        for kind, queries in mixes.items():
            timings, hits = [], 0
            for text, options in queries:
                started = time.perf_counter()
                found = index.search(text, 10, options)
                timings.append((time.perf_counter() - started) * 1000)
                hits += len(found)
            timings.sort()
            result[kind] = {
                "p50_ms": statistics.median(timings),
                "p95_ms": timings[int(0.95 * (len(timings) - 1))],
                "mean_hits": hits / len(queries),
            }
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _run_child(engine: str, total: int, workdir: Path, query_count: int, only_queries: bool) -> dict:
    directory = workdir / f"{engine}-{total}"
    if not only_queries and directory.exists() and not (directory / "REBUILD.json").exists():
        shutil.rmtree(directory)  # a finished index from an earlier run; an unfinished one is resumed
    command = [sys.executable, __file__, "--child", engine, "--docs", str(total), "--dir", str(directory),
               "--queries", str(query_count)] + (["--only-queries"] if only_queries else [])
    print(f"… {engine}, {total:,} tài liệu", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench child failed ({engine}, {total}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}×" if reference else "—"


def report(results: list[dict]) -> None:
    tantivy = {r["documents"]: r for r in results if r["engine"] == "tantivy"}
    print("\nSearch speed (documents of ~2 KB Vietnamese administrative text)")
    print("| engine | docs | indexing docs/s | vs reference | index size | peak RSS | "
          "terms p50/p95 ms | phrases p50/p95 ms | filtered p50/p95 ms | p95 vs reference |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        size = r["documents"]
        worst_p95 = max(r[kind]["p95_ms"] for kind in ("terms", "phrases", "filtered"))
        if r["engine"] == "tantivy":
            rate_reference = f"target {INDEXING_TARGET:,}: {_ratio(r.get('docs_per_second', 0), INDEXING_TARGET)}"
            target = P95_TARGET_MS.get(size)
            p95_reference = f"target {target:g} ms: {_ratio(worst_p95, target)}" if target else "—"
        else:
            ref = tantivy.get(size)
            rate_reference = (f"Tantivy {ref['docs_per_second']:,.0f}: {_ratio(r['docs_per_second'], ref['docs_per_second'])}"
                              if ref and "docs_per_second" in r and "docs_per_second" in ref else "—")
            ref_p95 = max(ref[k]["p95_ms"] for k in ("terms", "phrases", "filtered")) if ref else 0
            p95_reference = f"Tantivy {ref_p95:.1f} ms: {_ratio(worst_p95, ref_p95)}" if ref else "—"
        rate = f"{r['docs_per_second']:,.0f}" if "docs_per_second" in r else "(reused)"
        print(f"| {r['engine']} | {size:,} | {rate} | {rate_reference} | {r['index_bytes'] / 2**20:,.0f} MiB | "
              f"{r['peak_rss_mb']:,.0f} MiB | "
              + " | ".join(f"{r[k]['p50_ms']:.1f} / {r[k]['p95_ms']:.1f}" for k in ("terms", "phrases", "filtered"))
              + f" | {p95_reference} |")
    for r in results:
        if "docs_per_second" in r:
            resumed = f" (resumed after document {r['resumed_from']:,})" if r.get("resumed_from") else ""
            print(f"  {r['engine']} {r['documents']:,}: built in {r['index_seconds']:.0f} s{resumed} (wall, generating "
                  f"the documents included: {r['generate_seconds']:.0f} s of it in the main process, overlapping the "
                  f"helpers' analysis, so not subtracted); peak RSS while indexing {r['peak_rss_indexing_mb']:,.0f} MiB; "
                  f"mean hits per query: " + ", ".join(f"{k} {r[k]['mean_hits']:.1f}" for k in ("terms", "phrases", "filtered")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="Tantivy collection sizes")
    parser.add_argument("--whoosh-sizes", default="100000", help="Whoosh collection sizes ('' for none)")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--workdir", type=Path, help="keep the indexes here (default: a temporary folder)")
    parser.add_argument("--only-queries", action="store_true", help="reuse the indexes in --workdir")
    parser.add_argument("--quick", action="store_true", help="both engines at 1,000 documents, 50 queries")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--docs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.docs, args.dir, args.queries, args.only_queries)))
        return
    if args.quick:
        args.sizes, args.whoosh_sizes, args.queries = "1000", "1000", 50
    runs = [("tantivy", int(n)) for n in args.sizes.split(",") if n]
    runs += [("whoosh", int(n)) for n in args.whoosh_sizes.split(",") if n]
    runs.sort(key=lambda run: (run[1], run[0] != "tantivy"))  # Tantivy first: Whoosh's reference
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sohoa-search-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = [_run_child(engine, size, workdir, args.queries, args.only_queries) for engine, size in runs]
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
