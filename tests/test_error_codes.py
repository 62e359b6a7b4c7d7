"""Error codes are named once per domain, used by name in the services, and documented on the operations that
answer with them (per status, in the description and as `x-error-codes`)."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from shop.error_codes import codes_of

DOMAINS = ("checkout", "cart", "orders", "refunds", "payments", "procurement", "fapiao", "presale", "settlements",
           "assistance")
SHOP = Path(__file__).resolve().parents[1] / "shop"


def _documented(spec) -> dict[tuple[str, str], dict[int, set[str]]]:
    found = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if not isinstance(op, dict):
                continue
            found[(method.upper(), path)] = {int(status): set(response.get("x-error-codes", []))
                                             for status, response in op.get("responses", {}).items()
                                             if status.isdigit()}
    return found


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_named_code_is_documented_on_an_operation_with_its_status(client, domain):
    documented = _documented(client.get("/api/openapi.json").json)
    for code in codes_of(importlib.import_module(f"shop.{domain}.error_codes")):
        statuses = {status for by_status in documented.values() for status, codes in by_status.items()
                    if code in codes}
        assert statuses == {code.status}, (domain, code, statuses)


@pytest.mark.parametrize("domain", DOMAINS)
def test_services_raise_codes_by_name_not_by_literal(domain):
    literals = []
    for path in (SHOP / domain).glob("*.py"):
        if path.name == "error_codes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg in ("code", "conflict") and \
                    isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                literals.append((path.name, node.value.value))
    assert literals == []


def test_checkout_documents_what_a_client_switches_on(client):
    checkout = _documented(client.get("/api/openapi.json").json)[("POST", "/api/v1/checkout")]
    assert {"out_of_season", "insufficient_stock", "unavailable"} <= checkout[409]
    assert {"validation_error", "empty_cart", "return_confirmation_required"} <= checkout[422]
