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

The gate (:mod:`korean_llm_trainer.gate`): per-task minimums (``EVAL_MIN_SCORES``), English
retention against the base model (``EVAL_RETENTION_TASKS``, ``EVAL_BASE_MODEL``, scored once per
model id and cached in ``EVAL_CACHE_DIR``), the deployed model as champion
(``EVAL_CHAMPION_PATH``), and a judged generative task (:mod:`korean_llm_trainer.judge`,
``JUDGE_PROMPTS_PATH``). One file per task score and per check goes to ``EVAL_SCORES_DIR`` for
the Argo output parameters the deploy ``when`` compares; ``report.md`` / ``report.json`` go
beside ``results.json``.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
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
    # English retention sets (the Open LLM Leaderboard's choices)
    "mmlu": "acc",
    "arc_easy": "acc_norm",
    "arc_challenge": "acc_norm",
    "hellaswag": "acc_norm",
    "winogrande": "acc",
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


def harness_scores(config: Config, model: str, tasks: list[str]) -> tuple[dict[str, tuple[float, str]], dict]:
    """Run lm-evaluation-harness on ``model`` (a path or a Hugging Face id) and score ``tasks``."""
    kwargs = simple_evaluate_kwargs(config, Path(model))
    kwargs["model_args"] = dict(kwargs["model_args"], pretrained=str(model))
    kwargs["tasks"] = list(tasks)
    lm_eval = require("lm_eval", "lm-eval", "evaluate")
    # Some Korean benchmark datasets still ship loading scripts.
    os.environ.setdefault("HF_DATASETS_TRUST_REMOTE_CODE", "1")
    results = lm_eval.simple_evaluate(**kwargs)
    if results is None:
        raise EvaluationError("lm_eval.simple_evaluate returned no results")
    return {task: task_accuracy(results, task) for task in tasks}, results


def check_range(scores: Mapping[str, tuple[float, str]]) -> None:
    """Every score is an accuracy (0..1)."""
    for task, (value, _) in scores.items():
        if not 0.0 <= value <= 1.0:
            raise EvaluationError(f"task {task!r} reported accuracy {value}, outside 0..1")


def champion_dir(config: Config) -> Path | None:
    """The deployed model (EVAL_CHAMPION_PATH) when it holds a model; None on a first deployment."""
    raw = config.get("EVAL_CHAMPION_PATH")
    if raw is None:
        return None
    try:
        return resolve_model_dir(Path(raw))
    except TrainerError:
        print(f"evaluate: no champion at {raw} (a first deployment): the champion check passes", flush=True)
        return None


def judged_scores(config: Config, env: Mapping[str, str], model: Path) -> tuple[dict[str, tuple[float, str]], dict | None]:
    """The judged task (JUDGE_PROMPTS_PATH set): the candidate served by vLLM in this pod or at CANDIDATE_ENDPOINT."""
    prompts_path = config.get("JUDGE_PROMPTS_PATH")
    if prompts_path is None:
        return {}, None
    from . import judge as j

    prompts = j.load_prompts(Path(prompts_path))
    endpoint, judge_path = config.get("JUDGE_ENDPOINT"), config.get("JUDGE_MODEL_PATH")
    if bool(endpoint) == bool(judge_path):
        raise ContractError("the judge needs exactly one of 'JUDGE_ENDPOINT' (with 'JUDGE_MODEL') and 'JUDGE_MODEL_PATH'")
    if endpoint and not config.get("JUDGE_MODEL"):
        raise ContractError("'JUDGE_MODEL' (the judge's model name at 'JUDGE_ENDPOINT') is required with 'JUDGE_ENDPOINT'")
    with ExitStack() as stack:
        # two servers share the GPU when both models are local
        share = 0.45 if judge_path and not config.get("CANDIDATE_ENDPOINT") else 0.85
        candidate_url = config.get("CANDIDATE_ENDPOINT")
        candidate_name = "candidate"
        if candidate_url:
            candidate_name = config.get("CANDIDATE_MODEL") or str(model)
        else:
            candidate_url = stack.enter_context(j.LocalVllm(str(model), 8000, candidate_name, share)).url + "/v1"
        if judge_path:
            judge_url = stack.enter_context(j.LocalVllm(str(judge_path), 8001, "judge", share)).url + "/v1"
            judge_client, judge_model = j.ChatClient(judge_url), "judge"
        else:
            judge_client, judge_model = j.ChatClient(str(endpoint), api_key=env.get("JUDGE_API_KEY")), str(config["JUDGE_MODEL"])
        result = j.run_judge(prompts, j.ChatClient(str(candidate_url)), candidate_name, judge_client, judge_model)
    task = config["JUDGE_TASK"]
    detail = {"task": task, "score": result.score, "categories": result.categories, "ratings": result.ratings,
              "unparsed": result.unparsed, "prompts": str(prompts_path), "judge": judge_model}
    return {task: (result.score, "judge rating / 10")}, detail


