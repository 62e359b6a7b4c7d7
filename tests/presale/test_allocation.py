"""shop.presale.allocation: the documented whole-unit results and the invariants, over seeded random inputs.

Pure functions: no fixture is requested (tests/conftest.py's autouse database fixture still runs around each
test, which is harmless here)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest

from shop.presale.allocation import Allotment, Claim, allocate
from shop.presale.models import ALLOCATION_POLICIES

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)


def claim(pledge_id, quantity, minutes, institution=False):
    return Claim(pledge_id, quantity, T0 + timedelta(minutes=minutes), institution)


# The proof: 700 units harvested against 1000 pledged.
SHORT = [claim(1, 400, 0, True), claim(2, 300, 1), claim(3, 200, 2), claim(4, 100, 3, True)]


def amounts(allotments):
    return {a.pledge_id: a.allocated for a in allotments}


def test_700_of_1000_pro_rata():
    # 700/1000 = 0.7 of each pledge, exactly: 280, 210, 140, 70 (no remainders, nothing to top up).
    result = allocate(700, SHORT, "pro_rata")
    assert amounts(result) == {1: 280, 2: 210, 3: 140, 4: 70}
    assert result[0] == Allotment(1, 400, 280, "pro rata: 700/1000 of 400 = 280, 280 units")


def test_700_of_1000_first_come():
    # Pledge 1 (400) comes first: 700 left, filled; pledge 2 (300): 300 left, filled; 3 and 4 get nothing.
    result = allocate(700, SHORT, "first_come")
    assert amounts(result) == {1: 400, 2: 300, 3: 0, 4: 0}
    assert [a.reason for a in result] == [
        "first come: filled in full, 700 units left when its turn came",
        "first come: filled in full, 300 units left when its turn came",
        "first come: no units left when its turn came",
        "first come: no units left when its turn came",
    ]


def test_700_of_1000_institutions_first():
    # Institutions 1 and 4 pledged 500 <= 700: filled. 200 left for shoppers 2 (300) and 3 (200), total 500:
    # 200/500 = 0.4 of each, 120 and 80, exactly.
    result = allocate(700, SHORT, "institutions_first")
    assert amounts(result) == {1: 400, 2: 120, 3: 80, 4: 100}
    assert result[0].reason == "institutions first: institution filled in full"
    assert result[1].reason == ("institutions first: institutions filled first; 200 units were left for shoppers, "
                                "shared pro rata: 200/500 of 300 = 120, 120 units")


@pytest.mark.parametrize("policy", ALLOCATION_POLICIES)
def test_700_of_1000_invariants(policy):
    result = allocate(700, SHORT, policy)
    assert sum(a.allocated for a in result) == 700
    assert all(0 <= a.allocated <= a.pledged for a in result)
    assert [a.pledge_id for a in result] == [1, 2, 3, 4]
    assert allocate(700, list(reversed(SHORT)), policy) == result


def test_pro_rata_with_remainders_explained():
    # 7 units over 10 pledged (7 and 3): 4.9 and 2.1 -> floors 4 and 2, one unit left, to the larger
    # remainder (0.9): 5 and 2.
    result = allocate(7, [claim(1, 7, 0), claim(2, 3, 1)], "pro_rata")
    assert result == [Allotment(1, 7, 5, "pro rata: 7/10 of 7 = 4.9, 4 units plus 1 by largest remainder"),
                      Allotment(2, 3, 2, "pro rata: 7/10 of 3 = 2.1, 2 units")]


def test_first_come_partial_pledge_explained():
    result = allocate(8, [claim(1, 5, 0), claim(2, 5, 1), claim(3, 5, 2)], "first_come")
    assert amounts(result) == {1: 5, 2: 3, 3: 0}
    assert result[1].reason == "first come: 3 of 5 units left when its turn came"


def test_institutions_first_harvest_short_of_institutions():
    # Institutions pledged 60 (40 + 20), harvest 45: 45/60 of 40 = 30, of 20 = 15; the shopper gets nothing.
    claims = [claim(1, 40, 0, True), claim(2, 50, 1), claim(3, 20, 2, True)]
    result = allocate(45, claims, "institutions_first")
    assert amounts(result) == {1: 30, 2: 0, 3: 15}
    assert result[0].reason.startswith("institutions first: the harvest of 45 does not cover institutions' 60 units")
    assert "no units were left for shoppers" in result[1].reason


def test_institutions_first_exactly_covers_institutions():
    result = allocate(10, [claim(1, 10, 0, True), claim(2, 5, 1)], "institutions_first")
    assert amounts(result) == {1: 10, 2: 0}
    assert result[1].reason == "institutions first: institutions filled first; no units were left for shoppers"


@pytest.mark.parametrize("policy", ALLOCATION_POLICIES)
def test_harvest_zero_gives_nothing(policy):
    result = allocate(0, SHORT, policy)
    assert amounts(result) == {1: 0, 2: 0, 3: 0, 4: 0}


@pytest.mark.parametrize("policy", ALLOCATION_POLICIES)
def test_one_pledge(policy):
    assert amounts(allocate(3, [claim(9, 5, 0, policy == "institutions_first")], policy)) == {9: 3}
    assert amounts(allocate(3, [claim(9, 5, 0)], policy)) == {9: 3}
    assert allocate(7, [claim(9, 5, 0)], policy) == [Allotment(9, 5, 5, "filled in full")]


@pytest.mark.parametrize("policy", ALLOCATION_POLICIES)
def test_no_claims(policy):
    assert allocate(5, [], policy) == []


def test_equal_remainders_go_to_earlier_time_then_lower_id():
    # Three pledges of 1, harvest 1: every exact share is 1/3, every remainder equal. The earliest wins even
    # with the highest id; at equal times the lowest id wins.
    assert amounts(allocate(1, [claim(1, 1, 5), claim(2, 1, 9), claim(3, 1, 0)], "pro_rata")) == {1: 0, 2: 0, 3: 1}
    same_time = [claim(7, 1, 0), claim(4, 1, 0), claim(5, 1, 0)]
    assert amounts(allocate(1, same_time, "pro_rata")) == {4: 1, 5: 0, 7: 0}
    assert amounts(allocate(2, same_time, "first_come")) == {4: 1, 5: 1, 7: 0}


def test_many_one_unit_pledges_small_harvest():
    claims = [claim(i, 1, 100 - i) for i in range(1, 101)]  # later ids pledged earlier
    for policy in ALLOCATION_POLICIES:
        result = allocate(3, claims, policy)
        assert {a.pledge_id for a in result if a.allocated} == {100, 99, 98}, policy
        assert all(a.allocated in (0, 1) for a in result)


def test_bad_inputs():
    with pytest.raises(ValueError):
        allocate(-1, SHORT, "pro_rata")
    with pytest.raises(ValueError):
        allocate(2000, SHORT, "lottery")  # unknown even when the harvest covers demand
    with pytest.raises(ValueError):
        allocate(5, [claim(1, 0, 0)], "pro_rata")
    with pytest.raises(ValueError):
        allocate(5, [claim(1, 2, 0), claim(1, 3, 1)], "pro_rata")


# --- invariants over seeded random inputs -------------------------------------------------------------------

def random_case(rng):
    n = rng.randint(1, 12)
    ids = rng.sample(range(1, 1000), n)
    # Few distinct minutes and small quantities, so that equal times and equal remainders happen often.
    claims = [claim(i, rng.choice([1, 1, 2, 3, rng.randint(1, 50)]), rng.randint(0, 4), rng.random() < 0.4)
              for i in ids]
    total = sum(c.quantity for c in claims)
    harvest = rng.randint(0, total + 3)
    return claims, harvest, total


def reference_pro_rata(harvest, claims):
    """Largest remainder written independently, with Fractions: the module must agree exactly."""
    total = sum(c.quantity for c in claims)
    exact = {c.pledge_id: Fraction(c.quantity * harvest, total) for c in claims}
    out = {pid: int(share) for pid, share in exact.items()}
    order = sorted(claims, key=lambda c: (-(exact[c.pledge_id] - int(exact[c.pledge_id])), c.placed_at,
                                          c.pledge_id))
    for c in order[: harvest - sum(out.values())]:
        out[c.pledge_id] += 1
    return out


def order_key(c):
    return (c.placed_at, c.pledge_id)


@pytest.mark.parametrize("policy", ALLOCATION_POLICIES)
def test_invariants_on_random_inputs(policy):
    rng = random.Random(f"allocation-{policy}")
    for _ in range(2000):
        claims, harvest, total = random_case(rng)
        result = allocate(harvest, claims, policy)
        got = amounts(result)
        by_id = {c.pledge_id: c for c in claims}
        assert [a.pledge_id for a in result] == sorted(by_id)
        assert sum(got.values()) == min(harvest, total)
        assert all(0 <= a.allocated <= a.pledged == by_id[a.pledge_id].quantity for a in result)
        assert all(a.reason for a in result)
        shuffled = claims[:]
        rng.shuffle(shuffled)
        assert allocate(harvest, shuffled, policy) == result
        if harvest >= total:
            assert all(a.allocated == a.pledged for a in result)
            continue
        if policy == "pro_rata":
            # Within 1 of the exact share q * harvest / total, in integers: |a * total - q * harvest| < total.
            assert all(abs(got[c.pledge_id] * total - c.quantity * harvest) < total for c in claims)
            assert got == reference_pro_rata(harvest, claims)
        elif policy == "first_come":
            ordered = sorted(claims, key=order_key)
            for i, c in enumerate(ordered):
                if got[c.pledge_id] < c.quantity:
                    assert all(got[later.pledge_id] == 0 for later in ordered[i + 1:])
        else:
            institutions = [c for c in claims if c.institution]
            shoppers = [c for c in claims if not c.institution]
            if any(got[c.pledge_id] < c.quantity for c in institutions):
                assert all(got[c.pledge_id] == 0 for c in shoppers)
                assert got == {**reference_pro_rata(harvest, institutions), **{c.pledge_id: 0 for c in shoppers}}
            else:
                left = harvest - sum(c.quantity for c in institutions)
                assert {c.pledge_id: got[c.pledge_id] for c in shoppers} == reference_pro_rata(left, shoppers)
