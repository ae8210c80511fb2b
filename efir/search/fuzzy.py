"""«Похоже по звучанию»: the index terms a query word may have been misheard as.

A query word's lemmas give its inflected forms; each form's phonetic key
(``efir.search.phonetic``) is compared with the keys of every word form ever
indexed (``search_vocab``). A form matches when its key is

- near: within an edit distance that grows with the key's length (an equal key
  for four letters, 1 up to eight, 2 up to twelve, 3 beyond; shorter keys never);
- vowels changed: a non-word with the key's consonants in order, up to two vowels
  replaced and one added («опыднилась» for «поднялась»), when the key holds four
  consonants or more (unstressed vowels are reduced: the recogniser's least sure
  letters);
- merged: the query key inside a longer token's key («сприаритетами» holds
  «приоритетами»), at most a few letters longer (a preposition for short keys, a
  whole word for a long key at either end: «двухсочеловек»; a long key may lose its
  last letter to the next word's first, «двухсо-»);
- split: two adjacent tokens whose keys together spell it («Вилли Кобритании»), or
  spell it less its first letter or two, lost to the word before («на лево торах»).

An initialism also stands for its letters as said («НПО»: «эмпэо», heard «эмпы»).

Near keys are found by exact lookups, not by scanning: ``search_vocab_variants``
holds each non-word's key with one letter deleted (and two, for keys of nine
letters or more), and the query side deletes as many; two keys within the
distance share a variant (symmetric deletion, as SymSpell). Dictionary words hold
only their key. Every candidate is then checked with the real edit distance. Merged keys come
from a trigram index (FTS5 trigram table, pg_trgm), split ones from exact lookups
of the key's prefixes and suffixes. All three are exact set look-ups, so both
backends find the same terms.

Dictionary words are held to more: what the recogniser makes of a word is
mostly a non-word («Бильгей») or a first name («рики» for «реке»), while a near
dictionary word is mostly another word the archive rightly has («сектор» for
«гектар», «прошел» for «провел»). So a
dictionary word matches only with the same key («тинге» for «тенге»), and never
when it shares its first five letters with the query's lemma («увеличилась» is
not «увеличить» misheard, but its own word). (Distance 1 for dictionary words of
eight letters or more found one more misheard word of 32, «подивились», but
cost 4,000 look-ups a query or ten variant rows per indexed form.)

Where the recogniser doubted a real word (``efir.search.heard.DOUBT_MARK``), that word
may be the query's misheard after all: a doubted position matches a dictionary form
the rules above refuse, one edit off when the key is long, only its first letter off
when it is short («списку» for «(с) песку»), never a relative, and never a word the
archive also holds where the recogniser was sure of it (a word of its own). Only the
doubted positions' terms match.

Words garbled across a word boundary («об лице» for «таблице») were looked up when
their segment was indexed (``efir.search.heard``): their positions' terms hold the
word's lemma with a mark, found here by an exact look-up and listed first. Such a
position's term is the written word's term plus the marks, so every vocabulary term
also brings its marked twins.

Each term keeps its closeness (``Closeness``: near, vowels changed, merged, split, heard,
then doubted; then the letters off), by which its hits rank before their score
(efir.search.searching).

A word expands to at most ``MAX_EXPANSIONS`` vocabulary terms, closest first. Function words
(prepositions, conjunctions, particles) never expand, nor does a word found in
``COMMON_WORD_MATCHES`` segments or more: it is no rarity the recogniser garbled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product
from types import ModuleType

from rapidfuzz.distance import Levenshtein
from sqlalchemy import ColumnElement, column, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from efir.search import backend_postgres, backend_sqlite
from efir.search.heard import (
    DOUBT_MARK,
    HEARD_MARK,
    is_fragment,
    is_name_or_non_word,
    marked,
    unmarked,
)
from efir.search.lemmas import (
    TERM_JOINER,
    is_dictionary_word,
    is_initialism,
    lemma_forms,
    query_lemmas,
)
from efir.search.phonetic import letter_names, phonetic_key
from efir.search.schema import search_terms, search_vocab, search_vocab_variants

__all__ = [
    "MAX_EXPANSIONS",
    "Closeness",
    "Expansion",
    "allowed_distance",
    "deletions",
    "expand",
    "stored_variants",
]

MAX_EXPANSIONS = 8
COMMON_WORD_MATCHES = 1000
MIN_KEY_LETTERS = 5
# A four-letter key matches a non-word with the same key («рики» for «реке»); a
# dictionary word that short and alike is mostly a word of its own («лука», «луга»).
MIN_EQUAL_KEY_LETTERS = 4
# A merged token may hold at most this many letters besides the query word; a
# four-letter key only a preposition's two («пощиту» holds «счету»).
MAX_MERGED_EXTRA = 5
MIN_MERGED_KEY, MAX_SHORT_MERGED_EXTRA = 4, 2
# A key of this many letters or more that begins or ends the token may be glued to a
# whole word more («двухсочеловек» holds «человек»).
MIN_ANCHORED_KEY, MAX_ANCHORED_EXTRA = 7, 7
# Dictionary words as targets share a lemma's first letters with a relative.
RELATIVE_PREFIX = 5
# A dictionary word one vowel from a key this long («засели» for «засеяли», «охранить»
# for «хранить») is taken for a mishearing; one consonant off, or near a shorter key,
# it is mostly a word of its own («железной» for «жилищной»).
NEAR_DICTIONARY_KEY = 6
# A doubted real word may be one edit (DOUBTED_DISTANCE) anywhere from a key this
# long, only its first letter off from a shorter one. Two edits in long keys found
# no more on the development clips and doubled the bench's accidents.
DOUBTED_ANYWHERE_KEY = 9
DOUBTED_DISTANCE = 1
# The vowel classes of phonetic_key.
KEY_VOWELS = "аиу"
# A non-word that keeps a key's consonants in order and changes only vowels (two
# replaced, one more added: «опыднилась» for «поднялась») is a mishearing
# when the key holds this many consonants: unstressed vowels are reduced in speech
# and are what the recogniser gets wrong most.
MIN_VOWEL_ONLY_CONSONANTS = 4
MAX_VOWEL_SWAPS = 2
# Split parts are at least this long (key letters), so «на» + «...» never counts.
MIN_SPLIT_PART = 3
MIN_SPLIT_KEY = 8
# As many first letters as efir.search.heard lets a run lose to the word before.
SPLIT_LOST_LETTERS = 2


def allowed_distance(key_length: int) -> int | None:
    """Edit distance a key of this length tolerates; None: it does not expand."""
    if key_length < MIN_EQUAL_KEY_LETTERS:
        return None
    if key_length < MIN_KEY_LETTERS:
        return 0
    if key_length <= 8:
        return 1
    return 2 if key_length <= 12 else 3


def deletions(key: str, depth: int) -> set[str]:
    """The key with up to ``depth`` letters deleted (itself included)."""
    found, frontier = {key}, {key}
    for _ in range(depth):
        frontier = {word[:i] + word[i + 1 :] for word in frontier for i in range(len(word))}
        found |= frontier
    return found


def vowel_edits(key: str) -> set[str]:
    """The key with one vowel replaced or inserted: the keys a dictionary word one vowel
    away stores (its key alone), as ``deletions`` gives those with a letter less. An edit
    that doubles a letter is left out: no key holds a double."""
    edits = set()
    for i in range(len(key) + 1):
        left, right = key[:i], key[i:]
        for vowel in KEY_VOWELS:
            if vowel not in (left[-1:], right[:1]):
                edits.add(left + vowel + right)
            if right[:1] in KEY_VOWELS and vowel not in (left[-1:], right[:1], right[1:2]):
                edits.add(left + vowel + right[1:])
    return edits


def vowel_swaps(key: str, most: int = MAX_VOWEL_SWAPS) -> set[str]:
    """The key with up to ``most`` of its vowels replaced by another vowel class: with a
    non-word's stored deletions (``stored_variants``), the keys that change only vowels."""
    found = {key}
    for _ in range(most):
        found |= {
            word[:i] + vowel + word[i + 1 :]
            for word in found
            for i, letter in enumerate(word)
            if letter in KEY_VOWELS
            for vowel in KEY_VOWELS
            if vowel != letter
        }
    return found


