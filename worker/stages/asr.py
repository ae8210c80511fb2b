"""ASR stage: 16 kHz mono audio in, a timestamped Russian Transcript out.

Steps: Silero VAD finds speech regions; regions are grouped into ≤30 s windows of
the original audio (silence between turns kept, never spliced) and decoded by
faster-whisper's BatchedInferencePipeline with word timestamps, one window at a
time on a CPU (`AsrOptions.batch_size`). The batched pipeline can silently return
nothing for part of a window (on the seed it lost a correspondent's 13 s turn), so
right after a batch decodes, each window's regions are checked against the words
that came back, and a stretch left empty or thin is decoded again from the window's
encoder output, the decoder forced to start at the stretch's first timestamp (no
second encoder pass). What is still unheard after that is decoded again on its own,
sequentially at temperature 0. Words no dictionary knows are repaired on the same
encoder output (worker/stages/repair.py). The beam's other hypotheses of each window
are kept where they read a short stretch otherwise, as the `alternatives` of the words
they replace (search indexes them as sound-alikes; the text is the best one's). With
`reading_tempos` (EFIR_READINGS), the audio is also read slower or faster, and the
readings are voted word by word (worker/stages/vote.py). Last, the guards drop phantom
phrases Whisper writes over silence and music, and collapse repetition loops.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

import ctranslate2
import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import TranscriptionOptions
from faster_whisper.vad import VadOptions, get_speech_timestamps

from efir.errors import AsrError
from efir.glossary import Glossary, correct_words, is_ordinary_word
from efir.transcripts.model import Segment, Transcript, Word
from worker.stages.media import SAMPLE_RATE, stretched
from worker.stages.repair import RepairOptions, Scorer, context_span, repair_words
from worker.stages.vote import vote, word_key

__all__ = [
    "READING_TEMPOS",
    "AsrOptions",
    "TimeSpan",
    "collapse_loops",
    "find_unheard_spans",
    "group_windows",
    "is_phantom",
    "silero_speech",
    "speech_regions",
    "speech_regions_of_windows",
    "transcribe",
    "with_alternatives",
]

# How far (natural log) below what was heard a glossary name may score and still
# replace a non-word or another name (see _glossary_heard).
GLOSSARY_NAME_MARGIN = 15.0
_WORD_CORE = re.compile(r"^(\W*)(.*?)(\W*)$")
_ENCODER_FPS = 50
_SCORE_PAD_S = 0.3
# Times a decode of an unheard span may resume from where it stopped.
_MAX_RESUMES = 3
# VAD runs over this much audio at a time, in memory or read from disk.
VAD_WINDOW_S = 300.0


@dataclass(frozen=True)
class AsrOptions:
    language: str | None = "ru"
    beam_size: int = 5
    # Windows decoded at once. One at a time gives the same words and times as batches
    # of 8 and, on one CPU thread, as much CPU on an idle box but 20-30% less on a busy
    # one (bench/results/stage_speed.txt), and a smaller decoder; a GPU wants 8-16.
    batch_size: int = 1
    # Text the decoder sees before every window: glossary terms, which bias spelling.
    # Measured on the seed, a prompt beat hotwords (WER 0.23 against 0.31).
    initial_prompt: str | None = None
    hotwords: str | None = None
    # Whisper base writes numbers as garbled digits ("320 млн,2 млрд"); spelled-out
    # numbers keep one timestamp per spoken word and match lemma search.
    spell_out_numbers: bool = True
    # 700 ms of silence ends a region. On the seed, 500 ms cut it into 7 windows
    # (WER 0.280, 1.11x bare's time) and 700 ms into bare's 6 (WER 0.261, 1.0x);
    # faster-whisper's 160 ms made the batched decoder drop a whole turn.
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 700
    vad_speech_pad_ms: int = 200
    vad_min_speech_ms: int = 250
    window_s: float = 30.0
    # A region is re-decoded if its words carry fewer letters per second than this
    # (Russian news speech runs 12-15) or leave a stretch this long without a word.
    min_letters_per_s: float = 4.0
    max_unheard_s: float = 2.5
    # Sentences end at . ! ? …, at a pause this long, or when they grow this long.
    segment_pause_s: float = 1.0
    max_segment_s: float = 20.0
    # Non-word repair (None: off); glossary words are never repaired.
    repair: RepairOptions | None = field(default_factory=RepairOptions)
    # Hypotheses the batched beam returns per window (at most `beam_size`; 1: the best
    # only). The best is what is written; where another read a short stretch otherwise,
    # its words become the `alternatives` of the words they replace (for search only).
    beam_hypotheses: int = 5
    # Only a stretch of this many words or fewer, on either side, is an alternative:
    # longer ones are another sentence, not another hearing of a word. On the
    # development and test clips 3 found two words more than 2; 4 none more and 5 two
    # more, but both one more absent word (bench/results/search_sounds_like.txt).
    max_alternative_words: int = 3
    # Further readings of the audio at these tempos (0.9: slower), voted with the plain
    # one word by word (worker/stages/vote.py): fewer wrong words for one more decode
    # each. Empty by default, which decodes once.
    reading_tempos: tuple[float, ...] = ()
    # Glossary near-misses are corrected in each window where the audio agrees.
    glossary: Glossary = field(default_factory=Glossary)


@dataclass(frozen=True)
class TimeSpan:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


# The tempos of the second and third readings (EFIR_READINGS): on the development
# clips either alone took off as many wrong words as the other.
READING_TEMPOS = (0.9, 1.1)

# Progress of one stage: the fraction of its work done, 0 to 1.
FractionDone = Callable[[float], None]


def transcribe(
    audio: np.ndarray,
    model: WhisperModel,
    options: AsrOptions,
    *,
    model_name: str,
    regions: Sequence[TimeSpan] | None = None,
    on_progress: FractionDone | None = None,
) -> Transcript:
    """Recognise `audio` (float32, 16 kHz mono); times are seconds on its timeline.

    `regions` are its VAD speech regions when already known (a long programme's chunk
    gets the programme's own, so it decodes the very windows the whole would)."""
    duration_s = audio.size / SAMPLE_RATE
    report = on_progress or (lambda fraction: None)
    if regions is None:
        regions = speech_regions(audio, options)
    count = 1 + len(options.reading_tempos)

    def reading_progress(done: int) -> FractionDone:
        return lambda fraction: report(0.9 * (done + fraction) / count)

    language, words = _read(audio, model, regions, options, reading_progress(0))
    readings = [words]
    for done, tempo in enumerate(options.reading_tempos, start=1):
        # Another tempo is another audio: its own speech regions, at most a window long.
        heard = stretched(audio, tempo)
        _, words = _read(
            heard, model, speech_regions(heard, options), options, reading_progress(done)
        )
        readings.append([replace(w, start=w.start * tempo, end=w.end * tempo) for w in words])
    if len(readings) > 1:
        words = vote(readings, options.max_alternative_words)
    segments = [s for s in _sentences(collapse_loops(words), options) if not is_phantom(s.text)]
    report(1.0)
    return Transcript(
        duration=duration_s,
        language=language or "ru",
        model=model_name,
        segments=tuple(
            Segment(id=i, start=s.start, end=s.end, text=s.text, words=s.words)
            for i, s in enumerate(segments)
        ),
    )


def _read(
    audio: np.ndarray,
    model: WhisperModel,
    regions: Sequence[TimeSpan],
    options: AsrOptions,
    report: FractionDone,
) -> tuple[str | None, list[Word]]:
    """One reading of `audio`: its language and its words in time order."""
    words: list[Word] = []
    language = options.language
    try:
        windows = group_windows(regions, options.window_s)
        if windows:
            language, decoded = _decode_batched(model, audio, windows, regions, options)
            for batch_words, fraction in decoded:
                words.extend(batch_words)
                report(fraction)
        for span in find_unheard_spans(regions, words, options):
            words = [w for w in words if not _inside(w, span)]
            # Re-decoded spans have no encoder output at hand: glossary by text alone.
            words.extend(
                _glossary_corrected(
                    _decode_sequential(model, audio, span, options), options.glossary
                )
            )
    except (RuntimeError, ValueError) as error:
        raise AsrError(f"Speech recognition failed: {error}") from error
    words.sort(key=lambda w: w.start)
    return language, words


def speech_regions(
    audio: np.ndarray, options: AsrOptions, *, window_s: float = VAD_WINDOW_S
) -> list[TimeSpan]:
    """Silero VAD speech regions, padded, each at most one ASR window long.

    Found `window_s` of audio at a time (`speech_regions_of_windows`), so that a long
    programme's VAD, read from disk window by window, finds exactly these regions and
    its chunks decode exactly what the programme in one piece would."""
    step = int(window_s * SAMPLE_RATE)
    windows = ((i / SAMPLE_RATE, audio[i : i + step]) for i in range(0, audio.size, step))
    return speech_regions_of_windows(windows, options)


def speech_regions_of_windows(
    windows: Iterable[tuple[float, np.ndarray]], options: AsrOptions
) -> list[TimeSpan]:
    """Speech regions of consecutive (start seconds, samples) windows of one audio; a
    region a window edge cut in two is joined again if still one ASR window long."""
    regions: list[TimeSpan] = []
    join_gap_s = options.vad_min_silence_ms / 1000
    for window_start, audio in windows:
        for region in _vad_regions(audio, options):
            start, end = window_start + region.start, window_start + region.end
            if (
                regions
                and region.start < join_gap_s
                and start - regions[-1].end < join_gap_s
                and end - regions[-1].start <= options.window_s
            ):
                regions[-1] = TimeSpan(regions[-1].start, end)
            else:
                regions.append(TimeSpan(start, end))
    return regions


def _vad_regions(audio: np.ndarray, options: AsrOptions) -> list[TimeSpan]:
    vad = VadOptions(
        threshold=options.vad_threshold,
        min_speech_duration_ms=options.vad_min_speech_ms,
        max_speech_duration_s=options.window_s,
        min_silence_duration_ms=options.vad_min_silence_ms,
        speech_pad_ms=options.vad_speech_pad_ms,
    )
    return silero_speech(audio, vad)


def silero_speech(audio: np.ndarray, vad: VadOptions) -> list[TimeSpan]:
    """Silero VAD's speech in 16 kHz audio, in seconds."""
    return [
        TimeSpan(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE)
        for r in get_speech_timestamps(audio, vad, sampling_rate=SAMPLE_RATE)
    ]


def find_unheard_spans(
    regions: Sequence[TimeSpan], words: Sequence[Word], options: AsrOptions
) -> list[TimeSpan]:
    """Stretches of VAD speech that came back without text, merged into decodable clips.

    A whole region is unheard if its words are too few for its length; within a
    region, any stretch of `max_unheard_s` without a word is unheard too.
    """
    unheard: list[TimeSpan] = []
    for region in regions:
        heard = sorted((w for w in words if _inside(w, region)), key=lambda w: w.start)
        letters = sum(sum(ch.isalpha() for ch in w.word) for w in heard)
        if letters < options.min_letters_per_s * region.duration:
            unheard.append(region)
            continue
        edges = [region.start, *(t for w in heard for t in (w.start, w.end)), region.end]
        for silent_from, silent_to in zip(edges[::2], edges[1::2], strict=True):
            if silent_to - silent_from >= options.max_unheard_s:
                unheard.append(TimeSpan(silent_from, silent_to))
    return _merge_close(unheard, max_gap_s=options.segment_pause_s, max_s=options.window_s)


def group_windows(regions: Sequence[TimeSpan], window_s: float) -> list[TimeSpan]:
    """Consecutive regions joined, in time order, into windows at most `window_s` long."""
    windows: list[TimeSpan] = []
    for region in regions:
        if windows and region.end - windows[-1].start <= window_s:
            windows[-1] = TimeSpan(windows[-1].start, region.end)
        else:
            windows.append(region)
    return windows


def _merge_close(spans: Iterable[TimeSpan], *, max_gap_s: float, max_s: float) -> list[TimeSpan]:
    merged: list[TimeSpan] = []
    for span in sorted(spans, key=lambda s: s.start):
        if (
            merged
            and span.start - merged[-1].end <= max_gap_s
            and span.end - merged[-1].start <= max_s
        ):
            merged[-1] = TimeSpan(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


def _decode_batched(
    model: WhisperModel,
    audio: np.ndarray,
    windows: Sequence[TimeSpan],
    regions: Sequence[TimeSpan],
    options: AsrOptions,
) -> tuple[str, Iterator[tuple[list[Word], float]]]:
    """The language and, lazily, each decoded segment's words with the fraction done."""
    pipeline = _WindowPipeline(model, regions, options)
    segments, info = pipeline.transcribe(
        audio,
        clip_timestamps=[
            {"start": _sample_time(w.start), "end": _sample_time(w.end)} for w in windows
        ],
        batch_size=options.batch_size,
        **_decoding_kwargs(model, options),
    )
    last_end = windows[-1].end
    return info.language, (
        (
            _words(
                segment.words or (),
                offset_s=0.0,
                repaired_from=pipeline.repaired_from,
                alternatives=pipeline.alternatives,
            ),
            min(segment.end / last_end, 1.0),
        )
        for segment in segments
    )


class _WindowPipeline(BatchedInferencePipeline):  # type: ignore[misc]
    """The batched decoder, finishing each window as soon as its batch is decoded, on
    the encoder output it already holds (no second encoder pass): speech it left
    unheard is decoded again, then glossary near-misses and non-words are repaired.

    faster-whisper's words are plain dicts turned into its own Word later, so the
    original of each repaired word travels in `repaired_from`, keyed by start time."""

    def __init__(
        self, model: WhisperModel, regions: Sequence[TimeSpan], options: AsrOptions
    ) -> None:
        super().__init__(model)
        self._regions = regions
        self._options = options
        self._encoded: ctranslate2.StorageView | None = None
        # The texts of the beam's other hypotheses, per window of the batch.
        self._hypotheses: list[list[str]] = []
        self.repaired_from: dict[tuple[float, str], str] = {}
        self.alternatives: dict[tuple[float, str], tuple[str, ...]] = {}

    def generate_segment_batched(  # type: ignore[no-untyped-def]
        self, features: np.ndarray, tokenizer: Tokenizer, options: TranscriptionOptions
    ):
        """faster-whisper's own, but the beam returns its other hypotheses too (it takes
        no argument for that): the best one, with its score, as faster-whisper's."""
        hypotheses = min(self._options.beam_hypotheses, options.beam_size)
        if hypotheses <= 1 or options.multilingual or options.max_new_tokens is not None:
            encoder_output, outputs = super().generate_segment_batched(features, tokenizer, options)
            self._encoded, self._hypotheses = encoder_output, [[] for _ in outputs]
            return encoder_output, outputs
        previous = tokenizer.encode(options.initial_prompt) if options.initial_prompt else []
        prompt = self.model.get_prompt(
            tokenizer,
            previous,
            without_timestamps=options.without_timestamps,
            hotwords=options.hotwords,
        )
        encoder_output = self.model.encode(features)
        results = self.model.model.generate(
            encoder_output,
            [list(prompt) for _ in range(features.shape[0])],
            beam_size=options.beam_size,
            patience=options.patience,
            num_hypotheses=hypotheses,
            length_penalty=options.length_penalty,
            max_length=self.model.max_length,
            suppress_blank=options.suppress_blank,
            suppress_tokens=options.suppress_tokens,
            return_scores=True,
            return_no_speech_prob=True,
            sampling_temperature=options.temperatures[0],
            repetition_penalty=options.repetition_penalty,
            no_repeat_ngram_size=options.no_repeat_ngram_size,
        )
        outputs = []
        for result in results:
            length = len(result.sequences_ids[0])
            summed = result.scores[0] * length**options.length_penalty
            outputs.append(
                {
                    "avg_logprob": summed / (length + 1),
                    "no_speech_prob": result.no_speech_prob,
                    "tokens": result.sequences_ids[0],
                }
            )
        self._encoded = encoder_output
        self._hypotheses = [
            [tokenizer.decode([t for t in ids if t < tokenizer.eot]) for ids in r.sequences_ids[1:]]
            for r in results
        ]
        return encoder_output, outputs

    def forward(  # type: ignore[no-untyped-def]
        self,
        features: np.ndarray,
        tokenizer: Tokenizer,
        chunks_metadata: list[dict],  # type: ignore[type-arg]
        options: TranscriptionOptions,
    ):
        segmented = super().forward(features, tokenizer, chunks_metadata, options)
        if self._encoded is None:
            return segmented
        asr = self._options
        encoded = np.asarray(self._encoded)
        previous = tokenizer.encode(options.initial_prompt) if options.initial_prompt else []
        prompt = self.model.get_prompt(
            tokenizer, previous, without_timestamps=True, hotwords=options.hotwords
        )
        for index, (metadata, subsegments) in enumerate(
            zip(chunks_metadata, segmented, strict=True)
        ):
            window_encoded = encoded[index : index + 1]
            offset_s = metadata["offset"]
            window = TimeSpan(offset_s, offset_s + metadata["duration"])
            heard = _dict_words(subsegments)
            words = list(heard)
            regions = [r for r in self._regions if _inside(r, window)]
            for span in find_unheard_spans(regions, words, asr):
                words = [w for w in words if not _inside(w, span)]
                before = [w for w in words if w.end <= span.start]
                words += self._decode_from(span, window, window_encoded, tokenizer, options, before)
            words.sort(key=lambda w: w.start)
            if asr.repair or asr.glossary:
                scorer = _window_scorer(self.model, tokenizer, window_encoded, prompt, offset_s)
                words = _corrected(words, scorer, asr)
            if words != heard:
                _put_words(subsegments, words, self.repaired_from)
            for word in with_alternatives(
                words, self._hypotheses[index], asr.max_alternative_words
            ):
                if word.alternatives:
                    self.alternatives[(word.start, word.word)] = word.alternatives
        return segmented

    def _decode_from(
        self,
        span: TimeSpan,
        window: TimeSpan,
        encoded: np.ndarray,
        tokenizer: Tokenizer,
        options: TranscriptionOptions,
        before: Sequence[Word],
    ) -> list[Word]:
        """The words of `span` decoded from its window's encoder output, the decoder
        forced to begin at the span's first timestamp, after the window's words `before`
        it. On the seed the turn the batched decode dropped came back in about 1 s CPU,
        against 2.2 s for decoding the span on its own (a second encoder pass)."""
        first = int((span.start - window.start) * _ENCODER_FPS)
        last = min(encoded.shape[1], math.ceil(window.duration * _ENCODER_FPS))
        if first >= last:
            return []
        # The window's words before the span as previous text, as a sequential decode
        # conditions on it: without them the seed's turn lost «двадцати» and «сектора».
        previous = tokenizer.encode(f"{options.initial_prompt or ''}{_joined(before)}")
        prompt = self.model.get_prompt(tokenizer, previous, hotwords=options.hotwords)
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(encoded))
        tokens: list[int] = []
        start = first
        # As Whisper's own loop does, a decode that ends on a finished segment before the
        # audio does resumes from that segment's end (the seed's turn stopped 2 s short).
        for _ in range(_MAX_RESUMES):
            decoded = self.model.model.generate(
                features,
                [[*prompt, tokenizer.timestamp_begin + start]],
                beam_size=options.beam_size,
                patience=options.patience,
                length_penalty=options.length_penalty,
                max_length=self.model.max_length,
                suppress_blank=options.suppress_blank,
                suppress_tokens=options.suppress_tokens,
                repetition_penalty=options.repetition_penalty,
                no_repeat_ngram_size=options.no_repeat_ngram_size,
            )[0].sequences_ids[0]
            text, resume = _finished_text(decoded, tokenizer)
            tokens += text
            if resume is None or not start < resume < last - _ENCODER_FPS // 2:
                break
            start = resume
        if not tokens:
            return []
        # Aligned on the encoder output from the span's start, as a decode of the span
        # alone would be: the text holds nothing of the window before it.
        stretch = np.ascontiguousarray(encoded[:, first:last])
        start_s = window.start + first / _ENCODER_FPS
        segment = {
            "seek": start_s * self.model.frames_per_second,
            "start": start_s,
            "end": window.end,
            "tokens": tokens,
        }
        self.model.add_word_timestamps(
            [[segment]],
            tokenizer,
            ctranslate2.StorageView.from_array(stretch),
            [2 * stretch.shape[1]],
            options.prepend_punctuations,
            options.append_punctuations,
            start_s,
        )
        return [w for w in _dict_words([segment]) if w.word.strip() and _inside(w, span)]


def _finished_text(decoded: Sequence[int], tokenizer: Tokenizer) -> tuple[list[int], int | None]:
    """The text tokens of a timestamped decode, and the timestamp (in encoder frames)
    to resume from if it stopped on a finished segment rather than at the audio's end
    (a single closing timestamp). An unfinished last segment is dropped, as Whisper does."""
    stamps = tokenizer.timestamp_begin
    pairs = [i for i in range(1, len(decoded)) if min(decoded[i - 1], decoded[i]) >= stamps]
    single_ending = len(decoded) >= 2 and decoded[-2] < stamps <= decoded[-1]
    if single_ending or not pairs:
        return [t for t in decoded if t < tokenizer.eot], None
    return [t for t in decoded[: pairs[-1]] if t < tokenizer.eot], decoded[pairs[-1]] - stamps


def with_alternatives(
    words: Sequence[Word], hypotheses: Iterable[str], max_words: int
) -> list[Word]:
    """`words`, a window's final ones, each with what the beam's other `hypotheses` (texts
    of the same window) heard in its place: aligned word by word (difflib on normalised
    words), a stretch of at most `max_words` words another hypothesis reads otherwise
    becomes an alternative of each word it replaces. Words the best decode does not hold
    (a re-decoded span) or that another hypothesis drops or adds gain nothing."""
    keys = [word_key(w.word) for w in words]
    found: list[dict[str, None]] = [{} for _ in words]  # ordered sets
    for hypothesis in hypotheses:
        other = hypothesis.split()
        other_keys = [word_key(token) for token in other]
        matcher = difflib.SequenceMatcher(a=keys, b=other_keys, autojunk=False)
        for operation, first, last, other_first, other_last in matcher.get_opcodes():
            if operation != "replace" or max(last - first, other_last - other_first) > max_words:
                continue
            heard = " ".join(other_keys[other_first:other_last])
            for position in range(first, last):
                found[position][heard] = None
    return [
        replace(word, alternatives=tuple(heard)) if heard else word
        for word, heard in zip(words, found, strict=True)
    ]


def _dict_words(subsegments: Iterable[dict]) -> list[Word]:  # type: ignore[type-arg]
    """faster-whisper's word dicts of a window's subsegments as efir's Words."""
    return [
        Word(start=w["start"], end=w["end"], word=w["word"], probability=w["probability"])
        for subsegment in subsegments
        for w in subsegment.get("words") or ()
    ]


def _glossary_heard(words: list[Word], score: Scorer, glossary: Glossary) -> list[Word]:
    """`words` with the glossary's corrections the audio of this window agrees with.

    An ordinary dictionary word is replaced only if the model scores the glossary form
    at least as likely as what it heard: that is where glossaries damaged correct text
    ("формы" → "форумы"). A non-word or a name may score up to `GLOSSARY_NAME_MARGIN`
    below: Whisper is sure of its own misspellings of names ("Костану" scored 8.8 nats
    above "Костанае" on the seed), and a name near a glossary name is that name."""
    if not glossary:
        return words
    proposed = correct_words([w.word for w in words], glossary)
    changed = [i for i, (w, p) in enumerate(zip(words, proposed, strict=True)) if w.word != p]
    if not changed:
        return words
    result = list(words)
    for i in changed:
        first, last = context_span(words, i)
        context = words[first:last]
        corrected = [*context[: i - first], replace(words[i], word=proposed[i])]
        corrected += context[i - first + 1 :]
        heard_score, corrected_score = score(
            [_joined(context), _joined(corrected)], context[0].start, context[-1].end
        )
        allowed = 0.0 if _is_ordinary(words[i].word) else GLOSSARY_NAME_MARGIN
        if corrected_score >= heard_score - allowed:
            result[i] = replace(words[i], word=proposed[i])
    return result


def _joined(words: Sequence[Word]) -> str:
    return "".join(w.word for w in words)


def _glossary_corrected(words: list[Word], glossary: Glossary) -> list[Word]:
    """Glossary corrections by text alone (no encoder output at hand): non-words and
    names only. An ordinary word needs the audio's agreement (`_glossary_heard`): on the
    seed, «неправительственного сектора» became «сектара» next to a term «...сектар»."""
    if not glossary:
        return words
    proposed = correct_words([w.word for w in words], glossary)
    return [
        w if _is_ordinary(w.word) else replace(w, word=p)
        for w, p in zip(words, proposed, strict=True)
    ]


def _is_ordinary(word: str) -> bool:
    core = _WORD_CORE.sub(r"\2", word.strip())
    return bool(core) and is_ordinary_word(core)


def _window_scorer(
    model: WhisperModel,
    tokenizer: Tokenizer,
    encoded: np.ndarray,
    prompt: list[int],
    offset_s: float,
) -> Scorer:
    """Log-probability the decoder gives each text, forced, on a stretch of one window's
    encoder output (50 frames a second; the decoder attends to any length)."""

    def score(texts: Sequence[str], start_s: float, end_s: float) -> list[float]:
        first = max(0, int((start_s - offset_s - _SCORE_PAD_S) * _ENCODER_FPS))
        last = min(encoded.shape[1], int((end_s - offset_s + _SCORE_PAD_S) * _ENCODER_FPS) + 1)
        stretch = np.ascontiguousarray(encoded[:, first:last])
        features = ctranslate2.StorageView.from_array(stretch)
        # One text a call: the same scores as a batch of copies of the stretch, at 70-75%
        # of its CPU time on one thread (a non-word's three texts, 5 s: 43 against 57 ms).
        return [
            float(np.log(np.maximum(result.text_token_probs, 1e-12)).sum())
            for text in texts
            for result in model.model.align(
                features, prompt, [tokenizer.encode(text)], 2 * stretch.shape[1]
            )
        ]

    return score


def _corrected(words: list[Word], score: Scorer, options: AsrOptions) -> list[Word]:
    """Glossary near-misses the audio agrees with, then non-word repair, over the words
    of one window."""
    repaired = _glossary_heard(words, score, options.glossary)
    if options.repair is None:
        return repaired
    return repair_words(repaired, score, options.repair, options.glossary.protected_words)


def _put_words(
    subsegments: list[dict],  # type: ignore[type-arg]
    words: Sequence[Word],
    repaired_from: dict[tuple[float, str], str],
) -> None:
    """`words` back into a window's subsegments (faster-whisper's dicts), in place: a
    word goes to the subsegment its start falls in; efir reads only the words."""
    starts = [s["words"][0]["start"] if s.get("words") else math.inf for s in subsegments]
    for subsegment in subsegments:
        subsegment["words"] = []
    for word in words:
        home = max((n for n, start in enumerate(starts) if start <= word.start), default=0)
        subsegments[home]["words"].append(
            {
                "start": word.start,
                "end": word.end,
                "word": word.word,
                "probability": word.probability,
            }
        )
        if word.repaired_from is not None:
            repaired_from[(word.start, word.word)] = word.repaired_from


def _decode_sequential(
    model: WhisperModel, audio: np.ndarray, span: TimeSpan, options: AsrOptions
) -> list[Word]:
    clip = audio[round(span.start * SAMPLE_RATE) : round(span.end * SAMPLE_RATE)]
    segments, _ = model.transcribe(
        clip,
        temperature=0.0,
        condition_on_previous_text=False,
        vad_filter=False,
        **_decoding_kwargs(model, options),
    )
    return [w for s in segments for w in _words(s.words or (), offset_s=span.start)]


def _sample_time(time_s: float) -> float:
    """`time_s` nudged to the middle of its sample: faster-whisper truncates seconds ×
    rate to a sample index, and a time a hair under a whole sample (203.123 s, or the
    same moment as 10.323 s into a chunk cut at 192.8 s) lost a sample. One sample's
    shift changed 5% of a chunk's words, so both must land on the same one."""
    return (round(time_s * SAMPLE_RATE) + 0.5) / SAMPLE_RATE


def _decoding_kwargs(model: WhisperModel, options: AsrOptions) -> dict[str, object]:
    suppressed = [-1, *_digit_token_ids(model)] if options.spell_out_numbers else [-1]
    return {
        "language": options.language,
        "beam_size": options.beam_size,
        "word_timestamps": True,  # always: finding unheard regions needs them
        "initial_prompt": options.initial_prompt,
        "hotwords": options.hotwords,
        "suppress_tokens": suppressed,
    }


@lru_cache(maxsize=4)
def _digit_token_ids(model: WhisperModel) -> tuple[int, ...]:
    tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language="ru")
    return tuple(
        token
        for token in range(tokenizer.eot)
        if any(ch.isdigit() for ch in tokenizer.decode([token]))
    )


