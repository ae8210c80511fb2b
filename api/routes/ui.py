"""The newsroom web UI: five pages, the login page and static assets, no build step.

Every page is the shared shell (``static/shell.html``: header, navigation, language
switch, live status region) around one fragment from ``static/pages/``; the page's
ES module (``static/js/<page>.js``) talks to ``/api/v1`` from the browser.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.auth import SIGNED_IN_PAGE

__all__ = ["PAGE_CSP", "STATIC_DIR", "router"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# Scripts, styles and everything else from efir itself only, and no inline script or
# handler: text that ever reaches a page unescaped still cannot run.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _render_page(page: str, *, clip_id: str = "") -> HTMLResponse:
    # Read on every request: the files are small and edits show up without a restart.
    shell = (STATIC_DIR / "shell.html").read_text(encoding="utf-8")
    fragment = (STATIC_DIR / "pages" / f"{page}.html").read_text(encoding="utf-8")
    html = (
        shell.replace("{{page}}", page)
        .replace("{{clip_id}}", escape(clip_id, quote=True))
        .replace("{{main}}", fragment)
    )
    # The JS modules are served with validators, but the shell must never be stale.
    return HTMLResponse(
        html, headers={"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_CSP}
    )


@router.get("/login", response_class=HTMLResponse)
def login_page() -> HTMLResponse:
    """Open to everyone: the one page an anonymous browser is sent to."""
    return _render_page("login")


@router.get("/", response_class=HTMLResponse, dependencies=[SIGNED_IN_PAGE])
def upload_page() -> HTMLResponse:
    return _render_page("upload")


@router.get("/clips/{clip_id}", response_class=HTMLResponse, dependencies=[SIGNED_IN_PAGE])
def editor_page(clip_id: str) -> HTMLResponse:
    """The transcript editor; ``?t=SECONDS`` is read by the page to open at that moment."""
    return _render_page("editor", clip_id=clip_id)


@router.get("/library", response_class=HTMLResponse, dependencies=[SIGNED_IN_PAGE])
def library_page() -> HTMLResponse:
    return _render_page("library")


@router.get("/search", response_class=HTMLResponse, dependencies=[SIGNED_IN_PAGE])
def search_page() -> HTMLResponse:
    return _render_page("search")


@router.get("/speakers", response_class=HTMLResponse, dependencies=[SIGNED_IN_PAGE])
def speakers_page() -> HTMLResponse:
    return _render_page("speakers")