def _vowels_only(key: str) -> bool:
    return len(_consonants(key)) >= MIN_VOWEL_ONLY_CONSONANTS


def _consonants(key: str) -> str:
    return "".join(letter for letter in key if letter not in KEY_VOWELS)


def stored_variants(form: str, key: str, *, doubted: bool = False) -> set[str]:
    """What ``search_vocab_variants`` holds for an indexed form. A non-word holds its
    key with as many letters deleted as a query may need to reach it. A dictionary
    word (most of an archive's forms) holds only its key: it is matched by an equal
    key alone; one the recogniser once doubted (efir.search.heard.DOUBT_MARK) also
    the key less one letter, enough for one edit: most of an archive's forms are
    doubted somewhere, and two letters less made the variants 40 times as many
    (bench/results/search_sounds_like.txt)."""
    if is_dictionary_word(form):
        return deletions(key, 1) if doubted and len(key) >= MIN_KEY_LETTERS else {key}
    return deletions(key, 0 if len(key) < MIN_KEY_LETTERS else 1 if len(key) < 9 else 2)


# How close a term is to the query word, closest first: its kind (near, vowels changed,
# merged into a longer token, split over two, heard at indexing, a real word doubted), then the
# letters it is off by (edit distance to the nearest form, extra letters, first letters
# lost; 0 for heard), then, for a near or doubted term, the key's edit distance to the
# word as typed («коврига» before «коврик» for «каврига», whose lemma has the form
# «каврик» too), then the spelling's to the nearest form («ризонный» before «резаный»
# for «резонный»: one key). Hits rank by it before bm25 (efir.search.searching).
Closeness = tuple[int, int, int, int]
NEAR, VOWELS, MERGED, SPLIT, HEARD, DOUBTED = range(6)


