"""Heavy models loaded once per process.

A Celery worker child (or the CLI) transcribes many clips with one model: loading
faster-whisper-base costs about a second and 150 MB, large-v3 far more. Only the
most recent configuration is kept, so a process never holds two Whisper models.
"""

from __future__ import annotations

import threading
from pathlib import Path

from faster_whisper import WhisperModel

from efir.errors import ModelNotFoundError
from worker.memory import return_large_buffers_on_free

__all__ = ["get_whisper_model"]

_lock = threading.Lock()
_loaded: dict[tuple[str, str, str, int], WhisperModel] = {}


def get_whisper_model(
    model_dir: Path, *, device: str, compute_type: str, cpu_threads: int
) -> WhisperModel:
    """The process's WhisperModel for this directory and configuration, loaded on first use."""
    key = (str(Path(model_dir).resolve()), device, compute_type, cpu_threads)
    with _lock:
        if key not in _loaded:
            _loaded.clear()
            # Before the first decode, so its buffers are never kept in the heap.
            return_large_buffers_on_free()
            try:
                _loaded[key] = WhisperModel(
                    key[0],
                    device=device,
                    compute_type=compute_type,
                    cpu_threads=cpu_threads,
                    local_files_only=True,
                )
            except (RuntimeError, ValueError, OSError) as error:
                raise ModelNotFoundError(
                    f"Не удалось загрузить модель из {model_dir} (cannot load the model: {error})"
                ) from error
        return _loaded[key]
