"""Judged, generative evaluation (LogicKor / KoMT-Bench style): the candidate answers, a judge rates.

Prompts come from the user's dataset (JSONL, nothing is bundled), one object a line::

    {"id": "q1", "category": "reasoning", "turns": ["첫 질문", "이어지는 질문"], "references": ["모범 답안", ""]}

(``prompt`` is accepted for a single turn; ``category`` and ``references`` are optional). The
candidate answers each turn with the conversation so far; the judge rates every answer 1..10 and
writes ``[[N]]`` (the MT-Bench rating convention, which LogicKor follows). The task's score is the
mean rating / 10 (0..1); per-category means go to the report.

Both models are reached through the OpenAI-compatible chat API (``POST <base>/chat/completions``):
the candidate is served by vLLM inside the evaluate step's pod (or is a VllmServer's endpoint);
the judge is an endpoint with a key from a Secret, or a local model served by vLLM in the pod.
The HTTP client uses the standard library only.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .errors import TrainerError


class JudgeError(TrainerError):
    """The prompts, an endpoint or the judge's answers are unusable."""


@dataclass(frozen=True)
class Prompt:
    """One (multi-turn) question."""

    id: str
    turns: tuple[str, ...]
    category: str = "default"
    references: tuple[str, ...] = ()


def load_prompts(path: Path) -> list[Prompt]:
    """Read the JSONL prompt set; every malformed line is named."""
    path = Path(path)
    if not path.is_file():
        raise JudgeError(f"'JUDGE_PROMPTS_PATH' {str(path)!r} is not a file (a JSONL prompt set on the data volume)")
    prompts, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as err:
            raise JudgeError(f"{path}:{number}: not JSON ({err})") from None
        turns = doc.get("turns") if isinstance(doc, dict) else None
        if isinstance(doc, dict) and turns is None and isinstance(doc.get("prompt"), str):
            turns = [doc["prompt"]]
        if not isinstance(turns, list) or not turns or not all(isinstance(t, str) and t.strip() for t in turns):
            raise JudgeError(f"{path}:{number}: needs 'turns' (a non-empty list of non-empty strings) or 'prompt'")
        refs = doc.get("references") or []
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise JudgeError(f"{path}:{number}: 'references' must be a list of strings")
        pid = str(doc.get("id", number))
        if pid in seen:
            raise JudgeError(f"{path}:{number}: id {pid!r} appears twice")
        seen.add(pid)
        prompts.append(Prompt(pid, tuple(turns), str(doc.get("category") or "default"), tuple(refs)))
    if not prompts:
        raise JudgeError(f"'JUDGE_PROMPTS_PATH' {str(path)!r} holds no prompt")
    return prompts


class ChatClient:
    """A minimal OpenAI-compatible chat client (``/chat/completions``) on ``urllib``."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 300.0,
                 retries: int = 3, backoff: float = 2.0, sleep: Callable[[float], None] = time.sleep):
        if not re.match(r"^https?://", base_url or ""):
            raise JudgeError(f"endpoint must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as err:
                last = f"HTTP {err.code}"
                # rate limits and server errors are retried; a bad request or a bad key is not
                if err.code != 429 and err.code < 500:
                    detail = err.read().decode("utf-8", "replace")[:300]
                    raise JudgeError(f"{self.base_url}{path}: HTTP {err.code}: {detail}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
                last = str(getattr(err, "reason", err))
            except ValueError as err:
                raise JudgeError(f"{self.base_url}{path}: the answer is not JSON ({err})") from None
            if attempt < self.retries:
                self.sleep(self.backoff * (2 ** attempt))
        raise JudgeError(f"{self.base_url}{path}: no answer after {self.retries + 1} attempts ({last})")

    def chat(self, model: str, messages: list[dict[str, str]], max_tokens: int = 1024, temperature: float = 0.0) -> str:
        """The first choice's message content."""
        doc = self._post("/chat/completions", {"model": model, "messages": messages,
                                               "max_tokens": max_tokens, "temperature": temperature})
        try:
            content = doc["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise JudgeError(f"{self.base_url}/chat/completions: no choices[0].message.content in the answer") from None
        return content if isinstance(content, str) else ""


JUDGE_SYSTEM = (
    "You are a strict grader of Korean-language assistant answers. Rate the assistant's answer to the "
    "last user turn for correctness, reasoning, helpfulness and fluent, natural Korean. Answers not in "
    "Korean (unless the question asks otherwise) score at most 3. Explain briefly, then give the rating "
    "as [[N]] with N an integer from 1 to 10."
)

_RATING = re.compile(r"\[\[\s*(10|[1-9])(?:\.0+)?\s*\]\]")


def parse_rating(text: str) -> float | None:
    """The last ``[[N]]`` rating (1..10) in the judge's answer, or None."""
    found = _RATING.findall(text or "")
    return float(found[-1]) if found else None


def judge_messages(prompt: Prompt, turn: int, conversation: list[dict[str, str]]) -> list[dict[str, str]]:
    """What the judge is asked for ``turn``: the conversation so far and, if given, the reference."""
    shown = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in conversation)
    ref = prompt.references[turn] if turn < len(prompt.references) and prompt.references[turn] else ""
    text = f"<conversation>\n{shown}\n</conversation>"
    if ref:
        text += f"\n\n<reference answer>\n{ref}\n</reference answer>"
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": text}]


