"""`efir cut CLIP_ID --start S --end E [--subtitles …] [--format …] --out FILE`: a quote cut
from a stored clip in this process, as the worker would (worker/stages/cut.py), no server
needed. A sidecar is written beside ``--out`` (same name, ``.srt``, ``.vtt`` or ``.ttml``)."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from efir.config import Settings
from efir.cuts.spec import (
    DEFAULT_HANDLE_S,
    SIDECAR_FORMATS,
    CutFormat,
    CutRequest,
    SubtitleMode,
)

__all__ = ["add_cut_command"]


def add_cut_command(commands: Any) -> None:
    """Register `cut` on the `efir` sub-command parsers."""
    parser = commands.add_parser("cut", help="cut a quote out of a stored clip")
    parser.add_argument("clip_id", help="the clip's id")
    parser.add_argument("--start", type=float, required=True, help="seconds; snapped to a word")
    parser.add_argument("--end", type=float, required=True, help="seconds; snapped to a word")
    parser.add_argument(
        "--subtitles", choices=[m.value for m in SubtitleMode], default=SubtitleMode.NONE.value
    )
    parser.add_argument("--format", choices=[f.value for f in CutFormat], default="mp4")
    parser.add_argument(
        "--sidecar", choices=SIDECAR_FORMATS, default="srt", help="format of sidecar subtitles"
    )
    parser.add_argument(
        "--handle", type=float, default=DEFAULT_HANDLE_S, help="seconds kept around the words"
    )
    parser.add_argument("--lower-third", action="store_true", help="the speaker's caption")
    parser.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="subtitle rule override, e.g. max_chars_per_line=32 (repeatable)",
    )
    parser.add_argument("--out", type=Path, required=True, help="the file to write")
    parser.set_defaults(command=run_cut_command)


def run_cut_command(args: argparse.Namespace, settings: Settings) -> int:
    from efir.cuts.jobs import require_media
    from efir.db import make_engine, make_session_factory, migrate
    from efir.media.analyses import load_shot_changes
    from efir.media.clips import get_clip
    from efir.media.storage import make_storage
    from efir.transcripts.model import Transcript
    from efir.transcripts.revisions import latest_revision
    from worker.stages.cut import render_cut

    try:
        rules = tuple((name, float(value)) for name, value in (r.split("=", 1) for r in args.rule))
    except ValueError:
        print("efir: --rule NAME=VALUE, VALUE a number", file=sys.stderr)
        return 2
    request = CutRequest(
        start_s=args.start,
        end_s=args.end,
        handle_s=args.handle,
        format=CutFormat(args.format),
        subtitles=SubtitleMode(args.subtitles),
        lower_third=args.lower_third,
        sidecar=args.sidecar,
        rules=rules,
    )
    migrate(settings.sqlalchemy_url)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            clip = get_clip(session, args.clip_id)
            require_media(clip, video=request.format.has_video)
            transcript = Transcript.from_dict(latest_revision(session, clip.id).data)
            media_key = clip.media_key
            shot_changes = load_shot_changes(session, clip.id) or ()
    finally:
        engine.dispose()
    storage = make_storage(settings)
    with storage.local_copy(media_key) as media, tempfile.TemporaryDirectory() as scratch:
        output = render_cut(media, transcript, request, Path(scratch), shot_changes=shot_changes)
        shutil.copyfile(output.media, args.out)
        if output.subtitles is not None:
            shutil.copyfile(output.subtitles, args.out.with_suffix(output.subtitles.suffix))
    summary = output.summary()
    print(
        f"{args.out}: {summary['in_s']:.2f}–{summary['out_s']:.2f} s of clip {args.clip_id}, "
        f"{summary['frames']} frames at {summary['fps']:g} fps",
        file=sys.stderr,
    )
    return 0