def _words(
    recognised: Iterable[object],
    *,
    offset_s: float,
    repaired_from: dict[tuple[float, str], str] | None = None,
    alternatives: dict[tuple[float, str], tuple[str, ...]] | None = None,
) -> list[Word]:
    return [
        Word(
            start=round(w.start + offset_s, 3),  # type: ignore[attr-defined]
            end=round(w.end + offset_s, 3),  # type: ignore[attr-defined]
            word=w.word,  # type: ignore[attr-defined]
            probability=round(w.probability, 4),  # type: ignore[attr-defined]
            repaired_from=(repaired_from or {}).get((w.start, w.word)),  # type: ignore[attr-defined]
            alternatives=(alternatives or {}).get((w.start, w.word), ()),  # type: ignore[attr-defined]
        )
        for w in recognised
        if w.word.strip()  # type: ignore[attr-defined]
    ]


def _inside(item: Word | TimeSpan, span: TimeSpan) -> bool:
    return span.start <= (item.start + item.end) / 2 <= span.end


@dataclass(frozen=True)
class _Sentence:
    words: tuple[Word, ...]

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def text(self) -> str:
        return "".join(w.word for w in self.words).strip()


_SENTENCE_END = re.compile(r"[.!?…]+[»\"')]*$")


def _sentences(words: Sequence[Word], options: AsrOptions) -> list[_Sentence]:
    if not words:
        return []  # nothing recognised (a short cut of music or silence)
    sentences: list[_Sentence] = []
    current: list[Word] = []
    for word, following in zip(words, [*words[1:], None], strict=True):
        current.append(word)
        if (
            following is None
            or _SENTENCE_END.search(word.word.strip())
            or following.start - word.end >= options.segment_pause_s
            or following.end - current[0].start > options.max_segment_s
        ):
            sentences.append(_Sentence(tuple(current)))
            current = []
    return sentences


