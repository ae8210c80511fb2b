"""Captions as evidence for diarization: the picture says who speaks, the voice fills in.

A name caption on screen over speech says "this stretch is that person". The
diarizer's pass-2 clustering (worker/stages/diarize.py) takes that as constraints:

* stretches under one caption are one speaker (must-link), stretches under two
  different captions never are (cannot-link), so two close voices with their own
  captions stay apart;
* under one caption (a two-shot) the voice speaking when it was first seen is the
  captioned one; a clearly different voice there is somebody else: it may not take
  that name and, unless it is plainly an unnamed voice of the clip, is a speaker of
  its own (a short stretch with no pause from the captioned voice is that voice, but
  only "same voice");
* an uncaptioned stretch joins a captioned speaker only when its voice is clearly
  the same (`join_similarity`, stricter than the plain same-speaker threshold);
  otherwise it stays with the unnamed speakers (a role or «Голос» later);
* a caption appearing over a stretch that started well before it (the correspondent
  talking into the interviewee with no pause between) cuts that stretch at the
  strongest voice change in the seconds before the caption came up, and a first chunk
  of a plainly different voice is cut off any stretch running into a caption;
* speech after a caption went, or a short stretch in the captioned voice's run, keeps
  the name only as "same voice" (flagged when unsure), and none when it is plainly
  another voice.

Each segment leaves with how its speaker was decided and how sure that is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from efir.transcripts.model import SpeakerSource, Transcript
from efir.voices.registry import KnownVoice
from worker.stages.speaker_embedding import unit_rows

__all__ = [
    "CHECK_BELOW",
    "Anchor",
    "Decision",
    "EvidenceOptions",
    "caption_anchors",
    "caption_tails",
    "decide",
    "mark_checks",
    "split_at_captions",
]

# A named segment no caption was seen over, decided with less confidence than this
# (cosine to the captioned voice or to the registry voice), is flagged for an editor.
CHECK_BELOW = 0.95

Chunk = tuple[float, float, int]  # start s, end s, speech run


@dataclass(frozen=True)
class EvidenceOptions:
    # Captions come up 0-3 s after the person starts talking.
    caption_lead_s: float = 3.5
    # Sampled-caption span widened by this much when asking what speech it covers.
    caption_pad_s: float = 1.0
    # The caption was last seen at a sample and gone by the next (2 s later): speech
    # up to half that step after the last sighting still counts as under it.
    tail_after_s: float = 1.0
    # A tail, or a short stretch in the captioned voice's speech run, this far from the
    # caption-seen voice is somebody else (a two-shot partner), not the captioned
    # person unsure: the captioned persons' own scored 0.72-0.94 on seed and dev,
    # dev4's two-shot answers 0.37-0.49.
    other_voice_below: float = 0.6
    # A segment is under a caption when this much of it (or half of it) is.
    min_under_s: float = 0.8
    # Voice change score that cuts a segment at a caption's appearance (a long stretch
    # of one voice scores 0.1-0.2 between its parts).
    min_change: float = 0.15
    # The first chunk of a stretch running into a caption is split off below this
    # cosine to the rest of the stretch (see `_split_head`).
    head_similarity: float = 0.45
    # Cosine of segment means above which an uncaptioned stretch is the captioned
    # person; below it the stretch stays unnamed. On the dev clips a captioned
    # person's later uncaptioned turn scored 0.958 and a correspondent against a
    # close vox-pop up to 0.935; 0.96 already lost the former.
    join_similarity: float = 0.95
    # Two unnamed voices whose stretches follow each other across a pause shorter than
    # `adjacent_gap_s` merge from this lower bar: Whisper's pauses cut one turn into
    # 3-4 s pieces whose means the encoder scores 0.85-0.86 apart (dev1's anchor).
    adjacent_similarity: float = 0.82
    adjacent_gap_s: float = 1.0


@dataclass(frozen=True)
class Anchor:
    """What a caption says: the key (normalised name) and how it reads on screen."""

    key: str
    name: str
    title: str | None


@dataclass(frozen=True)
class Decision:
    labels: np.ndarray  # speaker label per segment
    anchors: dict[int, Anchor]  # label -> its caption, for captioned speakers
    sources: list[SpeakerSource | None]  # per segment; None = decided later (role, registry)
    confidence: np.ndarray  # per segment, 0..1


def split_at_captions(
    segments: Sequence[np.ndarray],
    vectors: np.ndarray,
    chunks: Sequence[Chunk],
    caption_starts: Sequence[float],
    options: EvidenceOptions,
) -> list[np.ndarray]:
    """Segments that began well before a caption came up, cut at the strongest voice
    change in the `caption_lead_s` before it (1 - cosine of the speech either side,
    up to ~5 s before and ~3 s after), when that clears `min_change`."""
    result = list(segments)
    for appeared in caption_starts:
        for index, members in enumerate(result):
            lo, hi = chunks[members[0]][0], chunks[members[-1]][1]
            if not lo < appeared - options.caption_lead_s < appeared < hi:
                continue
            best, best_score = None, options.min_change
            for k in range(1, len(members)):
                if not -options.caption_lead_s <= chunks[members[k]][0] - appeared <= 0.3:
                    continue
                before = unit_rows(vectors[members[max(0, k - 6) : k]].mean(axis=0))
                after = unit_rows(vectors[members[k : k + 4]].mean(axis=0))
                score = 1.0 - float(before @ after)
                if score > best_score:
                    best, best_score = k, score
            if best is not None:
                result[index : index + 1] = [members[:best], members[best:]]
            break
    for appeared in caption_starts:
        result = [
            part
            for members in result
            for part in _split_head(members, vectors, chunks, appeared, options)
        ]
    return result


def _split_head(
    members: np.ndarray,
    vectors: np.ndarray,
    chunks: Sequence[Chunk],
    appeared: float,
    options: EvidenceOptions,
) -> list[np.ndarray]:
    """A segment running into a caption's first sighting whose first chunk is plainly
    another voice (the previous speaker's last words, with no pause pass 1 cut at):
    that chunk split off. One chunk against the rest of its stretch scores 0.6-0.85
    for one voice on the seed and dev clips, 0.25-0.3 for such a head."""
    lo, hi = chunks[members[0]][0], chunks[members[-1]][1]
    if len(members) < 3 or not lo < appeared < hi + options.caption_pad_s:
        return [members]
    rest = unit_rows(vectors[members[1:]].mean(axis=0))
    if float(vectors[members[0]] @ rest) >= options.head_similarity:
        return [members]
    return [members[:1], members[1:]]


def caption_anchors(
    segments: Sequence[np.ndarray],
    chunks: Sequence[Chunk],
    captions: Sequence[tuple[float, float, Anchor]],
    options: EvidenceOptions,
) -> list[Anchor | None]:
    """The caption each segment sits under, if any (the one covering most of it)."""
    result: list[Anchor | None] = []
    for members in segments:
        lo, hi = chunks[members[0]][0], chunks[members[-1]][1]
        best, best_overlap = None, 0.0
        for start, end, anchor in captions:
            overlap = min(hi, end + options.caption_pad_s) - max(lo, start - options.caption_pad_s)
            if overlap >= min(options.min_under_s, (hi - lo) / 2) and overlap > best_overlap:
                best, best_overlap = anchor, overlap
        result.append(best)
    return result


def _tail_start(
    members: np.ndarray,
    chunks: Sequence[Chunk],
    key: str,
    captions: Sequence[tuple[float, float, Anchor]],
    options: EvidenceOptions,
) -> int | None:
    """The chunk (index into `members`) where a segment under the caption `key` runs on
    well past the caption's last sighting, if it does."""
    lo, hi = chunks[members[0]][0], chunks[members[-1]][1]
    went = max(
        (end for start, end, a in captions if a.key == key and start < hi and end > lo),
        default=hi,
    )
    after = went + options.tail_after_s
    if hi <= after + 1.0:
        return None
    return next((k for k in range(1, len(members)) if chunks[members[k]][0] >= after), None)


def caption_tails(
    decision: Decision,
    segments: Sequence[np.ndarray],
    vectors: np.ndarray,
    chunks: Sequence[Chunk],
    captions: Sequence[tuple[float, float, Anchor]],
    options: EvidenceOptions,
) -> tuple[list[np.ndarray], Decision]:
    """Captioned segments that run on well past their caption (it went before the person
    stopped), split where it went. The tail keeps the speaker (one stretch of one voice,
    as pass 1 found) but was not seen under the caption: it becomes "same voice" with
    the confidence of its voice against the caption-seen speech, so an unsure one is
    flagged, and it teaches the registry nothing. A tail plainly another voice
    (`other_voice_below`) is somebody else: an unnamed speaker of its own.

    Where the tail hands over to a close voice (a vox-pop, then the correspondent) is
    not looked for: it could not be told from the clip's known voices with this encoder
    (see bench/results/captions.txt); the flag covers it."""
    cuts: dict[int, int | None] = {}
    for i, members in enumerate(segments):
        if decision.sources[i] is SpeakerSource.CAPTION:
            key = decision.anchors[int(decision.labels[i])].key
            cuts[i] = _tail_start(members, chunks, key, captions, options)
    seen = [vectors[segments[i][:cut]].mean(axis=0) for i, cut in cuts.items()]
    seen_voice = (
        _label_centroids(unit_rows(np.stack(seen)), decision.labels[list(cuts)]) if seen else {}
    )
    out_segments: list[np.ndarray] = []
    labels: list[int] = []
    sources: list[SpeakerSource | None] = []
    confidence: list[float] = []
    new_label = int(decision.labels.max(initial=-1)) + 1
    for i, members in enumerate(segments):
        label, cut = int(decision.labels[i]), cuts.get(i)
        parts = [members] if cut is None else [members[:cut], members[cut:]]
        for n, part in enumerate(parts):
            out_segments.append(part)
            if n == 0:
                labels.append(label)
                sources.append(decision.sources[i])
                confidence.append(float(decision.confidence[i]))
                continue
            sure = float(unit_rows(vectors[part].mean(axis=0)) @ seen_voice[label])
            if sure >= options.other_voice_below:  # the tail: same voice, this sure
                labels.append(label)
                sources.append(SpeakerSource.VOICE)
                confidence.append(sure)
            else:
                labels.append(new_label)
                sources.append(None)
                confidence.append(1.0)
                new_label += 1
    return out_segments, Decision(
        labels=np.array(labels, dtype=int),
        anchors=decision.anchors,
        sources=sources,
        confidence=np.array(confidence),
    )


def _label_centroids(means: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """Per label, the unit mean of its rows of `means`."""
    return {
        int(label): unit_rows(means[labels == label].mean(axis=0)) for label in np.unique(labels)
    }


def decide(
    means: np.ndarray,
    durations: np.ndarray,
    anchors: Sequence[Anchor | None],
    *,
    seed_segment_s: float,
    same_speaker_similarity: float,
    min_speakers: int = 1,
    max_speakers: int = 12,
    options: EvidenceOptions | None = None,
    runs: Sequence[int] | None = None,
    spans: np.ndarray | None = None,
    first_seen: Mapping[str, float] | None = None,
) -> Decision:
    """Speakers for segments (unit mean d-vectors, seconds, caption anchors, and the
    speech run each lies in and its (start, end) seconds, if known, and when each
    caption was first seen).

    Captioned segments and long uncaptioned ones are clustered (average linkage over
    segment means) under the caption constraints; every other segment then takes the
    nearest speaker it may join."""
    options = options or EvidenceOptions()
    similarity = means @ means.T
    anchored, forbidden, continued = _anchor_groups(
        similarity,
        durations,
        anchors,
        same_speaker_similarity,
        runs=runs,
        short_s=seed_segment_s,
        other_voice_below=options.other_voice_below,
        at_sighting=_at_first_sighting(anchors, spans, first_seen or {}, options.caption_pad_s),
    )

    # Items: one per caption (its voice's segments), one per long free segment.
    items: list[list[int]] = [members for members in anchored.values()]
    item_key: list[str | None] = list(anchored)
    item_forbids: list[set[str]] = [set() for _ in items]
    placed = {i for members in items for i in members}
    for i in np.argsort(-durations):
        if int(i) not in placed and durations[i] >= seed_segment_s:
            items.append([int(i)])
            item_key.append(None)
            item_forbids.append(set(forbidden[int(i)]))
    if not items:
        items, item_key, item_forbids = [[int(np.argmax(durations))]], [None], [set()]
        item_forbids[0] = set(forbidden[items[0][0]])

    def linkage(a: int, b: int) -> float:
        return float(similarity[np.ix_(items[a], items[b])].mean())

    near = np.zeros_like(similarity, dtype=bool)
    if spans is not None:
        gaps = np.maximum(
            spans[:, None, 0] - spans[None, :, 1], spans[None, :, 0] - spans[:, None, 1]
        )
        near = gaps < options.adjacent_gap_s

    def adjacent(a: int, b: int) -> bool:
        return bool(near[np.ix_(items[a], items[b])].any())

    def allowed(a: int, b: int) -> float | None:
        """The bar a merge must clear, or None when the captions forbid it."""
        ka, kb = item_key[a], item_key[b]
        if ka is not None and kb is not None:
            return None
        key = ka or kb
        if key is not None:
            free = b if ka is not None else a
            return None if key in item_forbids[free] else options.join_similarity
        return options.adjacent_similarity if adjacent(a, b) else same_speaker_similarity

    while len(items) > 1:
        best: tuple[float, int, int] | None = None
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                bar = allowed(a, b)
                if bar is None:
                    continue
                score = linkage(a, b)
                enough = score >= bar or len(items) > max_speakers
                if enough and (best is None or score > best[0]):
                    best = (score, a, b)
        if best is None or len(items) <= min_speakers:
            break
        _, a, b = best
        items[a] += items[b]
        item_key[a] = item_key[a] or item_key[b]
        item_forbids[a] |= item_forbids[b]
        del items[b], item_key[b], item_forbids[b]

    return _assign(
        means, items, item_key, anchors, forbidden, continued, same_speaker_similarity, options
    )


def _anchor_groups(
    similarity: np.ndarray,
    durations: np.ndarray,
    anchors: Sequence[Anchor | None],
    same_speaker_similarity: float,
    *,
    runs: Sequence[int] | None,
    short_s: float,
    other_voice_below: float,
    at_sighting: np.ndarray,
) -> tuple[dict[str, list[int]], list[set[str]], set[int]]:
    """Per caption key, the segments of its voice; per segment, the keys it may not take;
    the segments that are the captioned voice by continuity alone.

    Under one caption the captioned person is the voice speaking when it was first seen
    (it comes up 0-3 s into their speech), or with most speech when that is a tie; a
    two-shot shows one caption over two people, and the second may talk longer under
    it (dev5: 2.8 s against the captioned doctor's 3.2 s, 0.6 s of the correspondent
    joined to the partner's stretch). A segment under it whose voice differs from
    that one's is somebody else. Except a short one in a speech run of that voice (no
    pause between) and not plainly another voice (`other_voice_below`): short stretches
    embed unreliably, and people answer each other after a pause. It keeps the name only
    as "same voice", so an unsure one is flagged."""
    continued: set[int] = set()
    forbidden: list[set[str]] = [set() for _ in anchors]
    groups: dict[str, list[int]] = {}
    keys = {a.key for a in anchors if a is not None}
    for key in sorted(keys):
        under = [i for i, a in enumerate(anchors) if a is not None and a.key == key]
        voices: list[list[int]] = []
        for i in sorted(under, key=lambda i: -durations[i]):
            best = max(
                voices,
                key=lambda v: float(similarity[i, v].mean()),
                default=None,
            )
            if best is not None and float(similarity[i, best].mean()) >= same_speaker_similarity:
                best.append(i)
            else:
                voices.append([i])
        main = max(voices, key=lambda v: (float(at_sighting[v].sum()), float(durations[v].sum())))
        main_runs = {runs[i] for i in main} if runs is not None else set()
        for voice in voices:
            if voice is main:
                continue
            for i in voice:
                close = float(similarity[i, main].mean()) >= other_voice_below
                if runs is not None and runs[i] in main_runs and durations[i] < short_s and close:
                    continued.add(i)
                else:
                    forbidden[i].add(key)
        groups[key] = main + sorted(continued & set(under))
    # A caption's voice may not take any other caption's name either.
    for key, members in groups.items():
        for i in members:
            forbidden[i] |= keys - {key}
    return groups, forbidden, continued


def _at_first_sighting(
    anchors: Sequence[Anchor | None],
    spans: np.ndarray | None,
    first_seen: Mapping[str, float],
    pad_s: float,
) -> np.ndarray:
    """Per segment, its seconds within `pad_s` of its caption's first sighting."""
    seconds = np.zeros(len(anchors))
    for i, anchor in enumerate(anchors):
        if anchor is not None and spans is not None and anchor.key in first_seen:
            seen = first_seen[anchor.key]
            lo, hi = spans[i]
            seconds[i] = max(0.0, min(hi, seen + pad_s) - max(lo, seen - pad_s))
    return seconds


def _assign(
    means: np.ndarray,
    items: list[list[int]],
    item_key: list[str | None],
    anchors: Sequence[Anchor | None],
    forbidden: list[set[str]],
    continued: set[int],
    same_speaker_similarity: float,
    options: EvidenceOptions,
) -> Decision:
    """Every segment to the nearest speaker it may join; the source and confidence of each.

    A segment under a caption whose voice is not the captioned one (the other person of
    a two-shot) is somebody on screen: unless its voice passes the plain same-speaker
    test against a speaker it may join, it is a speaker of its own."""
    n = len(means)
    items = [list(members) for members in items]
    item_key = list(item_key)
    centroids = unit_rows(np.stack([means[members].mean(axis=0) for members in items]))
    # What a captioned speaker's voice is: only its caption-seen segments.
    under = [a.key if a is not None else None for a in anchors]
    caption_centroids = {
        k: unit_rows(
            means[[i for i in items[k] if under[i] == key and i not in continued]].mean(axis=0)
        )
        for k, key in enumerate(item_key)
        if key is not None
    }
    labels = np.empty(n, dtype=int)
    for k, members in enumerate(items):
        labels[members] = k
    placed = {i for members in items for i in members}
    for i in range(n):
        if i in placed:
            continue
        scores = centroids @ means[i]
        choice = next(
            (
                int(k)
                for k in np.argsort(-scores)
                if item_key[int(k)] is None
                or (item_key[int(k)] not in forbidden[i] and scores[k] >= options.join_similarity)
            ),
            None,
        )
        anchor = anchors[i]
        on_screen = anchor is not None and anchor.key in forbidden[i]
        if choice is None or (
            on_screen and item_key[choice] is None and scores[choice] < same_speaker_similarity
        ):
            items.append([i])
            item_key.append(None)
            centroids = np.concatenate([centroids, means[i : i + 1]])
            choice = len(items) - 1
        labels[i] = choice

    by_key = {a.key: a for a in anchors if a is not None}
    sources: list[SpeakerSource | None] = []
    confidence = np.empty(n)
    for i in range(n):
        key = item_key[labels[i]]
        anchor = anchors[i]
        if key is not None and anchor is not None and anchor.key == key and i not in continued:
            sources.append(SpeakerSource.CAPTION)
            confidence[i] = 1.0
        elif key is not None:
            sources.append(SpeakerSource.VOICE)
            confidence[i] = float(caption_centroids[labels[i]] @ means[i])
        else:
            sources.append(None)
            confidence[i] = float(np.clip(centroids[labels[i]] @ means[i], 0.0, 1.0))
    return Decision(
        labels=labels,
        anchors={k: by_key[key] for k, key in enumerate(item_key) if key is not None},
        sources=sources,
        confidence=confidence,
    )


def mark_checks(
    transcript: Transcript,
    centroids: Mapping[str, np.ndarray],
    known_voices: Sequence[KnownVoice],
    *,
    threshold: float = CHECK_BELOW,
) -> Transcript:
    """Sources for segments the diarizer left open (registry voice or role guess), and
    `check` on every named segment nobody saw a caption over whose confidence is
    below `threshold`."""
    prints = {v.id: v.centroid for v in known_voices}
    segments = []
    for segment in transcript.segments:
        speaker = transcript.speaker(segment.speaker)
        source, confidence = segment.speaker_source, segment.speaker_confidence
        if source is None and speaker is not None:
            if speaker.voice_id in prints and speaker.id in centroids:
                source = SpeakerSource.REGISTRY
                confidence = float(unit_rows(prints[speaker.voice_id]) @ centroids[speaker.id])
            else:
                source = SpeakerSource.ROLE
        named = speaker is not None and bool(speaker.name)
        unsure = source in (SpeakerSource.VOICE, SpeakerSource.REGISTRY) and (
            confidence is None or confidence < threshold
        )
        segments.append(
            replace(
                segment,
                speaker_source=source,
                speaker_confidence=confidence,
                check=named and unsure,
            )
        )
    return replace(transcript, segments=tuple(segments))
