"""Output layout, completion markers and checkpoint discovery (pure filesystem functions).

A training stage writes ``/output/runs/<run-id>/<model>/<stage>/`` (its ``OUTPUT_DIR``)::

    checkpoints/checkpoint-<step>/   what a restarted pod resumes from
    adapter/                         the final LoRA adapter
    model/                           the merged model, loadable by the next stage and by vLLM
    _COMPLETE                        JSON: stage, run id, base model, finished at, final metrics
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
import zipfile
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


def safetensors_problem(path: Path) -> str | None:
    """Why a ``.safetensors`` file is torn, or None: an 8-byte header length, a JSON header, and a
    file exactly as long as the header's largest tensor end (a cut-short write is shorter)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                return f"{path.name}: {size} bytes, shorter than a safetensors header"
            (length,) = struct.unpack("<Q", head)
            if 8 + length > size:
                return f"{path.name}: header of {length} bytes does not fit in {size} bytes"
            header = json.loads(handle.read(length))
    except (OSError, ValueError) as err:
        return f"{path.name}: unreadable safetensors header ({err})"
    if not isinstance(header, dict):
        return f"{path.name}: safetensors header is not a JSON object"
    ends = [entry["data_offsets"][1] for name, entry in header.items()
            if name != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry]
    expected = 8 + length + max(ends, default=0)
    if size != expected:
        return f"{path.name}: {size} bytes, the header describes {expected}"
    return None


def torch_zip_problem(path: Path) -> str | None:
    """Why a ``torch.save`` file (a zip archive since torch 1.6) is torn, or None: its central
    directory (written last) must be there and every member must lie inside the file."""
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (OSError, zipfile.BadZipFile, ValueError) as err:
        return f"{path.name}: not a complete torch archive ({err})"
    if not members:
        return f"{path.name}: empty archive"
    for info in members:
        if info.header_offset + info.compress_size > size:
            return f"{path.name}: member {info.filename} ends past the end of the file"
    return None


def file_problem(path: Path) -> str | None:
    """Why a checkpoint file is unusable (empty or torn), or None; formats it cannot check pass."""
    if not path.is_file():
        return f"{path.name}: missing"
    if path.stat().st_size == 0:
        return f"{path.name}: empty"
    if path.suffix == ".safetensors":
        return safetensors_problem(path)
    if path.suffix in (".bin", ".pt", ".pth"):
        return torch_zip_problem(path)
    return None


def _weight_files(path: Path) -> list[Path] | None:
    """The weight files a checkpoint must have in full (all shards of an index), or None when it has none."""
    for name in WEIGHT_INDEX_FILES:
        index = path / name
        if index.is_file():
            try:
                shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
            except (ValueError, KeyError, TypeError, AttributeError):
                return [index]  # reported as torn below: the index itself does not parse
            return [path / s for s in shards] or None
    found = [path / name for name in WEIGHT_FILES if (path / name).exists()]
    return found or None


def checkpoint_problems(path: Path) -> list[str]:
    """What makes ``path`` unusable to resume from (empty when it is valid).

    A pod killed while saving, or a volume that lost the tail of a file, leaves a directory whose
    ``trainer_state.json`` is missing or does not parse, or whose weights, optimizer, scheduler or
    RNG files are torn; ``Trainer`` accepts such a directory and then fails while loading it.
    """
    path = Path(path)
    if not path.is_dir():
        return ["not a directory"]
    state = path / "trainer_state.json"
    if not state.is_file():
        return ["trainer_state.json: missing"]
    try:
        parsed = json.loads(state.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        return [f"trainer_state.json: not valid JSON ({err})"]
    problems = []
    if not isinstance(parsed, dict) or "global_step" not in parsed:
        problems.append("trainer_state.json: no global_step")
    weights = _weight_files(path)
    if weights is None:
        problems.append("no weights (adapter_model.safetensors, model.safetensors or an index)")
    else:
        for index in (path / n for n in WEIGHT_INDEX_FILES):
            if index in weights:
                problems.append(f"{index.name}: does not parse")
                weights = []
        problems.extend(p for p in map(file_problem, weights) if p)
    others = [path / n for n in ("optimizer.pt", "scheduler.pt", "scaler.pt")] + sorted(path.glob("rng_state*.pth"))
    problems.extend(p for p in (file_problem(f) for f in others if f.exists()) if p)
    return problems


def is_valid_checkpoint(path: Path) -> bool:
    """Whether ``path`` can be resumed from (see :func:`checkpoint_problems`)."""
    return not checkpoint_problems(path)


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


def latest_valid_checkpoint(directory: Path, skipped: list[tuple[Path, list[str]]] | None = None) -> Path | None:
    """The newest valid checkpoint under ``directory``, falling back past torn ones, or None.

    ``skipped`` (when given) receives each newer checkpoint passed over, with its problems.
    """
    for _, path in list_checkpoints(directory):
        problems = checkpoint_problems(path)
        if not problems:
            return path
        if skipped is not None:
            skipped.append((path, problems))
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


# Settings that do not change what a stage produces: changing them must not make a finished
# stage run again (reporting, ports, parallelism, checkpoint cadence, secrets).
OPERATIONAL_SETTINGS = frozenset({
    "STAGE", "WANDB_PROJECT", "WANDB_API_KEY", "HF_TOKEN", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME",
    "METRICS_PORT", "NUM_WORKERS", "LOGGING_STEPS", "SAVE_STEPS", "SAVE_TOTAL_LIMIT", "EVAL_BATCH_SIZE",
    "EVAL_OUTPUT_DIR", "SCORE_FILE",
})


def stage_settings(values: Mapping[str, Any]) -> dict[str, str]:
    """The settings that decide a stage's output, as strings (``values`` is a parsed config's values)."""
    out = {}
    for name, value in sorted(values.items()):
        if name in OPERATIONAL_SETTINGS or value is None:
            continue
        out[name] = ",".join(value) if isinstance(value, tuple) else str(value)
    return out


def settings_hash(settings: Mapping[str, str]) -> str:
    """A stable hash of :func:`stage_settings` (recorded in ``_COMPLETE`` as ``config_hash``)."""
    text = json.dumps(dict(settings), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def check_marker_settings(marker: Mapping[str, Any], settings: Mapping[str, str], path: Path) -> str:
    """Compare a finished stage's recorded settings with this run's.

    Returns a note for the log when they match (or the marker predates the hash); raises
    :class:`TrainerError` naming the changed settings when they differ, since skipping would
    silently keep the output of the old settings under the same run id.
    """
    recorded = marker.get("config_hash")
    if recorded is None:
        return f"{path} records no settings hash (written by an older trainer); not compared"
    if recorded == settings_hash(settings):
        return "settings unchanged"
    before = marker.get("settings") or {}
    changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
    detail = ", ".join(f"{k}: {before.get(k)!r} -> {settings.get(k)!r}" for k in changed) or "unknown changes"
    raise TrainerError(
        f"{path} was written with other settings ({detail}); a finished stage is not run again under "
        "the same RUN_ID: use a new RUN_ID, or delete the stage's output to run it with these settings"
    )
