"""The verbs the assistance routes call: one each, from parsed arguments to the answer."""
from __future__ import annotations

from shop.assistance import error_codes as codes
from shop.assistance import exports
from shop.assistance.statistics import Selection, default_period, statistics
from shop.database import local_today
from shop.errors import Forbidden, Unauthorized
from shop.presale import results as presale_results


def selection_of(args: dict) -> Selection:
    """The query's selection; a missing end of the period falls in the other's year (both missing: this year)."""
    start, end = args.get("start"), args.get("end")
    year_start, year_end = default_period(start or end or local_today())
    return Selection(group_by=args["group_by"], start=start or year_start, end=end or year_end,
                     district=args.get("district"), supporter=args.get("supporter"), channel=args.get("channel"),
                     buyer_kind=args.get("buyer_kind"), category=args.get("category"))


def public_statistics(*, viewer, args: dict) -> dict:
    raw = args.get("raw", False)
    if raw and viewer is None:
        raise Unauthorized("Unsuppressed figures are for platform administrators: sign in.")
    if raw and not viewer.is_platform_admin:
        raise Forbidden("Unsuppressed figures are for platform administrators.", code=codes.RAW_FOR_OPERATORS)
    return statistics(selection_of(args), raw=raw)


def export(*, user, args: dict) -> tuple[bytes, str, str]:
    return exports.export(user=user, selection=selection_of(args), format=args["format"])


def campaign_results(*, status: str | None = None, limit: int, cursor: str | None) -> dict:
    return presale_results.campaign_results(status=status, limit=limit, cursor=cursor)
