"""The evaluation gate: per-task thresholds, English retention, champion vs challenger, the report.

Pure functions over scores (``{task: (score, metric)}``); :mod:`korean_llm_trainer.evaluate` runs
the harness and the judge, this module decides and writes. Argo makes the deploy decision from the
files written here (one output parameter per file, compared as numbers in the deploy task's
``when``); the verdict in the report is the same arithmetic, so what the team reads is what gated.

Files in ``EVAL_SCORES_DIR`` (bare numbers, 4 decimals, no newline):

- ``score-<task>``: each task's primary metric (0..1), ``<task>`` with ``.`` spelt ``-``;
- ``retention``: the candidate's mean over the English retention tasks divided by the base
  model's (``1.0000`` when no retention set is configured);
- ``champion-margin``: candidate aggregate - champion aggregate + tolerance (``>= 0`` passes;
  ``1.0000`` when there is no champion, the first deployment);
- ``summary``: one line for the exit notification.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .errors import ContractError
from .layout import atomic_write_text

Scores = Mapping[str, tuple[float, str]]
"""Task name -> (score 0..1, how it was obtained: the metric or ``mean of N subtasks``)."""


def output_name(task: str) -> str:
    """The Argo output parameter (and file) of a task's score: ``score-kmmlu``, ``score-kmmlu_hard``."""
    return "score-" + task.replace(".", "-")


