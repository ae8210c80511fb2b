"""Who spoke when: speaker turns cut on word boundaries.

The ASR transcript says which speech has words; the audio says where the pauses
are (Silero VAD, which Whisper's word times blur). The method, tuned on the
synthetic seed voices where anchor and correspondent sound alike:

1. Speech runs are the VAD's speech regions that hold words, split at pauses of
   at least `pause_s`. Each run is cut into back-to-back chunks the length of the
   encoder's window (~0.8 s) and every chunk is embedded once.
2. Pass 1 over-clusters 1.6 s windows (adjacent chunk pairs) with
   average-linkage cosine into many small, pure groups, and cuts the speech
   into time-contiguous segments of one group. Splitting a speaker is harmless
   here; mixing two is what must not happen.
3. Pass 2 clusters only the segments long enough to trust (`seed_segment_s`),
   by the cosine of their mean embeddings, merging above
   `same_speaker_similarity`. Averaging a contiguous stretch of one voice is
   what separates close voices: on the seed, same-voice turns score 0.96-0.98
   and the closest different pair (anchor/correspondent) 0.77, whereas
   fragments picked out by clustering windows overlap (0.79-0.85), which is
   why a count estimated on windows (eigengap, silhouette) came out wrong.
   Two unnamed stretches either side of a short pause merge from a lower bar
   (`EvidenceOptions.adjacent_similarity`): one turn cut by Whisper's pauses.
   The min/max speaker hints clamp the count.
   Name captions seen on screen (worker/stages/captions.py) constrain this pass:
   see worker/stages/caption_evidence.py. Captioned speakers leave named.
4. Every segment takes its nearest speaker centroid it may join, every word the
   speaker of the chunks it overlaps, and runs shorter than `min_turn_s` between
   two stretches of one speaker are absorbed into it. Each output segment records
   how its speaker was decided (caption, same voice) and how sure that is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from faster_whisper.vad import VadOptions
from sklearn.cluster import AgglomerativeClustering

from efir.transcripts.model import Segment, Speaker, SpeakerRole, SpeakerSource, Transcript, Word
from worker.stages.asr import silero_speech
from worker.stages.caption_evidence import (
    Anchor,
    Decision,
    EvidenceOptions,
    caption_anchors,
    caption_tails,
    decide,
    split_at_captions,
)
from worker.stages.captions import CaptionSpan
from worker.stages.media import SAMPLE_RATE
from worker.stages.speaker_embedding import (
    SpeakerEmbedder,
    get_dvector_embedder,
    unit_rows,
)

__all__ = [
    "Diarization",
    "DiarizeOptions",
    "SpeechEmbeddings",
    "cluster_speakers",
    "diarize",
    "embed_speech",
]


@dataclass(frozen=True)
class DiarizeOptions:
    min_speakers: int = 1
    max_speakers: int = 12
    # The d-vector encoder sees 80 frames of 10 ms plus one FFT: 0.83 s of audio.
    window_s: float = 0.83
    step_s: float = 0.8
    # Where a run's chunk grid starts, from the run's start. Only the bench moves it: a
    # 0.1 s shift moves a dev clip's DER by up to 0.1 (bench/captions_bench.py
    # --grid-offsets), so one grid's figures are one draw.
    grid_offset_s: float = 0.0
    # Pauses at least this long in the audio end a speech run (turn changes sit in pauses).
    # Measured by the VAD, the kit's pauses between sentences of one speaker are 0.06-0.38 s
    # and between turns 0.26-1.09 s (seed and dev). Measured between Whisper's word times
    # they read 0.3-0.45 s and 0-1.04 s, and at 0.3 the second fixture's anchor and
    # interviewee fell into runs shorter than `seed_segment_s` and merged into the
    # correspondent (1 speaker, DER 0.46).
    pause_s: float = 0.5
    # Pass-1 groups: average-linkage cosine distance at which window merging stops.
    fragment_distance: float = 0.4
    seed_segment_s: float = 3.0
    same_speaker_similarity: float = 0.86
    min_turn_s: float = 1.0
    evidence: EvidenceOptions = field(default_factory=EvidenceOptions)


@dataclass(frozen=True)
class Diarization:
    transcript: Transcript
    # Speaker id → unit d-vector for the registry: a captioned speaker's caption-seen
    # speech only (never what clustering merged in), anyone else's whole speech.
    centroids: dict[str, np.ndarray] = field(default_factory=dict)
    # Speaker id → seconds of speech behind its centroid (the registry's weight).
    speech_s: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Unit:
    """A word, or a whole segment when the ASR gave no word times."""

    start: float
    end: float
    segment: int
    word: int | None


@dataclass(frozen=True)
class SpeechEmbeddings:
    """The d-vectors diarization clusters: one per ~0.8 s chunk of speech.

    Kept apart from the clustering so a long programme's chunks can each embed their
    own audio and the speakers still be clustered once, over the whole programme.
    """

    spans: np.ndarray  # (n, 2) start and end seconds of each embedded chunk
    runs: np.ndarray  # (n,) index of the speech run each chunk belongs to
    vectors: np.ndarray  # (n, dim) unit d-vectors

    @classmethod
    def empty(cls) -> SpeechEmbeddings:
        return cls(spans=np.zeros((0, 2)), runs=np.zeros(0, dtype=int), vectors=np.zeros((0, 0)))

    def shifted(self, offset_s: float) -> SpeechEmbeddings:
        """The same embeddings on a timeline starting `offset_s` earlier."""
        return replace(self, spans=self.spans + offset_s)

    @classmethod
    def concatenate(cls, parts: Sequence[SpeechEmbeddings]) -> SpeechEmbeddings:
        """Parts in time order, their speech runs kept apart."""
        parts = [part for part in parts if len(part.vectors)]
        if not parts:
            return cls.empty()
        runs, first_run = [], 0
        for part in parts:
            runs.append(part.runs + first_run)
            first_run += int(part.runs.max()) + 1
        return cls(
            spans=np.concatenate([p.spans for p in parts]),
            runs=np.concatenate(runs).astype(int),
            vectors=np.concatenate([p.vectors for p in parts]),
        )


def diarize(
    transcript: Transcript,
    audio: np.ndarray,
    *,
    options: DiarizeOptions | None = None,
    embedder: SpeakerEmbedder | None = None,
) -> Diarization:
    options = options or DiarizeOptions()
    embeddings = embed_speech(transcript, audio, options=options, embedder=embedder)
    return cluster_speakers(transcript, embeddings, options=options)


def embed_speech(
    transcript: Transcript,
    audio: np.ndarray,
    *,
    options: DiarizeOptions | None = None,
    embedder: SpeakerEmbedder | None = None,
) -> SpeechEmbeddings:
    """Step 1: the transcript's speech runs cut into encoder-sized chunks, each embedded."""
    options = options or DiarizeOptions()
    chunks = _chunk_spans(_speech_runs(_units(transcript), audio, options.pause_s), audio, options)
    if not chunks:
        return SpeechEmbeddings.empty()
    embedder = embedder or get_dvector_embedder()
    vectors = embedder.embed_batch([_slice(audio, start, end) for start, end, _ in chunks])
    return SpeechEmbeddings(
        spans=np.array([(start, end) for start, end, _ in chunks]),
        runs=np.array([run for _, _, run in chunks]),
        vectors=vectors,
    )


