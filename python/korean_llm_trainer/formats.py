"""Dataset formats per stage, and validation of a dataset's first records before any GPU work.

=========  =================================================================================
kind       one JSON object per line
=========  =================================================================================
cpt        ``{"text": str}``
sft        ``{"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}``
           (at least one assistant turn; rendered with the model's chat template)
dpo, orpo  ``{"prompt": P, "chosen": C, "rejected": R}``: strings, or conversational lists
           (``prompt`` a list of messages, ``chosen``/``rejected`` lists of assistant messages)
kto        ``{"prompt": P, "completion": C, "label": bool}``
grpo       ``{"prompt": P}`` (string or list of messages); rewards come from GRPO_REWARD_FUNCS
=========  =================================================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from .data import head_records
from .errors import DatasetError

ROLES = ("system", "user", "assistant", "tool")
KINDS = ("cpt", "sft", "dpo", "orpo", "kto", "grpo")
FORMAT_HELP = {
    "cpt": '{"text": "..."}',
    "sft": '{"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}',
    "dpo": '{"prompt": "...", "chosen": "...", "rejected": "..."}',
    "orpo": '{"prompt": "...", "chosen": "...", "rejected": "..."}',
    "kto": '{"prompt": "...", "completion": "...", "label": true}',
    "grpo": '{"prompt": "..."}',
}


def dataset_kind(command: str, rlhf_method: str | None = None) -> str:
    """The dataset format a command reads (``rlhf`` depends on the method)."""
    if command == "rlhf":
        if rlhf_method not in ("dpo", "orpo", "kto", "grpo"):
            raise ValueError(f"unknown RLHF method {rlhf_method!r}")
        return rlhf_method
    if command in ("cpt", "sft"):
        return command
    raise ValueError(f"command {command!r} reads no training dataset")


def _check_messages(value: Any, field: str, need_assistant: bool) -> str | None:
    if not isinstance(value, list) or not value:
        return f"'{field}' must be a non-empty list of messages"
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            return f"'{field}[{i}]' must be an object with 'role' and 'content'"
        if message.get("role") not in ROLES:
            return f"'{field}[{i}].role' must be one of {', '.join(ROLES)}, got {message.get('role')!r}"
        if not isinstance(message.get("content"), str):
            return f"'{field}[{i}].content' must be a string"
    if need_assistant and not any(m["role"] == "assistant" for m in value):
        return f"'{field}' has no assistant message to learn from"
    return None


def _check_text_or_messages(record: dict, field: str, need_assistant: bool = False) -> str | None:
    value = record.get(field)
    if isinstance(value, str):
        return None if value.strip() else f"'{field}' is an empty string"
    if isinstance(value, list):
        return _check_messages(value, field, need_assistant)
    if value is None:
        return f"missing field '{field}'"
    return f"'{field}' must be a string or a list of messages, got {type(value).__name__}"


def record_error(record: Any, kind: str) -> str | None:
    """What is wrong with one record for ``kind``, or None when it fits (pure)."""
    if kind not in KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}")
    if not isinstance(record, dict):
        return f"a record must be a JSON object, got {type(record).__name__}"
    if kind == "cpt":
        text = record.get("text")
        if not isinstance(text, str):
            return "missing string field 'text'" if text is None else "'text' must be a string"
        return None if text.strip() else "'text' is empty"
    if kind == "sft":
        return _check_messages(record.get("messages"), "messages", need_assistant=True)
    if kind in ("dpo", "orpo"):
        for field in ("prompt", "chosen", "rejected"):
            problem = _check_text_or_messages(record, field, need_assistant=field != "prompt")
            if problem:
                return problem
        if type(record["chosen"]) is not type(record["rejected"]):
            return "'chosen' and 'rejected' must both be strings or both be message lists"
        return None
    if kind == "kto":
        for field in ("prompt", "completion"):
            problem = _check_text_or_messages(record, field, need_assistant=field == "completion")
            if problem:
                return problem
        if not isinstance(record.get("label"), bool):
            return "'label' must be true or false"
        return None
    return _check_text_or_messages(record, "prompt")


def validate_records(records: Iterable[tuple[str, int, Any]], kind: str) -> int:
    """Check ``(source, line, record)`` triples against ``kind``; return how many were checked.

    Raises :class:`DatasetError` naming the file, the line, the problem and the expected format,
    or saying the dataset is empty.
    """
    count = 0
    for source, lineno, record in records:
        problem = record_error(record, kind)
        if problem:
            raise DatasetError(
                f"{source}:{lineno}: {problem}; a {kind} dataset has one object per line like {FORMAT_HELP[kind]}"
            )
        count += 1
    if count == 0:
        raise DatasetError(f"the {kind} dataset is empty; expected lines like {FORMAT_HELP[kind]}")
    return count


def validate_dataset(path: Path, kind: str, limit: int = 100) -> int:
    """Validate the first ``limit`` records of the JSONL dataset at ``path``."""
    return validate_records(head_records(path, limit), kind)
