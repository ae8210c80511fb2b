"""Numeric query and path parameters bounded by what the database columns hold.

A generated or hostile ``?offset=99999999999999999999`` must be a 422 from validation,
not an integer overflow deep in the database driver (a 500). PostgreSQL's INTEGER is
32-bit and SQLite's 64-bit: the narrower bounds both.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

__all__ = ["MAX_INT32", "PageLimit", "PageOffset", "RevisionNumber", "RevisionQuery", "RowId"]

MAX_INT32 = 2**31 - 1

# Routes clamp the limit to their own page cap; 0 is an empty page. (A negative LIMIT
# would mean "no limit" to SQLite.)
PageLimit = Annotated[int, Query(ge=0, le=MAX_INT32)]
PageOffset = Annotated[int, Query(ge=0, le=MAX_INT32)]
RevisionNumber = Annotated[int, Path(ge=1, le=MAX_INT32)]
# An integer primary key in the path (users, tokens).
RowId = Annotated[int, Path(ge=1, le=MAX_INT32)]
RevisionQuery = Annotated[
    int | None, Query(ge=1, le=MAX_INT32, description="a saved revision; the latest if absent")
]
