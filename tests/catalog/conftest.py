"""Catalog tests start from regions (loaded by tests/conftest.py) plus the category tree."""
from __future__ import annotations

import pytest

from shop.catalog.seed import load_categories


@pytest.fixture(autouse=True)
def categories(_database):
    load_categories()
