"""The storage contract, on local disk and on S3 (moto's server over HTTP): content
addressing, streaming size limit, atomic staging, safe keys, local copies."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.service_support import SettingsFactory

from efir.errors import MediaTooLargeError, NotFoundError
from efir.media.storage import make_storage
from efir.media.storage.base import LocalStorage, file_chunks
from efir.media.storage.s3 import S3Storage

SEED_WAV = Path(__file__).resolve().parent.parent / "fixtures" / "seed" / "seed.wav"

Storage = LocalStorage | S3Storage


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, make_settings: SettingsFactory) -> Storage:
    if request.param == "local":
        settings = make_settings()
    else:
        settings = make_settings(
            storage="s3",
            s3_endpoint_url=request.getfixturevalue("s3_endpoint"),
            s3_bucket=request.getfixturevalue("s3_bucket"),
        )
    made = make_storage(settings)
    assert isinstance(made, LocalStorage | S3Storage)
    return made


def test_key_is_the_content_hash_and_bytes_round_trip(storage: Storage) -> None:
    stored = storage.put_stream(file_chunks(SEED_WAV), max_bytes=10**9)
    expected = hashlib.sha256(SEED_WAV.read_bytes()).hexdigest()
    assert stored.sha256 == expected
    assert stored.key == f"{expected[:2]}/{expected}"
    assert stored.size_bytes == SEED_WAV.stat().st_size
    with storage.open(stored.key) as media:
        assert media.read() == SEED_WAV.read_bytes()


def test_local_storage_keys_are_paths_under_its_root(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    stored = storage.put_stream([b"bytes"], max_bytes=100)
    assert storage.path_for(stored.key) == tmp_path / "media" / stored.key


def test_same_content_is_stored_once(storage: Storage) -> None:
    first = storage.put_stream([b"abc", b"def"], max_bytes=100)
    second = storage.put_stream([b"abcdef"], max_bytes=100)
    assert first == second
    assert list(storage.keys()) == [first.key]
    assert list(storage.staging_dir.iterdir()) == []


def test_limit_stops_the_stream_and_leaves_nothing(storage: Storage) -> None:
    consumed = []

    def chunks() -> Iterator[bytes]:
        for index in range(1000):
            consumed.append(index)
            yield b"x" * 1024

    with pytest.raises(MediaTooLargeError, match="upload limit"):
        storage.put_stream(chunks(), max_bytes=10 * 1024)
    assert len(consumed) == 11  # stopped at the first chunk over the limit, not at the end
    assert list(storage.keys()) == []
    assert list(storage.staging_dir.iterdir()) == []


def test_a_failing_source_leaves_no_partial_file(storage: Storage) -> None:
    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        storage.put_stream(broken(), max_bytes=100)
    assert list(storage.keys()) == []
    assert list(storage.staging_dir.iterdir()) == []


def test_staged_file_is_probeable_before_commit(storage: Storage) -> None:
    with storage.stage(max_bytes=100) as staged:
        staged.write(b"hello")
        staged.close()
        assert staged.path.read_bytes() == b"hello"
        assert staged.path.parent == storage.staging_dir
    assert not staged.path.exists()  # left without commit: discarded
    assert list(storage.keys()) == []


@pytest.mark.parametrize("key", ["../../etc/passwd", "ab/../../x", "/etc/passwd", "ab/cd", ""])
def test_keys_that_are_not_hashes_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(NotFoundError):
        storage.open(key)
    with pytest.raises(NotFoundError):
        storage.delete(key)
    with pytest.raises(NotFoundError), storage.local_copy(key):
        pass


def test_local_copy_has_the_bytes_for_the_block(storage: Storage) -> None:
    stored = storage.put_stream([b"frame", b"data"], max_bytes=100)
    with storage.local_copy(stored.key) as path:
        assert path.read_bytes() == b"framedata"
    # A downloaded copy is removed afterwards; the local file itself stays.
    assert path.exists() is isinstance(storage, LocalStorage)


def test_delete_removes_the_media(storage: Storage) -> None:
    stored = storage.put_stream([b"bytes"], max_bytes=100)
    storage.delete(stored.key)
    assert storage.path_for(stored.key) is None
    assert list(storage.keys()) == []
    with pytest.raises(NotFoundError):
        storage.open(stored.key)
    with pytest.raises(NotFoundError, match="Media file missing"), storage.local_copy(stored.key):
        pass
