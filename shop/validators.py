"""Field types and validators shared by every domain's schemas."""
from __future__ import annotations

import datetime as dt

import phonenumbers
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc
from werkzeug.routing import IntegerConverter
from marshmallow import ValidationError, fields, validate

from shop.money import MAX_PRICE_FEN


def StrictInt(**kwargs) -> fields.Integer:
    """Quantities and counts in a JSON body: 2.7 and "3" are rejected, not coerced."""
    return fields.Integer(strict=True, **kwargs)


class Pattern(validate.Regexp):
    """A regular expression the whole value must match. `validate.Regexp` uses re.match, where `$` also
    matches before a trailing newline ("SF123456\n" passed); fullmatch does not. The spec shows the same
    pattern."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


MAX_ID = 2**31 - 1  # ids are 32-bit integer columns: anything larger is no id of ours (and not a 500)


class IdConverter(IntegerConverter):
    """`<int:…>` in URLs: above MAX_ID the route does not match (404) instead of overflowing the column."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


class StrictBool(fields.Boolean):
    """A boolean in a JSON body: true or false, not 0, 1, "yes" or "off" (query strings stay lenient).
    A type check, since 1 == True would pass any truthy set."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def Id(**kwargs) -> fields.Integer:
    """An object id in a JSON body."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def QueryId(**kwargs) -> fields.Integer:
    """An object id in a query string (arrives as text; "2.7" is still rejected)."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


# The calendar a business date may name: far enough for any statement or period, and far from the ends of
# Python's calendar, where a day's arithmetic (end + 1 day, a month's start in UTC) would overflow into a 500.
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
BUSINESS_DATE = validate.Range(min=FIRST_DAY, max=LAST_DAY, error="A date from 2000-01-01 to 2099-12-31.")
BUSINESS_INSTANT = validate.Range(min=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc),
                                  max=dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc),
                                  error="An instant from 2000 to 2099.")


MAX_AMOUNT_FEN = 10**12  # 100 亿元: sums (transfers, refunds of institutional orders) are 64-bit, not unbounded


def Fen(*, allow_zero: bool = False, max_fen: int = MAX_PRICE_FEN, **kwargs) -> fields.Integer:
    """An amount in integer fen: never a float, never negative, never absurd (a price by default; sums of
    money pass max_fen=MAX_AMOUNT_FEN)."""
    return fields.Integer(strict=True, validate=validate.Range(min=0 if allow_zero else 1, max=max_fen), **kwargs)


def Quantity(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=1_000_000), **kwargs)


def normalise_cn_mobile(value: str) -> str:
    """A Chinese mobile number in E.164 (+86...), or ValidationError."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        raise ValidationError("Not a phone number.")
    if number.country_code != 86 or not phonenumbers.is_valid_number(number) or \
            phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                     phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValidationError("Not a valid Chinese mobile number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class CnMobile(fields.String):
    """A Chinese mobile number in any usual spelling; answered in E.164. The spec states the rule."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            description="A mobile number of mainland China (+86), e.g. +8613812345678 or 138 1234 5678; "
                        "answered as E.164.",
            pattern=r"^\+?[0-9][0-9 ()-]{5,22}$", example="+8613812345678")
        super().__init__(validate=validate.Length(max=24), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return normalise_cn_mobile(super()._deserialize(value, attr, data, **kwargs))


class RegionCode(fields.String):
    """A 6-digit GB/T 2260 code (existence is checked by the service that uses it)."""

    def __init__(self, **kwargs):
        metadata = {"minLength": 6, "maxLength": 6, "example": "500237", **kwargs.pop("metadata", {})}
        super().__init__(validate=Pattern(r"^\d{6}$", error="A 6-digit GB/T 2260 code."),
                         metadata=metadata, **kwargs)


def Text(max_length: int, *, min_length: int = 1, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=min_length, max=max_length), **kwargs)


class CreditCode(fields.String):
    """统一社会信用代码 (GB 32100-2015), check character included; loads as the compact upper-case form."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            description="统一社会信用代码: 18 characters (digits and capital letters except I, O, S, V, Z), the "
                        "last a check character (GB 32100-2015); characters 3-8 are the registering region's "
                        "code. Spaces and dashes are ignored.",
            pattern=r"^[0-9A-Za-z -]{18,26}$", example="91500237MA5U1234X0")
        super().__init__(validate=validate.Length(max=26), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            return uscc.validate(raw)
        except stdnum_errors.InvalidChecksum:
            raise ValidationError("Wrong check character.")
        except stdnum_errors.ValidationError:
            raise ValidationError("Not a unified social credit code (18 characters).")


class CnPhone(fields.String):
    """Any valid Chinese number, mobile or fixed line (suppliers often give an office line); loads as E.164."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            number = phonenumbers.parse(raw, "CN")
        except phonenumbers.NumberParseException:
            raise ValidationError("Not a phone number.")
        if number.country_code != 86 or not phonenumbers.is_valid_number(number):
            raise ValidationError("Not a valid Chinese phone number.")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
