"""``preprocess``: clean, filter and deduplicate a raw Korean JSONL corpus.

Input: ``DATA_PATH``, a JSONL file or a directory of ``*.jsonl`` files, one ``{"text": ...}``
object per line (other fields are kept). Output in ``OUTPUT_DIR``: ``corpus.jsonl`` (the kept
records, text cleaned), ``stats.json`` and the ``_COMPLETE`` marker.

The corpus is streamed: the main process reads raw lines in batches and hands them, in order,
to worker processes that decode, clean, filter and compute the exact hash, the MinHash signature
and the LSH band keys of each document (the CPU-heavy part). A line that is not JSON is skipped
and counted (``invalid_json``, with the first few places in ``stats.json``), not fatal. Dedup is
out of core (:mod:`korean_llm_trainer.dedup`): kept documents are spooled to ``OUTPUT_DIR/.work``
with their keys partitioned on disk, then each partition is sorted alone and decisions are made
in input order, so memory stays about one byte per document and the output does not depend on
the number of workers. The scan records its progress every ``FLUSH_PAIRS`` pairs; a restarted
run with the same settings continues from there.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from . import dedup, minhash
from .contract import Config
from .data import list_jsonl_files
from .deps import require
from .errors import DatasetError
from .layout import (
    MARKER_NAME, atomic_write_text, build_marker, check_marker_settings, read_marker, settings_hash, stage_settings,
    write_marker,
)
from .text import clean_text, filter_reason, quality_reason, strip_boilerplate

CORPUS_NAME = "corpus.jsonl"
STATS_NAME = "stats.json"
REASONS = ("invalid_json", "invalid", "empty", "too_short", "too_long", "low_hangul", "repeated_chars", "jamo",
           "repeated_lines", "repeated_words", "exact_duplicate", "near_duplicate")
WORK_DIR = ".work"
ERROR_EXAMPLES = 20
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
    quality_filters: bool = True
    max_jamo_ratio: float = 0.2
    max_repeated_char_ratio: float = 0.2
    max_duplicate_ngram_ratio: float = 0.5
    max_duplicate_line_ratio: float = 0.3

    @property
    def lsh(self) -> tuple[int, int]:
        """``(bands, rows)`` for the threshold (misses weighted four times false candidates)."""
        return minhash.optimal_bands(self.dedup_threshold, self.num_perm, minhash.NearDuplicateIndex.FALSE_POSITIVE_WEIGHT,
                                     minhash.NearDuplicateIndex.FALSE_NEGATIVE_WEIGHT)

    def output_settings(self) -> dict[str, str]:
        """What decides the output (not the worker count nor the numpy choice): for resume checks."""
        values = asdict(self)
        for name in ("num_workers", "use_numpy"):
            values.pop(name)
        return {k: str(v) for k, v in sorted(values.items())}

    @classmethod
    def from_config(cls, config: Config) -> "PreprocessSettings":
        """Settings from the parsed env (NUM_WORKERS 0 means one per usable CPU).

        ``QUALITY_FILTERS`` (contract bool, default true) switches the Korean quality filters.
        """
        workers = config["NUM_WORKERS"] or available_cpus()
        return cls(
            quality_filters=bool(config.get("QUALITY_FILTERS", True)),
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
    keys: bytes = b""  # the LSH band keys
    position: tuple[int, int, int] = (0, 0, 0)  # file index, byte offset after the line, line number
    error: str | None = None
    boilerplate_lines: int = 0


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
                 params: minhash.MinHashParams, split: Callable[[str], Iterable[str]] | None = None,
                 position: tuple[int, int, int] = (0, 0, 0)) -> DocResult:
    """Decode, clean, filter, hash and sign one input line (pure apart from the optional splitter)."""
    try:
        record = json.loads(raw)
    except ValueError as err:
        return DocResult(len(raw), "invalid_json", position=position, error=f"{source}:{lineno}: not valid JSON ({err})")
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        return DocResult(len(raw), "invalid", position=position)
    text = clean_text(record["text"], split)
    dropped_lines = 0
    if settings.quality_filters:
        text, dropped_lines = strip_boilerplate(text)
        text = text.strip()
    reason = filter_reason(text, settings.min_chars, settings.max_chars, settings.min_hangul_ratio)
    if reason is None and settings.quality_filters:
        reason = quality_reason(text, settings.max_jamo_ratio, settings.max_repeated_char_ratio,
                                settings.max_duplicate_ngram_ratio, settings.max_duplicate_line_ratio)
    if reason:
        return DocResult(len(raw), reason, position=position, boilerplate_lines=dropped_lines)
    record["text"] = text
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    sig = minhash.signature(text, params, settings.use_numpy)
    line = json.dumps(record, ensure_ascii=False)
    bands, rows = settings.lsh
    return DocResult(len(raw), None, line, digest, sig.tobytes(), len(text), dedup.band_keys(sig, bands, rows),
                     position, None, dropped_lines)


def _process_batch(batch: list[tuple[bytes, str, int, tuple[int, int, int]]]) -> list[DocResult]:
    settings, params, split = _WORKER["settings"], _WORKER["params"], _WORKER["split"]
    return [process_line(raw, source, lineno, settings, params, split, position) for raw, source, lineno, position in batch]


# ---- main side --------------------------------------------------------------------------------


def _batches(files: list[Path], start: tuple[int, int, int] = (0, 0, 0)) -> Iterator[list]:
    """Batches of ``(raw line, file, line number, position after it)``, from ``start`` on."""
    batch: list = []
    first_file, first_offset, first_lineno = start
    for index in range(first_file, len(files)):
        file = files[index]
        offset, lineno = (first_offset, first_lineno) if index == first_file else (0, 0)
        with open(file, "rb") as handle:
            handle.seek(offset)
            for raw in handle:
                offset += len(raw)
                lineno += 1
                if not raw.strip():
                    continue
                batch.append((raw, str(file), lineno, (index, offset, lineno)))
                if len(batch) >= BATCH_LINES:
                    yield batch
                    batch = []
    if batch:
        yield batch


def _results(files: list[Path], settings: PreprocessSettings, start: tuple[int, int, int]) -> Iterator[DocResult]:
    if settings.num_workers <= 1:
        _init_worker(settings)
        for batch in _batches(files, start):
            yield from _process_batch(batch)
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ctx.Pool(settings.num_workers, initializer=_init_worker, initargs=(settings,)) as pool:
        for results in pool.imap(_process_batch, _batches(files, start), chunksize=1):
            yield from results


def _new_stats() -> dict[str, Any]:
    return {"docs_in": 0, "docs_out": 0, "bytes_in": 0, "bytes_out": 0, "chars_out": 0,
            "removed": dict.fromkeys(REASONS, 0), "boilerplate_lines": 0, "invalid_json_examples": []}


def _save_progress(work: Path, store: dedup.DedupStore, stats: dict, position, fingerprint: str, phase: str) -> None:
    store.flush()
    atomic_write_text(work / "progress.json", json.dumps({
        "settings_hash": fingerprint, "phase": phase, "position": list(position), "docs": store.docs,
        "sizes": store.sizes(), "stats": stats}) + "\n")


def scan(files: list[Path], work: Path, settings: PreprocessSettings, fingerprint: str,
         partitions: int, stop_after: int | None = None) -> tuple[dedup.DedupStore, dict[str, Any]]:
    """Pass 1: filter, sign and spool every document, resuming from ``work/progress.json`` when it
    was written with the same settings and inputs. ``stop_after`` (tests) stops after that many
    input lines as a killed pod would, after a progress point."""
    bands, _ = settings.lsh
    progress = dedup.read_progress(work)
    if progress is None or progress.get("settings_hash") != fingerprint:
        if work.exists():
            shutil.rmtree(work)
        progress = None
    store = dedup.DedupStore(work, settings.num_perm, bands, partitions)
    if progress is not None:
        store.restore(progress["sizes"], progress["docs"])
        stats = progress["stats"]
        if progress["phase"] == "scanned":
            return store, stats
        start = tuple(progress["position"])
        stats["resumed_from"] = {"file": str(files[start[0]]) if start[0] < len(files) else None, "line": start[2],
                                 "documents": progress["docs"]}
    else:
        stats, start = _new_stats(), (0, 0, 0)
    try:
        _scan_into(files, settings, start, store, stats, work, fingerprint, bands + 1, stop_after)
    except BaseException:
        store.spool.close()
        store.sigs.close()
        raise
    return store, stats


def _scan_into(files, settings, start, store, stats, work, fingerprint, pairs_per_doc, stop_after) -> None:
    position = start
    seen = since_progress = 0
    for result in _results(files, settings, start):
        stats["docs_in"] += 1
        stats["bytes_in"] += result.bytes_in
        stats["boilerplate_lines"] += result.boilerplate_lines
        position = result.position
        if result.reason:
            stats["removed"][result.reason] += 1
            if result.error and len(stats["invalid_json_examples"]) < ERROR_EXAMPLES:
                stats["invalid_json_examples"].append(result.error)
        else:
            assert result.line_out is not None
            store.add(result.line_out.encode("utf-8") + b"\n", result.digest, result.signature, result.keys)
            stats["chars_out"] += result.chars
            since_progress += pairs_per_doc
        if since_progress >= dedup.FLUSH_PAIRS:
            _save_progress(work, store, stats, position, fingerprint, "scan")
            since_progress = 0
        seen += 1
        if stop_after is not None and seen >= stop_after:
            _save_progress(work, store, stats, position, fingerprint, "scan")
            raise KeyboardInterrupt("stopped for a test")
    _save_progress(work, store, stats, position, fingerprint, "scanned")


def run_preprocess(data_path: Path, output_dir: Path, settings: PreprocessSettings,
                   stop_after: int | None = None) -> dict[str, Any]:
    """Clean and deduplicate ``data_path`` into ``output_dir``; return (and write) the stats."""
    files = list_jsonl_files(data_path)
    sentence_splitter(settings.split_sentences)  # fail before reading anything when kss is missing
    if settings.use_numpy is None:
        settings = replace(settings, use_numpy=minhash.numpy_available())
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    corpus = output_dir / CORPUS_NAME
    partial = output_dir / (CORPUS_NAME + ".partial")
    work = output_dir / WORK_DIR
    input_bytes = sum(f.stat().st_size for f in files)
    inputs = [[str(f), f.stat().st_size] for f in files]
    fingerprint = settings_hash({**settings.output_settings(), "inputs": json.dumps(inputs)})
    started = time.monotonic()
    store, stats = scan(files, work, settings, fingerprint, dedup.partition_count(input_bytes), stop_after)
    if stats["docs_in"] == 0:
        store.close()
        shutil.rmtree(work)
        raise DatasetError(f"the corpus at {data_path} has no records")
    store.close()
    status = store.decide(settings.dedup_threshold, stats)
    with open(partial, "wb") as out:
        for state, line in store.kept_lines(status):
            if state == dedup.KEPT:
                out.write(line)
                stats["docs_out"] += 1
                stats["bytes_out"] += len(line)
            else:
                stats["removed"]["exact_duplicate" if state == dedup.EXACT else "near_duplicate"] += 1
    os.replace(partial, corpus)
    shutil.rmtree(work)
    seconds = time.monotonic() - started
    bands, rows = settings.lsh
    stats.update(
        lsh={"bands": bands, "rows": rows, "num_perm": settings.num_perm, "shingle_size": settings.shingle_size,
             "partitions": store.partitions, "first_candidates": dedup.FIRST_CANDIDATES,
             "previous_candidates": dedup.PREVIOUS_CANDIDATES},
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
    settings = PreprocessSettings.from_config(config)
    recorded = {**stage_settings(config.values), "QUALITY_FILTERS": str(settings.quality_filters).lower()}
    marker = read_marker(output_dir)
    if marker is not None:
        note = check_marker_settings(marker, recorded, output_dir / MARKER_NAME)
        print(f"preprocess: {output_dir / MARKER_NAME} exists ({note}); nothing to do", flush=True)
        return 0
    stats = run_preprocess(Path(config["DATA_PATH"]), output_dir, settings)
    summary = {k: stats[k] for k in ("docs_in", "docs_out", "bytes_in", "bytes_out", "removed")}
    write_marker(output_dir, build_marker("preprocess", config["RUN_ID"], None, summary,
                                          config_hash=settings_hash(recorded), settings=recorded))
    print("preprocess: " + json.dumps(summary, ensure_ascii=False), flush=True)
    return 0
