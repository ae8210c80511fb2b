"""Programme glossaries: the terms every clip of a programme gets (efir.programme_glossary)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Principal, require
from api.deps import SessionDep
from api.schemas import ProgrammeGlossaryPublic, ProgrammeGlossaryUpdate, ProgrammeName
from efir.accounts.users import Permission
from efir.programme_glossary import programme_glossary, replace_programme_glossary

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/programme-glossary", tags=["programmes"])


@router.get("", response_model=ProgrammeGlossaryPublic, dependencies=[require(Permission.READ)])
def read_glossary(
    programme: Annotated[ProgrammeName, Query()], session: SessionDep
) -> ProgrammeGlossaryPublic:
    """The programme's glossary; no terms for a programme nobody gave any."""
    return ProgrammeGlossaryPublic(
        programme=programme, terms=list(programme_glossary(session, programme))
    )


@router.put("", response_model=ProgrammeGlossaryPublic)
def replace_glossary(
    request_body: ProgrammeGlossaryUpdate,
    session: SessionDep,
    editor: Annotated[Principal, require(Permission.EDIT)],
) -> ProgrammeGlossaryPublic:
    """Replace the programme's glossary. Clips uploaded under the programme from now on
    get its terms before their own; clips already transcribed keep theirs. Recorded in
    the audit log."""
    terms = replace_programme_glossary(
        session, request_body.programme, request_body.terms, actor=editor.username
    )
    session.commit()
    return ProgrammeGlossaryPublic(programme=request_body.programme, terms=list(terms))
