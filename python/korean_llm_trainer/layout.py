"""Output layout, completion markers and checkpoint discovery (pure filesystem functions).

A training stage writes ``/output/runs/<run-id>/<model>/<stage>/`` (its ``OUTPUT_DIR``)::

    checkpoints/checkpoint-<step>/   what a restarted pod resumes from
    adapter/                         the final LoRA adapter
    model/                           the merged model, loadable by the next stage and by vLLM
    _COMPLETE                        JSON: stage, run id, base model, finished at, final metrics
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from .errors import TrainerError

MARKER_NAME = "_COMPLETE"
CHECKPOINTS_DIR = "checkpoints"
MODEL_DIR = "model"
ADAPTER_DIR = "adapter"

_CHECKPOINT_RE = re.compile(r"checkpoint-(\d+)")
WEIGHT_FILES = (
    "adapter_model.safetensors",
    "adapter_model.bin",
    "model.safetensors",
    "pytorch_model.bin",
)
WEIGHT_INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")


def checkpoints_dir(stage_dir: Path) -> Path:
    """Where the Trainer writes ``checkpoint-<step>`` directories."""
    return Path(stage_dir) / CHECKPOINTS_DIR


def model_dir(stage_dir: Path) -> Path:
    """Where the merged, servable model goes."""
    return Path(stage_dir) / MODEL_DIR


def adapter_dir(stage_dir: Path) -> Path:
    """Where the final LoRA adapter goes."""
    return Path(stage_dir) / ADAPTER_DIR


def _has_weights(path: Path) -> bool:
    for name in WEIGHT_FILES:
        candidate = path / name
        if candidate.is_file() and candidate.stat().st_size > 0:
            return True
    for name in WEIGHT_INDEX_FILES:
        index = path / name
        if index.is_file():
            try:
                shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
            except (ValueError, KeyError, TypeError):
                return False
            return bool(shards) and all((path / s).is_file() and (path / s).stat().st_size > 0 for s in shards)
    return False


def is_valid_checkpoint(path: Path) -> bool:
    """A checkpoint is valid when its ``trainer_state.json`` parses and its weights are complete.

    A pod killed while saving leaves a directory without ``trainer_state.json`` (the Trainer
    writes it last), with a truncated state file, or with missing shards: all are skipped.
    """
    path = Path(path)
    state = path / "trainer_state.json"
    if not path.is_dir() or not state.is_file():
        return False
    try:
        parsed = json.loads(state.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(parsed, dict) and "global_step" in parsed and _has_weights(path)


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """All ``checkpoint-<step>`` directories under ``directory``, newest (highest step) first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for child in directory.iterdir():
        match = _CHECKPOINT_RE.fullmatch(child.name)
        if match and child.is_dir():
            found.append((int(match.group(1)), child))
    return sorted(found, key=lambda item: item[0], reverse=True)


def latest_valid_checkpoint(directory: Path) -> Path | None:
    """The newest valid checkpoint under ``directory`` (skipping partial ones), or None."""
    for _, path in list_checkpoints(directory):
        if is_valid_checkpoint(path):
            return path
    return None


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (no torn files)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def build_marker(
    stage: str, run_id: str, base_model: str | None, metrics: Mapping[str, Any], now: datetime | None = None, **extra: Any
) -> dict[str, Any]:
    """The ``_COMPLETE`` document."""
    finished = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {
        "stage": stage,
        "run_id": run_id,
        "base_model": base_model,
        "finished_at": finished.isoformat().replace("+00:00", "Z"),
        "metrics": dict(metrics),
        **extra,
    }


def write_marker(output_dir: Path, marker: Mapping[str, Any]) -> Path:
    """Write ``_COMPLETE`` atomically; returns its path."""
    path = Path(output_dir) / MARKER_NAME
    atomic_write_text(path, json.dumps(marker, indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_marker(output_dir: Path) -> dict[str, Any] | None:
    """The ``_COMPLETE`` document of ``output_dir``, or None when the stage has not finished.

    A marker that exists but does not parse is an error (something else wrote it), not a
    reason to train again silently.
    """
    path = Path(output_dir) / MARKER_NAME
    if not path.exists():
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise TrainerError(f"completion marker {path} is not valid JSON ({err}); delete it to run the stage again") from err
    if not isinstance(marker, dict):
        raise TrainerError(f"completion marker {path} is not a JSON object; delete it to run the stage again")
    return marker
