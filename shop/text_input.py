"""What text the API accepts, checked once for every request before any view sees it.

- JSON nested deeper than MAX_DEPTH, or so deep that the parser gives up: 400 malformed_json.
- NUL (PostgreSQL text cannot hold it): 422 nul_character.
- Lone UTF-16 surrogates ("\\ud800" is valid JSON, but no database driver can encode it): 422 invalid_text.
- C0 control characters other than tab, newline and carriage return (openpyxl refuses them in exports; no
  field of this API needs them): 422 control_character.
Each 422 names the fields, as marshmallow's errors do ("items.0.note").

This is the first reader of the body, so it also applies a view's own body limit: a view class that takes
more than MAX_CONTENT_LENGTH (an e-fapiao PDF in base64) sets `max_content_length`; above it is 413.
"""
from __future__ import annotations

import re

from flask import current_app, request

from shop.errors import ShopError, ValidationFailed

MAX_DEPTH = 32  # the deepest body this API documents is 4 levels; 32 leaves room and stops parser recursion
CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f]")


class MalformedJson(ShopError):
    status = 400
    code = "malformed_json"
    title = "Bad Request"


def _problem(text: str) -> tuple[str, str] | None:
    if "\x00" in text:
        return "nul_character", "Text must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "invalid_text", "Text must not contain lone UTF-16 surrogates."
    if CONTROL.search(text):
        return "control_character", "Text must not contain control characters (tab and newline are fine)."
    return None


def _walk(body) -> dict[str, tuple[str, str]]:
    """Every bad string of a parsed JSON body, by field path. Iterative: a deep body cannot exhaust the stack."""
    found: dict[str, tuple[str, str]] = {}
    stack = [(body, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedJson(f"The request body is nested deeper than {MAX_DEPTH} levels.")
        if isinstance(value, str):
            problem = _problem(value)
            if problem:
                found[path or "_schema"] = problem
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                problem = _problem(key)
                if problem:
                    found[child] = problem
                    child = "_schema"  # a bad key cannot be echoed back as a field name
                stack.append((item, child, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{i}" if path else str(i), depth + 1) for i, item in enumerate(value))
    return found


def _safe_field(path: str) -> str:
    return path if _problem(path) is None else "_schema"


def _reads_raw_body() -> bool:
    """Views that authenticate and parse their own raw body (the payment webhook) set `raw_body = True`."""
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(getattr(view, "view_class", None), "raw_body", False))


def _view_body_limit() -> int | None:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(getattr(view, "view_class", None), "max_content_length", None)


def check_request_text() -> None:
    """before_request: refuse bad text in the path, the query string and a JSON body."""
    limit = _view_body_limit()
    if limit:
        request.max_content_length = limit  # Flask 3.1: per request, before anything reads the stream
    found: dict[str, tuple[str, str]] = {}
    problem = _problem(request.path)
    if problem:
        found["path"] = problem
    for key, value in request.args.items(multi=True):
        problem = _problem(key) or _problem(value)
        if problem:
            found[_safe_field(key)] = problem
    if request.is_json and request.content_length != 0 and not _reads_raw_body():
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            raise MalformedJson("The request body is nested too deeply to read.") from None
        found.update({_safe_field(path): p for path, p in _walk(body).items()})
    if found:
        codes = {code for code, _ in found.values()}
        code = codes.pop() if len(codes) == 1 else "invalid_text"
        detail = next(iter(found.values()))[1] if len({d for _, d in found.values()}) == 1 else \
            "Some text fields hold characters the API does not accept."
        raise ValidationFailed(detail, code=code, errors={path: [d] for path, (_, d) in found.items()})
