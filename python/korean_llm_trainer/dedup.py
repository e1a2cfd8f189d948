"""Out-of-core exact and near-duplicate removal (MinHash + LSH bands sorted on disk).

Memory does not grow with the corpus beyond one byte per document: the scan appends, per kept
document, its output line to ``spool.jsonl``, its digest and signature to ``sigs.bin`` (fixed-size
records, read back by offset), and one ``(key, document)`` pair per LSH band (and one for the exact
digest) to one of many partition files chosen by the key. Each partition is then loaded alone and
sorted, so documents sharing a band key sit next to each other:

* exact duplicates: every document after the first with the same digest;
* near-duplicate candidates: in a bucket, a document is compared with the bucket's first
  ``FIRST_CANDIDATES`` documents and its ``PREVIOUS_CANDIDATES`` predecessors (a bucket of
  thousands of unrelated documents sharing a band costs a bounded number of comparisons each, not
  a rescan per query); pairs whose estimated Jaccard reaches the threshold become edges;
* decisions in input order: a document is a near-duplicate when an edge links it to an earlier
  document that is kept. Without capped buckets this is exactly the in-memory rule (a document is
  dropped when it matches a kept earlier one), so the output does not depend on the partitioning.
"""

from __future__ import annotations

import hashlib
import json
import os
from array import array
from pathlib import Path
from typing import Any, Iterator

KEPT, EXACT, NEAR = 0, 1, 2
FIRST_CANDIDATES = 16
PREVIOUS_CANDIDATES = 16
FLUSH_PAIRS = 1 << 20  # buffered (key, document) pairs before the partition buffers are written


def band_keys(signature: array, bands: int, rows: int) -> bytes:
    """One 64-bit key per LSH band (the band's index and rows hashed), concatenated."""
    raw = signature.tobytes()
    width = 4 * rows
    return b"".join(hashlib.blake2b(raw[b * width:(b + 1) * width], digest_size=8, salt=b.to_bytes(2, "little")).digest()
                    for b in range(bands))


