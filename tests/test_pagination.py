"""Cursors stay short, and every documented query fits in the request line gunicorn accepts (4,094 bytes), so a
client that follows the spec never meets gunicorn's HTML refusal."""
from __future__ import annotations

import sys
from urllib.parse import quote

from shop.pagination import MAX_CURSOR_LENGTH, encode_cursor
from shop.validators import MAX_ID

GUNICORN_REQUEST_LINE = 4094  # gunicorn's default limit_request_line, which scripts/run_demo.sh keeps
WIDEST_CHARACTER = quote("\U0010FFFF")  # percent-encoded UTF-8: the most bytes one character can take


def test_the_widest_cursor_any_list_emits_is_within_the_documented_length():
    # The widest keys any list sorts by: a search rank (float), a 64-bit number, an id.
    widest = encode_cursor([-sys.float_info.max, -(2 ** 63), MAX_ID])
    assert len(widest) <= MAX_CURSOR_LENGTH


def _widest_value(param: dict) -> str:
    schema = param["schema"]
    if "enum" in schema:
        return max((str(v) for v in schema["enum"]), key=len)
    if schema.get("type") == "string":
        assert "maxLength" in schema, f"{param['name']} has no documented maxLength"
        return WIDEST_CHARACTER * schema["maxLength"]
    if schema.get("type") == "array":
        assert "maxItems" in schema, f"{param['name']} has no documented maxItems"
        return ",".join([_widest_value({**param, "schema": schema["items"]})] * schema["maxItems"])
    return str(-(2 ** 63))  # integers, numbers, booleans: no literal is wider


def test_every_documented_query_fits_in_gunicorns_request_line(client):
    spec = client.get("/api/openapi.json").json
    checked = 0
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            params = [p for p in op.get("parameters", []) + operations.get("parameters", [])
                      if p["in"] in ("path", "query")]  # headers are not in the request line
            url = path
            for p in params:
                if p["in"] == "path":
                    url = url.replace("{" + p["name"] + "}", _widest_value(p))
            query = "&".join(f"{p['name']}={_widest_value(p)}" for p in params if p["in"] == "query")
            line = f"{method.upper()} {url}?{query} HTTP/1.1"
            assert len(line.encode()) < GUNICORN_REQUEST_LINE, (method, path, len(line))
            checked += 1
    assert checked > 40


def test_a_cursor_longer_than_documented_is_refused_with_problem_json(client):
    response = client.get("/api/v1/products", query_string={"cursor": "A" * (MAX_CURSOR_LENGTH + 1)})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert "cursor" in response.json["errors"]


def test_a_path_longer_than_its_documented_parameter_is_a_problem_json_404(client):
    response = client.get("/api/v1/regions/" + "5" * 13)
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
