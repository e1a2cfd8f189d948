"""``preprocess``: clean, filter and deduplicate a raw Korean JSONL corpus.

Input: ``DATA_PATH``, a JSONL file or a directory of ``*.jsonl`` files, one ``{"text": ...}``
object per line (other fields are kept). Output in ``OUTPUT_DIR``: ``corpus.jsonl`` (the kept
records, text cleaned), ``stats.json`` and the ``_COMPLETE`` marker.

The corpus is streamed: the main process reads raw lines in batches and hands them, in order,
to worker processes that decode, clean, filter and compute the exact hash and the MinHash
signature of each document (the CPU-heavy part). The main process then makes every dedup
decision in input order (exact duplicates by BLAKE2b hash, near-duplicates by MinHash + LSH),
so the output does not depend on the number of workers.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from array import array
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from . import minhash
from .contract import Config
from .data import list_jsonl_files
from .deps import require
from .errors import DatasetError
from .layout import MARKER_NAME, atomic_write_text, build_marker, read_marker, write_marker
from .text import clean_text, filter_reason

CORPUS_NAME = "corpus.jsonl"
STATS_NAME = "stats.json"
REASONS = ("invalid", "empty", "too_short", "too_long", "low_hangul", "exact_duplicate", "near_duplicate")
BATCH_LINES = 512


@dataclass(frozen=True)
class PreprocessSettings:
    """Everything a worker needs; picklable."""

    min_chars: int = 50
    max_chars: int = 100_000
    min_hangul_ratio: float = 0.3
    dedup_threshold: float = 0.8
    num_workers: int = 1
    split_sentences: bool = False
    num_perm: int = minhash.DEFAULT_NUM_PERM
    shingle_size: int = minhash.DEFAULT_SHINGLE_SIZE
    seed: int = minhash.DEFAULT_SEED
    use_numpy: bool | None = None

    @classmethod
    def from_config(cls, config: Config) -> "PreprocessSettings":
        """Settings from the parsed env (NUM_WORKERS 0 means one per usable CPU)."""
        workers = config["NUM_WORKERS"] or available_cpus()
        return cls(
            min_chars=config["MIN_CHARS"],
            max_chars=config["MAX_CHARS"],
            min_hangul_ratio=config["MIN_HANGUL_RATIO"],
            dedup_threshold=config["DEDUP_THRESHOLD"],
            num_workers=workers,
            split_sentences=config["SPLIT_SENTENCES"],
        )


@dataclass(frozen=True)
class DocResult:
    """The worker's verdict on one input line."""

    bytes_in: int
    reason: str | None  # why it was dropped before dedup, or None
    line_out: str | None = None  # the JSON line to write when kept
    digest: bytes = b""
    signature: bytes = b""
    chars: int = 0