def main(config: Config, env: Mapping[str, str] | None = None) -> int:
    """The ``evaluate`` command: score, compare, report; the deploy decision is the Argo ``when``'s."""
    from . import gate

    env = os.environ if env is None else env
    model = resolve_model_dir(Path(config["MODEL_PATH"]))
    tasks = list(config["EVAL_TASKS"])
    retention_tasks = [t for t in (config.get("EVAL_RETENTION_TASKS") or ()) if t]
    overlap = sorted(set(tasks) & set(retention_tasks))
    if overlap:
        raise ContractError(f"'EVAL_RETENTION_TASKS' repeats tasks of 'EVAL_TASKS': {', '.join(overlap)}")
    thresholds = gate.parse_thresholds(config.get("EVAL_MIN_SCORES"))
    base_model = config.get("EVAL_BASE_MODEL")
    if retention_tasks and not base_model:
        raise ContractError("'EVAL_BASE_MODEL' (the base model's path or Hugging Face id) is required with 'EVAL_RETENTION_TASKS'")

    scores, results = harness_scores(config, str(model), tasks + retention_tasks)
    check_range(scores)
    korean = {t: scores[t] for t in tasks}
    base = None
    if base_model:
        settings = {"limit": config.get("EVAL_LIMIT"), "lm_eval": results.get("lm_eval_version")}
        # the base on every task (Korean deltas too), once per model id: cached on the output volume
        base = gate.cached_scores(config.get("EVAL_CACHE_DIR"), str(base_model), tasks + retention_tasks, settings,
                                  lambda missing: harness_scores(config, str(base_model), missing)[0])
        check_range(base)
    champion_path = champion_dir(config)
    champion = None
    if champion_path is not None:
        champion = harness_scores(config, str(champion_path), tasks)[0]
        check_range(champion)
    judged, judge_detail = judged_scores(config, env, model)
    check_range(judged)

    report = gate.build_report(
        model=str(model), korean=korean, judged=judged, thresholds=thresholds, min_score=config.get("EVAL_MIN_SCORE"),
        retention_tasks=retention_tasks, candidate_retention={t: scores[t] for t in retention_tasks}, base=base,
        base_model=str(base_model) if base_model else None, min_retention=config["EVAL_MIN_RETENTION"],
        champion=champion, champion_model=str(champion_path) if champion_path else None,
        champion_tolerance=config["EVAL_CHAMPION_TOLERANCE"],
    )
    out = results_path(config, model)
    document = dict(results)
    per_task = {t: {"accuracy": v, "metric": m} for t, (v, m) in korean.items()}
    document["korean_llm_trainer"] = {"score": report.score, "tasks": per_task, "model": str(model),
                                      "run_id": config["RUN_ID"], "model_name": config["MODEL_NAME"],
                                      "gate": report.to_json(), "judge": judge_detail}
    atomic_write_text(out, json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    md, _ = gate.write_report(out.parent, report)
    gate.write_outputs(Path(config["EVAL_SCORES_DIR"]), report)
    write_score_file(Path(config["SCORE_FILE"]), report.score)
    print(gate.render_markdown(report), flush=True)
    print(f"evaluate: {gate.summary_line(report)}; results in {out}, report in {md}", flush=True)
    return 0
