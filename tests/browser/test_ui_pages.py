"""The UI's pages and assets as the app serves them, without a browser: every page
renders in Russian, ids are escaped, every module it loads exists, and every text key
the markup or the scripts use is translated in both languages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes.ui import STATIC_DIR
from efir.config import Settings

PAGES = ["/", "/clips/abc123", "/library", "/search", "/speakers"]


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    # At 127.0.0.1: local mode answers no other host name.
    with TestClient(create_app(make_settings()), base_url="http://127.0.0.1") as test_client:
        yield test_client


def _messages_by_language() -> dict[str, set[str]]:
    source = (STATIC_DIR / "js" / "i18n.js").read_text(encoding="utf-8")
    blocks = re.split(r"^  (ru|en): \{$", source, flags=re.MULTILINE)
    # blocks: [preamble, "ru", ru-body, "en", en-body-and-rest]
    return {
        language: set(re.findall(r'^    "([\w.]+)":', body, flags=re.MULTILINE))
        for language, body in zip(blocks[1::2], blocks[2::2], strict=True)
    }


def _keys_in_use() -> set[str]:
    markup = "".join(p.read_text(encoding="utf-8") for p in STATIC_DIR.rglob("*.html"))
    scripts = "".join(p.read_text(encoding="utf-8") for p in (STATIC_DIR / "js").glob("*.js"))
    return set(re.findall(r'data-i18n(?:-[a-z-]+)?="([\w.]+)"', markup)) | set(
        re.findall(r'\bt\("([\w.]+)"', scripts)
    )


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_served_in_russian_with_its_module(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="ru">' in response.text
    module = re.search(r'<script type="module" src="(/static/js/[\w-]+\.js)">', response.text)
    assert module, "each page loads its own ES module"
    script = client.get(module.group(1))
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


def test_every_imported_module_exists(client: TestClient) -> None:
    for script in (STATIC_DIR / "js").glob("*.js"):
        for imported in re.findall(r'from "\./([\w-]+\.js)"', script.read_text(encoding="utf-8")):
            assert client.get(f"/static/js/{imported}").status_code == 200, (script, imported)


def test_the_clip_id_in_the_url_cannot_inject_markup(client: TestClient) -> None:
    response = client.get('/clips/x"><img src=x onerror=alert(1)>')
    assert response.status_code == 200
    assert "<img" not in response.text
    assert 'data-clip-id="x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in response.text


def test_every_text_key_is_translated_into_both_languages() -> None:
    messages = _messages_by_language()
    assert set(messages) == {"ru", "en"}
    assert messages["ru"] == messages["en"]
    dynamic = {
        f"state.{s}"
        for s in (
            "queued",
            "decoding",
            "transcribing",
            "speakers",
            "indexing",
            "done",
            "failed",
            "cancelled",
        )
    }
    dynamic |= {f"role.{r}" for r in ("anchor", "correspondent", "interviewee", "other")}
    missing = (_keys_in_use() | dynamic) - messages["ru"]
    assert not missing