def cluster_speakers(
    transcript: Transcript,
    embeddings: SpeechEmbeddings,
    *,
    options: DiarizeOptions | None = None,
    captions: Sequence[CaptionSpan] = (),
) -> Diarization:
    """Steps 2-4: speakers from the embeddings, written onto the transcript's words, the
    `captions` seen on screen taken as evidence of who speaks."""
    options = options or DiarizeOptions()
    units = _units(transcript)
    if not units or not len(embeddings.vectors):
        return Diarization(transcript=replace(transcript, speakers=()))
    vectors, runs = embeddings.vectors, embeddings.runs
    chunks = [
        (float(start), float(end), int(run))
        for (start, end), run in zip(embeddings.spans, runs, strict=True)
    ]

    segments = _contiguous_segments(runs, _fragment_labels(vectors, runs, options))
    segments = split_at_captions(
        segments, vectors, chunks, [c.start for c in captions], options.evidence
    )
    spans = [(c.start, c.end, Anchor(c.key, c.name, c.title)) for c in captions]
    anchors = caption_anchors(segments, chunks, spans, options.evidence)
    decision = decide(
        unit_rows(np.stack([vectors[m].mean(axis=0) for m in segments])),
        np.array([chunks[m[-1]][1] - chunks[m[0]][0] for m in segments]),
        anchors,
        seed_segment_s=options.seed_segment_s,
        same_speaker_similarity=options.same_speaker_similarity,
        min_speakers=options.min_speakers,
        max_speakers=options.max_speakers,
        options=options.evidence,
        runs=[chunks[m[0]][2] for m in segments],
        spans=np.array([(chunks[m[0]][0], chunks[m[-1]][1]) for m in segments]),
        first_seen={c.key: min(s.start for s in captions if s.key == c.key) for c in captions},
    )
    segments, decision = caption_tails(decision, segments, vectors, chunks, spans, options.evidence)
    chunk_labels = np.empty(len(chunks), dtype=int)
    chunk_segment = np.empty(len(chunks), dtype=int)
    for index, members in enumerate(segments):
        chunk_labels[members] = decision.labels[index]
        chunk_segment[members] = index

    unit_labels = _smooth(units, _label_units(units, chunks, chunk_labels), options.min_turn_s)
    unit_labels = _absorb_fleeting(
        units,
        unit_labels,
        min_turn_s=options.min_turn_s,
        pause_s=options.pause_s,
        named=set(decision.anchors),
    )
    return _assemble(
        transcript,
        units,
        unit_labels,
        _Chunks(chunks, vectors, chunk_labels, chunk_segment),
        decision,
    )