@dataclass(frozen=True)
class Expansion:
    """Terms a query word may have been heard as: single positions and adjacent pairs,
    each with its closeness."""

    terms: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    closeness: Mapping[str | tuple[str, str], Closeness] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.terms or self.pairs)

    def levels(self) -> frozenset[Closeness]:
        return frozenset(self.closeness.values())

    def within(self, level: Closeness) -> Expansion:
        """The terms and pairs at most this far from the query word."""
        return Expansion(
            tuple(t for t in self.terms if self.closeness[t] <= level),
            tuple(p for p in self.pairs if self.closeness[p] <= level),
            self.closeness,
        )


@dataclass(frozen=True)
class _Candidate:
    rank: tuple[int, int, int, int, str]
    terms: tuple[str, ...]


def _spoken_forms(lemma: str) -> frozenset[str]:
    """The lemma's forms, and an initialism spelt as said («эмпэо» for «нпо»)."""
    forms = lemma_forms(lemma)
    return forms | {letter_names(lemma)} if forms and is_initialism(lemma) else forms


@lru_cache(maxsize=16_384)
def _query_forms(lemmas: frozenset[str]) -> frozenset[str]:
    return frozenset(form for lemma in lemmas for form in _spoken_forms(lemma))


@lru_cache(maxsize=16_384)
def _query_keys(lemmas: frozenset[str]) -> dict[str, int]:
    """Each form's key with the distance it tolerates (the longest form's wins)."""
    keys: dict[str, int] = {}
    for lemma in lemmas:
        for form in _spoken_forms(lemma):
            key = phonetic_key(form)
            distance = allowed_distance(len(key))
            if distance is not None:
                keys[key] = distance
    return keys


@lru_cache(maxsize=16_384)
def _merged_keys(lemmas: frozenset[str]) -> frozenset[str]:
    return frozenset(
        key
        for lemma in lemmas
        for form in _spoken_forms(lemma)
        if len(key := phonetic_key(form)) >= MIN_MERGED_KEY
    )


def _depth(distance: int) -> int:
    return min(distance, 2)


def _collapse(key: str) -> str:
    return re.sub(r"(.)\1+", r"\1", key)


def _stems(key: str) -> list[str]:
    """The key, and the key less the first letters the word before may have taken
    («на лево торах» for «на элеваторах»)."""
    return [key[lost:] for lost in range(SPLIT_LOST_LETTERS + 1)]


def _affixes(key: str) -> set[str]:
    return {
        affix
        for stem in _stems(key)
        for i in range(MIN_SPLIT_PART, len(stem) - MIN_SPLIT_PART + 1)
        for affix in (stem[:i], stem[i:])
    }


def _backend(session: Session) -> ModuleType:
    return backend_postgres if session.get_bind().dialect.name == "postgresql" else backend_sqlite


def _keyed_rows(session: Session, variants: set[str]) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(search_vocab.c.form, search_vocab.c.term, search_vocab.c.key)
        .join(search_vocab_variants, search_vocab_variants.c.vocab_id == search_vocab.c.id)
        .where(_backend(session).many_of(search_vocab_variants.c.variant, sorted(variants)))
        .distinct()
    )
    return [(row.form, row.term, row.key) for row in rows]


_vocab_keys = table("search_vocab_keys", column("rowid"))


