"""Word accuracy of efir's pipeline, older efirs and bare faster-whisper, in one run.

    .venv/bin/python bench/accuracy.py [--ref 9f52f2b,5647d96] [--readings 1,3]
        [--sets seed,second,news-dev,news-test,news-fresh,news-blind,news-held,read] [--cache DIR]

Per fixture it prints WER, CER and the non-word rate of:

* `ref-COMMIT` — the pipeline at each commit of `--ref` (comma-separated; default
  9f52f2b, before the word repair), extracted with `git archive` into a temporary folder
  and run in a process of its own;
* `efir`: this tree's pipeline, also in a child process (EFIR_* settings apply, e.g.
  EFIR_BEAM_SIZE=8 for a decoding experiment); with `--readings 1,3`, one `efir-rN`
  per value of EFIR_READINGS (the audio read N times and voted);
* bare faster-whisper: `BatchedInferencePipeline.transcribe` (beam 5, batch 8, VAD on,
  the fixture's glossary as prompt where it has one), same model files.

All variants run ASR only (no speaker stages) with the fixture's glossary where it has
one (the seed). The non-word rate is the share of recognised words pymorphy3 does not
know, leaving aside digits, glossary words and words the reference itself uses (names).

Fixtures: `seed`, `second`, the news development set (`fixtures/news/dev`, tuned on),
test set (`fixtures/news/test`, never tuned on, with a noisy variant), fresh test set
(`fixtures/news/fresh`, rendered once the first was used; never tuned on) and blind
test set (`fixtures/news/blind`, rendered after the readings vote was fixed), held-out
set (`fixtures/news/held`, rendered in session 12 to report on only), and `read`:
real recorded read speech, 12 utterances of the festvox-ru voice's own recordings
(Debian's festvox-ru ships them under /usr/share/festival), joined with 0.6 s pauses.
`--cache DIR` keeps the ref and bare transcripts between runs (same texts on rerun).
`sec` is wall time, `cpu` the process CPU time of the clip's transcription (an efir
child's first clip includes loading the model and word lists; bare's does not).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.scoring import cer, load_truth_text, non_word_rate, normalise, wer  # noqa: E402

FESTVOX_WAV = Path("/usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav")
FESTVOX_TEXT = FESTVOX_WAV.parent / "etc/txt.done.data"
SETS = ("seed", "second", "news-dev", "news-test", "news-fresh", "news-blind", "news-held", "read")

# Run in a child process whose PYTHONPATH is one tree of efir: transcribes every clip
# named on stdin with that tree's pipeline and writes {name: text} as JSON to stdout.
_CHILD = """
import json, sys
from dataclasses import replace
from efir.config import Settings
from worker.pipeline import pipeline_options_from_settings, run_pipeline
import time
request = json.load(sys.stdin)
texts, seconds, cpu = {}, {}, {}
for name, media, terms in request["clips"]:
    options = pipeline_options_from_settings(Settings(), glossary_terms=terms)
    started, started_cpu = time.perf_counter(), time.process_time()
    texts[name] = run_pipeline(media, replace(options, find_speakers=False)).transcript.text
    seconds[name] = time.perf_counter() - started
    cpu[name] = time.process_time() - started_cpu
json.dump({"texts": texts, "seconds": seconds, "cpu": cpu}, sys.stdout, ensure_ascii=False)
"""


@dataclass(frozen=True)
class Fixture:
    name: str
    media: Path
    reference: str
    glossary: tuple[str, ...] = ()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--ref", default="9f52f2b", help="commits to compare with, comma-separated ('' = none)"
    )
    parser.add_argument(
        "--readings", default="", help="EFIR_READINGS values of this tree, comma-separated"
    )
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--cache", type=Path, help="keep ref and bare transcripts here")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="efir-accuracy-"))
    fixtures = [f for s in args.sets.split(",") for f in _fixtures(s, workdir)]
    results: dict[str, dict[str, str]] = {}
    seconds: dict[str, dict[str, float]] = {}
    cpu: dict[str, dict[str, float]] = {}
    for commit in filter(None, args.ref.split(",")):
        tree = _extract(commit, workdir / f"ref-{commit}")
        key = f"ref-{commit}"
        results[key], seconds[key], cpu[key] = _cached(
            args.cache, key, fixtures, lambda todo, tree=tree: _run_tree(tree, todo)
        )
    for readings in args.readings.split(",") if args.readings else [""]:
        key = f"efir-r{readings}" if readings else "efir"
        environment = {"EFIR_READINGS": readings} if readings else {}
        results[key], seconds[key], cpu[key] = _run_tree(ROOT, fixtures, environment)
    results["bare"], seconds["bare"], cpu["bare"] = _cached(args.cache, "bare", fixtures, _run_bare)

    _print_table(fixtures, results, seconds, cpu)


def _fixtures(name: str, workdir: Path) -> list[Fixture]:
    if name in ("seed", "second"):
        folder = ROOT / "fixtures" / name
        glossary = folder / f"{name}.glossary"
        terms = (
            tuple(glossary.read_text(encoding="utf-8").splitlines()) if glossary.exists() else ()
        )
        return [Fixture(name, folder / f"{name}.wav", _truth(folder / f"{name}.truth.json"), terms)]
    if name in ("news-dev", "news-test", "news-fresh", "news-blind", "news-held"):
        folder = ROOT / "fixtures/news" / name.removeprefix("news-")
        return [
            Fixture(f"{name}/{wav.stem}", wav, _truth(wav.with_suffix(".truth.json")))
            for wav in sorted(folder.glob("*.wav"))
        ]
    if name == "read":
        return [_read_speech(workdir / "read.wav")]
    raise SystemExit(f"unknown set {name!r}; known: {', '.join(SETS)}")


def _truth(path: Path) -> str:
    return load_truth_text(path)


def _read_speech(wav_path: Path) -> Fixture:
    """Real recordings behind the kit's voice, joined into one clip with their texts."""
    if not FESTVOX_WAV.is_dir():
        raise SystemExit(f"{FESTVOX_WAV} missing: apt-get install festvox-ru")
    texts = dict(
        re.findall(r'\(\s*(ru_\d+)\s+"(.*)"\s*\)', FESTVOX_TEXT.read_text(encoding="utf-8"))
    )
    pause = np.zeros(int(0.6 * 16000), dtype=np.float32)
    pieces: list[np.ndarray] = []
    # Every 50th recording: a spread over the corpus, about two minutes.
    utterances = [path.stem for path in sorted(FESTVOX_WAV.glob("ru_*.wav"))[49::50]]
    for utterance in utterances:
        samples, rate = sf.read(FESTVOX_WAV / f"{utterance}.wav", dtype="float32")
        assert rate == 16000, rate
        pieces += [samples, pause]
    sf.write(wav_path, np.concatenate(pieces), 16000, subtype="PCM_16")
    reference = " ".join(texts[u].replace("+", "") for u in utterances)
    return Fixture("read (festvox-ru recordings)", wav_path, reference)