@dataclass(frozen=True)
class _Chunks:
    spans: Sequence[tuple[float, float, int]]
    vectors: np.ndarray
    labels: np.ndarray  # speaker label per chunk
    segment: np.ndarray  # pass-2 segment per chunk


def _units(transcript: Transcript) -> list[_Unit]:
    units: list[_Unit] = []
    for index, segment in enumerate(transcript.segments):
        if segment.words:
            units.extend(
                _Unit(w.start, max(w.end, w.start), index, i) for i, w in enumerate(segment.words)
            )
        else:
            units.append(_Unit(segment.start, segment.end, index, None))
    return sorted(units, key=lambda u: (u.start, u.end))


def _speech_runs(
    units: Sequence[_Unit], audio: np.ndarray, pause_s: float
) -> list[tuple[float, float]]:
    """Stretches of speech between pauses of at least `pause_s`, the pauses measured in the
    audio (Silero VAD), not between word times: Whisper trims words before a pause and
    stretches a turn's last word over the pause into the next speaker. A VAD region holding
    no word is no run. A word outside every region but within `pause_s` of one (the VAD
    starts speech ~0.1 s late) takes its speaker from that run's chunks; words farther
    out (speech the VAD missed) form runs of their own."""
    runs = [r for r in _vad_regions(audio, pause_s) if any(_overlaps(u, r) for u in units)]
    near = [(lo - pause_s, hi + pause_s) for lo, hi in runs]
    missed: list[tuple[float, float]] = []
    for unit in units:
        if any(_overlaps(unit, span) for span in near):
            continue
        if missed and unit.start - missed[-1][1] < pause_s:
            missed[-1] = (missed[-1][0], max(missed[-1][1], unit.end))
        else:
            missed.append((unit.start, unit.end))
    return sorted([*runs, *missed])