def _containing(session: Session, keys: list[str]) -> list[tuple[str, str, str]]:
    """Vocabulary forms whose key holds one of these keys and is a little longer."""
    if not keys:
        return []
    # A key holding another is not looked up: every token holding it holds the other.
    sought = {*keys, *(key[:-1] for key in keys if len(key) >= MIN_ANCHORED_KEY)}
    wanted = [key for key in sorted(sought) if not any(k != key and k in key for k in sought)]
    holds: ColumnElement[bool]
    if session.get_bind().dialect.name == "postgresql":
        # LIKE '%key%' through the pg_trgm index.
        holds = or_(*(search_vocab.c.key.contains(key, autoescape=True) for key in wanted))
    else:
        # The trigram FTS5 table: a quoted string matches the keys holding it anywhere.
        expression = " OR ".join(f'"{key}"' for key in wanted)
        holds = search_vocab.c.id.in_(
            select(_vocab_keys.c.rowid).where(
                literal_column("search_vocab_keys").op("MATCH")(expression)
            )
        )
    longest = max(len(key) + _merged_extra(key, anchored=True) for key in keys)
    rows = session.execute(
        select(search_vocab.c.form, search_vocab.c.term, search_vocab.c.key).where(
            holds, func.length(search_vocab.c.key) <= longest
        )
    )
    return [(row.form, row.term, row.key) for row in rows if any(_merged(k, row.key) for k in keys)]


def _merged(key: str, token_key: str) -> bool:
    """Whether a token's key holds the key and a few letters more."""
    extra = len(token_key) - len(key)
    if key in token_key:
        anchored = token_key.startswith(key) or token_key.endswith(key)
        return 0 < extra <= _merged_extra(key, anchored=anchored)
    # Its last letter merged into the next word's first («двухсот человек» is heard
    # «двухсочеловек»: т + ч said as one ч).
    return (
        len(key) >= MIN_ANCHORED_KEY
        and token_key.startswith(key[:-1])
        and 0 < extra + 1 <= MAX_ANCHORED_EXTRA
    )


def _merged_extra(key: str, *, anchored: bool) -> int:
    if len(key) < MIN_KEY_LETTERS:
        return MAX_SHORT_MERGED_EXTRA
    return MAX_ANCHORED_EXTRA if anchored and len(key) >= MIN_ANCHORED_KEY else MAX_MERGED_EXTRA


def _another_word(
    form: str, term: str, key: str, lemmas: frozenset[str], distance: int, query_key: str
) -> bool:
    """A dictionary form that is no mishearing of the query: short, far, or a relative.
    A first name may be one, as a non-word may («рики» for «реке»), unless it is two
    vowels off: names differ by vowels alone («Соломонов», «Сулейманов»)."""
    if is_name_or_non_word(form):
        return (
            distance > 1 and is_dictionary_word(form) and _consonants(query_key) == _consonants(key)
        )
    if (
        len(query_key) < MIN_KEY_LETTERS
        or distance > 1
        or (
            distance == 1
            and (len(query_key) < NEAR_DICTIONARY_KEY or _consonants(query_key) != _consonants(key))
        )
    ):
        return True
    return _relative(term, lemmas)


def _doubted_may_be(key: str, query_key: str, distance: int) -> bool:
    """Whether a real word the recogniser doubted, at this distance from the query
    key, may be the query word misheard: one edit in a long key, only its first letter
    in a shorter one (the word before took or gave it: «списку» for «(с) песку»,
    «арума» for «(ф)орума»); an edit inside a short key is mostly another word
    («торах» for «тоннах»)."""
    if distance > DOUBTED_DISTANCE:
        return False
    if len(query_key) >= DOUBTED_ANYWHERE_KEY:
        return True
    return len(query_key) >= MIN_KEY_LETTERS and (
        key[1:] in (query_key, query_key[1:]) or key == query_key[1:]
    )


def _vowels_changed(form: str, key: str, keys: Mapping[str, int]) -> tuple[int, str] | None:
    """(distance, query key) when a non-word's key changes only vowels of a query key
    with enough consonants: at most ``MAX_VOWEL_SWAPS`` replaced and one added (a key the
    look-up reaches). Not a name: names differ by vowels alone («Соломонов», «Сулейманов»)."""
    if is_dictionary_word(form):
        return None
    found = [
        (distance, query_key)
        for query_key in keys
        if _vowels_only(query_key)
        and _consonants(query_key) == _consonants(key)
        and (distance := Levenshtein.distance(query_key, key)) <= MAX_VOWEL_SWAPS + 1
    ]
    return min(found) if found else None


