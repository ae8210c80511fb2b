"""LocalStorage: content addressing, streaming size limit, atomic staging, safe keys."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from efir.errors import MediaTooLargeError, NotFoundError
from efir.storage import LocalStorage, file_chunks

SEED_WAV = Path(__file__).resolve().parent.parent / "fixtures" / "seed" / "seed.wav"


def test_key_is_the_content_hash_and_bytes_round_trip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    stored = storage.put_stream(file_chunks(SEED_WAV), max_bytes=10**9)
    expected = hashlib.sha256(SEED_WAV.read_bytes()).hexdigest()
    assert stored.sha256 == expected
    assert stored.key == f"{expected[:2]}/{expected}"
    assert stored.size_bytes == SEED_WAV.stat().st_size
    with storage.open(stored.key) as media:
        assert media.read() == SEED_WAV.read_bytes()
    assert storage.path_for(stored.key) == tmp_path / "media" / stored.key


def test_same_content_is_stored_once(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    first = storage.put_stream([b"abc", b"def"], max_bytes=100)
    second = storage.put_stream([b"abcdef"], max_bytes=100)
    assert first == second
    assert list(storage.keys()) == [first.key]
    assert list((tmp_path / "media" / "incoming").iterdir()) == []


def test_limit_stops_the_stream_and_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    consumed = []

    def chunks() -> Iterator[bytes]:
        for index in range(1000):
            consumed.append(index)
            yield b"x" * 1024

    with pytest.raises(MediaTooLargeError, match="upload limit"):
        storage.put_stream(chunks(), max_bytes=10 * 1024)
    assert len(consumed) == 11  # stopped at the first chunk over the limit, not at the end
    assert list(storage.keys()) == []
    assert list((tmp_path / "media" / "incoming").iterdir()) == []


def test_a_failing_source_leaves_no_partial_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")

    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        storage.put_stream(broken(), max_bytes=100)
    assert not any(path.is_file() for path in (tmp_path / "media").rglob("*"))


def test_staged_file_is_probeable_before_commit(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    with storage.stage(max_bytes=100) as staged:
        staged.write(b"hello")
        staged.close()
        assert staged.path.read_bytes() == b"hello"
        assert staged.path.parent == tmp_path / "media" / "incoming"
    assert not staged.path.exists()  # left without commit: discarded
    assert list(storage.keys()) == []


@pytest.mark.parametrize("key", ["../../etc/passwd", "ab/../../x", "/etc/passwd", "ab/cd", ""])
def test_keys_that_are_not_hashes_are_refused(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "media")
    with pytest.raises(NotFoundError):
        storage.open(key)
    with pytest.raises(NotFoundError):
        storage.delete(key)


def test_delete_removes_the_media(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    stored = storage.put_stream([b"bytes"], max_bytes=100)
    storage.delete(stored.key)
    assert storage.path_for(stored.key) is None
    with pytest.raises(NotFoundError):
        storage.open(stored.key)