# Credits and sign-offs from subtitled video that Whisper "hears" in silence and music.
_PHANTOMS = re.compile(
    r"субтитр\w* (?:сделал|создавал|делал|подготовил|подогнал|редактировал)\w*(?: \w+){0,2}"
    r"|редактор субтитров(?: \w+){0,2}"
    r"|корректор(?: \w+){0,2}"
    r"|продолжение следует"
    r"|спасибо за просмотр"
    r"|подписывайтесь на (?:наш )?канал"
    r"|dimatorzok|диматорзок"
)


def is_phantom(text: str) -> bool:
    """True if `text` is a known phantom phrase, give or take one stray word."""
    normalised = word_key(text)
    if not _PHANTOMS.search(normalised):
        return False
    return len(_PHANTOMS.sub(" ", normalised).split()) <= 1


def collapse_loops(words: Sequence[Word]) -> list[Word]:
    """Keep one copy of a phrase Whisper repeats back to back (a decoding loop).

    Speakers do repeat themselves, so only runs of three copies of a 2-8 word
    phrase, or five of a single word, count as a loop.
    """
    keys = [word_key(w.word) for w in words]
    kept: list[Word] = []
    i = 0
    while i < len(words):
        for size in range(1, 9):
            copies = _copies_from(keys, i, size)
            if copies >= (5 if size == 1 else 3):
                kept.extend(words[i : i + size])
                i += size * copies
                break
        else:
            kept.append(words[i])
            i += 1
    return kept


def _copies_from(keys: Sequence[str], start: int, size: int) -> int:
    phrase = keys[start : start + size]
    if len(phrase) < size or not any(phrase):
        return 0
    copies = 1
    while keys[start + copies * size : start + (copies + 1) * size] == phrase:
        copies += 1
    return copies