def _extract(commit: str, into: Path) -> Path:
    """The tree at `commit`, as files (no worktree, nothing changed in the repository)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


Timings = tuple[dict[str, str], dict[str, float], dict[str, float]]


def _run_tree(
    tree: Path, fixtures: list[Fixture], environment: dict[str, str] | None = None
) -> Timings:
    request = {"clips": [[f.name, str(f.media), list(f.glossary)] for f in fixtures]}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=tree,
        env={**os.environ, **(environment or {}), "PYTHONPATH": str(tree)},
    )
    if done.returncode:
        raise SystemExit(f"{tree} failed:\n{done.stderr[-3000:]}")
    answer = json.loads(done.stdout)
    return answer["texts"], answer["seconds"], answer.get("cpu", {})


def _run_bare(fixtures: list[Fixture]) -> Timings:
    from asr_speed import bare_transcribe

    from efir.config import Settings
    from efir.glossary import Glossary
    from worker.model_cache import get_whisper_model
    from worker.pipeline import pipeline_options_from_settings

    options = pipeline_options_from_settings(Settings())
    model = get_whisper_model(
        options.model_dir,
        device=options.device,
        compute_type=options.compute_type,
        cpu_threads=options.cpu_threads,
    )
    texts, seconds, cpu = {}, {}, {}
    for fixture in fixtures:
        started, started_cpu = time.perf_counter(), time.process_time()
        prompt = Glossary(fixture.glossary).prompt
        texts[fixture.name] = bare_transcribe(model, fixture.media, options.asr, prompt)
        seconds[fixture.name] = time.perf_counter() - started
        cpu[fixture.name] = time.process_time() - started_cpu
    return texts, seconds, cpu


def _cached(cache_dir, key, fixtures, run):  # type: ignore[no-untyped-def]
    path = cache_dir / f"{key}.json" if cache_dir else None
    stored = json.loads(path.read_text(encoding="utf-8")) if path and path.exists() else {}
    texts, seconds = stored.get("texts", {}), stored.get("seconds", {})
    cpu = stored.get("cpu", {})
    todo = [f for f in fixtures if f.name not in texts]
    if todo:
        new_texts, new_seconds, new_cpu = run(todo)
        texts.update(new_texts)
        seconds.update(new_seconds)
        cpu.update(new_cpu)
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            payload = {"texts": texts, "seconds": seconds, "cpu": cpu}
            path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return texts, seconds, cpu


def _print_table(
    fixtures: list[Fixture],
    results: dict[str, dict[str, str]],
    seconds: dict[str, dict[str, float]],
    cpu: dict[str, dict[str, float]],
) -> None:
    variants = list(results)
    print(
        f"{'fixture':34} {'variant':18} {'WER':>6} {'CER':>6} {'nonword':>8} {'sec':>6} {'cpu':>6}"
    )
    totals: dict[str, list[float]] = {v: [0, 0, 0, 0, 0, 0] for v in variants}
    for fixture in fixtures:
        ref_words = len(normalise(fixture.reference).split())
        for variant in variants:
            text = results[variant][fixture.name]
            w = wer(fixture.reference, text)
            c = cer(fixture.reference, text)
            n = non_word_rate(text, fixture.reference, fixture.glossary)
            s = seconds[variant].get(fixture.name, 0.0)
            p = cpu[variant].get(fixture.name, 0.0)
            print(f"{fixture.name:34} {variant:18} {w:6.3f} {c:6.3f} {n:8.3f} {s:6.1f} {p:6.1f}")
            t = totals[variant]
            hyp_words = len(normalise(text).split())
            t[0] += w * ref_words
            t[1] += ref_words
            t[2] += n * hyp_words
            t[3] += hyp_words
            t[4] += s
            t[5] += p
        print()
    print("all fixtures above, pooled (word-weighted; wrong reference words / all):")
    for variant, (errors, words, unknown, hyp_words, secs, cpus) in totals.items():
        print(
            f"{'':34} {variant:18} {errors / words:6.3f} {'':>6} "
            f"{unknown / max(hyp_words, 1):8.3f} {secs:6.1f} {cpus:6.1f} "
            f"{round(errors)}/{round(words)}"
        )
    print("\ntranscripts:")
    for fixture in fixtures:
        for variant in variants:
            print(f"[{fixture.name} | {variant}] {results[variant][fixture.name]}")


if __name__ == "__main__":
    main()
