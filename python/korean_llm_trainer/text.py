"""Korean text cleaning and filtering: pure functions over ``str``.

The order of :func:`clean_text`: Unicode NFC (so decomposed jamo sequences become precomposed
syllables and compare equal), removal of control, format and zero-width characters (and the
invisible Hangul fillers used to pad spam), then whitespace folding (runs of spaces and tabs
become one space, lines are stripped, three or more line breaks become a paragraph break).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, Iterable

# C0/C1 controls except tab and line feed (CR is turned into LF first), the format and
# zero-width characters (soft hyphen, Arabic letter mark, Mongolian vowel separator, ZWSP, ZWNJ,
# ZWJ, LRM/RLM, bidi embeddings and isolates, word joiner and invisible operators, BOM,
# interlinear annotation), private-use BMP characters, lone surrogates (from JSON escapes),
# and the Hangul fillers (U+3164 HANGUL FILLER, U+FFA0 HALFWIDTH HANGUL FILLER, U+115F/U+1160
# choseong/jungseong fillers).
_INVISIBLE_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\ue000-\uf8ff\ud800-\udfff"
    "\u3164\uffa0\u115f\u1160]"
)
_HSPACE_RE = re.compile(r"[^\S\n]+")
_EDGE_SPACE_RE = re.compile(r" ?\n ?")
_MANY_NEWLINES_RE = re.compile(r"\n{3,}")

# Hangul: syllables, jamo, compatibility jamo, extended jamo A and B, halfwidth jamo.
_HANGUL_RE = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3131-\u318e\ua960-\ua97f\ud7b0-\ud7ff\uffa1-\uffdc]+")
# Letters: word characters that are not digits nor underscore (str.isalnum minus decimals).
_LETTER_RE = re.compile(r"[^\W\d_]+")


def normalize_unicode(text: str) -> str:
    """NFC-normalise ``text`` and turn CRLF / CR line ends into LF."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def remove_invisible(text: str) -> str:
    """Drop control, format, zero-width and private-use characters and Hangul fillers."""
    return _INVISIBLE_RE.sub("", text)


def fold_whitespace(text: str) -> str:
    """Collapse horizontal whitespace to one space, strip lines, keep at most one blank line."""
    text = _HSPACE_RE.sub(" ", text)
    text = _EDGE_SPACE_RE.sub("\n", text)
    text = _MANY_NEWLINES_RE.sub("\n\n", text)
    return text.strip()


def clean_text(text: str, split_sentences: Callable[[str], Iterable[str]] | None = None) -> str:
    """Normalise, strip invisible characters, optionally split into sentences, fold whitespace.

    ``split_sentences`` (for example ``kss.split_sentences``) turns each paragraph into
    sentences, written one per line.
    """
    text = remove_invisible(normalize_unicode(text))
    if split_sentences is not None:
        paragraphs = []
        for paragraph in text.split("\n\n"):
            sentences = [s.strip() for s in split_sentences(paragraph.replace("\n", " ")) if s.strip()]
            paragraphs.append("\n".join(sentences))
        text = "\n\n".join(paragraphs)
    return fold_whitespace(text)


def hangul_count(text: str) -> int:
    """The number of Hangul characters (syllables and jamo) in ``text``."""
    return sum(map(len, _HANGUL_RE.findall(text)))


def letter_count(text: str) -> int:
    """The number of letters (any script) in ``text``."""
    return sum(map(len, _LETTER_RE.findall(text)))


def hangul_ratio(text: str) -> float:
    """The share of Hangul among the letters of ``text`` (0.0 when it has no letters)."""
    letters = letter_count(text)
    return hangul_count(text) / letters if letters else 0.0


def filter_reason(text: str, min_chars: int, max_chars: int, min_hangul_ratio: float) -> str | None:
    """Why a cleaned document is dropped (``empty``, ``too_short``, ``too_long``, ``low_hangul``), or None."""
    if not text:
        return "empty"
    if len(text) < min_chars:
        return "too_short"
    if len(text) > max_chars:
        return "too_long"
    if min_hangul_ratio > 0 and hangul_ratio(text) < min_hangul_ratio:
        return "low_hangul"
    return None
