"""Non-word repair: words Whisper base writes that are not Russian words at all.

Whisper base spells what it half-hears: «зарубеженных», «реализвали», «казахстине»,
and runs words together: «сприаритетами» for «с приоритетами». For each word
pymorphy3 does not know (glossary words aside), candidates come three ways:

* known forms a few Russian confusions away (`edit_candidates`): unstressed vowels
  (о/а, е/и/я), voiced and voiceless consonants, doubled, dropped and extra letters
  cost half an edit, any other letter a whole one;
* splits into known words (`split_candidates`), the parts a confusion away at most;
* merges with the word before or after (`merge_candidates`).

The same Whisper model then chooses (`choose`): every candidate sentence is scored by
the log-probability the decoder gives its tokens on that stretch of audio (CTranslate2
`align`, on the encoder output the decode already computed), plus a word-frequency
prior (wordfreq) and minus the candidate's edit cost. The original is kept unless the
best candidate scores within a margin of the non-word and clearly above the runner-up.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from wordfreq import zipf_frequency

from efir.morphology import (
    PROPER_GRAMMEMES,
    analyzer,
    can_follow,
    is_known,
    known_prefix_length,
    with_case_of,
)
from efir.transcripts.model import Word

__all__ = [
    "Candidate",
    "RepairOptions",
    "choose",
    "edit_candidates",
    "is_non_word",
    "merge_candidates",
    "repair_words",
    "split_candidates",
]

# Unstressed vowels Whisper writes for each other, and consonant pairs it confuses
# (voiced/voiceless, г/к/х, ш/щ, ц/с).
_VOWELS = "аоеиыяэ"
_CONSONANT_PAIRS = (
    ("б", "п"), ("в", "ф"), ("г", "к"), ("д", "т"), ("ж", "ш"), ("з", "с"),
    ("г", "х"), ("к", "х"), ("ш", "щ"), ("ц", "с"), ("ч", "щ"),
)  # fmt: skip
_CHEAP_SUBSTITUTIONS: dict[str, str] = {}
for _vowel in _VOWELS:
    _CHEAP_SUBSTITUTIONS[_vowel] = _VOWELS.replace(_vowel, "")
for _a, _b in _CONSONANT_PAIRS:
    _CHEAP_SUBSTITUTIONS[_a] = _CHEAP_SUBSTITUTIONS.get(_a, "") + _b
    _CHEAP_SUBSTITUTIONS[_b] = _CHEAP_SUBSTITUTIONS.get(_b, "") + _a
_CHEAP_SUBSTITUTIONS["у"] = "ю"
_CHEAP_SUBSTITUTIONS["ю"] = "у"
_CHEAP_SUBSTITUTIONS["й"] = "и"
# Sounds written with two letters as often as one.
_CHEAP_SEQUENCES = (("щ", "сч"), ("сч", "щ"), ("ц", "тс"), ("тс", "ц"), ("ц", "тьс"))
_ALPHABET = "абвгдежзийклмнопрстуфхцчшщъыьэюя"
_CHEAP = 0.5
# wordfreq's floor for a split or merged part: short rare "words" are mostly junk.
_MIN_SHORT_PART_ZIPF = 3.0
_MIN_PART_ZIPF = 1.5
# Context scored around a repaired word: seconds before it, words after it.
_CONTEXT_BEFORE_S = 2.0
_CONTEXT_AFTER = 3
_MAX_SPLIT_COST = 1.5
# A one- or two-letter part of a split must be one of these (prepositions, particles).
_SHORT_WORDS = frozenset(
    {
        "в",
        "к",
        "с",
        "у",
        "о",
        "и",
        "а",
        "я",
        "на",
        "по",
        "за",
        "до",
        "от",
        "из",
        "не",
        "ни",
        "об",
        "во",
        "со",
        "ко",
        "же",
        "бы",
        "ли",
        "то",
        "но",
        "да",
        "он",
        "мы",
        "вы",
        "их",
        "её",
        "ее",
        "его",
    }
)
# The person and number a verb after a personal pronoun agrees in.
_PRONOUN_AGREEMENT = {
    "я": ("1per", "sing"),
    "мы": ("1per", "plur"),
    "вы": ("2per", "plur"),
    "он": ("3per", "sing"),
}
_SENTENCE_END = re.compile(r"[.!?…]\W*$")
_WORD_CORE = re.compile(r"^(\W*)([^\W\d_]+(?:-[^\W\d_]+)*)(\W*)$")


@dataclass(frozen=True)
class Candidate:
    text: str  # one or more words, lower case, as they replace the original
    cost: float  # in edits; confusions count half
    merged: int = 0  # -1: replaces the word before too, +1: the word after


@dataclass(frozen=True)
class RepairOptions:
    # Weights of the choice, tuned on fixtures/news/dev (31 non-words, 14 with the right
    # word among the candidates): 11 repaired right, 10 to another known word (mostly
    # the right lemma in a wrong form), 10 kept.
    frequency_weight: float = 0.5  # per zipf unit (a tenfold more frequent word)
    cost_weight: float = 1.0  # per edit
    # The best candidate may score this much (natural log) below the non-word itself:
    # Whisper prefers what it wrote, and a non-word is almost never what was said.
    margin: float = 6.0
    # ... and must beat the runner-up by this much.
    clear_win: float = 2.0
    # Two, not three: on the dev set's 33 non-words (seed, news dev) the third was a
    # runner-up that blocked a clear win («заявлю то» beside «заявляют») as often as it
    # was the word spoken, and each candidate is a text the decoder must score.
    max_candidates: int = 2


Scorer = Callable[[Sequence[str], float, float], list[float]]
"""Log-probabilities of texts spoken between two times (seconds) of the window."""


def context_span(words: Sequence[Word], index: int) -> tuple[int, int]:
    """The words (from, to) scored around `words[index]`: a few seconds before it and a
    few words after. Scoring on that stretch of the encoder output, not the whole 30 s
    window, makes each candidate about six times cheaper to score."""
    first = index
    while first > 0 and words[index].start - words[first - 1].start <= _CONTEXT_BEFORE_S:
        first -= 1
    return first, min(index + _CONTEXT_AFTER + 1, len(words))


def is_non_word(core: str, protected: frozenset[str] = frozenset()) -> bool:
    """True if `core` (letters only) is no Russian word pymorphy3 knows and no
    protected (glossary) word; Latin, digits and acronyms are not judged."""
    key = _key(core)
    if len(key) < 2 or core.isupper() or not _is_cyrillic(key):
        return False
    if any(key.startswith(p) for p in protected):
        return False
    return not all(is_known(part) for part in key.split("-"))


def edit_candidates(word: str) -> dict[str, float]:
    """Known words one edit or two confusions from `word`, with their cost in edits.

    An edit keeps the letters before it, so none after the longest start of `word` some
    dictionary word shares can make a known word: those are never tried. The same words
    come out, for a fifth of the dictionary look-ups (a non-word had ~2,000)."""
    key = _key(word)
    found: dict[str, float] = {}
    keep = known_prefix_length(key)
    for variant, cost in [*_cheap_edits(key, keep), *_other_edits(key, keep)]:
        if variant != key and cost < found.get(variant, math.inf) and is_known(variant):
            found[variant] = cost
    for variant, _ in _cheap_edits(key, keep):
        for twice, _ in _cheap_edits(variant, known_prefix_length(variant)):
            if twice != key and twice not in found and is_known(twice):
                found[twice] = 2 * _CHEAP
    return found


def split_candidates(word: str) -> dict[str, float]:
    """Two known words `word` runs together, each a confusion away at most."""
    key = _key(word)
    found: dict[str, float] = {}
    for i in range(1, len(key)):
        left, right = key[:i], key[i:]
        for left_word, left_cost in _near(left).items():
            for right_word, right_cost in _near(right).items():
                cost = _CHEAP + left_cost + right_cost
                text = f"{left_word} {right_word}"
                if (
                    cost <= _MAX_SPLIT_COST
                    and cost < found.get(text, math.inf)
                    and _may_stand_together(left_word, right_word)
                ):
                    found[text] = cost
    return found


def merge_candidates(word: str, neighbour: str, *, before: bool) -> dict[str, float]:
    """Known words made of `word` and its neighbour (written before it if `before`)."""
    joined = _key(neighbour + word if before else word + neighbour)
    return {text: _CHEAP + cost for text, cost in _near(joined).items()}


def choose(
    original: str,
    candidates: dict[str, float],
    scores: dict[str, float],
    options: RepairOptions,
) -> str | None:
    """The candidate to write instead of `original`, or None to keep it. Only another
    word can stand in the best one's way, not another form of it: «Казахстане» beside
    «Казахстана» is still the word heard, and better than the non-word «Казахстине»."""
    ranked = sorted(
        (
            scores[text] + options.frequency_weight * _frequency(text) - options.cost_weight * cost,
            text,
        )
        for text, cost in candidates.items()
    )
    if not ranked:
        return None
    best_score, best = ranked[-1]
    if best_score < scores[original] - options.margin:
        return None
    rivals = [score for score, text in ranked[:-1] if _lemma(text) != _lemma(best)]
    if rivals and best_score - rivals[-1] < options.clear_win:
        return None
    return best


def repair_words(
    words: Sequence[Word],
    score: Scorer,
    options: RepairOptions,
    protected: frozenset[str] = frozenset(),
) -> list[Word]:
    """`words` (one decoding window, in order) with non-words repaired where the audio
    agrees; repaired words carry `repaired_from`. Each non-word is judged in its
    context (`context_span`) with the window's other words as heard."""
    plans: list[tuple[int, str, dict[Candidate, list[Word]]]] = []
    for i, word in enumerate(words):
        core = _bare(word.word)
        if core and is_non_word(core, protected):
            found = _candidates(words, i, core, options)
            if found:
                plans.append((i, core, {c: _rewritten(words, i, c) for c in found}))
    chosen: list[tuple[int, Candidate, list[Word]]] = []
    for i, core, variants in plans:
        first, last = context_span(words, i)
        texts = [
            _text(variant[first : last + len(variant) - len(words)])
            for variant in [list(words), *variants.values()]
        ]
        logprobs = iter(score(texts, words[first].start, words[last - 1].end))
        scores = {_key(core): next(logprobs)}
        scores.update((c.text, next(logprobs)) for c in variants)
        best = choose(_key(core), {c.text: c.cost for c in variants}, scores, options)
        if best is not None:
            candidate = next(c for c in variants if c.text == best)
            chosen.append((i, candidate, variants[candidate]))
    result = list(words)
    taken: set[int] = set()
    for i, candidate, _ in reversed(chosen):  # right to left: indices stay valid
        span = set(range(i + min(candidate.merged, 0), i + max(candidate.merged, 0) + 1))
        if span & taken:
            continue  # two repairs want the same word; keep the later one
        taken |= span
        result = _rewritten(result, i, candidate)
    return result


