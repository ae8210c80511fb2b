"""Overload: many more concurrent requests than the API's threads and pooled database
connections. Every request is answered, none waits out the pool's timeout: a session
gives its connection back before the response waits for a thread to be serialized in
(api/deps.py), so threads and connections cannot wait on each other."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from support.service_support import SettingsFactory, running_api, save_clip_with_transcript

CONCURRENT_REQUESTS = 300
# Far below SQLAlchemy's 30 s pool timeout, which the deadlock took to break one request.
ALL_ANSWERED_WITHIN_S = 25.0


async def _search_all_at_once(base_url: str) -> list[int]:
    limits = httpx.Limits(max_connections=CONCURRENT_REQUESTS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.get("/api/v1/search", params={"q": "форум"})
                for _ in range(CONCURRENT_REQUESTS)
            )
        )
    return [response.status_code for response in responses]


def test_more_concurrent_requests_than_threads_and_connections_are_all_answered(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    with running_api(settings) as base_url:
        for index in range(20):
            save_clip_with_transcript(
                settings.sqlalchemy_url, f"Гражданский форум в Костанае, день {index}."
            )
        started = time.monotonic()
        # A thread of its own: Playwright's sync API (browser tests, same session) leaves an
        # event loop running in the main thread, where asyncio.run refuses to start.
        with ThreadPoolExecutor(max_workers=1) as thread:
            statuses = thread.submit(asyncio.run, _search_all_at_once(base_url)).result()
        elapsed_s = time.monotonic() - started
    assert statuses == [200] * CONCURRENT_REQUESTS
    assert elapsed_s < ALL_ANSWERED_WITHIN_S
