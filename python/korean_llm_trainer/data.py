"""JSONL dataset files: discovery and reading the first records (standard library only)."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any, Iterator

from .errors import DatasetError

JSONL_SUFFIXES = (".jsonl",)


def list_jsonl_files(path: Path) -> list[Path]:
    """``path`` itself when it is a file, else the ``*.jsonl`` files under it (recursively, sorted).

    Raises :class:`DatasetError` when the path does not exist or holds no JSONL file.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.exists():
        raise DatasetError(f"dataset path {path} does not exist")
    if not path.is_dir():
        raise DatasetError(f"dataset path {path} is neither a file nor a directory")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in JSONL_SUFFIXES)
    if not files:
        raise DatasetError(f"dataset directory {path} holds no *.jsonl file")
    return files


def iter_records(files: list[Path]) -> Iterator[tuple[Path, int, Any]]:
    """Yield ``(file, line number, parsed JSON)`` for every non-blank line of ``files``."""
    for file in files:
        with open(file, encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield file, lineno, json.loads(line)
                except ValueError as err:
                    raise DatasetError(f"{file}:{lineno}: not valid JSON ({err})") from err


def head_records(path: Path, limit: int = 100) -> list[tuple[Path, int, Any]]:
    """The first ``limit`` records of the dataset at ``path`` (a file or a directory)."""
    return list(islice(iter_records(list_jsonl_files(path)), limit))
