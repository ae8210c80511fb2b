"""A Russian phonetic key: words that sound alike get equal or near keys.

Speech recognition errors are mostly sound-alike spellings: unstressed vowels
(«Костоне» for «Костанае»), voicing («вторум»), dropped soft signs, doubled or
simplified consonants. The key spells a word roughly as it is pronounced:

- ё = е, soft and hard signs dropped; «-тся»/«-ться» → «ца»;
- consonant clusters simplified where a letter is silent or two merge:
  «стн» → «сн», «здн» → «зн», «вств» → «ств», «лнц» → «нц», «сч»/«зч» → «щ», «тс»/«дс» → «ц»…;
- genitive «-ого»/«-его» read with «в»;
- voicing assimilated: a voiced consonant before a voiceless one or at the end
  is devoiced («дуб» → «дуп»), a voiceless one before a voiced one is voiced;
- vowels reduced to three classes: а/о/я → а, е/э/и/ы/й → и, у/ю → у;
- then any letter repeated in a row is written once.

Vowels are reduced in every syllable, stressed or not: recognition errors
cross the stressed ones too («Бильгей» for «Бельгии»).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["letter_names", "phonetic_key"]

_CLUSTERS = (
    ("ться", "ца"),
    ("тся", "ца"),
    ("вств", "ств"),
    ("стн", "сн"),
    ("здн", "зн"),
    ("стл", "сл"),
    ("нтск", "нск"),
    ("ндск", "нск"),
    ("лнц", "нц"),
    ("рдц", "рц"),
    ("ндц", "нц"),
    ("сч", "щ"),
    ("зч", "щ"),
    ("жч", "щ"),
    ("сщ", "щ"),
    ("тч", "ч"),
    ("дч", "ч"),
    ("тс", "ц"),
    ("дс", "ц"),
    ("тц", "ц"),
    ("дц", "ц"),
    ("сш", "ш"),
    ("зш", "ш"),
    ("сж", "ж"),
    ("зж", "ж"),
)
_CLUSTER_RE = re.compile("|".join(source for source, _ in _CLUSTERS))
_CLUSTER_OF = dict(_CLUSTERS)
_GENITIVE_RE = re.compile(r"([ое])го$")

_DEVOICED = dict(zip("бвгджз", "пфктшс", strict=True))
_VOICED = {voiceless: voiced for voiced, voiceless in _DEVOICED.items() if voiced != "в"}
_VOICELESS = set("пфктшсхцчщ")
# «в» does not voice the consonant before it («свет», not «звет»).
_VOICING = set("бгджз")
_VOWEL_CLASS = str.maketrans("ояеэыйю", "ааииииу")


@lru_cache(maxsize=262_144)
def phonetic_key(word: str) -> str:
    """The key of one word (any case); letters other than Cyrillic ones are kept as they are."""
    text = word.lower().replace("ё", "е").replace("-", "")
    text = _GENITIVE_RE.sub(r"\1в\1", text) if len(text) > 4 else text
    text = text.replace("ь", "").replace("ъ", "")
    text = _CLUSTER_RE.sub(lambda match: _CLUSTER_OF[match.group()], text)
    letters = list(text)
    # Right to left, so each consonant sees its neighbour's final voicing.
    for index in range(len(letters) - 1, -1, -1):
        after = letters[index + 1] if index + 1 < len(letters) else None
        letter = letters[index]
        if letter in _DEVOICED and (after is None or after in _VOICELESS):
            letters[index] = _DEVOICED[letter]
        elif letter in _VOICED and after in _VOICING:
            letters[index] = _VOICED[letter]
    reduced = "".join(letters).translate(_VOWEL_CLASS)
    return re.sub(r"(.)\1+", r"\1", reduced)


# How each letter of an initialism is said («НПО» is «эн-пэ-о»).
_SAID_AS = "а бэ вэ гэ дэ е жэ зэ и й ка эль эм эн о пэ эр эс тэ у эф ха цэ че ша ща ы э ю я"
_LETTER_NAMES = dict(zip("абвгдежзийклмнопрстуфхцчшщыэюя", _SAID_AS.split(" "), strict=True))
_LABIALS = set("бпм")


def letter_names(initialism: str) -> str:
    """An initialism spelt as it is said, letter by letter: «нпо» → «эмпэо» («эн»
    before a lip consonant is said «эм», and the recogniser writes what it hears)."""
    letters = initialism.lower().replace("ё", "е")
    names = [_LETTER_NAMES.get(letter, letter) for letter in letters]
    for index, name in enumerate(names[:-1]):
        if name == "эн" and letters[index + 1] in _LABIALS:
            names[index] = "эм"
    return "".join(names)
