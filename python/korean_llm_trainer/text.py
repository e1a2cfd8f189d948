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


# ---- quality filters for Korean web text ------------------------------------------------------

# Short lines that are site furniture, not content: copyright and redistribution notices of
# Korean news sites, reporter bylines with an address, and navigation / sharing buttons.
_BOILERPLATE_RE = re.compile(
    r"무단\s*(전재|복제)|재배포\s*금지|저작권자\s*[©ⓒ(]|[©ⓒ]\s*\S|copyright\b|all rights reserved"
    r"|^\s*[\w.+-]+@[\w-]+(\.[\w-]+)+\s*$|(기자|특파원)\s*[\w.+-]+@"
    r"|^\s*(로그인|회원가입|댓글\s*\d*|공유하기|좋아요\s*\d*|구독(하기)?|이전\s*글|다음\s*글|목록(으로)?|맨\s*위로|top)\s*$",
    re.IGNORECASE,
)
BOILERPLATE_MAX_LINE = 80
# Standalone Hangul jamo (compatibility jamo such as ㅋ ㅎ ㅠ, and conjoining jamo not forming syllables).
_JAMO_RE = re.compile("[\u3131-\u318e\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff]")
_RUN_RE = re.compile(r"(\S)\1{3,}")  # one character four or more times in a row


def strip_boilerplate(text: str) -> tuple[str, int]:
    """Drop short boilerplate lines (copyright notices, bylines with an address, navigation);
    returns the text and the number of lines dropped."""
    kept, dropped = [], 0
    for line in text.split("\n"):
        if len(line) <= BOILERPLATE_MAX_LINE and line.strip() and _BOILERPLATE_RE.search(line):
            dropped += 1
            continue
        kept.append(line)
    return ("\n".join(kept) if dropped else text), dropped


def jamo_ratio(text: str) -> float:
    """Standalone jamo (ㅋㅋ, ㅠㅠ, ㅎㅎ) as a share of all Hangul characters."""
    hangul = hangul_count(text)
    return len(_JAMO_RE.findall(text)) / hangul if hangul else 0.0


def repeated_char_ratio(text: str) -> float:
    """The share of non-space characters inside runs of one character repeated four times or more."""
    chars = len(text) - text.count(" ") - text.count("\n")
    return sum(len(m.group(0)) for m in _RUN_RE.finditer(text)) / chars if chars else 0.0


def duplicate_ngram_ratio(text: str, n: int = 3) -> float:
    """The share of words covered by word ``n``-grams that occur more than once (spam that repeats
    phrases; natural text stays low). 0 for texts under ``4 * n`` words."""
    words = text.split()
    if len(words) < 4 * n:
        return 0.0
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    counts: dict[tuple[str, ...], int] = {}
    for gram in grams:
        counts[gram] = counts.get(gram, 0) + 1
    covered = bytearray(len(words))
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            covered[i:i + n] = b"\x01" * n
    return sum(covered) / len(words)


def duplicate_line_ratio(text: str) -> float:
    """The share of characters in lines that occur more than once (repeated menus, spam)."""
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) < 2:
        return 0.0
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    total = sum(map(len, lines))
    return sum(len(line) for line in lines if counts[line] > 1) / total if total else 0.0


def quality_reason(text: str, max_jamo_ratio: float = 0.2, max_repeated_char_ratio: float = 0.2,
                   max_duplicate_ngram_ratio: float = 0.5, max_duplicate_line_ratio: float = 0.3) -> str | None:
    """Why a cleaned Korean document is low quality (``jamo``, ``repeated_chars``,
    ``repeated_words``, ``repeated_lines``), or None. A limit of 1 turns its check off."""
    if max_repeated_char_ratio < 1 and repeated_char_ratio(text) > max_repeated_char_ratio:
        return "repeated_chars"
    if max_jamo_ratio < 1 and jamo_ratio(text) > max_jamo_ratio:
        return "jamo"
    if max_duplicate_line_ratio < 1 and duplicate_line_ratio(text) > max_duplicate_line_ratio:
        return "repeated_lines"
    if max_duplicate_ngram_ratio < 1 and duplicate_ngram_ratio(text) > max_duplicate_ngram_ratio:
        return "repeated_words"
    return None
