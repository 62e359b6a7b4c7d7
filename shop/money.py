"""Money is integer fen (分) everywhere; these helpers are the only place that formats or converts it."""
from __future__ import annotations

from decimal import Decimal

CURRENCY = "CNY"
FEN_PER_YUAN = 100
MAX_PRICE_FEN = 100_000_000  # 1,000,000 元 for one unit: anything above is a typo, not a price
MAX_ORDER_FEN = 99_999_999  # the most Stripe takes in one CNY charge (8 digits of fen); also fits the columns


def yuan_to_fen(value: str | int | Decimal) -> int:
    """'12.34' → 1234. Rejects more than two decimals instead of rounding money silently."""
    amount = Decimal(str(value))
    fen = amount * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise ValueError(f"{value!r} has more than two decimals")
    return int(fen)


def fen_to_yuan(fen: int) -> Decimal:
    """1234 → Decimal('12.34'), exactly (no float ever holds the amount): for spreadsheets' 元 columns."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError("amounts are integer fen")
    return Decimal(fen).scaleb(-2)


def format_fen(fen: int) -> str:
    """1234 → '¥12.34'."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // FEN_PER_YUAN:,}.{fen % FEN_PER_YUAN:02d}"


def to_provider_amount(fen: int, currency: str = CURRENCY) -> tuple[int, str]:
    """Stripe takes CNY in its minor unit, which is the fen."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError("amounts are integer fen")
    return fen, currency.lower()


def from_provider_amount(amount: int, currency: str) -> tuple[int, str]:
    return int(amount), currency.upper()


def allocate_proportionally(total_fen: int, weights: list[int]) -> list[int]:
    """Split total_fen over weights in whole fen, largest remainders first; the parts sum to total_fen."""
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [0 for _ in weights]
    shares = [total_fen * w // weight_sum for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (total_fen * weights[i]) % weight_sum, reverse=True)
    for i in remainders[: total_fen - sum(shares)]:
        shares[i] += 1
    return shares