def available_cpus() -> int:
    """CPUs this process may use: the affinity mask, capped by a cgroup CPU quota when set."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_cpu_limit()
    return max(1, min(count, quota) if quota else count)


def _cgroup_cpu_limit() -> int | None:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            return max(1, int(int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        if quota_us > 0:
            return max(1, quota_us // period_us)
    except (OSError, ValueError):
        pass
    return None


def sentence_splitter(enabled: bool) -> Callable[[str], Iterable[str]] | None:
    """``kss.split_sentences`` when sentence splitting is on (kss must then be installed)."""
    if not enabled:
        return None
    kss = require("kss", "kss", "SPLIT_SENTENCES=true")
    return kss.split_sentences


# ---- worker side ------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(settings: PreprocessSettings) -> None:
    _WORKER["settings"] = settings
    _WORKER["params"] = minhash.make_params(settings.num_perm, settings.shingle_size, settings.seed)
    _WORKER["split"] = sentence_splitter(settings.split_sentences)


def process_line(raw: bytes, source: str, lineno: int, settings: PreprocessSettings,
                 params: minhash.MinHashParams, split: Callable[[str], Iterable[str]] | None = None) -> DocResult:
    """Decode, clean, filter, hash and sign one input line (pure apart from the optional splitter)."""
    try:
        record = json.loads(raw)
    except ValueError as err:
        raise DatasetError(f"{source}:{lineno}: not valid JSON ({err})") from err
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        return DocResult(len(raw), "invalid")
    text = clean_text(record["text"], split)
    reason = filter_reason(text, settings.min_chars, settings.max_chars, settings.min_hangul_ratio)
    if reason:
        return DocResult(len(raw), reason)
    record["text"] = text
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    sig = minhash.signature(text, params, settings.use_numpy)
    line = json.dumps(record, ensure_ascii=False)
    return DocResult(len(raw), None, line, digest, sig.tobytes(), len(text))


def _process_batch(batch: list[tuple[bytes, str, int]]) -> list[DocResult]:
    settings, params, split = _WORKER["settings"], _WORKER["params"], _WORKER["split"]
    return [process_line(raw, source, lineno, settings, params, split) for raw, source, lineno in batch]


# ---- main side --------------------------------------------------------------------------------


def _batches(files: list[Path]) -> Iterator[list[tuple[bytes, str, int]]]:
    batch: list[tuple[bytes, str, int]] = []
    for file in files:
        with open(file, "rb") as handle:
            for lineno, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                batch.append((raw, str(file), lineno))
                if len(batch) >= BATCH_LINES:
                    yield batch
                    batch = []
    if batch:
        yield batch


def _results(files: list[Path], settings: PreprocessSettings) -> Iterator[DocResult]:
    if settings.num_workers <= 1:
        _init_worker(settings)
        for batch in _batches(files):
            yield from _process_batch(batch)
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ctx.Pool(settings.num_workers, initializer=_init_worker, initargs=(settings,)) as pool:
        for results in pool.imap(_process_batch, _batches(files), chunksize=1):
            yield from results


def deduplicate_and_write(results: Iterable[DocResult], out, settings: PreprocessSettings) -> dict[str, Any]:
    """Make the dedup decisions in order, write kept lines to ``out``; return the counters."""
    index = minhash.NearDuplicateIndex(settings.dedup_threshold, settings.num_perm)
    seen: set[bytes] = set()
    removed = dict.fromkeys(REASONS, 0)
    stats = {"docs_in": 0, "docs_out": 0, "bytes_in": 0, "bytes_out": 0, "chars_out": 0}
    for result in results:
        stats["docs_in"] += 1
        stats["bytes_in"] += result.bytes_in
        if result.reason:
            removed[result.reason] += 1
            continue
        if result.digest in seen:
            removed["exact_duplicate"] += 1
            continue
        seen.add(result.digest)
        if index.check_and_add(array("I", result.signature)) is not None:
            removed["near_duplicate"] += 1
            continue
        assert result.line_out is not None
        data = result.line_out.encode("utf-8") + b"\n"
        out.write(data)
        stats["docs_out"] += 1
        stats["bytes_out"] += len(data)
        stats["chars_out"] += result.chars
    stats["removed"] = removed
    stats["lsh"] = {"bands": index.bands, "rows": index.rows, "num_perm": settings.num_perm,
                    "shingle_size": settings.shingle_size}
    return stats


def run_preprocess(data_path: Path, output_dir: Path, settings: PreprocessSettings) -> dict[str, Any]:
    """Clean and deduplicate ``data_path`` into ``output_dir``; return (and write) the stats."""
    files = list_jsonl_files(data_path)
    sentence_splitter(settings.split_sentences)  # fail before reading anything when kss is missing
    if settings.use_numpy is None:
        settings = replace(settings, use_numpy=minhash.numpy_available())
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    corpus = output_dir / CORPUS_NAME
    partial = output_dir / (CORPUS_NAME + ".partial")
    started = time.monotonic()
    with open(partial, "wb") as out:
        stats = deduplicate_and_write(_results(files, settings), out, settings)
    if stats["docs_in"] == 0:
        partial.unlink()
        raise DatasetError(f"the corpus at {data_path} has no records")
    os.replace(partial, corpus)
    seconds = time.monotonic() - started
    stats.update(
        files=[str(f) for f in files],
        output=str(corpus),
        seconds=round(seconds, 3),
        docs_per_second=round(stats["docs_in"] / seconds, 1) if seconds > 0 else None,
        mb_per_second=round(stats["bytes_in"] / 1e6 / seconds, 3) if seconds > 0 else None,
        backend="numpy" if settings.use_numpy else "python",
        settings=asdict(settings),
    )
    atomic_write_text(output_dir / STATS_NAME, json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    return stats


def main(config: Config) -> int:
    """The ``preprocess`` command."""
    output_dir = Path(config["OUTPUT_DIR"])
    if read_marker(output_dir) is not None:
        print(f"preprocess: {output_dir / MARKER_NAME} exists; nothing to do", flush=True)
        return 0
    settings = PreprocessSettings.from_config(config)
    stats = run_preprocess(Path(config["DATA_PATH"]), output_dir, settings)
    summary = {k: stats[k] for k in ("docs_in", "docs_out", "bytes_in", "bytes_out", "removed")}
    write_marker(output_dir, build_marker("preprocess", config["RUN_ID"], None, summary))
    print("preprocess: " + json.dumps(summary, ensure_ascii=False), flush=True)
    return 0
