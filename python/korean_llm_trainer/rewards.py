"""Built-in GRPO reward functions (the choices of ``GRPO_REWARD_FUNCS``): pure, each in [0, 1].

* ``korean_ratio``: the share of Hangul among the completion's letters (answer in Korean).
* ``length``: 1.0 for ``LENGTH_MIN..LENGTH_MAX`` characters, rising linearly from 0 below,
  falling linearly to 0 at ``2 * LENGTH_MAX`` above.
* ``format``: the mean of four checks: not empty; ends with sentence-final punctuation; no
  chat-template special tokens or replacement characters leaked; brackets and quotes balanced.
* ``no_repetition``: the share of distinct word trigrams (character 4-grams for texts with
  fewer than three words); 1.0 means no phrase repeats.

:func:`trl_reward_function` wraps one for TRL's ``GRPOTrainer`` (``completions`` are strings, or
lists of messages for conversational prompts).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .text import hangul_ratio

LENGTH_MIN = 20
LENGTH_MAX = 800
_SENTENCE_END_RE = re.compile(r"[.!?。？！…~)\]\"'」』”’]\s*$")
_SPECIAL_TOKEN_RE = re.compile(r"<\|[^|>]{1,40}\|>|</?s>|\[/?INST\]|<unk>|<pad>|\ufffd")
_PAIRS = {")": "(", "]": "[", "}": "{", "」": "「", "』": "『", "》": "《", "〉": "〈"}


def korean_ratio_reward(text: str) -> float:
    """Share of Hangul among the letters (0 when there are none)."""
    return hangul_ratio(text)


def length_reward(text: str, low: int = LENGTH_MIN, high: int = LENGTH_MAX) -> float:
    """Piecewise-linear preference for ``low..high`` characters."""
    n = len(text.strip())
    if n < low:
        return n / low
    if n <= high:
        return 1.0
    return max(0.0, 1.0 - (n - high) / high)


def _balanced(text: str) -> bool:
    stack: list[str] = []
    for ch in text:
        if ch in _PAIRS.values():
            stack.append(ch)
        elif ch in _PAIRS:
            if not stack or stack.pop() != _PAIRS[ch]:
                return False
    return not stack and text.count('"') % 2 == 0


def format_reward(text: str) -> float:
    """Mean of: non-empty, sentence-final ending, no leaked special tokens, balanced brackets."""
    stripped = text.strip()
    if not stripped:
        return 0.0
    checks = (
        True,
        bool(_SENTENCE_END_RE.search(stripped)),
        not _SPECIAL_TOKEN_RE.search(stripped),
        _balanced(stripped),
    )
    return sum(checks) / len(checks)


def no_repetition_reward(text: str) -> float:
    """Share of distinct word trigrams (character 4-grams for very short texts)."""
    words = text.split()
    if len(words) >= 3:
        grams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    else:
        compact = "".join(words)
        if len(compact) < 4:
            return 1.0 if compact else 0.0
        grams = [compact[i : i + 4] for i in range(len(compact) - 3)]
    return len(set(grams)) / len(grams)


REWARD_FUNCTIONS: dict[str, Callable[[str], float]] = {
    "korean_ratio": korean_ratio_reward,
    "length": length_reward,
    "format": format_reward,
    "no_repetition": no_repetition_reward,
}


def completion_text(completion: Any) -> str:
    """The text of one TRL completion: a string, or a list of messages (assistant content joined)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion if isinstance(m, dict) and m.get("role", "assistant") == "assistant")
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    raise TypeError(f"unsupported completion type {type(completion).__name__}")


def trl_reward_function(name: str) -> Callable[..., list[float]]:
    """A ``reward(completions, **kwargs) -> list[float]`` callable for ``GRPOTrainer``."""
    if name not in REWARD_FUNCTIONS:
        raise ValueError(f"unknown reward function {name!r}; allowed: {', '.join(REWARD_FUNCTIONS)}")
    score = REWARD_FUNCTIONS[name]

    def reward(completions: list[Any], **_: Any) -> list[float]:
        return [float(score(completion_text(c))) for c in completions]

    reward.__name__ = f"{name}_reward"
    reward.__qualname__ = reward.__name__
    return reward
