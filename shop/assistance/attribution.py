"""Attribution: every move of an order line's money, as it counts for its district and its support pair.

The orders ledger announces each move (`shop.orders.signals.line_money_moved`: a payment spread over the lines,
a refund counted when it is opened, a refused refund given back) and `record_moves` appends one
`AttributionEntry` per line share, in the same transaction as the money. So at every commit, per district (and
per supplier, product, order line), the entries add up to Σ(paid_fen - refunded_fen) of the lines, to the fen.
Shipping shares are not attributed: a shipping fee is no district's product.

Which pair. A line counts for the verified support pair (a published figure needs a sourced pair; one not yet
verified, or no longer, counts for nothing) whose supporter is the buyer's home region (`Order.
buyer_region_code`: an organisation's region, a shopper's declared home) or one of its ancestors
(`regions.services.region_chain`: a county's city and province) and whose recipient is the line's origin
district. When several match, the line counts for one of them only, so totals by pair never count a fen twice:
the nearest supporter in the chain (a 南京 buyer counts for 南京→万州 before a 江苏→万州 pair), then the
programme (KIND_PRIORITY: the 1992 对口支援 first), then the oldest pair. A province's figure that includes its
cities' pairs is a roll-up of the statistics, not a second entry. The pair is chosen when the line's first
money lands and every later event of that line (balance, refunds, a refund given back) follows it, so a
refund corrects exactly what was attributed; only `reattribute` (shop.assistance.reattribution) moves a line
to the pairs of today.

Units (signed `quantity`). A line's units count once the line holds its whole total (paid - refunded ==
line_total_fen): a deposit counts money but no units until the balance is in. A refund subtracts the units it
returns (the share's quantity, at most what is counted), and all of them when it leaves the line holding
nothing (a cancellation). A refund given back restores its units: all of them when the line holds its whole
total again, else the units its share names; a line whose units never counted gets none back (a pre-sale
shortfall before the balance). Money-only refunds (goodwill, shipping) move no units.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import insert, select

from shop.assistance.models import AttributionEntry
from shop.database import utcnow
from shop.extensions import db
from shop.orders import services as orders
from shop.orders.signals import line_money_moved
from shop.regions import services as regions

CHONGQING = "500000"  # 市内: the buyer's region is Chongqing or within it
# Which programme a line counts for when pairs of several programmes match at the same supporter.
KIND_PRIORITY = ("three_gorges_counterpart", "east_west_cooperation", "chongqing_internal", "other")


@dataclass(frozen=True)
class PairRef:
    pair_id: int
    supporter_code: str


class PairIndex:
    """The support pairs as of now, for choosing each line's pair (see the module docstring)."""

    def __init__(self, pairs) -> None:
        self._by_key: dict[tuple[str, str], list] = defaultdict(list)
        for pair in (p for p in pairs if p.verified):
            self._by_key[pair.supporter_code, pair.recipient_code].append(pair)
        for candidates in self._by_key.values():
            candidates.sort(key=lambda p: (_priority(p.kind), p.id))

    def covering(self, chain_codes: list[str], district_code: str) -> PairRef | None:
        for code in chain_codes:  # nearest first: county, city, province
            candidates = self._by_key.get((code, district_code))
            if candidates:
                return PairRef(candidates[0].id, candidates[0].supporter_code)
        return None


def _priority(kind: str) -> int:
    return KIND_PRIORITY.index(kind) if kind in KIND_PRIORITY else len(KIND_PRIORITY)


class Chains:
    """Region code → its chain of codes, nearest first, read once per code."""

    def __init__(self) -> None:
        self._codes: dict[str | None, list[str]] = {None: []}

    def __call__(self, code: str | None) -> list[str]:
        if code not in self._codes:
            self._codes[code] = [region.code for region in regions.region_chain(code)]
        return self._codes[code]

    def inside_chongqing(self, code: str | None) -> bool | None:
        return None if code is None else CHONGQING in self(code)


@dataclass
class _LineHistory:
    units: int = 0  # Σ quantity of the line's entries
    paid_units: int = 0  # of which counted by payments: did the line's units ever count?
    pair: PairRef | None = None  # the pair of its latest entry
    known: bool = False  # the line has entries


def _histories(order_id: int) -> dict[int, _LineHistory]:
    rows = db.session.execute(select(AttributionEntry.order_line_id, AttributionEntry.source,
                                     AttributionEntry.quantity, AttributionEntry.pair_id,
                                     AttributionEntry.supporter_code)
                              .where(AttributionEntry.order_id == order_id).order_by(AttributionEntry.id))
    histories: dict[int, _LineHistory] = defaultdict(_LineHistory)
    for line_id, source, quantity, pair_id, supporter_code in rows:
        history = histories[line_id]
        history.units += quantity
        if source == "payment":
            history.paid_units += quantity
        history.pair = PairRef(pair_id, supporter_code) if pair_id is not None else None
        history.known = True
    return histories


def units_moved(source: str, line, share_quantity: int | None, history: _LineHistory) -> int:
    """The signed units an event moves on a line, read after the money moved (rule: module docstring)."""
    counted = history.units
    held = line.paid_fen - line.refunded_fen
    whole = held == line.line_total_fen
    if source == "payment":
        return max(line.quantity - counted, 0) if whole else 0
    if source == "refund":
        return -counted if held == 0 else -min(share_quantity or 0, counted)
    if history.paid_units <= 0:  # refund_released: nothing to give back of units that never counted
        return 0
    missing = max(line.quantity - counted, 0)
    return missing if whole else min(share_quantity or 0, missing)


def entry_values(order, line, *, chains: Chains) -> dict:
    """The snapshot columns of a line's entries."""
    return dict(order_id=order.id, order_line_id=line.id, district_code=line.origin_district_code,
                supplier_id=line.supplier_id, product_id=line.product_id, category_id=line.category_id,
                channel=order.channel, buyer_kind="institution" if order.organization_id else "shopper",
                buyer_id=order.buyer_id, organization_id=order.organization_id,
                buyer_region_code=order.buyer_region_code,
                inside_chongqing=chains.inside_chongqing(order.buyer_region_code))


@line_money_moved.connect
def record_moves(order_id: int, *, source: str, shares) -> None:
    """The ledger moved money on an order's lines: append their entries (in the ledger's transaction)."""
    shares = [share for share in shares if share.order_line_id is not None and share.amount_fen]
    if not shares:
        return
    order = orders.load_order(order_id)  # read after the ledger's UPDATEs: the lines' amounts are current
    lines = {line.id: line for line in order.lines}
    histories = _histories(order_id)
    chains = Chains()
    pairs = None
    now = utcnow()
    rows = []
    for share in shares:
        line = lines[share.order_line_id]
        history = histories[line.id]
        if history.known:
            pair = history.pair
        else:  # the line's first money: the pairs of this moment decide
            if pairs is None:
                pairs = PairIndex(regions.pairs_to({line.origin_district_code for line in order.lines}))
            pair = pairs.covering(chains(order.buyer_region_code), line.origin_district_code)
        quantity = units_moved(source, line, share.quantity, history)
        rows.append(dict(entry_values(order, line, chains=chains), source=source, amount_fen=share.amount_fen,
                         quantity=quantity, pair_id=pair.pair_id if pair else None,
                         supporter_code=pair.supporter_code if pair else None, created_at=now))
    db.session.execute(insert(AttributionEntry), rows)
