"""Search quality: recall@10 and mean reciprocal rank of the labelled query set, per engine.

The query set (tests/fixtures/search_corpus.py) has at least 40 queries — words with and
without diacritics, both tone placements, phrases, numbers and parts of numbers, words with
one OCR error (in the query or in the document), filters, sort by date — each with the
planted documents it must find, among generated background documents that share their
vocabulary. The reciprocal rank is that of the document that must come first (stricter than
"any expected document").

The background alone never holds the planted documents' distinctive words, which would make
the figures true by construction; so distractors are added (bench/search_distractors.py):
for every query with words, documents holding those very words in other contexts (all but
one of them together, or each apart in a long body). --distractors 0 gives the old set.

Printed beside the issue's targets (recall@10 >= 0.95, MRR >= 0.85) as ratios, per kind of
query, Whoosh beside Tantivy, and beside a baseline measured on the same documents in the
same run: plain BM25 over lower-cased words with none of sohoa's analysis (no diacritic
folding, tone placement, OCR tolerance, phrases, fields), on the queries it can answer (words,
no filter, relevance order), beside both engines on those same queries.

    .venv/bin/python bench/search_quality.py [--background 20000] [--distractors 4] [--quick]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.patches import apply_all  # noqa: E402

apply_all()  # as sohoa's entry points do at start: the patched libraries, one OCR thread

from index import ENGINES, open_index  # noqa: E402
from search_distractors import PlainBM25, distractors, plain_queries  # noqa: E402
from tests.fixtures.search_corpus import QUERIES, collection, evaluate, summary  # noqa: E402

RECALL_TARGET, MRR_TARGET = 0.95, 0.85


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--background", type=int, default=20_000, help="background documents")
    parser.add_argument("--distractors", type=int, default=4, help="distractors per query with words")
    parser.add_argument("--quick", action="store_true", help="1,000 background documents")
    args = parser.parse_args()
    if args.quick:
        args.background = 1_000
    documents = collection(args.background)
    added = distractors(len(documents) + 1, args.distractors) if args.distractors else []
    documents += added
    results, plain_results = {}, {}
    with tempfile.TemporaryDirectory(prefix="sohoa-search-quality-") as work:
        for engine in ENGINES:
            with open_index(Path(work) / engine, engine) as index:
                started = time.perf_counter()
                for start in range(0, len(documents), 2_000):
                    index.add_many(documents[start:start + 2_000])
                built = time.perf_counter() - started
                results[engine] = evaluate(index)
                plain_results[engine] = evaluate(index, plain_queries())
            print(f"{engine}: {len(documents):,} documents indexed in {built:.0f} s", file=sys.stderr)
    baseline = evaluate(PlainBM25(documents), plain_queries())

    planted = len(documents) - args.background - len(added)
    print(f"\nSearch quality: {len(QUERIES)} labelled queries, {len(documents):,} documents "
          f"({planted} planted, {len(added)} distractors holding the queries' words, "
          f"{args.background:,} background)")
    print("| engine | recall@10 | vs target 0.95 | MRR | vs target 0.85 |")
    print("|---|---:|---:|---:|---:|")
    for engine in ENGINES:
        recall, mrr = summary(results[engine])
        print(f"| {engine} | {recall:.3f} | {recall / RECALL_TARGET:.2f}× | {mrr:.3f} | {mrr / MRR_TARGET:.2f}× |")

    recall, mrr = summary(baseline)
    print(f"\nBaseline, same documents, the {len(baseline)} queries with words, no filter, relevance order:")
    print("| ranking | recall@10 | MRR |")
    print("|---|---:|---:|")
    print(f"| plain BM25 (no analysis) | {recall:.3f} | {mrr:.3f} |")
    for engine in ENGINES:
        e_recall, e_mrr = summary(plain_results[engine])
        ratio = f"{e_mrr / mrr:.2f}× the baseline's MRR" if mrr else ""
        print(f"| sohoa, {engine} | {e_recall:.3f} | {e_mrr:.3f} {ratio} |")

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