@dataclass
class JudgeResult:
    """The judged task's score (0..1), its means per category and every rating."""

    score: float
    categories: dict[str, float] = field(default_factory=dict)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    unparsed: int = 0


def run_judge(prompts: Sequence[Prompt], candidate: ChatClient, candidate_model: str, judge: ChatClient, judge_model: str,
              max_tokens: int = 1024, judge_attempts: int = 2) -> JudgeResult:
    """Answer every turn with the candidate and rate it with the judge.

    A judge answer without a rating is asked again (``judge_attempts`` in all); still none counts
    as the lowest rating (1), so an unusable judge cannot pass a model.
    """
    ratings: list[dict[str, Any]] = []
    unparsed = 0
    for prompt in prompts:
        conversation: list[dict[str, str]] = []
        for turn, question in enumerate(prompt.turns):
            conversation.append({"role": "user", "content": question})
            answer = candidate.chat(candidate_model, list(conversation), max_tokens=max_tokens)
            conversation.append({"role": "assistant", "content": answer})
            rating = None
            for _ in range(judge_attempts):
                rating = parse_rating(judge.chat(judge_model, judge_messages(prompt, turn, conversation), max_tokens=512))
                if rating is not None:
                    break
            if rating is None:
                unparsed += 1
                rating = 1.0
            ratings.append({"id": prompt.id, "turn": turn + 1, "category": prompt.category, "rating": rating})
    by_category: dict[str, list[float]] = {}
    for r in ratings:
        by_category.setdefault(r["category"], []).append(r["rating"])
    categories = {c: sum(v) / len(v) / 10 for c, v in sorted(by_category.items())}
    score = sum(r["rating"] for r in ratings) / len(ratings) / 10
    return JudgeResult(score, categories, ratings, unparsed)


# ---- vLLM in the step's pod ------------------------------------------------------------------

def vllm_command(model_path: str, port: int, served_name: str, gpu_memory_utilization: float) -> list[str]:
    """``vllm serve`` for one model on localhost (the OpenAI-compatible server)."""
    return ["vllm", "serve", model_path, "--host", "127.0.0.1", "--port", str(port),
            "--served-model-name", served_name, "--gpu-memory-utilization", f"{gpu_memory_utilization:.2f}"]


def wait_healthy(base_url: str, timeout: float, interval: float = 5.0, process: subprocess.Popen | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
    """Poll ``<base>/health`` (vLLM's readiness endpoint) until it answers 200."""
    deadline = clock() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise JudgeError(f"the vLLM server for {base_url} exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(base_url.rstrip("/") + "/health", timeout=10) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            pass
        if clock() >= deadline:
            raise JudgeError(f"{base_url}/health did not answer within {timeout:.0f}s")
        sleep(interval)


class LocalVllm:
    """A vLLM server started in this pod for the duration of a ``with`` block."""

    def __init__(self, model_path: str, port: int, served_name: str, gpu_memory_utilization: float = 0.85,
                 startup_timeout: float = 1800.0):
        self.command = vllm_command(model_path, port, served_name, gpu_memory_utilization)
        self.url = f"http://127.0.0.1:{port}"
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "LocalVllm":
        try:
            self.process = subprocess.Popen(self.command)
        except FileNotFoundError:
            raise JudgeError("'vllm' is not installed in the evaluation image (needed to serve a model in the pod)") from None
        wait_healthy(self.url, self.startup_timeout, process=self.process)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
