"""Benchmark of ``preprocess`` on a generated Korean-like corpus (not a test).

Generates ``--mb`` megabytes of JSONL (random Hangul-syllable words drawn from a Zipf-like
vocabulary, so unrelated documents share common words as real text does), plants
near-duplicates (copies of earlier documents with 1-5 word edits), runs the numpy path (when
numpy is importable) and the pure-Python path with ``--workers`` processes, and prints
throughput (MB/s and docs/s: total, per worker, and per CPU-second used, the last being the
per-core figure that stays meaningful when other jobs share the machine), the recall of the planted duplicates (all of
them, and those whose exact shingle Jaccard reaches DEDUP_THRESHOLD: short documents with five
edits fall below it and are, by definition, not near-duplicates), and the number of false
positives (unrelated documents removed as duplicates).

    python3 python/bench/preprocess_bench.py --mb 100
    python3 python/bench/preprocess_bench.py --mb 5 --skip-pure   # quick run
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import itertools
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from korean_llm_trainer import minhash  # noqa: E402
from korean_llm_trainer.preprocess import CORPUS_NAME, PreprocessSettings, available_cpus, run_preprocess  # noqa: E402

ENDINGS = ("다.", "요.", "니다.", "까?", "죠.", "네.")


def make_vocabulary(rng: random.Random, size: int) -> tuple[list[str], list[float]]:
    """``size`` words of 1-4 random Hangul syllables with Zipf(1.1) cumulative weights."""
    words = ["".join(chr(0xAC00 + rng.randrange(11172)) for _ in range(rng.choice((1, 2, 2, 3, 3, 4))))
             for _ in range(size)]
    weights = [1.0 / (rank + 1) ** 1.1 for rank in range(size)]
    return words, list(itertools.accumulate(weights))


def make_document(rng: random.Random, words: list[str], cum: list[float]) -> str:
    sentences = []
    for _ in range(rng.randint(4, 40)):
        picked = rng.choices(words, cum_weights=cum, k=rng.randint(5, 14))
        sentences.append(" ".join(picked) + rng.choice(ENDINGS))
    return " ".join(sentences)


def near_copy(rng: random.Random, text: str, words: list[str], cum: list[float], edits: int) -> str:
    """Replace, delete or insert ``edits`` words."""
    tokens = text.split(" ")
    for _ in range(edits):
        i = rng.randrange(len(tokens))
        op = rng.random()
        if op < 0.4:
            tokens[i] = rng.choices(words, cum_weights=cum)[0]
        elif op < 0.7 and len(tokens) > 10:
            del tokens[i]
        else:
            tokens.insert(i, rng.choices(words, cum_weights=cum)[0])
    return " ".join(tokens)


def generate(path: Path, megabytes: float, dup_rate: float, seed: int) -> dict:
    """Write the corpus; returns the planted duplicate map and sizes."""
    rng = random.Random(seed)
    words, cum = make_vocabulary(rng, 30_000)
    target = int(megabytes * 1_000_000)
    written, doc_id = 0, 0
    planted: dict[int, int] = {}
    jaccard: dict[int, float] = {}
    pending: list[tuple[int, int, str]] = []  # (emit at id, original id, text)
    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            if pending and pending[0][0] <= doc_id:
                _, original, text, similarity = pending.pop(0)
                planted[doc_id] = original
                jaccard[doc_id] = similarity
                record = {"id": doc_id, "text": text}
            else:
                text = make_document(rng, words, cum)
                record = {"id": doc_id, "text": text}
                if rng.random() < dup_rate:
                    copy = near_copy(rng, text, words, cum, rng.randint(1, 5))
                    bisect.insort(pending, (doc_id + rng.randint(1, 2000), doc_id, copy, shingle_jaccard(text, copy)))
            line = json.dumps(record, ensure_ascii=False) + "\n"
            out.write(line)
            written += len(line.encode("utf-8"))
            doc_id += 1
    return {"docs": doc_id, "bytes": written, "planted": planted, "jaccard": jaccard}


def shingle_jaccard(a: str, b: str) -> float:
    """The exact Jaccard similarity of two texts' character-shingle sets."""
    sa = set(minhash.shingle_hashes(a, minhash.DEFAULT_SHINGLE_SIZE))
    sb = set(minhash.shingle_hashes(b, minhash.DEFAULT_SHINGLE_SIZE))
    return len(sa & sb) / len(sa | sb)