def partition_count(input_bytes: int) -> int:
    """Partitions for a corpus: about 64 MB of input each (a partition then holds about 5 MB of pairs)."""
    return max(16, min(4096, input_bytes // (64 << 20) + 1))


class DedupStore:
    """The work files of one run under ``work``, appended during the scan."""

    def __init__(self, work: Path, num_perm: int, bands: int, partitions: int) -> None:
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.num_perm, self.bands, self.partitions = num_perm, bands, partitions
        self.record = 16 + 4 * num_perm
        self.docs = 0
        self.spool = open(self.work / "spool.jsonl", "ab")
        self.sigs = open(self.work / "sigs.bin", "ab")
        self._buffers: dict[str, tuple[array, array]] = {}
        self._buffered = 0

    # -- scan ------------------------------------------------------------------------------------

    def add(self, line: bytes, digest: bytes, signature: bytes, keys: bytes) -> int:
        """Spool one kept document; returns its number."""
        seq = self.docs
        self.docs += 1
        self.spool.write(line)
        self.sigs.write(digest + signature)
        self._pair("exact", int.from_bytes(digest[:8], "little"), seq)
        for b in range(self.bands):
            self._pair("band", int.from_bytes(keys[8 * b:8 * b + 8], "little"), seq)
        if self._buffered >= FLUSH_PAIRS:
            self.flush()
        return seq

    def _pair(self, kind: str, key: int, seq: int) -> None:
        name = f"{kind}-{key % self.partitions:04d}"
        buffer = self._buffers.get(name)
        if buffer is None:
            buffer = self._buffers[name] = (array("Q"), array("I"))
        buffer[0].append(key)
        buffer[1].append(seq)
        self._buffered += 1

    def flush(self) -> None:
        """Write the buffered pairs and flush the spool (before recording progress)."""
        for name, (keys, seqs) in self._buffers.items():
            with open(self.work / f"{name}.keys", "ab") as out:
                keys.tofile(out)
            with open(self.work / f"{name}.seqs", "ab") as out:
                seqs.tofile(out)
        self._buffers.clear()
        self._buffered = 0
        for handle in (self.spool, self.sigs):
            handle.flush()
            os.fsync(handle.fileno())

    def sizes(self) -> dict[str, int]:
        """Byte size of every work file (after :meth:`flush`): what a resumed scan truncates back to."""
        return {p.name: p.stat().st_size for p in sorted(self.work.iterdir())
                if p.suffix in (".keys", ".seqs", ".bin", ".jsonl") and p.name != "progress.json"}

    def restore(self, sizes: dict[str, int], docs: int) -> None:
        """Cut every work file back to a recorded progress point (and drop files written after it)."""
        self.spool.close()
        self.sigs.close()
        for path in self.work.iterdir():
            if path.suffix in (".keys", ".seqs", ".bin", ".jsonl") and path.name.startswith(("exact-", "band-", "spool", "sigs", "edges-")):
                size = sizes.get(path.name)
                if size is None:
                    path.unlink()
                else:
                    os.truncate(path, size)
        self.spool = open(self.work / "spool.jsonl", "ab")
        self.sigs = open(self.work / "sigs.bin", "ab")
        self.docs = docs

    def close(self) -> None:
        self.flush()
        self.spool.close()
        self.sigs.close()

    # -- decisions -------------------------------------------------------------------------------

    def _load(self, name: str) -> tuple[array, array]:
        keys, seqs = array("Q"), array("I")
        path = self.work / f"{name}.keys"
        if path.exists():
            keys.frombytes(path.read_bytes())
            seqs.frombytes((self.work / f"{name}.seqs").read_bytes())
        return keys, seqs

    def _groups(self, keys: array, seqs: array, status: bytearray | None) -> Iterator[list[int]]:
        """Runs of documents (ascending) that share a key, sizes >= 2."""
        order = sorted(range(len(keys)), key=lambda i: (keys[i], seqs[i]))
        run: list[int] = []
        last = None
        for i in order:
            seq = seqs[i]
            if status is not None and status[seq] == EXACT:
                continue
            if keys[i] != last:
                if len(run) > 1:
                    yield run
                run, last = [], keys[i]
            if not run or run[-1] != seq:
                run.append(seq)
        if len(run) > 1:
            yield run

    def _read(self, fd: int, seq: int) -> bytes:
        return os.pread(fd, self.record, seq * self.record)

    def decide(self, threshold: float, stats: dict[str, Any]) -> bytearray:
        """Status per document (KEPT, EXACT, NEAR)."""
        status = bytearray(self.docs)
        fd = os.open(self.work / "sigs.bin", os.O_RDONLY)
        try:
            for p in range(self.partitions):
                for run in self._groups(*self._load(f"exact-{p:04d}"), None):
                    first = self._read(fd, run[0])[:16]
                    for seq in run[1:]:
                        if self._read(fd, seq)[:16] == first:
                            status[seq] = EXACT
            edges_parts = max(1, self.partitions)
            edge_buffers: list[array] = [array("I") for _ in range(edges_parts)]
            need = threshold * self.num_perm - 1e-9
            compared = capped = 0
            for p in range(self.partitions):
                for run in self._groups(*self._load(f"band-{p:04d}"), status):
                    # Only the bucket's first documents and a sliding window of predecessors are
                    # held: memory stays bounded however many documents share the band.
                    head: list[array] = []
                    window: list[tuple[int, array]] = []
                    for i, doc in enumerate(run):
                        mine = array("I", self._read(fd, doc)[16:])
                        if i > FIRST_CANDIDATES + PREVIOUS_CANDIDATES:
                            capped += 1
                        candidates = list(zip(run, head)) + window
                        for other, theirs in candidates:
                            compared += 1
                            if sum(1 for x, y in zip(mine, theirs) if x == y) >= need:
                                edge_buffers[doc * edges_parts // max(self.docs, 1)].extend((doc, other))
                        if i < FIRST_CANDIDATES:
                            head.append(mine)
                        else:
                            window.append((doc, mine))
                            if len(window) > PREVIOUS_CANDIDATES:
                                window.pop(0)
                if sum(map(len, edge_buffers)) > FLUSH_PAIRS:
                    self._flush_edges(edge_buffers)
            self._flush_edges(edge_buffers)
            for part in range(edges_parts):
                path = self.work / f"edges-{part:04d}.bin"
                if not path.exists():
                    continue
                pairs = array("I")
                pairs.frombytes(path.read_bytes())
                for doc, other in sorted(zip(pairs[0::2], pairs[1::2])):
                    if status[doc] == KEPT and status[other] == KEPT:
                        status[doc] = NEAR
            stats["lsh_comparisons"] = compared
            stats["lsh_capped_documents"] = capped
        finally:
            os.close(fd)
        return status

    def _flush_edges(self, buffers: list[array]) -> None:
        for part, buffer in enumerate(buffers):
            if buffer:
                with open(self.work / f"edges-{part:04d}.bin", "ab") as out:
                    buffer.tofile(out)
                del buffer[:]

    def kept_lines(self, status: bytearray) -> Iterator[tuple[int, bytes]]:
        """``(status, line)`` of every spooled document, in input order."""
        with open(self.work / "spool.jsonl", "rb") as spool:
            for seq, line in enumerate(spool):
                yield status[seq], line


def read_progress(work: Path) -> dict[str, Any] | None:
    """The last recorded scan progress, or None."""
    path = Path(work) / "progress.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
