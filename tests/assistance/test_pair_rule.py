"""When several verified pairs cover a buyer, a line counts for one: the nearest supporter in the buyer's region
chain, then the programme (the 1992 对口支援 first), then the oldest pair; unverified pairs count for nothing."""
from __future__ import annotations

from types import SimpleNamespace

from shop.assistance.attribution import PairIndex, PairRef

CHAIN = ["320102", "320100", "320000"]  # 玄武区 → 南京市 → 江苏省


def _pair(pair_id, supporter, kind="three_gorges_counterpart", verified=True, recipient="500101"):
    return SimpleNamespace(id=pair_id, supporter_code=supporter, recipient_code=recipient, kind=kind,
                           verified=verified)


def test_the_nearest_supporter_wins():
    index = PairIndex([_pair(1, "320000"), _pair(2, "320100")])
    assert index.covering(CHAIN, "500101") == PairRef(2, "320100")
    assert index.covering(["320000"], "500101") == PairRef(1, "320000")
    assert index.covering(CHAIN, "500235") is None
    assert index.covering([], "500101") is None


def test_then_the_programme_then_the_oldest_pair():
    index = PairIndex([_pair(5, "320000", "east_west_cooperation"), _pair(7, "320000", "other"),
                       _pair(9, "320000")])
    assert index.covering(CHAIN, "500101") == PairRef(9, "320000")
    assert PairIndex([_pair(5, "320000", "other"), _pair(3, "320000", "other", recipient="500101")]).covering(
        CHAIN, "500101") == PairRef(3, "320000")


def test_an_unverified_pair_counts_for_nothing():
    index = PairIndex([_pair(1, "320000"), _pair(2, "320100", verified=False)])
    assert index.covering(CHAIN, "500101") == PairRef(1, "320000")
    assert PairIndex([_pair(2, "320100", verified=False)]).covering(CHAIN, "500101") is None
