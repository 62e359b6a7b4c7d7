"""Patterns match the whole value: `$` in re.match lets a trailing newline through, shop.validators.Pattern
does not. Every pattern in the API's schemas is a Pattern, so none of them can be passed "valid\\n"."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError, validate

from shop.validators import Pattern


def test_a_trailing_newline_does_not_match():
    pattern = Pattern(r"^\d{6}$")
    assert pattern("404100") == "404100"
    for bad in ("404100\n", "404100\r\n", "\n404100", "4041001"):
        with pytest.raises(ValidationError):
            pattern(bad)
    assert validate.Regexp(r"^\d{6}$")("404100\n")  # what the plain validator lets through


def test_every_pattern_in_the_spec_is_a_full_match(app):
    """Walk every schema the API registered: each regular-expression validator is a Pattern."""
    from marshmallow import Schema

    seen = 0
    for schema_class in _schemas(Schema):
        for field in schema_class._declared_fields.values():
            for validator in getattr(field, "validators", []):
                if isinstance(validator, validate.Regexp):
                    seen += 1
                    assert isinstance(validator, Pattern), (schema_class.__name__, validator.regex.pattern)
    assert seen >= 10


def _schemas(base):
    for sub in base.__subclasses__():
        if sub.__module__.startswith("shop."):
            yield sub
        yield from _schemas(sub)
