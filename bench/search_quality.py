"""Search quality: recall@10 and mean reciprocal rank of the labelled query set, per engine.

The query set (tests/fixtures/search_corpus.py) has at least 40 queries — words with and
without diacritics, both tone placements, phrases, numbers and parts of numbers, words with
one OCR error (in the query or in the document), filters, sort by date — each with the
planted documents it must find, among generated background documents that share their
vocabulary. The reciprocal rank is that of the document that must come first (stricter than
"any expected document").

Printed beside the issue's targets (recall@10 >= 0.95, MRR >= 0.85) as ratios, per kind of
query, and Whoosh beside Tantivy.

    .venv/bin/python bench/search_quality.py [--background 20000]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import ENGINES, open_index  # noqa: E402
from tests.fixtures.search_corpus import QUERIES, collection, evaluate, summary  # noqa: E402

RECALL_TARGET, MRR_TARGET = 0.95, 0.85


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--background", type=int, default=20_000, help="background documents")
    args = parser.parse_args()
    documents = collection(args.background)
    results = {}
    with tempfile.TemporaryDirectory(prefix="sohoa-search-quality-") as work:
        for engine in ENGINES:
            with open_index(Path(work) / engine, engine) as index:
                started = time.perf_counter()
                for start in range(0, len(documents), 2_000):
                    index.add_many(documents[start:start + 2_000])
                built = time.perf_counter() - started
                results[engine] = evaluate(index)
            print(f"{engine}: {len(documents):,} documents indexed in {built:.0f} s", file=sys.stderr)

    print(f"\nSearch quality: {len(QUERIES)} labelled queries, {len(documents):,} documents "
          f"({len(documents) - args.background} planted)")
    print("| engine | recall@10 | vs target 0.95 | MRR | vs target 0.85 |")
    print("|---|---:|---:|---:|---:|")
    for engine in ENGINES:
        recall, mrr = summary(results[engine])
        print(f"| {engine} | {recall:.3f} | {recall / RECALL_TARGET:.2f}× | {mrr:.3f} | {mrr / MRR_TARGET:.2f}× |")

    print("\nPer kind of query (recall@10 / MRR):")
    kinds = list(dict.fromkeys(query.kind for query in QUERIES))
    print("| kind | queries | " + " | ".join(ENGINES) + " |")
    print("|---|---:|" + "---:|" * len(ENGINES))
    for kind in kinds:
        cells = []
        for engine in ENGINES:
            of_kind = [r for r in results[engine] if r.query.kind == kind]
            recall, mrr = summary(of_kind)
            cells.append(f"{recall:.2f} / {mrr:.2f}")
        count = sum(1 for query in QUERIES if query.kind == kind)
        print(f"| {kind} | {count} | " + " | ".join(cells) + " |")

    misses = collections.defaultdict(list)
    for engine in ENGINES:
        for r in results[engine]:
            if r.recall < 1 or r.reciprocal_rank < 1:
                misses[engine].append(f"  {r.query.kind}: {r.query.text!r} expected {r.query.expected_ids}, "
                                      f"top 10 {list(r.found)}")
    for engine, lines in misses.items():
        print(f"\n{engine}: queries not answered perfectly")
        print("\n".join(lines))
    agreed = sum(
        1 for a, b in zip(results["tantivy"], results["whoosh"]) if a.found[:1] == b.found[:1]
    )
    print(f"\nSame first result in both engines: {agreed}/{len(QUERIES)} queries")


if __name__ == "__main__":
    main()
