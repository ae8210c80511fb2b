"""How many times a clip's audio is read and voted (worker/stages/vote.py): the
installation's EFIR_READINGS, or the uploader's `readings` for one clip."""

from __future__ import annotations

import httpx
import pytest
from support.service_support import SEED_DIR, session_factory

from efir.config import Settings
from efir.jobs.lifecycle import get_job
from worker.pipeline import pipeline_options_for_job


@pytest.mark.parametrize(
    ("field", "stored"), [("3", 3), (" 1 ", 1), ("", None), ("4", "refused"), ("три", "refused")]
)
def test_an_upload_may_ask_for_more_readings(
    api_client: tuple[httpx.Client, Settings], field: str, stored: int | str | None
) -> None:
    client, settings = api_client
    with (SEED_DIR / "seed.wav").open("rb") as media:
        response = client.post(
            "/api/v1/clips", files={"file": ("seed.wav", media)}, data={"readings": field}
        )
    if stored == "refused":
        assert response.status_code == 400, response.text
        assert "readings must be 1, 2 or 3" in response.text
        return
    assert response.status_code == 202, response.text
    assert response.json()["readings"] == stored
    with session_factory(settings.sqlalchemy_url)() as session:
        job = get_job(session, response.json()["id"])
        # The worker reads the clip's audio as many times as asked, else as installed.
        tempos = pipeline_options_for_job(settings, job.options).asr.reading_tempos
        installed = pipeline_options_for_job(
            settings.model_copy(update={"readings": 2}), job.options
        )
    assert job.options.get("readings") == stored
    assert tempos == {3: (0.9, 1.1), 1: (), None: ()}[stored]
    assert installed.asr.reading_tempos == {3: (0.9, 1.1), 1: (), None: (0.9,)}[stored]