def _overlaps(unit: _Unit, span: tuple[float, float]) -> bool:
    return unit.start < span[1] and unit.end > span[0]


def _vad_regions(audio: np.ndarray, pause_s: float) -> list[tuple[float, float]]:
    vad = VadOptions(min_silence_duration_ms=round(pause_s * 1000), speech_pad_ms=0)
    return [(span.start, span.end) for span in silero_speech(audio, vad)]


def _chunk_spans(
    runs: Sequence[tuple[float, float]], audio: np.ndarray, options: DiarizeOptions
) -> list[tuple[float, float, int]]:
    """(start, end, run index) of each embedded chunk, covering every run."""
    clip_end = len(audio) / SAMPLE_RATE
    window = options.window_s
    spans = []
    for index, (start, end) in enumerate(runs):
        if end - start <= window:
            middle = (start + end) / 2
            lo = min(max(0.0, middle - window / 2), max(0.0, clip_end - window))
            spans.append((lo, lo + window, index))
            continue
        first = max(0.0, start + options.grid_offset_s)
        starts = list(np.arange(first, end - window + 1e-6, options.step_s)) or [end - window]
        if end - (starts[-1] + window) > 0.3 * options.step_s:
            starts.append(end - window)
        spans.extend((float(s), float(s) + window, index) for s in starts)
    return spans


