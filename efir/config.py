"""Settings in one place: the only reader of EFIR_* environment variables.

Stages never read settings; they take option records built from these.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import Field, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="EFIR_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    environment: Literal["local", "production"] = "local"

    # Where uploads, derived audio and the embedded SQLite database live.
    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("efir")))
    # SQLAlchemy URL; empty means SQLite inside data_dir.
    database_url: str | None = None
    # Celery broker; empty means `efir serve` starts an embedded Redis it owns.
    redis_url: str | None = None
    # Celery queue the API sends to and workers consume; distinct names let
    # several efir installations (or parallel test runs) share one Redis.
    queue_name: str = "efir"

    # A CTranslate2 Whisper model directory (model.bin, config.json, tokenizer.json,
    # vocabulary.*). Empty means the bundled faster-whisper-base, assembled into cache_dir.
    model_dir: Path | None = None
    cache_dir: Path = Field(default_factory=lambda: Path(user_cache_dir("efir")))
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: str = "int8"
    # One thread per worker process: on a contended 2-core box two threads ran 8x slower.
    cpu_threads: int = 1
    # ASR windows decoded at once; unset: one on a CPU (same words; never more CPU than 8,
    # 20-30% less on a busy box), 8 on a GPU, which wants them together.
    batch_size: int | None = Field(default=None, ge=1)
    beam_size: int = 5
    language: str | None = "ru"
    # Readings of the audio voted word by word: 1 decodes once; 2 adds one at tempo 0.9,
    # 3 also one at 1.1, for fewer wrong words at two or three times the ASR time
    # (docs/performance.md).
    readings: int = Field(default=1, ge=1, le=3)

    # Where media lives: `local` is media_dir on this disk; `s3` is a bucket that API and
    # workers on different hosts share (credentials: the usual AWS_* variables).
    storage: Literal["local", "s3"] = "local"
    # Empty means AWS itself; MinIO and other S3-compatible stores give their URL.
    s3_endpoint_url: str | None = None
    s3_bucket: str = "efir"
    s3_region: str = "us-east-1"

    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_bytes: int = 4 * 1024**3
    max_duration_s: float = 6 * 3600.0
    # Long-programme mode: media longer than this is cut at silences into chunks of about
    # chunk_seconds, transcribed in parallel by any free workers (worker/chunked.py).
    chunked_above_s: float = 1200.0
    chunk_seconds: float = 480.0
    # "text" for people at a terminal; "json" (one object a line) for log shippers.
    log_format: Literal["text", "json"] = "text"

    # Webhooks (efir/webhooks/delivery.py): the hosts a clip's callback URL may name,
    # comma-separated `host`, `host:port` or `*.domain` entries; empty turns webhooks off.
    webhook_allowed_hosts: str = ""
    webhook_max_attempts: int = Field(default=6, ge=1)
    # The wait before the first retry; later waits are 3, 12, 60 and 360 times it.
    webhook_retry_delay_s: float = Field(default=10.0, gt=0)
    # Where newsroom systems reach efir, for the links in webhook events; empty means
    # http://host:port.
    public_url: str | None = None
    # Delete uploaded media this many days after upload, keeping transcripts and search
    # (the API's minute sweep does it, with an audit record); unset keeps media for ever.
    media_retention_days: int | None = Field(default=None, ge=1)

    # Accounts and limits (efir/accounts/users.py, api/auth.py). `local` mode has no login and
    # serves loopback only; `production` requires an admin account and this secret, from
    # which per-purpose keys are derived (HMAC), e.g. webhook signing secrets.
    secret_key: str | None = None
    # A browser sign-in lasts one long shift; signing in again is cheap.
    session_ttl_s: float = 12 * 3600.0
    # After this many wrong passwords for one username from one address, that pair is
    # locked for login_lockout_s (a correct password does not get through meanwhile).
    login_max_failures: int = 5
    login_lockout_s: float = 15 * 60.0
    # Login attempts per minute, right or wrong, before any password is hashed: from one
    # address (a 64 MiB argon2 hash each), and for one username from all addresses (guesses
    # spread over many addresses). Per API process, like the request rates below.
    login_attempts_per_address_per_minute: int = Field(default=30, ge=1)
    login_attempts_per_user_per_minute: int = Field(default=10, ge=1)
    # Password hashes computed at once; further logins wait their turn in the event loop.
    login_concurrent_hashes: int = Field(default=2, ge=1)
    # Per token or signed-in user, per API process (local mode has no limit): requests,
    # and new uploads on top of that.
    rate_limit_per_minute: int = 600
    upload_rate_limit_per_minute: int = 60
    # Bodies of every route but the media uploads (JSON edits, forms).
    max_request_body_bytes: int = 1024 * 1024

    # The OpenAI and whisper-asr-webservice dialects (api/routes/openai_compat.py,
    # asr_compat.py) answer when the job ends; past this wait, 202 with the job's URL.
    sync_wait_s: float = Field(default=600.0, ge=0)
    # Watch folders (efir/media/watch.py) that `efir serve` ingests, comma-separated; a
    # file is taken once its size and mtime have not changed for watch_settle_s.
    watch_dirs: str = ""
    watch_settle_s: float = Field(default=5.0, gt=0)
    # Exports written next to a watched file when its job ends, e.g. "srt,txt,docx".
    watch_exports: str = ""
    # Rescan by polling instead of inotify: network shares (SMB, NFS) send no events.
    watch_polling: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'efir.sqlite3'}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"


@lru_cache
def get_settings() -> Settings:
    return Settings()
