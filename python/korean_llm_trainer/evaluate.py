"""``evaluate``: Korean benchmarks with lm-evaluation-harness, one aggregate score for the gate.

The score is the mean over EVAL_TASKS of each task's primary metric, which a per-task table
fixes (:data:`PRIMARY_METRIC`): ``acc`` for kobest, kmmlu and click, ``acc_norm`` for haerae and
kobest_hellaswag, ``exact_match`` for the generative kmmlu_direct. The metric is read from the
task's (or group's) own entry, filter ``none`` preferred; a group reported without it is the
unweighted mean of its subtasks' primary metrics.

Why a table and not "acc_norm when reported": lm-eval 0.4.9.1's kobest group aggregates every
metric any subtask reports, and only kobest_hellaswag reports ``acc_norm``, so the group's
``acc_norm`` is hellaswag's score alone; the group's ``acc`` is the mean over its five subtasks.
The score (0..1, 4 decimals, no newline) goes to SCORE_FILE, which the Argo step exposes as
output parameter ``score``; the full results go to ``EVAL_OUTPUT_DIR/results.json`` (default:
``eval/`` beside the evaluated model).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from .contract import Config
from .deps import require
from .errors import ContractError, TrainerError
from .layout import atomic_write_text, model_dir

# The metric that scores each task: exact names first, then the longest matching prefix (a task
# family's subtasks), then DEFAULT_METRIC. Tasks and groups of lm-eval 0.4.9.1.
PRIMARY_METRIC = {
    "kobest": "acc",
    "kobest_hellaswag": "acc_norm",
    "kmmlu": "acc",
    "kmmlu_direct": "exact_match",
    "haerae": "acc_norm",
    "click": "acc",
    "kormedmcqa": "exact_match",
}
DEFAULT_METRIC = "acc"


class EvaluationError(TrainerError):
    """The harness results lack what the score needs."""


def _metric(entry: Mapping[str, Any], metric: str) -> float | None:
    preferred = entry.get(f"{metric},none")
    if isinstance(preferred, (int, float)) and not isinstance(preferred, bool):
        return float(preferred)
    for key in sorted(entry):
        value = entry[key]
        if key.startswith(f"{metric},") and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def primary_metric(task: str) -> str:
    """The metric that scores ``task`` (see :data:`PRIMARY_METRIC`)."""
    if task in PRIMARY_METRIC:
        return PRIMARY_METRIC[task]
    families = [name for name in PRIMARY_METRIC if task.startswith(name + "_")]
    return PRIMARY_METRIC[max(families, key=len)] if families else DEFAULT_METRIC


def task_accuracy(results: Mapping[str, Any], task: str, _depth: int = 0) -> tuple[float, str]:
    """The primary metric of ``task`` and how it was obtained (``acc``, ``acc_norm``, ``mean of N subtasks``)."""
    if _depth > 8:
        raise EvaluationError(f"task group {task!r} nests too deeply")
    metric = primary_metric(task)
    reported: list[str] = []
    for section in ("groups", "results"):
        entry = results.get(section, {}).get(task)
        if isinstance(entry, Mapping):
            value = _metric(entry, metric)
            if value is not None:
                return value, metric
            reported = sorted(k for k in entry if "," in k and "_stderr" not in k)
    subtasks = results.get("group_subtasks", {}).get(task) or []
    if subtasks:
        values = [task_accuracy(results, sub, _depth + 1)[0] for sub in subtasks]
        return sum(values) / len(values), f"mean of {len(values)} subtasks"
    raise EvaluationError(
        f"lm-evaluation-harness reported no {metric!r} for task {task!r} (reported: {', '.join(reported) or 'nothing'}); "
        f"its primary metric is set in PRIMARY_METRIC"
    )


def aggregate_score(results: Mapping[str, Any], tasks: tuple[str, ...] | list[str]) -> tuple[float, dict[str, dict]]:
    """The mean primary accuracy over ``tasks`` (0..1) and the per-task breakdown."""
    if not tasks:
        raise EvaluationError("no evaluation task given")
    per_task = {}
    for task in tasks:
        value, rule = task_accuracy(results, task)
        if not 0.0 <= value <= 1.0:
            raise EvaluationError(f"task {task!r} reported accuracy {value}, outside 0..1")
        per_task[task] = {"accuracy": value, "metric": rule}
    score = sum(t["accuracy"] for t in per_task.values()) / len(per_task)
    return score, per_task


def format_score(score: float) -> str:
    """A bare number Argo's ``when`` compares numerically: ``0.6123``."""
    return f"{score:.4f}"


def write_score_file(path: Path, score: float) -> None:
    """Write the score without a trailing newline (what ``valueFrom.path`` reads)."""
    atomic_write_text(Path(path), format_score(score))


def resolve_model_dir(model_path: Path) -> Path:
    """MODEL_PATH itself when it holds config.json, else its ``model/`` (a stage directory)."""
    model_path = Path(model_path)
    for candidate in (model_path, model_dir(model_path)):
        if (candidate / "config.json").is_file():
            return candidate
    raise TrainerError(f"'MODEL_PATH' {str(model_path)!r} holds no model (config.json), nor does its model/")


def results_path(config: Config, model: Path) -> Path:
    """``EVAL_OUTPUT_DIR/results.json``, default ``<model>/../eval/results.json``."""
    out = config.get("EVAL_OUTPUT_DIR")
    return (Path(out) if out else Path(model).parent / "eval") / "results.json"


def parse_batch_size(raw: str) -> int | str:
    """EVAL_BATCH_SIZE: ``auto``, ``auto:N`` or a positive integer."""
    if raw == "auto" or (raw.startswith("auto:") and raw[5:].isdigit()):
        return raw
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    raise ContractError(f"'EVAL_BATCH_SIZE' must be auto, auto:N or a positive integer, got {raw!r}")


def simple_evaluate_kwargs(config: Config, model: Path) -> dict[str, Any]:
    """Arguments of ``lm_eval.simple_evaluate`` (pure)."""
    limit = config.get("EVAL_LIMIT")
    return {
        "model": "hf",
        "model_args": {"pretrained": str(model), "dtype": "auto"},
        "tasks": list(config["EVAL_TASKS"]),
        "batch_size": parse_batch_size(config["EVAL_BATCH_SIZE"]),
        "limit": None if limit is None else (int(limit) if limit >= 1 else limit),
        "log_samples": False,
    }


def main(config: Config) -> int:
    """The ``evaluate`` command."""
    model = resolve_model_dir(Path(config["MODEL_PATH"]))
    kwargs = simple_evaluate_kwargs(config, model)
    lm_eval = require("lm_eval", "lm-eval", "evaluate")
    # Some Korean benchmark datasets still ship loading scripts.
    os.environ.setdefault("HF_DATASETS_TRUST_REMOTE_CODE", "1")
    results = lm_eval.simple_evaluate(**kwargs)
    if results is None:
        raise EvaluationError("lm_eval.simple_evaluate returned no results")
    score, per_task = aggregate_score(results, kwargs["tasks"])
    out = results_path(config, model)
    document = dict(results)
    document["korean_llm_trainer"] = {"score": score, "tasks": per_task, "model": str(model),
                                      "run_id": config["RUN_ID"], "model_name": config["MODEL_NAME"]}
    atomic_write_text(out, json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    write_score_file(Path(config["SCORE_FILE"]), score)
    print(f"evaluate: score {format_score(score)} ({json.dumps(per_task)}); results in {out}", flush=True)
    return 0
