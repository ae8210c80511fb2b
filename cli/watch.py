"""`efir watch DIR [DIR …] [--programme …] [--channel …] [--glossary FILE] [--exports srt,txt]`:
ingest the files a playout or MAM system drops into folders (efir/media/watch.py).

`efir serve` runs it for the folders in EFIR_WATCH_DIRS. Needs EFIR_REDIS_URL (the
workers' broker); stops cleanly on SIGINT/SIGTERM, and a kill loses nothing.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from efir.config import Settings

__all__ = ["add_watch_command", "watch_arguments"]


def add_watch_command(commands: Any) -> None:
    """Register `watch` on the `efir` sub-command parsers."""
    parser = commands.add_parser("watch", help="ingest files dropped into folders")
    parser.add_argument("folders", nargs="+", type=Path, metavar="DIR", help="folder to watch")
    parser.add_argument("--programme", help="programme of every clip taken")
    parser.add_argument("--channel", help="channel of every clip taken")
    parser.add_argument("--glossary", type=Path, help="names and places, one a line")
    parser.add_argument("--exports", default="", help="written next to each file, e.g. srt,txt")
    parser.add_argument(
        "--settle", type=float, help="seconds a file must stay unchanged (EFIR_WATCH_SETTLE_S)"
    )
    parser.add_argument(
        "--polling", action="store_true", help="poll instead of inotify (network shares)"
    )
    parser.set_defaults(command=_watch)


def watch_arguments(settings: Settings) -> list[str]:
    """The `efir watch` arguments for the folders EFIR_WATCH_* configure (for `efir serve`)."""
    folders = [part.strip() for part in settings.watch_dirs.split(",") if part.strip()]
    if not folders:
        return []
    arguments = ["watch", *folders, "--exports", settings.watch_exports]
    return [*arguments, "--polling"] if settings.watch_polling else arguments


def _watch(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.redis_url:
        print("efir watch: set EFIR_REDIS_URL (the workers' broker)", file=sys.stderr)
        return 2
    missing = [str(folder) for folder in args.folders if not folder.is_dir()]
    if missing:
        print(f"efir watch: no such folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    from efir.db import make_engine, make_session_factory, migrate
    from efir.glossary import Glossary
    from efir.jobs.queue import CeleryJobQueue, make_celery
    from efir.media.storage import make_storage
    from efir.media.watch import FolderWatcher, WatchOptions

    options = WatchOptions(
        programme=args.programme,
        channel=args.channel,
        glossary=Glossary.load(args.glossary).terms if args.glossary else (),
        exports=tuple(name.strip() for name in args.exports.split(",") if name.strip()),
        settle_s=args.settle or settings.watch_settle_s,
        polling=args.polling or settings.watch_polling,
    )
    migrate(settings.sqlalchemy_url)
    engine = make_engine(settings.sqlalchemy_url)
    stop = threading.Event()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stop.set())
    try:
        FolderWatcher(
            folders=[folder.resolve() for folder in args.folders],
            options=options,
            settings=settings,
            sessions=make_session_factory(engine),
            storage=make_storage(settings),
            queue=CeleryJobQueue(make_celery(settings), settings),
        ).run(stop)
    finally:
        engine.dispose()
    return 0
