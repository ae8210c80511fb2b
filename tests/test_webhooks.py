"""Webhooks (issue 7): which callback URLs efir calls, how events are signed and retried,
and the whole path through the real parts — API with an API token, Redis, a Celery worker
running the model, a job ending done or failed, a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker
from support.service_support import (
    REPO_ROOT,
    SEED_DIR,
    SESSION_TOKEN,
    SettingsFactory,
    cut_seed,
    free_port,
    running_api,
    running_worker,
    session_factory,
)

from efir.accounts.users import create_token, create_user, get_user
from efir.config import Settings
from efir.db import AccountRole, Clip, JobState, WebhookDelivery
from efir.jobs.lifecycle import claim_job, create_job, fail_job, finish_job, get_job
from efir.jobs.queue import DELIVER_WEBHOOK_TASK, enqueue_job, make_celery, recover_lost_jobs
from efir.media.clips import record_clip
from efir.media.probe import probe_media
from efir.media.storage.base import LocalStorage, file_chunks
from efir.webhooks.delivery import (
    callback_url_for,
    deliver,
    retry_delay_s,
    sign,
    signing_secret,
    subscribe,
)
from efir.webhooks.urls import CallbackUnresolvedError, CallbackUrlError, is_public_address

SECRET_KEY = "webhook-test-" + secrets.token_hex(20)
EVENT_TIMEOUT_S = 240.0


def guide_verify() -> Any:
    """The API guide's verification snippet, run as a receiver would copy it."""
    guide = (REPO_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(.*?def verify\(.*?)```", guide, re.DOTALL)
    assert snippet, "docs/api.md has no webhook verification snippet"
    assert len([line for line in snippet.group(1).splitlines() if line.strip()]) <= 6
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)
    return namespace["verify"]


# ---- which URLs ---------------------------------------------------------------------------

ALLOWED = "hooks.example.org, 127.0.0.1:8099, *.newsroom.example, 169.254.169.254, [::1]:9000"
# What DNS would answer for the names below (tests never need the network); "localhost"
# is resolved for real, by the operating system.
ANSWERS = {
    "hooks.example.org": ["93.184.215.14"],
    "cms.newsroom.example": ["93.184.215.15"],
    "intranet.newsroom.example": ["10.0.0.7"],
    "meta.newsroom.example": ["169.254.169.254"],
    "mixed.newsroom.example": ["93.184.215.16", "127.0.0.1"],
    "mapped.newsroom.example": ["::ffff:127.0.0.1"],
}


def table_resolver(host: str, port: int) -> list[str]:
    if host in ANSWERS:
        return ANSWERS[host]
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("https://hooks.example.org/efir", None),
        ("http://hooks.example.org:8443/efir?x=1", None),  # a host entry allows any port
        ("https://HOOKS.example.org/efir", None),
        ("http://127.0.0.1:8099/hook", None),  # named exactly: loopback is the operator's call
        ("http://169.254.169.254/latest/meta-data/", None),  # the same, however unwise
        ("http://[::1]:9000/hook", None),
        ("https://cms.newsroom.example/hook", None),  # wildcard, public address
        ("http://127.0.0.1:8098/hook", "allow-list"),  # another port
        ("https://evil.example.org/", "allow-list"),
        ("https://hooks.example.org.evil.com/", "allow-list"),
        ("https://newsroom.example/", "allow-list"),  # *.domain is its subdomains only
        ("http://10.0.0.1/", "allow-list"),
        ("http://2130706433/", "allow-list"),  # 127.0.0.1 as one number
        ("http://[::ffff:127.0.0.1]:8099/", "allow-list"),
        ("https://intranet.newsroom.example/", "non-public address 10.0.0.7"),
        ("https://meta.newsroom.example/", "non-public address 169.254.169.254"),
        ("https://mixed.newsroom.example/", "non-public address 127.0.0.1"),
        ("https://mapped.newsroom.example/", "non-public address ::ffff:127.0.0.1"),
        ("https://gone.newsroom.example/", "does not resolve"),
        ("ftp://hooks.example.org/", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("hooks.example.org/efir", "http:// or https://"),
        ("https://user:pw@hooks.example.org/", "user name or password"),
        ("https://hooks.example.org/" + "x" * 2000, "http:// or https://"),
    ],
)
def test_callback_urls_are_admitted_only_by_the_rules(url: str, refusal: str | None) -> None:
    settings = Settings(webhook_allowed_hosts=ALLOWED, secret_key=SECRET_KEY)
    if refusal is None:
        assert callback_url_for(url, settings, resolve=table_resolver).startswith("http")
        return
    with pytest.raises(CallbackUrlError, match=re.escape(refusal)) as refused:
        callback_url_for(url, settings, resolve=table_resolver)
    assert re.search("[а-яА-Я]", str(refused.value)), "the message is Russian, then English"
    assert isinstance(refused.value, CallbackUnresolvedError) == (refusal == "does not resolve")


def test_an_exact_name_resolves_for_real_and_may_be_loopback() -> None:
    settings = Settings(webhook_allowed_hosts="localhost:8099", secret_key=SECRET_KEY)
    assert callback_url_for("http://localhost:8099/hook", settings) == "http://localhost:8099/hook"


@pytest.mark.parametrize(
    ("allowed", "secret_key", "refusal"),
    [
        ("", SECRET_KEY, "Webhooks are disabled"),
        ("127.0.0.1:8099", None, "need EFIR_SECRET_KEY"),
        ("127.0.0.1:8099, hooks/path", SECRET_KEY, "'hooks/path' is not host or host:port"),
    ],
)
def test_webhooks_need_an_allow_list_and_a_secret_key(
    allowed: str, secret_key: str | None, refusal: str
) -> None:
    settings = Settings(webhook_allowed_hosts=allowed, secret_key=secret_key)
    with pytest.raises(CallbackUrlError, match=re.escape(refusal)):
        callback_url_for("http://127.0.0.1:8099/hook", settings)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("0.0.0.0", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),  # AWS metadata over IPv6
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("2002:a00:1::", False),  # 6to4 of 10.0.0.1
        ("::a9fe:a9fe", False),  # IPv4-compatible form of 169.254.169.254
        ("64:ff9b:1::a9fe:a9fe", False),  # local-use NAT64 prefix
        ("fec0::1", False),  # site-local
        ("2001::1", False),  # Teredo
        ("::ffff:93.184.215.14", True),
        ("::5db8:d70e", True),  # IPv4-compatible form of a public address
        ("2606:4700::6810:84e5", True),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


# ---- signing and backoff ------------------------------------------------------------------


def test_secrets_are_per_token_and_the_guides_snippet_verifies_a_signature() -> None:
    local, token_7 = signing_secret(SECRET_KEY, None), signing_secret(SECRET_KEY, 7)
    assert local == hmac.new(SECRET_KEY.encode(), b"webhook:local", hashlib.sha256).hexdigest()
    assert token_7 == hmac.new(SECRET_KEY.encode(), b"webhook:7", hashlib.sha256).hexdigest()
    assert len({local, token_7, signing_secret(SECRET_KEY, 8)}) == 3
    verify = guide_verify()
    body = json.dumps({"event": "job.done", "clip_id": "клип"}, ensure_ascii=False).encode()
    now = int(time.time())
    headers = {"X-Efir-Timestamp": str(now), "X-Efir-Signature": sign(token_7, now, body)}
    assert verify(token_7, headers, body)
    assert not verify(token_7, headers, body.replace("клип".encode(), b"clip"))
    assert not verify(local, headers, body)
    hour_ago = now - 3600
    replayed = {
        "X-Efir-Timestamp": str(hour_ago),
        "X-Efir-Signature": sign(token_7, hour_ago, body),
    }
    assert not verify(token_7, replayed, body)


def test_retries_back_off_from_seconds_to_an_hour() -> None:
    assert [retry_delay_s(attempt, 10.0) for attempt in range(1, 8)] == [
        10.0, 30.0, 120.0, 600.0, 3600.0, 3600.0, 3600.0,
    ]  # fmt: skip
    assert retry_delay_s(2, 0.05) == pytest.approx(0.15)


# ---- a real receiver ----------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers each path with its
    scripted statuses in turn (200 once the script runs out)."""

    port: int
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *statuses: int) -> str:
        self.scripts[path].extend(statuses)
        return self.url(path)

    def received(self, path: str, count: int, timeout_s: float = EVENT_TIMEOUT_S) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [request for request in self.requests if request.path == path]
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{path}: {len(found)} of {count} requests in {timeout_s:.0f} s")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            script = state.scripts[self.path]
            status = script.popleft() if script else 200
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", state.url("/redirected"))
            answer = f"ответ {status}".encode()
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def ended_job_with_callback(
    sessions: sessionmaker[Session], url: str, *, state: JobState = JobState.DONE
) -> str:
    """A clip with a callback whose job has just ended; returns the delivery id."""
    with sessions() as session:
        clip = Clip(sha256="d" * 64, original_filename="вечер.mp4", media_key="k", size_bytes=1)
        session.add(clip)
        session.flush()
        subscribe(session, clip_id=clip.id, url=url, token_id=None)
        job = create_job(session, clip_id=clip.id)
        claim_job(session, job.id)
        if state is JobState.DONE:
            finish_job(session, job.id)
        else:
            fail_job(session, job.id, "Файл повреждён. The file is damaged.")
        delivery = session.query(WebhookDelivery).filter_by(job_id=job.id).one()
        return delivery.id


def test_deliveries_retry_5xx_and_network_errors_and_give_up_on_the_rest(
    database_url: str, receiver: Receiver
) -> None:
    sessions = session_factory(database_url)
    closed_port = free_port()  # allow-listed, nobody listening
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        webhook_allowed_hosts=f"127.0.0.1:{receiver.port}, 127.0.0.1:{closed_port}",
        webhook_retry_delay_s=0.01,
        webhook_max_attempts=3,
    )

    def run_out(delivery_id: str) -> WebhookDelivery:
        with sessions() as session:
            while deliver(session, delivery_id, settings=settings) is not None:
                time.sleep(0.02)
            return session.get(WebhookDelivery, delivery_id, populate_existing=True)  # type: ignore[return-value]

    flaky = run_out(ended_job_with_callback(sessions, receiver.script("/flaky", 503, 429)))
    assert (flaky.state, flaky.attempt, flaky.status_code) == ("delivered", 3, 200)
    assert [a["status_code"] for a in flaky.attempts_log] == [503, 429, 200]
    assert flaky.attempts_log[0]["response_excerpt"] == "ответ 503"
    assert flaky.delivered_at is not None and flaky.next_attempt_at is None

    down = run_out(ended_job_with_callback(sessions, receiver.script("/down", 500, 500, 500)))
    assert (down.state, down.attempt, down.error) == ("failed", 3, "HTTP 500")

    gone = run_out(ended_job_with_callback(sessions, receiver.script("/gone", 404)))
    assert (gone.state, gone.attempt, gone.error) == ("failed", 1, "HTTP 404")

    moved = run_out(ended_job_with_callback(sessions, receiver.script("/moved", 302)))
    assert (moved.state, moved.attempt) == ("failed", 1)
    assert moved.error is not None and "redirects are not followed" in moved.error
    assert not [request for request in receiver.requests if request.path == "/redirected"]

    unreachable = f"http://127.0.0.1:{closed_port}/x"
    nobody = run_out(ended_job_with_callback(sessions, unreachable, state=JobState.FAILED))
    assert (nobody.state, nobody.attempt) == ("failed", 3)
    assert all("ConnectError" in a["error"] for a in nobody.attempts_log)

    # The allow-list changed after the callback was set: refused at delivery, not sent.
    delivery_id = ended_job_with_callback(sessions, receiver.url("/delisted"))
    settings = settings.model_copy(update={"webhook_allowed_hosts": "cms.example.org"})
    delisted = run_out(delivery_id)
    assert (delisted.state, delisted.attempt) == ("failed", 1)
    assert delisted.error is not None and delisted.error.startswith("refused: ")
    assert not [request for request in receiver.requests if request.path == "/delisted"]


def test_the_recovery_sweep_resends_deliveries_the_broker_lost(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, receiver: Receiver
) -> None:
    settings = make_settings(
        redis_url=redis_url,
        queue_name=queue_name,
        secret_key=SECRET_KEY,
        webhook_allowed_hosts=f"127.0.0.1:{receiver.port}",
    )
    sessions = session_factory(settings.sqlalchemy_url)
    never_sent = ended_job_with_callback(sessions, receiver.url("/lost"))
    stuck = ended_job_with_callback(sessions, receiver.url("/stuck"))
    with sessions() as session:
        # A worker claimed it, then died mid-attempt ten minutes ago.
        claimed = session.get(WebhookDelivery, stuck)
        assert claimed is not None and claimed.next_attempt_at is not None
        ten_minutes_ago = claimed.next_attempt_at - timedelta(minutes=10)
        claimed.claimed_at = claimed.next_attempt_at = ten_minutes_ago
        session.commit()
    client = redis.Redis.from_url(redis_url)
    urgent = f"{queue_name}.urgent"
    try:
        recover_lost_jobs(settings, sessions, make_celery(settings), queued_for_s=0)
        messages = [json.loads(raw) for raw in client.lrange(urgent, 0, -1)]
    finally:
        client.delete(urgent)
    sent = {
        json.loads(base64.b64decode(message["body"]))[0][0]
        for message in messages
        if message["headers"]["task"] == DELIVER_WEBHOOK_TASK
    }
    assert sent == {never_sent, stuck}


# ---- end to end ---------------------------------------------------------------------------


@dataclass
class WebhookService:
    client: httpx.Client
    settings: Settings
    sessions: sessionmaker[Session]
    token_id: int
    log: Path


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, receiver: Receiver
) -> Iterator[WebhookService]:
    """Production mode (a real API token), the real API, one real worker for the module."""
    directory = tmp_path_factory.mktemp("webhooks")
    queue = f"efir-test-{SESSION_TOKEN}-webhooks"
    settings = Settings(
        data_dir=directory / "data",
        database_url=f"sqlite:///{directory / 'efir.sqlite3'}",
        cpu_threads=1,
        redis_url=redis_url,
        queue_name=queue,
        environment="production",
        secret_key=SECRET_KEY,
        webhook_allowed_hosts=f"127.0.0.1:{receiver.port}",
        webhook_retry_delay_s=0.2,
        webhook_max_attempts=3,
        public_url="https://efir.example.org",
    )
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        password = "выпускающий-редактор-2026"
        create_user(session=session, username="chief", password=password, role=AccountRole.ADMIN)
        desk = create_user(
            session=session, username="desk", password=password, role=AccountRole.EDITOR
        )
        token, secret = create_token(session=session, user=desk, name="cms")
    headers = {"Authorization": f"Bearer {secret}"}
    log = directory / "worker.log"
    try:
        with (
            running_api(settings) as base_url,
            httpx.Client(base_url=base_url, headers=headers, timeout=60) as client,
            running_worker(settings, log),
        ):
            yield WebhookService(client, settings, sessions, token.id, log)
    finally:
        keys = [f"{queue}{suffix}" for suffix in ("", ".urgent", ".bulk")]
        redis.Redis.from_url(redis_url).delete(*keys)


def wait_for_end(service: WebhookService, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while time.monotonic() < deadline:
        job: dict[str, Any] = service.client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end:\n{service.log.read_text()[-3000:]}")


def test_a_done_job_is_announced_signed_after_a_500_and_logged(
    service: WebhookService, receiver: Receiver, tmp_path: Path
) -> None:
    clip = cut_seed(tmp_path / "anchor.mp4", start_s=3.0, duration_s=4.0)
    callback = receiver.script("/newsroom/done", 500)
    with clip.open("rb") as media:
        answer = service.client.post(
            "/api/v1/clips",
            files={"file": (clip.name, media)},
            data={"title": "Вечерние новости", "callback_url": callback},
        )
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert wait_for_end(service, job["id"])["state"] == "done"
    first, second = receiver.received("/newsroom/done", 2)
    assert first.body == second.body
    event = json.loads(second.body)
    assert event == {
        "event": "job.done",
        "job_id": job["id"],
        "clip_id": job["clip_id"],
        "state": "done",
        "error": None,
        "transcript_url": f"https://efir.example.org/api/v1/transcripts/{job['clip_id']}",
        "occurred_at": event["occurred_at"],
        "delivery_id": second.headers["X-Efir-Delivery"],
    }
    assert first.headers["X-Efir-Delivery"] == second.headers["X-Efir-Delivery"]
    secret = service.client.get("/api/v1/webhooks/secret").json()
    assert secret == {
        "token_id": service.token_id,
        "secret": signing_secret(SECRET_KEY, service.token_id),
    }
    verify = guide_verify()
    assert verify(secret["secret"], second.headers, second.body)
    assert not verify(signing_secret(SECRET_KEY, None), second.headers, second.body)

    log = _webhook_log(service, job["clip_id"])
    assert log["subscription"]["url"] == callback
    assert log["subscription"]["token_id"] == service.token_id
    (delivery,) = log["deliveries"]
    assert delivery["delivery_id"] == event["delivery_id"]
    assert (delivery["state"], delivery["attempt"]) == ("delivered", 2)
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
    assert delivery["attempts"][0]["error"] == "HTTP 500"
    assert delivery["attempts"][1]["started_at"] >= delivery["attempts"][0]["finished_at"]


def test_a_failed_job_and_its_retry_each_send_job_failed_with_the_reason(
    service: WebhookService, receiver: Receiver
) -> None:
    media = SEED_DIR / "seed.wav"
    storage = LocalStorage(service.settings.media_dir)
    stored = storage.put_stream(file_chunks(media), max_bytes=10**9)
    with service.sessions() as session:
        # The token's owner uploaded it: a clip's webhook is its uploader's to set.
        clip = record_clip(
            session,
            stored=stored,
            summary=probe_media(media),
            filename=media.name,
            uploaded_by_user_id=get_user(session=session, username="desk").id,
        )
        session.commit()
    callback = receiver.url("/newsroom/failed")
    answer = service.client.put(f"/api/v1/clips/{clip.id}/webhook", json={"url": callback})
    assert answer.status_code == 200, answer.text
    with service.sessions() as session:
        job = create_job(session, clip_id=clip.id)
    storage.delete(stored.key)  # an operator cleaned the media volume: the worker fails it
    enqueue_job(make_celery(service.settings), service.settings, job.id)
    ended = wait_for_end(service, job.id)
    assert ended["state"] == "failed" and "Media file missing" in ended["error"]
    (first,) = receiver.received("/newsroom/failed", 1)
    event = json.loads(first.body)
    assert (event["event"], event["state"], event["job_id"]) == ("job.failed", "failed", job.id)
    assert event["error"] == ended["error"] and event["transcript_url"] is None

    assert service.client.post(f"/api/v1/jobs/{job.id}/retry").status_code == 202
    assert wait_for_end(service, job.id)["state"] == "failed"
    _, again = receiver.received("/newsroom/failed", 2)
    assert json.loads(again.body)["delivery_id"] != event["delivery_id"]
    with service.sessions() as session:
        assert get_job(session, job.id).attempts == 2
    log = _webhook_log(service, clip.id)
    assert [d["state"] for d in log["deliveries"]] == ["delivered", "delivered"]


def test_uploads_refuse_callbacks_efir_may_not_call(service: WebhookService) -> None:
    metadata_answer = service.client.post(
        "/api/v1/uploads",
        json={
            "filename": "news.mp4",
            "size": 1000,
            "metadata": {"callback_url": "http://169.254.169.254/latest/meta-data/"},
        },
    )
    assert metadata_answer.status_code == 400
    assert "allow-list" in metadata_answer.json()["detail"]
    form_answer = service.client.post(
        "/api/v1/clips",
        files={"file": ("news.wav", (SEED_DIR / "seed.wav").read_bytes()[:4096])},
        data={"callback_url": "ftp://127.0.0.1/hook"},
    )
    assert form_answer.status_code == 400
    assert "http:// or https://" in form_answer.json()["detail"]
    missing_clip = service.client.put(
        "/api/v1/clips/nope/webhook", json={"url": f"{service.settings.public_url}/x"}
    )
    assert missing_clip.status_code == 400  # the URL is checked first: not allow-listed


def _webhook_log(service: WebhookService, clip_id: str) -> dict[str, Any]:
    answer = service.client.get(f"/api/v1/clips/{clip_id}/webhooks")
    assert answer.status_code == 200, answer.text
    log: dict[str, Any] = answer.json()
    return log