def _candidates(
    words: Sequence[Word], index: int, core: str, options: RepairOptions
) -> list[Candidate]:
    found = [Candidate(text, cost) for text, cost in edit_candidates(core).items()]
    if core[:1].isupper() and index > 0 and not _SENTENCE_END.search(words[index - 1].word):
        # A capital inside a sentence is a name: only another name may replace it
        # ("Казахстине" → "Казахстане"), never a split ("Кобритании" → "К британии").
        return sorted(
            (c for c in found if _is_name(c.text)), key=lambda c: (c.cost, -_frequency(c.text))
        )[: options.max_candidates]
    found += [Candidate(text, cost) for text, cost in split_candidates(core).items()]
    for step in (-1, 1):
        j = index + step
        if 0 <= j < len(words) and (neighbour := _bare(words[j].word)):
            found += [
                Candidate(text, cost, merged=step)
                for text, cost in merge_candidates(core, neighbour, before=step < 0).items()
            ]
    if core.islower():
        # A name Whisper heard would be written with a capital: «диниц» is «единиц»,
        # not «денис», and «спискун» no «с пискун».
        found = [c for c in found if not any(_only_a_name(part) for part in c.text.split())]
    found.sort(key=lambda c: (c.cost, -_frequency(c.text)))
    return found[: options.max_candidates]


