"""Synthetic Russian TV-news transcripts for the search benchmark.

Sentences come from news templates whose slots are filled with agreeing,
inflected forms made by pymorphy3: a core news lexicon drawn often, plus a long
tail of thousands of lemmas sampled from the pymorphy3 dictionary itself, so the
index sees a realistic spread of rare and common words in every case and number.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from itertools import accumulate
from pathlib import Path

import pymorphy3

from efir.morphology import analyzer
from efir.search import ClipMeta
from efir.transcripts.model import Segment, Speaker, SpeakerRole, Transcript


def _words(block: str) -> list[str]:
    return block.split()


CORE_NOUNS = _words(
    """
программа проект строительство ремонт дорога школа больница жильё вода урожай зерно фермер
аграрий житель ребёнок семья пенсионер предприятие завод инвестиция бюджет средство закон
законопроект реформа кампания организация совещание заседание встреча форум соглашение
сотрудничество экономика рынок цена тариф газ электроэнергия отопление сезон паводок пожар
авария спасатель полиция суд прокуратура налог кредит банк экспорт мясо молоко скот
техника транспорт автобус маршрут аэропорт вокзал спортсмен турнир чемпионат медаль
культура театр музей выставка праздник памятник университет студент учитель врач пациент
вакцинация здоровье экология лес река мост улица район село город область регион
республика страна государство правительство министерство акимат ведомство парламент
депутат гражданин население безработица зарплата пособие пенсия льгота поддержка субсидия
грант бизнес предприниматель компания отрасль мера решение вопрос проблема ситуация
результат итог план показатель рост снижение объём тонна гектар
"""
)
CORE_ADJECTIVES = _words(
    """
новый государственный социальный региональный местный областной городской сельский
национальный международный экономический неправительственный общественный крупный малый
дополнительный бюджетный жилищный коммунальный аварийный современный частный весенний
зимний отопительный посевной экологический энергетический сельскохозяйственный
образовательный медицинский транспортный республиканский главный важный значительный
"""
)
CORE_VERBS = _words(
    """
