"""Snippets: the segment text HTML-escaped, with the matched words in <mark>."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from efir.search.lemmas import Token, index_candidates, tokenize

__all__ = ["Highlighter"]

SNIPPET_CHARS = 240
_CONTEXT_BEFORE_CHARS = 60


@dataclass(frozen=True)
class Highlighter:
    """Marks single words whose lemmas are wanted, and phrases only where adjacent;
    and the words heard in place of the query's (index terms, or adjacent pairs)."""

    word_lemmas: frozenset[str]
    phrases: tuple[tuple[frozenset[str], ...], ...] = ()
    sounds_like: frozenset[str] = frozenset()
    sounds_like_pairs: frozenset[tuple[str, str]] = frozenset()

    def _heard(self, terms: Sequence[str]) -> list[bool]:
        # As indexed (the segment's stored terms, one a token): a position heard as
        # another word carries that word's marked lemma, a doubted one its mark.
        heard = [term in self.sounds_like for term in terms]
        for first, pair in enumerate(pairwise(terms)):
            if pair in self.sounds_like_pairs:
                heard[first : first + 2] = [True, True]
        return heard

    def _marked(self, tokens: Sequence[Token], terms: Sequence[str]) -> list[bool]:
        candidates = [index_candidates(token.text) for token in tokens]
        marked = [bool(c & self.word_lemmas) for c in candidates]
        for phrase in self.phrases:
            for first in range(len(tokens) - len(phrase) + 1):
                if all(candidates[first + i] & lemmas for i, lemmas in enumerate(phrase)):
                    marked[first : first + len(phrase)] = [True] * len(phrase)
        if self.sounds_like or self.sounds_like_pairs:
            marked = [a or b for a, b in zip(marked, self._heard(terms), strict=True)]
        return marked

    def heard(self, text: str, terms: Sequence[str]) -> str | None:
        """The transcript's words that matched by sound: the first run of them
        (``terms``: the segment's index terms, one a word)."""
        tokens = list(tokenize(text))
        run: list[str] = []
        for token, heard in zip(tokens, self._heard(terms), strict=True):
            if heard:
                run.append(token.text)
            elif run:
                break
        return " ".join(run) or None

    def snippet(self, text: str, terms: Sequence[str]) -> str:
        tokens = list(tokenize(text))
        spans = [t for t, hit in zip(tokens, self._marked(tokens, terms), strict=True) if hit]
        window_start, window_end = 0, len(text)
        if len(text) > SNIPPET_CHARS:
            anchor = spans[0].start if spans else 0
            window_start = max(0, anchor - _CONTEXT_BEFORE_CHARS)
            window_start = next((t.start for t in tokens if t.start >= window_start), anchor)
            window_end = min(len(text), window_start + SNIPPET_CHARS)
            window_end = max((t.end for t in tokens if t.end <= window_end), default=window_end)
        parts = ["…"] if window_start > 0 else []
        cursor = window_start
        for span in spans:
            if span.start < window_start or span.end > window_end:
                continue
            parts += [escape(text[cursor : span.start]), f"<mark>{escape(span.text)}</mark>"]
            cursor = span.end
        parts.append(escape(text[cursor:window_end]))
        if window_end < len(text):
            parts.append("…")
        return "".join(parts)
