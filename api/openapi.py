"""The OpenAPI document, corrected where FastAPI's default does not describe the API.

FastAPI documents every 422 as its request-validation body (``detail``: a list of
field errors). efir's own 422s (undecodable media, an unknown export format, an edit
that makes no sense) carry ``detail`` as one "Russian. English." sentence, like every
other efir error, so the documented 422 body is either of the two. Clients generated
from the schema, and the schema fuzzing in tests/test_api_fuzz.py, rely on it.

An export's ``format`` parameter is documented as an enum of the registered formats
(efir.exports.FORMATS), read when the document is first built.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from efir.exports import FORMATS

__all__ = ["EXPORT_FORMAT_PARAMETER", "document_error_bodies", "multipart_body"]

# The description that marks a query parameter as an export format name.
EXPORT_FORMAT_PARAMETER = (
    "Export format: one of the registered formats (GET /api/v1/export-formats)"
)

_VALIDATION_ERROR = {"$ref": "#/components/schemas/HTTPValidationError"}
_ERROR_NAME = "Error"
_ERROR_SCHEMA = {
    "title": _ERROR_NAME,
    "type": "object",
    "properties": {
        "detail": {"title": "Detail", "type": "string"},
        "code": {"title": "Code", "type": "string"},
        "message": {
            "title": "Message",
            "type": "object",
            "properties": {"ru": {"type": "string"}, "en": {"type": "string"}},
        },
    },
    "required": ["detail"],
}


def multipart_body(properties: dict[str, Any], *, required: list[str]) -> dict[str, Any]:
    """``openapi_extra`` for a route that parses its multipart body itself (a streaming
    upload), so the document still shows the form's fields."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


def document_error_bodies(app: FastAPI) -> None:
    """Make ``app.openapi()`` document 422 bodies as validation errors or an efir error."""
    build_default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build_default()  # builds and caches app.openapi_schema
            _accept_plain_errors(schema)
            _list_export_formats(schema)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _accept_plain_errors(schema: dict[str, Any]) -> None:
    schema.setdefault("components", {}).setdefault("schemas", {})[_ERROR_NAME] = _ERROR_SCHEMA
    plain = {"$ref": f"#/components/schemas/{_ERROR_NAME}"}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            body = operation.get("responses", {}).get("422", {}).get("content", {})
            json_body = body.get("application/json")
            if json_body is not None and json_body.get("schema") == _VALIDATION_ERROR:
                json_body["schema"] = {"anyOf": [_VALIDATION_ERROR, plain]}


def _list_export_formats(schema: dict[str, Any]) -> None:
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("description") == EXPORT_FORMAT_PARAMETER:
                    parameter["schema"]["enum"] = list(FORMATS)