def _rewritten(words: Sequence[Word], index: int, candidate: Candidate) -> list[Word]:
    """`words` with the word at `index` (and a merged neighbour) replaced by `candidate`,
    its time shared among the new words by their letters."""
    first = index + min(candidate.merged, 0)
    last = index + max(candidate.merged, 0)
    old = words[first : last + 1]
    original = "".join(w.word for w in old)
    lead = original[: len(original) - len(original.lstrip())]
    match = _WORD_CORE.match(original.strip())
    before, core, after = match.groups() if match else ("", original.strip(), "")
    if candidate.merged:
        before = _WORD_CORE.match(old[0].word.strip()).group(1)  # type: ignore[union-attr]
        after = _WORD_CORE.match(old[-1].word.strip()).group(3)  # type: ignore[union-attr]
    parts = candidate.text.split()
    parts[0] = with_case_of(core, parts[0])
    letters = sum(len(p) for p in parts)
    start, end = old[0].start, old[-1].end
    new: list[Word] = []
    cursor = start
    for n, part in enumerate(parts):
        stop = (
            end if n == len(parts) - 1 else round(cursor + (end - start) * len(part) / letters, 3)
        )
        text = (lead if n == 0 else " ") + (before if n == 0 else "") + part
        text += after if n == len(parts) - 1 else ""
        new.append(
            Word(
                start=cursor,
                end=stop,
                word=text,
                probability=min(w.probability for w in old),
                repaired_from=original.strip(),
            )
        )
        cursor = stop
    return [*words[:first], *new, *words[last + 1 :]]


