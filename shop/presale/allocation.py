"""Allocating a short harvest among a campaign's pledges: pure functions over dataclasses, in whole units.

No database access: the service layer builds one Claim per active pledge, calls allocate() inside its own
transaction and stores what comes back (money, such as deposits returned for units not allocated, is the
service's business; this module counts units only).

The documented behaviour (tests/presale/test_allocation.py checks each rule):

- A harvest is a whole number of units >= 0 (negative: ValueError); an unknown policy is a ValueError, even
  when the harvest covers demand. Every claim pledges a whole number > 0 of units and pledge ids are unique
  (otherwise ValueError).
- harvest >= total pledged: every pledge gets what it pledged ("filled in full"), whatever the policy.
- Otherwise the campaign's policy decides, and the allocations sum to the harvest exactly:
  - ``pro_rata``: each pledge gets floor(q * harvest / total); the units left over go one each to the
    pledges with the largest remainders (q * harvest mod total, exact integers, never floats), ties to the
    earlier placed_at, then to the lower pledge_id. A pledge never gets more than it pledged.
  - ``first_come``: in (placed_at, pledge_id) order each pledge is filled in full while units last; the
    pledge where they run out gets what is left, later pledges get 0.
  - ``institutions_first``: institutions' pledges are filled first (if the harvest does not cover them it
    is shared among them pro rata, as above, and shoppers get 0); what is left is shared among the
    shoppers' pledges pro rata.
- Deterministic: claims are sorted inside, so the same claims in any order give the same result. The
  result has one Allotment per claim, in pledge_id order, each with a short English reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from shop.money import allocate_proportionally
from shop.presale.models import ALLOCATION_POLICIES


@dataclass(frozen=True)
class Claim:
    """One active pledge, as the allocation sees it."""

    pledge_id: int
    quantity: int  # units pledged (> 0)
    placed_at: datetime  # when pledged: first-come order, and the pro-rata tie-break (then pledge_id)
    institution: bool  # pledged by an organisation (hospital, school, canteen)


@dataclass(frozen=True)
class Allotment:
    pledge_id: int
    pledged: int
    allocated: int  # 0..pledged, whole units
    reason: str  # why this pledge got what it got, for the supplier's and the buyer's screens


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _units(n: int) -> str:
    return f"{n} unit{'' if n == 1 else 's'}"


def _show(numerator: int, denominator: int) -> str:
    """An exact share for people: '280', '4.9', '0.125', or 'about 3.33' when it does not end in 3 places.
    Display only; no decision is taken on it."""
    whole, rest = divmod(numerator, denominator)
    if rest == 0:
        return str(whole)
    for places in (1, 2, 3):
        if rest * 10**places % denominator == 0:
            return f"{whole}.{rest * 10**places // denominator:0{places}d}"
    hundredths = (numerator * 200 + denominator) // (2 * denominator)  # rounded half up, in integers
    return f"about {hundredths // 100}.{hundredths % 100:02d}"


def _pro_rata(units: int, claims: list[Claim], prefix: str) -> dict[int, tuple[int, str]]:
    """Share units (< the claims' total) by largest remainder over claims already in (placed_at, pledge_id)
    order. shop.money.allocate_proportionally does exactly that split: floors, then one unit each by exact
    integer remainder, and its sort is stable, so equal remainders go in list order, i.e. earlier placed_at,
    then lower pledge_id. It never exceeds a pledge: with units < total every exact share is below q, and
    only a pledge with a non-zero remainder (floor < share) is topped up."""
    total = sum(c.quantity for c in claims)
    shares = allocate_proportionally(units, [c.quantity for c in claims])
    out = {}
    for claim, share in zip(claims, shares):
        floor = claim.quantity * units // total
        exact = _show(claim.quantity * units, total)
        text = f"{prefix}{units}/{total} of {claim.quantity} = {exact}, {_units(floor)}"
        if share > floor:
            text += f" plus {share - floor} by largest remainder"
        out[claim.pledge_id] = (share, text)
    return out


def _first_come(harvest: int, claims: list[Claim]) -> dict[int, tuple[int, str]]:
    out, left = {}, harvest
    for claim in claims:
        share = min(claim.quantity, left)
        if share == claim.quantity:
            text = f"first come: filled in full, {_units(left)} left when its turn came"
        elif share:
            text = f"first come: {left} of {_units(claim.quantity)} left when its turn came"
        else:
            text = "first come: no units left when its turn came"
        out[claim.pledge_id] = (share, text)
        left -= share
    return out


def _institutions_first(harvest: int, claims: list[Claim]) -> dict[int, tuple[int, str]]:
    institutions = [c for c in claims if c.institution]
    shoppers = [c for c in claims if not c.institution]
    needed = sum(c.quantity for c in institutions)
    if harvest < needed:
        out = _pro_rata(harvest, institutions, f"institutions first: the harvest of {harvest} does not cover "
                                               f"institutions' {_units(needed)}, shared among them pro rata: ")
        for claim in shoppers:
            out[claim.pledge_id] = (0, "institutions first: the harvest did not cover institutions; "
                                       "no units were left for shoppers")
        return out
    out = {c.pledge_id: (c.quantity, "institutions first: institution filled in full") for c in institutions}
    left = harvest - needed  # < the shoppers' total, since the harvest is short of all demand
    if left == 0:
        for claim in shoppers:
            out[claim.pledge_id] = (0, "institutions first: institutions filled first; no units were left "
                                       "for shoppers")
    else:
        out.update(_pro_rata(left, shoppers, f"institutions first: institutions filled first; {_units(left)} "
                                             f"were left for shoppers, shared pro rata: "))
    return out


def allocate(harvest: int, claims: Sequence[Claim], policy: str) -> list[Allotment]:
    """One Allotment per claim, in pledge_id order, by the rules in this module's docstring."""
    if policy not in ALLOCATION_POLICIES:
        raise ValueError(f"unknown allocation policy {policy!r}")
    if not _is_whole(harvest) or harvest < 0:
        raise ValueError(f"the harvest must be a whole number of units >= 0, not {harvest!r}")
    if any(not _is_whole(c.quantity) or c.quantity <= 0 for c in claims):
        raise ValueError("every pledge is of a whole number of units > 0")
    if len({c.pledge_id for c in claims}) != len(claims):
        raise ValueError("pledge ids must be unique")  # else neither the order nor the result is defined
    # The one order every policy works in, whatever order the caller passed: the result cannot depend on it.
    ordered = sorted(claims, key=lambda c: (c.placed_at, c.pledge_id))
    if harvest >= sum(c.quantity for c in ordered):
        result = {c.pledge_id: (c.quantity, "filled in full") for c in ordered}
    elif policy == "pro_rata":
        result = _pro_rata(harvest, ordered, "pro rata: ")
    elif policy == "first_come":
        result = _first_come(harvest, ordered)
    else:
        result = _institutions_first(harvest, ordered)
    by_id = {c.pledge_id: c for c in ordered}
    return [Allotment(pid, by_id[pid].quantity, *result[pid]) for pid in sorted(result)]