утвердить построить строить открыть запустить выделить получить провести обсудить принять
рассмотреть подписать завершить начать продолжить увеличить снизить реализовать поддержать
представить организовать проверить выявить восстановить отремонтировать закупить собрать
направить привлечь создать сократить повысить
"""
)
REPORTING_VERBS = ["сообщить", "заявить", "рассказать", "отметить", "подчеркнуть"]
ROLES = [
    "аким",
    "министр",
    "заместитель акима",
    "депутат",
    "руководитель управления",
    "директор департамента",
    "председатель комитета",
    "эксперт",
    "вице-министр",
]
CITIES = [
    "Костанай",
    "Астана",
    "Алматы",
    "Караганда",
    "Павлодар",
    "Шымкент",
    "Уральск",
    "Петропавловск",
    "Тараз",
    "Рудный",
    "Лисаковск",
    "Аркалык",
    "Кокшетау",
]
REGIONS = [
    "Костанайская",
    "Карагандинская",
    "Павлодарская",
    "Акмолинская",
    "Алматинская",
    "Северо-Казахстанская",
    "Восточно-Казахстанская",
    "Жамбылская",
    "Туркестанская",
    "Актюбинская",
    "Кызылординская",
    "Атырауская",
]
FIRST_NAMES = [
    "Ерлан",
    "Айгуль",
    "Асхат",
    "Динара",
    "Серик",
    "Марат",
    "Гульнара",
    "Нурлан",
    "Ольга",
    "Сергей",
    "Бауыржан",
    "Жанна",
    "Алексей",
    "Мадина",
]
SURNAMES = [
    "СПАНОВ",
    "НУРОВА",
    "ЖУМАБАЕВ",
    "ИВАНОВ",
    "КАСЫМОВА",
    "ОМАРОВ",
    "ПЕТРЕНКО",
    "АХМЕТОВ",
    "СМАГУЛОВА",
    "ТОКАЕВ",
    "ЕСЕНОВ",
    "БЕКОВА",
]
PROGRAMMES = ["Новости", "Итоги недели", "Вечерний выпуск", "Агро", "Регион", "Утро", "Акцент"]
CHANNELS = ["Хабар", "КТК", "Первый канал Евразия", "Алау", "Qazaqstan"]
TAIL_PREFIXES = [
    "по",
    "пр",
    "ра",
    "со",
    "на",
    "за",
    "пе",
    "ст",
    "ко",
    "ма",
    "ва",
    "ли",
    "де",
    "бе",
    "ги",
    "ту",
    "хо",
    "ше",
    "чи",
    "ми",
    "об",
    "от",
    "вы",
    "зе",
    "ре",
    "те",
]
_EXCLUDED_TAGS = {
    "Name",
    "Surn",
    "Patr",
    "Geox",
    "Orgn",
    "Abbr",
    "Erro",
    "Dist",
    "Infr",
    "Slng",
    "Arch",
    "Init",
    "Fixd",
}


@cache
def _lexeme(word: str, pos: str) -> pymorphy3.analyzer.Parse:
    parses = [p for p in analyzer().parse(word) if pos == p.tag.POS] or analyzer().parse(word)
    return parses[0]


@lru_cache(maxsize=1_000_000)
def inflect(word: str, pos: str, grammemes: frozenset[str]) -> str:
    form = _lexeme(word, pos).inflect(set(grammemes))
    return form.word if form else word


def _tail(pos: str, per_prefix: int) -> list[str]:
    """Lemmas of one part of speech sampled across the dictionary (slow: cached on disk)."""
    cache = Path.home() / ".cache" / "efir-bench" / f"tail-{pos}-{per_prefix}.json"
    if cache.exists():
        cached: list[str] = json.loads(cache.read_text())
        return cached
    words = []
    for prefix in TAIL_PREFIXES:
        found = 0
        for _word, tag, normal_form, _, index in analyzer().dictionary.iter_known_words(prefix):
            if index == 0 and pos == tag.POS and not (_EXCLUDED_TAGS & tag.grammemes):
                words.append(normal_form)
                found += 1
                if found >= per_prefix:
                    break
    tail = sorted(set(words))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(tail, ensure_ascii=False))
    return tail


@lru_cache(maxsize=8)
def _zipf_weights(size: int) -> list[float]:
    # Zipf–Mandelbrot (offset 10): with a core of ~130 nouns, plain 1/rank would put
    # the top noun in most segments; real news spreads over a far larger vocabulary.
    return list(accumulate(1.0 / (rank + 10) for rank in range(1, size + 1)))


@dataclass
class Phrase:
    text: str
    gender: str | None
    number: str


class NewsWriter:
    """Writes clip after clip of plausible news segments; deterministic for a seed."""

    def __init__(self, seed: int, tail_per_prefix: int = 400) -> None:
        self.random = random.Random(seed)
        self.tail_nouns = _tail("NOUN", tail_per_prefix)
        self.tail_adjectives = _tail("ADJF", tail_per_prefix // 2)
        self.tail_verbs = [v for v in _tail("INFN", tail_per_prefix // 3)]
        self.phrases_seen: list[str] = []
        self.tail_seen: list[str] = []
        self.day0 = date(2015, 1, 1)

    def _pick(self, core: list[str], tail: list[str]) -> str:
        if self.random.random() < 0.25:
            word = self.random.choice(tail)
            if len(self.tail_seen) < 5000:
                self.tail_seen.append(word)
            return word
        # Zipf: the head of a core list is said far more often than its end.
        return self.random.choices(core, cum_weights=_zipf_weights(len(core)))[0]

    def noun_phrase(self, case: str, number: str | None = None) -> Phrase:
        noun = self._pick(CORE_NOUNS, self.tail_nouns)
        number = number or self.random.choice(["sing", "sing", "plur"])
        lexeme = _lexeme(noun, "NOUN")
        gender = lexeme.tag.gender
        noun_form = inflect(noun, "NOUN", frozenset({case, number}))
        if self.random.random() < 0.4:
            return Phrase(noun_form, gender, number)
        adjective = self._pick(CORE_ADJECTIVES, self.tail_adjectives)
        grammemes = {case, number} | ({gender} if number == "sing" and gender else set())
        if case == "accs":
            grammemes.add(lexeme.tag.animacy or "inan")
        text = f"{inflect(adjective, 'ADJF', frozenset(grammemes))} {noun_form}"
        if len(self.phrases_seen) < 5000:
            self.phrases_seen.append(text)
        return Phrase(text, gender, number)

    def verb(self, subject: Phrase, tense: str, verbs: list[str] | None = None) -> str:
        word = self.random.choice(verbs) if verbs else self._pick(CORE_VERBS, self.tail_verbs)
        person = {"sing", subject.gender or "masc"} if subject.number == "sing" else {"plur"}
        if tense == "past":
            return inflect(word, "INFN", frozenset({"past"} | person))
        return inflect(word, "INFN", frozenset({"3per", subject.number}))

    def city(self, case: str) -> str:
        return inflect(self.random.choice(CITIES).lower(), "NOUN", frozenset({case})).title()

    def region(self, case: str) -> str:
        adjective = inflect(self.random.choice(REGIONS).lower(), "ADJF", frozenset({case, "femn"}))
        region = inflect("область", "NOUN", frozenset({case, "sing"}))
        return f"{adjective.title()} {region}"

    def role(self, case: str) -> str:
        head, *rest = self.random.choice(ROLES).split(" ")
        return " ".join([inflect(head, "NOUN", frozenset({case, "sing"})), *rest])

    def person(self) -> str:
        return f"{self.random.choice(FIRST_NAMES)} {self.random.choice(SURNAMES).title()}"

    def sentence(self) -> str:
        r = self.random
        templates: list[Callable[[], str]] = [
            lambda: (
                (s := self.noun_phrase("nomn"))
                and f"В {self.city('loct')} {s.text} {self.verb(s, 'past')} "
                f"{self.noun_phrase('accs').text}."
            ),
            lambda: (
                f"{self.role('nomn').capitalize()} {self.region('gent')} {self.person()} "
                f"{r.choice(['рассказал', 'сообщил', 'заявил'])} "
                f"о {self.noun_phrase('loct', 'plur').text}."
            ),
            lambda: (
                (s := self.noun_phrase("nomn", "plur"))
                and f"По словам {self.role('gent')}, {s.text} {self.verb(s, 'pres')} до конца года."
            ),
            lambda: (
                f"Представители {self.noun_phrase('gent', 'plur').text} встретились с "
                f"{self.role('ablt')} {self.city('gent')}."
            ),
            lambda: (
                f"Более {r.randint(5, 900)} {self.noun_phrase('gent', 'plur').text} "
                f"зарегистрировано в {self.region('loct')} "
                f"за {r.choice(['месяц', 'квартал', 'год'])}."
            ),
            lambda: (
                (s := self.noun_phrase("nomn", "sing"))
                and f"Как сообщает пресс-служба {self.region('gent')}, {s.text} "
                f"{self.verb(s, 'pres')} {self.noun_phrase('accs').text}."
            ),
            lambda: (
                (s := self.noun_phrase("nomn", "plur"))
                and f"{s.text.capitalize()} {self.city('gent')} {self.verb(s, 'past')} "
                f"{self.noun_phrase('accs', 'plur').text} "
                f"на сумму {r.randint(2, 990)} миллионов тенге."
            ),
            lambda: (
                (s := Phrase(self.role("nomn"), "masc", "sing"))
                and f"Об этом {self.verb(s, 'past', REPORTING_VERBS)} {s.text} {self.person()} "
                f"на брифинге в {self.city('loct')}."
            ),
            lambda: (
                (s := self.noun_phrase("nomn"))
                and f"Напомним, в прошлом году {s.text} {self.verb(s, 'past')} "
                f"{self.noun_phrase('accs', 'plur').text}."
            ),
            lambda: (
                f"Ситуацию с {self.noun_phrase('ablt', 'plur').text} обсудили на заседании "
                f"{self.noun_phrase('gent', 'sing').text}."
            ),
            lambda: (
                f"Проблема {self.noun_phrase('gent', 'plur').text} остаётся острой "
                f"в {self.city('loct')} и {self.city('loct')}."
            ),
            lambda: (
                f"Для {self.noun_phrase('gent', 'plur').text} в {self.region('loct')} "
                f"построят {r.randint(5, 40)} {self.noun_phrase('gent', 'plur').text}."
            ),
        ]
        text = r.choice(templates)()
        return text[0].upper() + text[1:]

    def clip(self, number: int, segments: int) -> tuple[ClipMeta, Transcript]:
        r = self.random
        guests = [
            Speaker(
                f"S{i + 2}",
                f"{r.choice(FIRST_NAMES)} {r.choice(SURNAMES)}",
                f"{self.role('nomn').upper()} {self.region('gent').upper()}",
                SpeakerRole.INTERVIEWEE,
                f"voice-{r.randint(1, 400)}",
            )
            for i in range(r.randint(1, 2))
        ]
        speakers = (
            Speaker("S0", role=SpeakerRole.ANCHOR),
            Speaker("S1", role=SpeakerRole.CORRESPONDENT),
            *guests,
        )
        rows = []
        for index in range(segments):
            text = " ".join(self.sentence() for _ in range(r.randint(1, 3)))
            start = index * 6.0
            rows.append(Segment(index, start, start + 5.5, text, r.choice(speakers).id))
        clip = ClipMeta(
            f"clip{number:07d}",
            f"Выпуск {number}",
            r.choice(PROGRAMMES),
            r.choice(CHANNELS),
            self.day0 + timedelta(days=r.randint(0, 3900)),
        )
        return clip, Transcript(segments * 6.0, "ru", "bench", tuple(rows), speakers)