def _slice(audio: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    return audio[int(start_s * SAMPLE_RATE) : int(end_s * SAMPLE_RATE)]


def _fragment_labels(vectors: np.ndarray, runs: np.ndarray, options: DiarizeOptions) -> np.ndarray:
    """Pass 1: small pure groups of 1.6 s windows, projected back onto chunks."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    same_run = runs[1:] == runs[:-1]
    pairs = unit_rows(vectors[:-1] + vectors[1:])
    windows = np.where(same_run[:, None], pairs, vectors[:-1])
    windows = np.concatenate([windows, vectors[-1:]])
    labels = AgglomerativeClustering(
        n_clusters=None,
        metric="cosine",
        linkage="average",
        distance_threshold=options.fragment_distance,
    ).fit_predict(windows)
    return np.asarray(labels)


def _contiguous_segments(runs: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """Chunk index arrays: maximal stretches of one pass-1 label inside one speech run."""
    breaks = np.flatnonzero((runs[1:] != runs[:-1]) | (labels[1:] != labels[:-1])) + 1
    return np.split(np.arange(len(labels)), breaks)


def _label_units(
    units: Sequence[_Unit], chunks: Sequence[tuple[float, float, int]], chunk_labels: np.ndarray
) -> np.ndarray:
    """Each unit takes the speaker with most chunk overlap; the nearest chunk if none."""
    starts = np.array([c[0] for c in chunks])
    ends = np.array([c[1] for c in chunks])
    n_speakers = int(chunk_labels.max()) + 1
    labels = np.empty(len(units), dtype=int)
    for i, unit in enumerate(units):
        overlap = np.minimum(ends, unit.end) - np.maximum(starts, unit.start)
        if overlap.max() > 0:
            votes = np.bincount(
                chunk_labels, weights=np.clip(overlap, 0, None), minlength=n_speakers
            )
            labels[i] = int(np.argmax(votes))
        else:
            distance = np.abs((starts + ends) / 2 - (unit.start + unit.end) / 2)
            labels[i] = chunk_labels[int(np.argmin(distance))]
    return labels


def _smooth(units: Sequence[_Unit], labels: np.ndarray, min_turn_s: float) -> np.ndarray:
    """Absorb short flips: a run under `min_turn_s` between two runs of one speaker."""
    labels = labels.copy()
    changed = True
    while changed:
        changed = False
        bounds = np.flatnonzero(labels[1:] != labels[:-1]) + 1
        edges = [0, *bounds.tolist(), len(labels)]
        for k in range(1, len(edges) - 2):
            lo, hi = edges[k], edges[k + 1]
            before, after = labels[lo - 1], labels[hi]
            if before == after and units[hi - 1].end - units[lo].start < min_turn_s:
                labels[lo:hi] = before
                changed = True
                break
    return labels


def _absorb_fleeting(
    units: Sequence[_Unit],
    labels: np.ndarray,
    *,
    min_turn_s: float,
    pause_s: float,
    named: set[int],
) -> np.ndarray:
    """A speaker without a caption heard for under `min_turn_s` in the whole clip is a turn
    edge the encoder misread, not a person: each of its runs joins the speaker it runs
    into without a pause (the seed's «Сейчас», 0.7 s after an interviewee, was a sixth
    speaker). A run with speech on neither side within `pause_s` stays as it is."""
    labels = labels.copy()
    for label in sorted(set(labels.tolist()) - named):
        at = np.flatnonzero(labels == label).tolist()
        if sum(units[i].end - units[i].start for i in at) >= min_turn_s:
            continue
        breaks = np.flatnonzero(np.diff(at) > 1) + 1
        for run in np.split(at, breaks):
            lo, hi = int(run[0]), int(run[-1]) + 1
            gaps = []
            if lo > 0:
                gaps.append((units[lo].start - units[lo - 1].end, int(labels[lo - 1])))
            if hi < len(units):
                gaps.append((units[hi].start - units[hi - 1].end, int(labels[hi])))
            gap, neighbour = min(gaps, default=(pause_s, label))
            if gap < pause_s:
                labels[lo:hi] = neighbour
    return labels


def _assemble(
    transcript: Transcript,
    units: Sequence[_Unit],
    unit_labels: np.ndarray,
    chunks: _Chunks,
    decision: Decision,
) -> Diarization:
    order: list[int] = []
    for label in unit_labels:
        if label not in order:
            order.append(int(label))
    speaker_of = {label: f"S{i + 1}" for i, label in enumerate(order)}

    evidence = _unit_evidence(units, unit_labels, chunks, decision)
    by_position = {
        (u.segment, u.word): (speaker_of[int(k)], *e)
        for u, k, e in zip(units, unit_labels, evidence, strict=True)
    }
    segments = []
    for index, segment in enumerate(transcript.segments):
        segments.extend(_split_segment(segment, index, by_position))

    caption_seen = np.array([e[0] is SpeakerSource.CAPTION for e in evidence])
    centroids, speech_s = _speaker_prints(units, unit_labels, chunks, speaker_of, caption_seen)
    speakers = tuple(_speaker(speaker_of[label], decision.anchors.get(label)) for label in order)
    result = replace(transcript, segments=tuple(segments), speakers=speakers).renumbered()
    return Diarization(transcript=result, centroids=centroids, speech_s=speech_s)


def _speaker(speaker_id: str, anchor: Anchor | None) -> Speaker:
    if anchor is None:
        return Speaker(id=speaker_id)
    return Speaker(
        id=speaker_id, name=anchor.name, title=anchor.title, role=SpeakerRole.INTERVIEWEE
    )


def _unit_evidence(
    units: Sequence[_Unit], unit_labels: np.ndarray, chunks: _Chunks, decision: Decision
) -> list[tuple[SpeakerSource | None, float]]:
    """Per unit: the source and confidence of the segment whose chunks gave it its
    speaker. A unit smoothing moved onto another speaker has no such chunk: it keeps
    that speaker's kind of source at half confidence."""
    starts = np.array([c[0] for c in chunks.spans])
    ends = np.array([c[1] for c in chunks.spans])
    named = set(decision.anchors)
    result: list[tuple[SpeakerSource | None, float]] = []
    for unit, label in zip(units, unit_labels, strict=True):
        overlap = np.minimum(ends, unit.end) - np.maximum(starts, unit.start)
        overlap[chunks.labels != label] = 0
        if overlap.max() > 0:
            segment = int(chunks.segment[int(np.argmax(overlap))])
            result.append((decision.sources[segment], float(decision.confidence[segment])))
        else:
            result.append((SpeakerSource.VOICE if label in named else None, 0.5))
    return result


def _split_segment(
    segment: Segment,
    index: int,
    labels: dict[tuple[int, int | None], tuple[str, SpeakerSource | None, float]],
) -> list[Segment]:
    """The ASR segment cut where its words change speaker, or pass between speech a caption
    was seen over and speech that is only the same voice (different evidence: one may
    teach the registry and is never flagged, the other may be), each part with its
    evidence."""
    if not segment.words:
        speaker, source, confidence = labels[(index, None)]
        return [_decided(segment, speaker, [(source, confidence, 1.0)])]
    Group = tuple[tuple[str, bool], list[Word], list[tuple[SpeakerSource | None, float, float]]]
    groups: list[Group] = []
    for i, word in enumerate(segment.words):
        speaker, source, confidence = labels[(index, i)]
        key = (speaker, source is SpeakerSource.CAPTION)
        weight = max(word.end - word.start, 0.01)
        if groups and groups[-1][0] == key:
            groups[-1][1].append(word)
            groups[-1][2].append((source, confidence, weight))
        else:
            groups.append((key, [word], [(source, confidence, weight)]))
    if len(groups) == 1:
        return [_decided(segment, groups[0][0][0], groups[0][2])]
    return [
        _decided(
            replace(
                segment,
                start=words[0].start,
                end=words[-1].end,
                text="".join(w.word for w in words).strip(),
                words=tuple(words),
            ),
            speaker,
            evidence,
        )
        for (speaker, _), words, evidence in groups
    ]


def _decided(
    segment: Segment, speaker: str, evidence: Sequence[tuple[SpeakerSource | None, float, float]]
) -> Segment:
    """Majority source by time; confidence averaged over the words of that source."""
    weight: dict[SpeakerSource | None, float] = {}
    for source, _, w in evidence:
        weight[source] = weight.get(source, 0.0) + w
    source = max(weight, key=lambda s: weight[s])
    confidence = sum(c * w for s, c, w in evidence if s == source) / weight[source]
    return replace(
        segment, speaker=speaker, speaker_source=source, speaker_confidence=float(confidence)
    )


def _speaker_prints(
    units: Sequence[_Unit],
    unit_labels: np.ndarray,
    chunks: _Chunks,
    speaker_of: dict[int, str],
    caption_seen: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Centroid and speech time per final speaker, from the chunks its words fill; for a
    speaker with caption-seen words, from those words' chunks alone."""
    captioned = {int(k) for k in unit_labels[caption_seen]}
    # Units that teach their speaker's print: all of them, but only the caption-seen
    # ones for a captioned speaker.
    teaching = np.array(
        [seen or int(k) not in captioned for k, seen in zip(unit_labels, caption_seen, strict=True)]
    )
    starts = np.array([u.start for u in units])
    ends = np.array([u.end for u in units])
    members: dict[str, list[int]] = {}
    for i, (lo, hi, _) in enumerate(chunks.spans):
        overlap = np.clip(np.minimum(ends, hi) - np.maximum(starts, lo), 0, None)
        overlap[~teaching] = 0
        if overlap.max() <= 0:
            continue
        votes = np.bincount(unit_labels, weights=overlap)
        members.setdefault(speaker_of[int(np.argmax(votes))], []).append(i)
    centroids = {
        s: unit_rows(chunks.vectors[idx].mean(axis=0, keepdims=True))[0]
        for s, idx in members.items()
    }
    speech_s = {
        speaker_of[label]: float(
            sum(
                u.end - u.start
                for u, k, t in zip(units, unit_labels, teaching, strict=True)
                if k == label and t
            )
        )
        for label in speaker_of
    }
    return centroids, speech_s