def _relative(term: str, lemmas: frozenset[str]) -> bool:
    """Whether the term shares a lemma's first letters: the query's word in another
    voice or part of speech («увеличилась» for «увеличить»), not a mishearing."""
    return any(
        target[:RELATIVE_PREFIX] == lemma[:RELATIVE_PREFIX]
        for target in term.split(TERM_JOINER)
        for lemma in lemmas
    )


def expand(
    session: Session, lemmas: frozenset[str], exact_terms: Iterable[str], spelt: str = ""
) -> Expansion:
    """The closest index terms (at most ``MAX_EXPANSIONS``) the word may have been heard
    as; ``spelt``: the word as typed, if known."""
    skip = set(exact_terms)
    # Counted first: a common word needs none of the look-ups below.
    if skip and _backend(session).count_matches(session, sorted(skip), COMMON_WORD_MATCHES) >= (
        COMMON_WORD_MATCHES
    ):
        return Expansion()
    heard = _heard_terms(session, lemmas, skip)
    keys = _query_keys(lemmas)
    merged_keys = sorted(_merged_keys(lemmas))
    if not keys and not merged_keys:
        return _closest(heard, [])
    splittable = {key for key in keys if len(key) >= MIN_SPLIT_KEY}
    variants = {v for key, d in keys.items() for v in deletions(key, _depth(d))}
    variants |= {v for key in keys if len(key) >= NEAR_DICTIONARY_KEY for v in vowel_edits(key)}
    variants |= {v for key in keys if _vowels_only(key) for v in vowel_swaps(key)}
    affixes = {affix for key in splittable for affix in _affixes(key)}
    rows = _keyed_rows(session, variants | affixes)
    typed_key = phonetic_key(spelt) if spelt else ""
    forms = _query_forms(lemmas)
    candidates: list[_Candidate] = []
    for form, term, key in rows:
        if term in skip:
            continue
        # score_cutoff: past the allowed distance rapidfuzz stops and returns allowed + 1.
        within = [
            (distance, query_key)
            for query_key, allowed in keys.items()
            if (distance := Levenshtein.distance(query_key, key, score_cutoff=allowed)) <= allowed
        ]
        if within:
            distance, query_key = min(within)
            if not _another_word(form, term, key, lemmas, distance, query_key):
                kind = NEAR
            elif _doubted_may_be(key, query_key, distance) and not _relative(term, lemmas):
                # Another real word: a mishearing only where the recogniser doubted it.
                kind = DOUBTED
            else:
                continue
        elif vowelled := _vowels_changed(form, key, keys):
            kind, (distance, query_key) = VOWELS, vowelled
        else:
            continue
        typed = Levenshtein.distance(typed_key, key) if typed_key else 0
        # Spellings that tie on sound («ризонный», «резаный» for «резонный»): by letters.
        letters = min(Levenshtein.distance(form, spoken) for spoken in forms)
        candidates.append(_Candidate((kind, distance, typed, letters, form), (term,)))
    for form, term, key in _containing(session, merged_keys):
        extra = min(len(key) - len(q) for q in merged_keys if _merged(q, key))
        if term not in skip and is_name_or_non_word(form):
            candidates.append(_Candidate((MERGED, extra, 0, 0, form), (term,)))
    parts: dict[str, list[tuple[str, str]]] = {}
    for form, term, key in sorted(rows):
        if key in affixes:
            parts.setdefault(key, []).append((form, term))
    for key in sorted(splittable):
        for lost, stem in enumerate(_stems(key)):
            candidates += _split(stem, lost, parts)
    return _with_twins(session, _closest(heard, candidates))


def _split(stem: str, lost: int, parts: dict[str, list[tuple[str, str]]]) -> list[_Candidate]:
    """Adjacent pairs whose keys together spell the stem: (form, term) by key."""
    found = []
    for cut in range(MIN_SPLIT_PART, len(stem) - MIN_SPLIT_PART + 1):
        for left, right in ((stem[:cut], stem[cut:]), (stem[:cut], stem[cut - 1 :])):
            if _collapse(left + right) != stem:
                continue
            for (left_form, left_term), (right_form, right_term) in product(
                parts.get(left, ()), parts.get(right, ())
            ):
                # Without its first letter, a key splits into common short words too
                # easily: one of the pair must be a fragment («лево»).
                if not lost or is_fragment(left_form) or is_fragment(right_form):
                    rank = (SPLIT, lost, 0, 0, f"{left_form} {right_form}")
                    found.append(_Candidate(rank, (left_term, right_term)))
    return found


