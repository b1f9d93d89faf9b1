"""Reading age of a letter's words: the Flesch-Kincaid grade level (Kincaid et al., 1975), with
syllables counted by vowel groups (a silent final "e" dropped), the usual approximation when no
pronouncing dictionary is at hand. A UK reading age is the US grade plus 5; we aim at 9 to 11."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_SENTENCE = re.compile(r"[.!?]+(?:\s|$)")


def syllables(word: str) -> int:
    w = word.lower().removesuffix("'s")
    groups = re.findall(r"[aeiouy]+", w)
    count = len(groups)
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    return max(1, count)


def flesch_kincaid_grade(text: str) -> float:
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len(_SENTENCE.findall(text.strip() + " ")))
    total = sum(syllables(w) for w in words)
    return 0.39 * len(words) / sentences + 11.8 * total / len(words) - 15.59


def reading_age(text: str) -> float:
    return flesch_kincaid_grade(text) + 5
