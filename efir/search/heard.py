"""«Слышится как»: real words a run of adjacent transcript words may be a mishearing of.

The recogniser often garbles a word across word boundaries: «таблице» comes out as
«об лице», «робототехники» as «бота техники», «приоритетами» as «прярибте этами». No
single token of such a run is near the word, so the query-time vocabulary
(``efir.search.fuzzy``) cannot reach it. So it is done when a segment is indexed:
the phonetic key of every pair of adjacent tokens written together is looked up in
a key dictionary of real Russian words (wordfreq's Russian list, built once and
cached on disk), and the lemmas of the closest words found are stored as extra
*heard* lemmas of both positions, marked with ``HEARD_MARK`` so that an exact
search never matches them. The query side stays an exact look-up of the marked
lemmas (``efir.search.fuzzy.expand``); their hits are sound-alike ones.

Bounds, so that a correct transcript gains few accidental words (measured in
bench/results/search_sounds_like.txt):

- only a pair holding a fragment is looked up: a non-word, a first name, or a short
  rare word;
- the keys have at least ``MIN_KEY`` letters; up to ``END_EDIT_ONLY_KEY`` only one
  edit at an end of the key (a boundary) is allowed, one anywhere up to eleven, two
  beyond (then also the first letters lost to the word before);
- the ``MAX_WORDS_PER_RUN`` closest words only, and none when one of them is related
  to a word of the pair («бюджет и» is «бюджетный» heard right, not misheard).

A preposition or «не» the recogniser wrote apart from the word it begins («на прямую»,
«не простым») is no fragment, and its pair's key has too few letters to look up: when
the two written together are an adverb or adjective the dictionary knows («напрямую»,
«непростым»), that word's lemmas are the pair's heard lemmas (``JOINABLE``,
``JOINED_POS``).

A real word the recogniser was unsure of (its probability below
``DOUBTED_PROBABILITY``) is where a mishearing hides as another word («подивились»
for «поделились»): its position's term carries ``DOUBT_MARK`` as well, so the query
side may take it for a near word it refuses where the word was heard with confidence.
An editor's correction is a confident word (efir.transcripts.edits gives it
probability 1), so a corrected word loses the mark when the revision is indexed.

What the recogniser's other beam hypotheses, or its other readings of the audio,
heard in a word's place (its ``alternatives``, worker/stages/asr.py and vote.py) is
indexed the same way, as heard lemmas of
that word's position (``alternative_lemmas``): the lattice of spoken term detection,
cut to the beam's n-best. Only content words the dictionary knows, with keys of at
least ``MIN_ALTERNATIVE_KEY`` letters and unrelated to the position's own word; an
editor's change to a word drops its alternatives.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.metadata import version
from pathlib import Path
from zlib import crc32

import numpy as np
import wordfreq
from rapidfuzz.distance import Levenshtein

from efir.config import get_settings
from efir.morphology import PREPOSITION_CASES, analyzer
from efir.search.lemmas import (
    TERM_JOINER,
    index_candidates,
    is_dictionary_word,
    lemma_forms,
    query_lemmas,
    term_of,
    words,
)
from efir.search.phonetic import phonetic_key

log = logging.getLogger(__name__)

__all__ = [
    "DOUBT_MARK",
    "HEARD_MARK",
    "alternative_lemmas",
    "doubted",
    "heard_lemmas",
    "indexed_terms",
    "is_fragment",
    "is_name_or_non_word",
    "marked",
    "unmarked",
]

# Prefixes a heard lemma in the index: no word starts with it, and both FTS5 (a token
# character there) and the tsvector keep it inside the term.
HEARD_MARK = "-"
# A lemma no word has (a lemma starts with a letter or digit; a heard one with one
# mark): the position's real word was doubted by the recogniser. Marked like heard
# lemmas, so ``unmarked`` drops it and an exact search never matches it alone.
DOUBT_MARK = HEARD_MARK * 2
# Below this word probability a real word is doubted. Of the development clips' real
# words, the recogniser got 47% of the wrong ones below 0.7 and 71% below 0.8, and
# 14% / 26% of the right ones (bench/results/search_sounds_like.txt).
DOUBTED_PROBABILITY = 0.8
# Only a key this long may match another word (efir.search.fuzzy.MIN_KEY_LETTERS).
MIN_DOUBTED_KEY = 5
MIN_KEY = 6
# Keys up to this long allow one edit at an end only (a boundary moved a letter).
END_EDIT_ONLY_KEY = 9
# From this long, two edits.
TWO_EDIT_KEY = 12
# A longer key may have lost this many of its first letters to the word before
# («бота техники» for «робототехники»).
LOST_LETTERS = 2
# Pairs: runs of three found no more on the development clips, for twice the look-ups.
MAX_RUN_TOKENS = 2
MAX_WORDS_PER_RUN = 3
# wordfreq's Zipf floor for a dictionary word (2.0: about once in 100 million words).
MIN_ZIPF = 2.0
# A run is looked up only when it holds a fragment: a non-word, a first name, or a
# short word rarer than this («лево», «бота», «лице»). A word garbled across a boundary
# leaves one; a run of whole words is mostly what it says (and looking a run up
# costs 0.1 ms: most runs are not).
FRAGMENT_LETTERS = 4
FRAGMENT_ZIPF = 4.5
# An alternative word's phonetic key is at least this long («лет» heard as «столе»
# is a key of three; shorter ones are function words). On the development and test
# clips a floor of 3 found two more words than 4 or 5, and no more absent words
# (bench/results/search_sounds_like.txt).
MIN_ALTERNATIVE_KEY = 3
# Written apart from the word they begin: prepositions and «не».
JOINABLE = frozenset(PREPOSITION_CASES) | {"не"}
# What such a pair is when it is one word: an adverb or adjective («напрямую», «вместе»,
# «непростым»). A joined noun, verb or participle is mostly an accident of correct text
# («на следующий»: «наследующий», «в день»: «вдень», «по мосту»: «помост»).
JOINED_POS = frozenset({"ADVB", "ADJF", "ADJS", "COMP"})
_DICTIONARY_VERSION = f"2-{MIN_ZIPF}-{MIN_KEY}-{version('wordfreq')}"
_RUSSIAN_WORD = re.compile(r"[а-яё]+(?:-[а-яё]+)*")
_SECOND_SEED = 0x9E3779B9


def marked(lemma: str) -> str:
    return HEARD_MARK + lemma


def unmarked(term: str) -> str:
    """An index term without its heard lemmas: the term of the word as written."""
    return TERM_JOINER.join(part for part in term.split(TERM_JOINER) if part[:1] != HEARD_MARK)


def _variants(key: str) -> set[str]:
    """The key, the key with one letter deleted, and a long key less its first letters:
    two keys one edit apart share one of these (symmetric deletion, as SymSpell)."""
    variants = {key} | {key[:i] + key[i + 1 :] for i in range(len(key))}
    if len(key) > END_EDIT_ONLY_KEY:
        variants |= {key[lost:] for lost in range(1, LOST_LETTERS + 1)}
    return variants


def _hash(variant: str) -> int:
    # 64 bits, stable across processes (the table is cached on disk), unlike hash();
    # a collision only adds a key that the edit distance then turns away.
    data = variant.encode()
    return crc32(data) << 32 | crc32(data, _SECOND_SEED)


@dataclass(frozen=True)
class _Dictionary:
    """wordfreq's Russian words as a hash table of their keys' variants: ``hashes``
    sorted, ``entries[ids[i]]`` the key and its words ("key word word…", commonest
    first) of ``hashes[i]``; and the Zipf frequency of every short word, for
    ``is_fragment`` (so wordfreq's 130 MB table is not loaded to index)."""

    hashes: np.ndarray
    ids: np.ndarray
    entries: list[str]
    short_zipf: dict[str, float]

    def entries_of(self, variants: Iterable[str]) -> set[str]:
        wanted = np.fromiter((_hash(v) for v in variants), dtype=np.uint64)
        left = np.searchsorted(self.hashes, wanted, "left")
        right = np.searchsorted(self.hashes, wanted, "right")
        found = np.flatnonzero(right > left)
        return {
            self.entries[i]
            for start, end in zip(left[found].tolist(), right[found].tolist(), strict=True)
            for i in self.ids[start:end].tolist()
        }


def _built() -> dict[str, np.ndarray]:
    words_of_key: dict[str, list[str]] = {}
    short: dict[str, float] = {}
    for word in wordfreq.top_n_list("ru", 1_000_000):
        zipf = wordfreq.zipf_frequency(word, "ru")
        if not _RUSSIAN_WORD.fullmatch(word) or zipf < MIN_ZIPF:
            continue
        if len(word) <= FRAGMENT_LETTERS:
            short[word] = zipf
        if len(key := phonetic_key(word)) >= MIN_KEY:
            words_of_key.setdefault(key, []).append(word)
    keys = sorted(words_of_key)
    pairs = sorted((_hash(v), i) for i, key in enumerate(keys) for v in _variants(key))
    return {
        "hashes": np.array([h for h, _ in pairs], dtype=np.uint64),
        "ids": np.array([i for _, i in pairs], dtype=np.uint32),
        "entries": np.array(["\n".join(" ".join([k, *words_of_key[k]]) for k in keys)]),
        "short": np.array(["\n".join(f"{w} {z}" for w, z in short.items())]),
    }


@cache
def _dictionary() -> _Dictionary:
    """The key dictionary, read from the cache directory (built there on first use;
    built in memory alone where the cache cannot be written: indexing must go on)."""
    path = Path(get_settings().cache_dir) / f"heard-keys-{_DICTIONARY_VERSION}.npz"
    if path.exists():
        with np.load(path) as stored:
            return _from_arrays(stored)
    built = _built()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.part.npz")
        np.savez(partial, **built)  # type: ignore[arg-type]
        # Atomic: a concurrent indexer reads a whole file or builds its own.
        partial.replace(path)
    except OSError as error:
        log.warning("search: word table not cached at %s (%s); rebuilt per process", path, error)
    return _from_arrays(built)


def _from_arrays(arrays: Mapping[str, np.ndarray]) -> _Dictionary:
    short = (line.split(" ") for line in str(arrays["short"][0]).split("\n"))
    return _Dictionary(
        arrays["hashes"],
        arrays["ids"],
        str(arrays["entries"][0]).split("\n"),
        {word: float(zipf) for word, zipf in short},
    )


def _close_enough(heard: str, key: str) -> int | None:
    """The edit distance of a run's key to a word's key, None when too far."""
    length = max(len(heard), len(key))
    allowed = 2 if length >= TWO_EDIT_KEY else 1
    distance = Levenshtein.distance(heard, key, score_cutoff=allowed)
    if distance > allowed:
        return None
    if distance == 1 and length <= END_EDIT_ONLY_KEY and not _edited_at_an_end(heard, key):
        return None
    return distance


def _edited_at_an_end(one: str, other: str) -> bool:
    """Whether the keys differ by one letter replaced, added or dropped at an end."""
    return any(
        a == b
        for a, b in (
            (one[1:], other[1:]),
            (one[:-1], other[:-1]),
            (one[1:], other),
            (one, other[1:]),
            (one[:-1], other),
            (one, other[:-1]),
        )
    )


@lru_cache(maxsize=65_536)
def _words_heard_as(heard: str) -> tuple[tuple[int, str], ...]:
    """(distance, word) of dictionary words whose key is close to this run's key."""
    found: list[tuple[int, int, str]] = []
    # Up to END_EDIT_ONLY_KEY letters only an end may differ: the run's key with an
    # end letter dropped meets every such word's stored variants.
    variants = {heard, heard[1:], heard[:-1]} if len(heard) <= END_EDIT_ONLY_KEY else None
    for entry in _dictionary().entries_of(variants or _variants(heard)):
        key, *words = entry.split(" ")
        if (distance := _close_enough(heard, key)) is not None:
            found += [(distance, rank, word) for rank, word in enumerate(words)]
    # Closest first, then the commoner word of a key.
    return tuple((distance, word) for distance, _, word in sorted(found))


@lru_cache(maxsize=262_144)
def is_name_or_non_word(token: str) -> bool:
    """What the recogniser writes for a word it did not know: a non-word or a first
    name («и денис» for «единиц», «Вилли Кобритании», «рики» for «реке»)."""
    return not is_dictionary_word(token) or "Name" in analyzer().parse(token.lower())[0].tag


@lru_cache(maxsize=262_144)
def is_fragment(token: str) -> bool:
    """A (lower-case) token a word garbled across a boundary leaves: a non-word, a
    first name, or a short rare word («лево», «бота», «лице»)."""
    if not token.isalpha():
        return False
    if is_name_or_non_word(token):
        return True
    # Short function words are all commoner than FRAGMENT_ZIPF.
    short_zipf = _dictionary().short_zipf
    return len(token) <= FRAGMENT_LETTERS and short_zipf.get(token, 0.0) < FRAGMENT_ZIPF


def _related(lemma: str, own: AbstractSet[str]) -> bool:
    return any(lemma[:5] == other[:5] for other in own)


@lru_cache(maxsize=65_536)
def _run_lemmas(run: tuple[str, ...]) -> frozenset[str]:
    """Marked lemmas of the real words this run of tokens may have been misheard from."""
    key = phonetic_key("".join(run))
    if len(key) < MIN_KEY:
        return frozenset()
    own = set().union(*(index_candidates(token) for token in run))
    # The closest words only: when they are the run's own words or their relatives,
    # the run is what it says, and no farther word is looked for.
    closest = _words_heard_as(key)[:MAX_WORDS_PER_RUN]
    lemmas = {lemma for _, word in closest for lemma in query_lemmas(word)}
    if any(_related(lemma, own) for lemma in lemmas):
        return frozenset()
    return frozenset(marked(lemma) for lemma in lemmas)


def heard_lemmas(tokens: Sequence[str]) -> list[frozenset[str]]:
    """Per token position, the marked lemmas of words a run holding it may be."""
    heard: list[frozenset[str]] = [frozenset()] * len(tokens)
    lowered = [token.lower() for token in tokens]
    fragments = [is_fragment(token) for token in lowered]
    for first in range(len(tokens) - 1):
        if lemmas := _joined_lemmas(lowered[first], lowered[first + 1]):
            heard[first] |= lemmas
            heard[first + 1] |= lemmas
        for last in range(first + 1, min(first + MAX_RUN_TOKENS, len(tokens))):
            if not any(fragments[first : last + 1]):
                continue
            lemmas = _run_lemmas(tuple(lowered[first : last + 1]))
            for position in range(first, last + 1) if lemmas else ():
                heard[position] |= lemmas
    return heard


@lru_cache(maxsize=65_536)
def _joined_lemmas(prefix: str, token: str) -> frozenset[str]:
    """Marked lemmas of the word a preposition or «не» and the next token make written
    together, when that is a dictionary word of its own («на прямую» for «напрямую»,
    «не простым» for «непростым»): the recogniser's word boundaries follow the sound,
    which has none there."""
    if prefix not in JOINABLE or not token.isalpha():
        return frozenset()
    joined = prefix + token
    if not is_dictionary_word(joined) or analyzer().parse(joined)[0].tag.POS not in JOINED_POS:
        return frozenset()
    own = index_candidates(token)
    return frozenset(
        marked(lemma)
        for lemma in query_lemmas(joined)
        if lemma_forms(lemma) and not _related(lemma, own)
    )


@lru_cache(maxsize=65_536)
def alternative_lemmas(token: str, alternatives: tuple[str, ...]) -> frozenset[str]:
    """Marked lemmas of the words the beam's other hypotheses heard in this token's
    place: dictionary content words, unrelated to the token's own lemmas."""
    own = index_candidates(token)
    return frozenset(
        marked(lemma)
        for alternative in alternatives
        for word in words(alternative)
        if len(phonetic_key(word)) >= MIN_ALTERNATIVE_KEY and is_dictionary_word(word)
        for lemma in query_lemmas(word)
        if lemma_forms(lemma) and not _related(lemma, own)
    )


def doubted(token: str, probability: float) -> bool:
    """Whether this position is a real word the recogniser doubted (non-words and
    first names match by sound anyway)."""
    return (
        probability < DOUBTED_PROBABILITY
        and len(phonetic_key(token)) >= MIN_DOUBTED_KEY
        and not is_name_or_non_word(token.lower())
    )


def indexed_terms(
    tokens: Sequence[str],
    probabilities: Sequence[float] = (),
    alternatives: Sequence[tuple[str, ...]] = (),
) -> list[str]:
    """The index term of each token: its lemmas (``term_of``), the marked lemmas of
    the words a run holding it may have been misheard from or the beam's other
    hypotheses heard in its place (``alternatives``: one tuple a token, or none), and
    ``DOUBT_MARK`` where the recogniser doubted a real word (``probabilities``: one a
    token, or none when it was sure of them all, as of text an editor typed)."""
    terms = []
    for index, (token, heard) in enumerate(zip(tokens, heard_lemmas(tokens), strict=True)):
        if probabilities and doubted(token, probabilities[index]):
            heard |= {DOUBT_MARK}
        if alternatives and alternatives[index]:
            heard |= alternative_lemmas(token, alternatives[index])
        terms.append(
            TERM_JOINER.join(sorted(index_candidates(token) | heard)) if heard else term_of(token)
        )
    return terms