def _heard_terms(session: Session, lemmas: frozenset[str], skip: set[str]) -> tuple[str, ...]:
    """The terms of positions indexed as heard in place of one of these lemmas
    (``efir.search.heard``): exact look-ups of the marked lemmas. A compound's last
    part counts too: «Северо-Казахстанской» heard as «сверок из Ахстанской», the pair
    «из Ахстанской» stored as heard for «казахстанский»."""
    heads = {
        head for lemma in lemmas if "-" in lemma for head in query_lemmas(lemma.rsplit("-", 1)[1])
    }
    rows = session.execute(
        select(search_terms.c.term).where(
            search_terms.c.lemma.in_(sorted(marked(lemma) for lemma in lemmas | heads))
        )
    )
    return tuple(sorted({row.term for row in rows} - skip))


def _with_twins(session: Session, expansion: Expansion) -> Expansion:
    """The vocabulary's terms with their twins: the same position terms with heard
    lemmas added where a run of the segment was heard as another word."""
    plain = {*expansion.terms, *(term for pair in expansion.pairs for term in pair)}
    lemmas = {lemma for term in plain for lemma in term.split(TERM_JOINER)}
    twins: dict[str, set[str]] = {term: {term} for term in plain}
    rows = session.execute(
        select(search_terms.c.term)
        .where(
            search_terms.c.lemma.in_(sorted(lemmas)),
            # Sorted, a term's marked lemmas come first: "-" sorts before any letter.
            search_terms.c.term.startswith(HEARD_MARK, autoescape=True),
        )
        .distinct()
    )
    for row in rows:
        if (base := unmarked(row.term)) in twins:
            twins[base].add(row.term)
    # A twin is as close as the term it is the twin of (the closest, if of several).
    closeness: dict[str | tuple[str, str], Closeness] = {}
    for term in expansion.terms:
        doubted_only = expansion.closeness[term][0] == DOUBTED
        if doubted_only and _held_sure(session, twins[term]):
            continue
        for twin in sorted(twins[term]):
            if doubted_only and DOUBT_MARK not in twin.split(TERM_JOINER):
                continue
            closeness[twin] = min(
                closeness.get(twin, expansion.closeness[term]), expansion.closeness[term]
            )
    for first, second in expansion.pairs:
        for pair in product(sorted(twins[first]), sorted(twins[second])):
            closeness.setdefault(pair, expansion.closeness[first, second])
    terms = tuple(t for t in closeness if isinstance(t, str))
    pairs = tuple(p for p in closeness if isinstance(p, tuple))
    return Expansion(terms, pairs, closeness)


def _held_sure(session: Session, twins: set[str]) -> bool:
    """Whether a segment holds the word where the recogniser was sure of it: then it
    is a word of the archive's own, and its doubted places mostly that word too. (On
    the 200,000-segment bench, with the fixtures' spread of probabilities, every
    accidental match of a doubted word was of such a word.)"""
    sure = sorted(twin for twin in twins if DOUBT_MARK not in twin.split(TERM_JOINER))
    return bool(sure) and _backend(session).count_matches(session, sure, 1) > 0


def _closest(heard: tuple[str, ...], candidates: list[_Candidate]) -> Expansion:
    """The heard terms, then at most ``MAX_EXPANSIONS`` vocabulary candidates, closest first."""
    closeness: dict[str | tuple[str, str], Closeness] = {}
    terms: list[str] = []
    pairs: list[tuple[str, str]] = []
    for candidate in sorted(candidates, key=lambda c: c.rank):
        if len(terms) + len(pairs) >= MAX_EXPANSIONS:
            break
        closer = candidate.rank[:4]
        if len(candidate.terms) == 1 and candidate.terms[0] not in terms:
            terms.append(candidate.terms[0])
            closeness.setdefault(candidate.terms[0], closer)
        elif len(candidate.terms) == 2:
            pair = (candidate.terms[0], candidate.terms[1])
            if pair not in pairs:
                pairs.append(pair)
                closeness.setdefault(pair, closer)
    # A term also found by sound (above) keeps that closeness; heard alone, it is the farthest.
    closeness |= {term: closeness.get(term, (HEARD, 0, 0, 0)) for term in heard}
    return Expansion((*heard, *(t for t in terms if t not in heard)), tuple(pairs), closeness)
