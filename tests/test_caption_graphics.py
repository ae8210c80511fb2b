"""Channel graphics that are not anyone's caption, drawn over the real seed picture.

A news ticker crawls along the bottom of the picture under every speaker; read as a
caption it named the anchor and the correspondent after the headlines and ran into
the interviewee's title. A story strap in the lower third over the correspondent
(«ПАВОДОК В ЖИТИКАРЕ», 8 s) is a place and an event, not a name. The clip here is the
seed's first 70 s with a ticker, a strap and a channel logo burned in by ffmpeg, its
full sound kept.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.der import truth_speaker_transcript

from worker.stages.captions import _looks_like_name, read_captions

SEED = Path(__file__).resolve().parent.parent / "fixtures" / "seed"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
TICKER = "КУРС ДОЛЛАРА 470 ТЕНГЕ • ПОГОДА В АСТАНЕ МИНУС 12 • СБОРНАЯ ВЫИГРАЛА У СЕРБИИ • "


def _with_graphics(out: Path) -> Path:
    if not FONT.exists():
        pytest.fail(f"the DejaVu font is needed to draw the ticker: no {FONT}")
    crawl = (
        f"drawtext=fontfile={FONT}:text='{TICKER}':x=w-mod(t*160\\,w+tw):y=h-44:"
        "fontsize=30:fontcolor=white:box=1:boxcolor=0x1a3a8a@1:boxborderw=8"
    )
    strap = (
        f"drawtext=fontfile={FONT}:text='ПАВОДОК В ЖИТИКАРЕ':x=94:y=h-150:fontsize=40:"
        "fontcolor=white:box=1:boxcolor=black@1:boxborderw=14:enable='between(t,24,32)'"
    )
    logo = f"drawtext=fontfile={FONT}:text='ЭФИР 24':x=w-tw-30:y=30:fontsize=34:fontcolor=white"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-t", "70", "-i", str(SEED / "seed.mp4"),
         "-i", str(SEED / "seed.mp4"), "-map", "0:v", "-map", "1:a",
         "-vf", f"{crawl},{strap},{logo}", "-c:v", "libx264", "-preset", "ultrafast", "-g", "100",
         "-c:a", "copy", str(out)],
        check=True,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def ticker_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _with_graphics(tmp_path_factory.mktemp("graphics") / "ticker.mp4")


def test_the_ticker_and_the_story_strap_are_nobodys_caption(ticker_clip: Path) -> None:
    truth = json.loads((SEED / "seed.truth.json").read_text(encoding="utf-8"))
    result = read_captions(truth_speaker_transcript(SEED / "seed.truth.json"), ticker_clip)
    named = {s.id: (s.name, s.title) for s in result.speakers if s.name}
    name, title = next(
        (t["caption_name"], t["caption_title"]) for t in truth["turns"] if t["caption"]
    )
    # The one interviewee captioned in these 70 s, name and title exactly as without it;
    # the anchor and the correspondent, who speak over the ticker throughout and the
    # correspondent under the strap, unnamed.
    assert named == {"vanwaudenberg": (name, title)}


@pytest.mark.parametrize(
    ("line", "is_name"),
    [
        ("Наут ВАН ВАУДЕНБЕРГ", True),
        ("Абылай-хан КАКЕНОВ", True),
        ("Ерлан СПАНОВ", True),
        ("Леонардо ДА ВИНЧИ", True),
        ("Мария ЛЕБЕДЬ", True),  # a surname that is also a noun: the first name says
        ("Нурлан ЖУМАБЕК", True),
        ("Мария ЛИ", True),  # a Korean surname that reads as the particle «ли»
        ("ВОПРОСЫ И ОТВЕТЫ", False),
        ("ДЕНИС И ПАРТНЕРЫ", False),  # a first name, but «и» between words
        ("ПАВОДОК В ЖИТИКАРЕ", False),  # a place the dictionary does not know, after «в»
        ("ЦЕНЫ НА ТОПЛИВО", False),
        ("ГРАЖДАНСКИЙ ФОРУМ", False),  # ordinary words only
        ("ПРЯМОЙ ЭФИР", False),
        ("ВЫБОРЫ-2024", False),
        ("ПОГОДА НА ЗАВТРА В СЕВЕРНОМ КАЗАХСТАНЕ", False),
    ],
)
def test_a_name_line_is_told_from_a_story_strap(line: str, is_name: bool) -> None:
    assert _looks_like_name(line) is is_name