def parse_thresholds(items: Sequence[str] | None) -> dict[str, float]:
    """``EVAL_MIN_SCORES`` entries (``kmmlu=0.45``) as a mapping; each minimum in 0..1."""
    thresholds: dict[str, float] = {}
    for item in items or ():
        task, sep, raw = item.partition("=")
        task, raw = task.strip(), raw.strip()
        try:
            value = float(raw) if sep and task else None
        except ValueError:
            value = None
        if value is None or not 0.0 <= value <= 1.0:
            raise ContractError(f"'EVAL_MIN_SCORES' entries must be task=minimum with a minimum in 0..1, got {item!r}")
        if task in thresholds:
            raise ContractError(f"'EVAL_MIN_SCORES' names task {task!r} twice")
        thresholds[task] = value
    return thresholds


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean."""
    return sum(values) / len(values)


@dataclass
class Row:
    """One line of the report."""

    task: str
    metric: str
    score: float
    kind: str = "korean"  # korean | judged | retention
    threshold: float | None = None
    passed: bool = True
    base: float | None = None
    base_delta: float | None = None
    champion: float | None = None
    champion_delta: float | None = None


@dataclass
class Check:
    """One gate condition: what it compares and whether it holds."""

    name: str
    value: float
    minimum: float
    passed: bool
    detail: str = ""


@dataclass
class Report:
    """Everything the gate decided, as written to ``report.json``.

    Each check compares the value rounded to the 4 decimals of its output file, as Argo does.
    """

    model: str
    score: float
    rows: list[Row] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    retention: float | None = None
    champion_margin: float | None = None
    base_model: str | None = None
    champion_model: str | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["passed"] = self.passed
        return doc


def build_report(
    *,
    model: str,
    korean: Scores,
    judged: Scores | None = None,
    thresholds: Mapping[str, float] | None = None,
    min_score: float | None = None,
    retention_tasks: Sequence[str] = (),
    candidate_retention: Scores | None = None,
    base: Scores | None = None,
    base_model: str | None = None,
    min_retention: float | None = None,
    champion: Scores | None = None,
    champion_model: str | None = None,
    champion_tolerance: float = 0.0,
) -> Report:
    """Apply every configured check to the scores.

    The aggregate is the mean over the harness tasks (``korean``), as before; judged tasks have
    their own rows and thresholds. A threshold for a task that was not scored is an error, not a
    silent pass.
    """
    if not korean:
        raise ContractError("no evaluation task was scored")
    judged = judged or {}
    thresholds = dict(thresholds or {})
    unknown = sorted(set(thresholds) - set(korean) - set(judged))
    if unknown:
        raise ContractError(f"'EVAL_MIN_SCORES' names tasks that were not evaluated: {', '.join(unknown)} "
                            f"(evaluated: {', '.join([*korean, *judged])})")
    score = mean([s for s, _ in korean.values()])
    report = Report(model=model, score=score, base_model=base_model, champion_model=champion_model)

    def row(task: str, value: tuple[float, str], kind: str) -> Row:
        r = Row(task=task, metric=value[1], score=value[0], kind=kind, threshold=thresholds.get(task))
        if r.threshold is not None:
            r.passed = round(r.score, 4) >= r.threshold
            report.checks.append(Check(output_name(task), r.score, r.threshold, r.passed, f"{task} {value[1]}"))
        if base and task in base:
            r.base = base[task][0]
            r.base_delta = r.score - r.base
        if champion and task in champion:
            r.champion = champion[task][0]
            r.champion_delta = r.score - r.champion
        return r

    report.rows += [row(t, v, "korean") for t, v in korean.items()]
    report.rows += [row(t, v, "judged") for t, v in judged.items()]
    if min_score is not None:
        report.checks.append(Check("score", score, min_score, round(score, 4) >= min_score, "mean of the harness tasks"))

    if retention_tasks:
        if not candidate_retention or not base:
            raise ContractError("retention tasks need the candidate's and the base model's scores")
        missing = [t for t in retention_tasks if t not in candidate_retention or t not in base]
        if missing:
            raise ContractError(f"retention tasks without a score: {', '.join(missing)}")
        report.rows += [row(t, candidate_retention[t], "retention") for t in retention_tasks]
        base_mean = mean([base[t][0] for t in retention_tasks])
        cand_mean = mean([candidate_retention[t][0] for t in retention_tasks])
        # a base at 0 cannot lose anything: retention is full
        report.retention = cand_mean / base_mean if base_mean > 0 else 1.0
        minimum = 0.0 if min_retention is None else min_retention
        report.checks.append(Check("retention", report.retention, minimum, round(report.retention, 4) >= minimum,
                                   f"English {cand_mean:.4f} vs base {base_mean:.4f}"))

    if champion is not None:
        compared = [t for t in korean if t in champion]
        if not compared:
            raise ContractError("the champion was scored on none of the candidate's tasks")
        champion_score = mean([champion[t][0] for t in compared])
        candidate_score = mean([korean[t][0] for t in compared])
        report.champion_margin = candidate_score - champion_score + champion_tolerance
        report.checks.append(Check("champion-margin", report.champion_margin, 0.0, round(report.champion_margin, 4) >= 0,
                                   f"{candidate_score:.4f} vs champion {champion_score:.4f}, tolerance {champion_tolerance:.4f}"))
    return report


def fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def render_markdown(report: Report) -> str:
    """The report as a Markdown table the team reads (and the notification links)."""
    verdict = "PASS" if report.passed else "FAIL"
    lines = [
        f"# Evaluation gate: {verdict}",
        "",
        f"Model: `{report.model}`  ",
        f"Aggregate score: {fmt(report.score)}",
    ]
    if report.base_model:
        lines.append(f"Base model: `{report.base_model}`")
    if report.champion_model:
        lines.append(f"Champion: `{report.champion_model}`")
    lines += ["", "| task | kind | metric | score | threshold | pass | base | vs base | champion | vs champion |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report.rows:
        mark = "-" if r.threshold is None else ("yes" if r.passed else "**no**")
        lines.append(f"| {r.task} | {r.kind} | {r.metric} | {fmt(r.score)} | {fmt(r.threshold)} | {mark} | {fmt(r.base)} | "
                     f"{fmt(r.base_delta, True)} | {fmt(r.champion)} | {fmt(r.champion_delta, True)} |")
    lines += ["", "| check | value | minimum | pass | detail |", "| --- | --- | --- | --- | --- |"]
    for c in report.checks:
        lines.append(f"| {c.name} | {fmt(c.value)} | {fmt(c.minimum)} | {'yes' if c.passed else '**no**'} | {c.detail} |")
    if not report.checks:
        lines.append("| (none configured) | | | | |")
    return "\n".join(lines) + "\n"


def summary_line(report: Report) -> str:
    """One line for the exit notification: the verdict and each failed check."""
    failed = [f"{c.name} {fmt(c.value)} < {fmt(c.minimum)}" for c in report.checks if not c.passed]
    head = f"gate {'PASS' if report.passed else 'FAIL'}: score {fmt(report.score)}"
    if report.retention is not None:
        head += f", retention {report.retention:.1%}"
    if report.champion_margin is not None:
        head += f", champion margin {fmt(report.champion_margin, True)}"
    return head + (f"; failed: {', '.join(failed)}" if failed else "")


def write_outputs(scores_dir: Path, report: Report) -> list[Path]:
    """One file per task score plus ``retention``, ``champion-margin`` and ``summary``."""
    scores_dir = Path(scores_dir)
    written = []
    for r in report.rows:
        if r.kind == "retention":
            continue
        path = scores_dir / output_name(r.task)
        atomic_write_text(path, fmt(r.score))
        written.append(path)
    # no retention set / no champion: a value that passes (the gate clause is always present)
    for name, value in (("retention", report.retention), ("champion-margin", report.champion_margin)):
        path = scores_dir / name
        atomic_write_text(path, fmt(1.0 if value is None else value))
        written.append(path)
    path = scores_dir / "summary"
    atomic_write_text(path, summary_line(report))
    written.append(path)
    return written


def write_report(out_dir: Path, report: Report) -> tuple[Path, Path]:
    """``report.md`` and ``report.json`` in ``out_dir`` (the run's evaluation output)."""
    md, js = Path(out_dir) / "report.md", Path(out_dir) / "report.json"
    atomic_write_text(md, render_markdown(report))
    atomic_write_text(js, json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    return md, js


# ---- base-model scores, cached by model id ---------------------------------------------------

def cache_key(model_id: str, settings: Mapping[str, Any]) -> str:
    """A file name for the model's scores under the given settings (limit, harness version)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "--", model_id.strip("/")).strip("-") or "model"
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{safe[:100]}-{digest}.json"


def cached_scores(
    cache_dir: Path | None,
    model_id: str,
    tasks: Sequence[str],
    settings: Mapping[str, Any],
    evaluate: Callable[[list[str]], Scores],
) -> dict[str, tuple[float, str]]:
    """The model's scores on ``tasks``, evaluating only the tasks the cache lacks.

    The cache is one JSON file per model id and settings in ``cache_dir`` (on the shared output
    volume, so every branch and every later run reuses the base model's scores).
    """
    path = Path(cache_dir) / cache_key(model_id, settings) if cache_dir else None
    cached: dict[str, tuple[float, str]] = {}
    if path and path.is_file():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            cached = {t: (float(v[0]), str(v[1])) for t, v in doc.get("scores", {}).items()}
        except (ValueError, TypeError, IndexError, AttributeError):
            cached = {}  # a torn or foreign file: evaluate again and overwrite it
    missing = [t for t in tasks if t not in cached]
    if missing:
        fresh = evaluate(missing)
        cached.update({t: (float(v[0]), str(v[1])) for t, v in fresh.items()})
        if path:
            atomic_write_text(path, json.dumps({"model": model_id, "settings": dict(settings),
                                                "scores": {t: list(v) for t, v in cached.items()}}, indent=2, default=str) + "\n")
    return {t: cached[t] for t in tasks}
