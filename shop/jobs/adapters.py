"""Jobs whose `flask shop` command did more than call one function: the same calls, without a terminal."""
from __future__ import annotations

from flask import current_app


def auto_confirm() -> dict:
    from shop.orders.jobs import auto_confirm_receipts

    return auto_confirm_receipts(days=current_app.config["AUTO_CONFIRM_DAYS"])


def refresh_assistance_rollup() -> dict:
    from shop.assistance.rollup import refresh

    return refresh()


def close_last_month() -> dict:
    """Close last month's settlements once it may be closed. Run every few hours: a month closed already, or
    still inside its grace period, is the normal answer and not a failure."""
    from shop.errors import ShopError
    from shop.settlements import error_codes
    from shop.settlements.services import close_month, last_month

    month = last_month()
    try:
        closed = close_month(month=month)
    except ShopError as error:
        if error.code in (error_codes.MONTH_ALREADY_CLOSED, error_codes.MONTH_NOT_OVER):
            return {"month": month, "closed": 0, "why": error.code}
        raise
    return {"month": month, "closed": closed.settlements}