def evaluate(output_dir: Path, truth: dict, threshold: float) -> dict:
    kept = set()
    with open(output_dir / CORPUS_NAME, encoding="utf-8") as handle:
        for line in handle:
            kept.add(json.loads(line)["id"])
    planted = truth["planted"]
    caught = {copy for copy, original in planted.items() if copy not in kept and original in kept}
    above = {copy for copy, similarity in truth["jaccard"].items() if similarity >= threshold}
    removed = set(range(truth["docs"])) - kept
    false_positives = len(removed - set(planted))
    return {"recall": len(caught) / len(planted) if planted else 1.0, "planted": len(planted), "caught": len(caught),
            "planted_above_threshold": len(above),
            "recall_above_threshold": len(caught & above) / len(above) if above else 1.0,
            "false_positives": false_positives}


def cpu_seconds() -> float:
    """User + system CPU time of this process and its reaped children (the pool workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_path(name: str, corpus: Path, out: Path, workers: int, use_numpy: bool, truth: dict) -> dict:
    settings = PreprocessSettings(num_workers=workers, use_numpy=use_numpy, min_chars=50)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    stats = run_preprocess(corpus, out, settings)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_started
    quality = evaluate(out, truth, settings.dedup_threshold)
    mb = stats["bytes_in"] / 1e6
    row = {
        "path": name, "workers": workers, "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "mb_per_s": round(mb / seconds, 2), "mb_per_s_per_core": round(mb / seconds / workers, 2),
        "docs_per_s": round(stats["docs_in"] / seconds), "docs_per_s_per_core": round(stats["docs_in"] / seconds / workers),
        # throughput per CPU-second: the per-core figure that holds on a busy machine too
        "mb_per_cpu_s": round(mb / cpu, 2), "docs_per_cpu_s": round(stats["docs_in"] / cpu),
        "recall": round(quality["recall"], 4), "planted": quality["planted"], "caught": quality["caught"],
        "recall_above_threshold": round(quality["recall_above_threshold"], 4),
        "planted_above_threshold": quality["planted_above_threshold"],
        "false_positives": quality["false_positives"], "docs_out": stats["docs_out"],
        "near_duplicate": stats["removed"]["near_duplicate"], "exact_duplicate": stats["removed"]["exact_duplicate"],
        "bands_x_rows": f"{stats['lsh']['bands']}x{stats['lsh']['rows']}",
        # peak resident memory: the main process (spool, partitions, decisions) and the largest worker
        "peak_rss_main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_worker_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "lsh_comparisons": stats.get("lsh_comparisons"), "lsh_capped_documents": stats.get("lsh_capped_documents"),
        "quality_removed": {k: stats["removed"][k] for k in ("repeated_chars", "jamo", "repeated_lines", "repeated_words")},
    }
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=100.0, help="corpus size in MB (default 100)")
    parser.add_argument("--workers", type=int, default=0, help="worker processes (default: usable CPUs)")
    parser.add_argument("--dup-rate", type=float, default=0.05, help="share of documents that get a near copy")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-pure", action="store_true", help="run the numpy path only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    workers = args.workers or available_cpus()
    tmp = Path(tempfile.mkdtemp(prefix="preprocess-bench-"))
    try:
        corpus = tmp / "corpus.jsonl"
        started = time.perf_counter()
        truth = generate(corpus, args.mb, args.dup_rate, args.seed)
        print(f"generated {truth['bytes'] / 1e6:.1f} MB, {truth['docs']} docs, {len(truth['planted'])} planted "
              f"near-duplicates in {time.perf_counter() - started:.1f}s; {workers} worker(s)", flush=True)
        rows = []
        if minhash.numpy_available():
            rows.append(run_path("numpy", corpus, tmp / "out-numpy", workers, True, truth))
        else:
            print("numpy is not importable: only the pure-Python path runs", flush=True)
        if not args.skip_pure:
            rows.append(run_path("python", corpus, tmp / "out-python", workers, False, truth))
        if len(rows) == 2:
            same = (tmp / "out-numpy" / CORPUS_NAME).read_bytes() == (tmp / "out-python" / CORPUS_NAME).read_bytes()
            print(f"numpy and pure-Python outputs identical: {same}", flush=True)
            if not same:
                return 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