def _text(words: Iterable[Word]) -> str:
    return "".join(w.word for w in words)


def _bare(word: str) -> str:
    match = _WORD_CORE.match(word.strip())
    return match.group(2) if match else ""


def _near(text: str) -> dict[str, float]:
    """`text` itself if a usable word, and known words one confusion from it."""
    found: dict[str, float] = {}
    if _usable(text):
        found[text] = 0.0
    if len(text) >= 2:
        for variant, cost in _cheap_edits(text):
            if _usable(variant):
                found.setdefault(variant, cost)
    return found


def _may_stand_together(left: str, right: str) -> bool:
    """Whether a split's two words can be neighbours: a preposition before a case it
    governs («с приоритетами», not «в рики», «об лице»), a personal pronoun before a
    verb that agrees with it (not «вы хватает»)."""
    if not can_follow(left, right):
        return False
    agreement = _PRONOUN_AGREEMENT.get(left)
    readings = analyzer().parse(right)
    if agreement is None or not all(r.tag.POS == "VERB" for r in readings):
        return True
    person, number = agreement
    return any(r.tag.person in (None, person) and r.tag.number in (None, number) for r in readings)


def _usable(text: str) -> bool:
    """A word a split or merge may produce: short ones from a closed list, longer ones
    known and not vanishingly rare (pymorphy3 knows «аны» and «пришл»)."""
    if len(text) <= 2:
        return text in _SHORT_WORDS
    least = _MIN_SHORT_PART_ZIPF if len(text) <= 4 else _MIN_PART_ZIPF
    return is_known(text) and _frequency(text) >= least


def _cheap_edits(text: str, keep: int | None = None) -> Iterable[tuple[str, float]]:
    """Single confusions: a vowel or a consonant of a confused pair swapped, a letter
    doubled or undoubled, a vowel dropped or put between consonants, ь or ъ in or out;
    only at the first `keep` + 1 letters (an edit at letter i keeps the i before it)."""
    last = len(text) if keep is None else keep
    for i, char in enumerate(text[: last + 1]):
        head, tail = text[:i], text[i + 1 :]
        for other in _CHEAP_SUBSTITUTIONS.get(char, ""):
            yield head + other + tail, _CHEAP
        if char in _VOWELS or char in "ьъ" or (i > 0 and text[i - 1] == char):
            yield head + tail, _CHEAP
        if char not in _VOWELS:
            yield head + char + text[i:], _CHEAP
            yield head + char + "ь" + tail, _CHEAP
            if tail[:1] and tail[0] not in _VOWELS:
                for vowel in _VOWELS:
                    yield head + char + vowel + tail, _CHEAP
    for old, new in _CHEAP_SEQUENCES:
        start = text.find(old)
        while 0 <= start <= last:
            yield text[:start] + new + text[start + len(old) :], _CHEAP
            start = text.find(old, start + 1)


def _other_edits(text: str, keep: int) -> Iterable[tuple[str, float]]:
    """Every single letter substituted, deleted or inserted, at a whole edit, at the
    first `keep` + 1 letters."""
    for i in range(min(len(text), keep + 1)):
        head, tail = text[:i], text[i + 1 :]
        yield head + tail, 1.0
        for other in _ALPHABET:
            yield head + other + tail, 1.0
    for i in range(min(len(text), keep) + 1):
        for other in _ALPHABET:
            yield text[:i] + other + text[i:], 1.0


def _is_name(text: str) -> bool:
    return any(PROPER_GRAMMEMES & set(p.tag.grammemes) for p in analyzer().parse(text))


def _lemma(text: str) -> str:
    """A word's most likely dictionary form; several words stand for themselves."""
    return text if " " in text else str(analyzer().parse(text)[0].normal_form)


def _only_a_name(text: str) -> bool:
    return all(PROPER_GRAMMEMES & set(p.tag.grammemes) for p in analyzer().parse(text))


def _frequency(text: str) -> float:
    """Zipf frequency of a word (of a rarest word, for several): 0 unknown, 7 'и'."""
    return min(zipf_frequency(part, "ru") for part in text.split())


def _is_cyrillic(text: str) -> bool:
    return all("а" <= ch <= "я" or ch in "ё-" for ch in text)


def _key(text: str) -> str:
    return text.lower().replace("ё", "е")
