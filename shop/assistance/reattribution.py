"""Re-attribution to the support pairs of today: the one way a change of pairs reaches money already attributed.

Editing, adding or removing a pair changes nothing that is attributed (a pair's figures for past sales do not
shift under the readers' feet); an operator runs `flask shop reattribute` once the pairs are as they should be.
For every order line whose net (fen and units) sits on another pair than the one the pairs of today choose
(shop.assistance.attribution: the nearest supporter in the buyer's chain, then the programme, then the oldest
pair), it appends two `reattribution` entries: the net out of the old pair (or out of "no pair") and into the
new one. History stays honest: nothing is rewritten, the correction has its time, and a district's total never
moves (both entries are the same line's). A second run finds nothing to move. A line holding nothing
(refunded in full) has nothing to move and keeps its old pair for a later event; the next run moves that.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, insert, or_, select

from shop.assistance.attribution import Chains, PairIndex
from shop.assistance.models import AttributionEntry
from shop.database import utcnow
from shop.extensions import db
from shop.regions import services as regions
from shop.transaction import transaction

_LINE_COLUMNS = (AttributionEntry.order_id, AttributionEntry.order_line_id, AttributionEntry.district_code,
                 AttributionEntry.supplier_id, AttributionEntry.product_id, AttributionEntry.category_id,
                 AttributionEntry.channel, AttributionEntry.buyer_kind, AttributionEntry.buyer_id,
                 AttributionEntry.organization_id, AttributionEntry.buyer_region_code,
                 AttributionEntry.inside_chongqing)


@dataclass
class PairMove:
    """What moved into and out of one pair (pair_id None: a district's sales attributed to no pair)."""

    pair_id: int | None
    supporter_code: str | None
    district_code: str
    in_fen: int = 0
    out_fen: int = 0
    in_units: int = 0
    out_units: int = 0

    @property
    def net_fen(self) -> int:
        return self.in_fen - self.out_fen


@dataclass
class Reattribution:
    lines: int = 0  # order lines moved
    moved_fen: int = 0  # Σ fen moved (each fen once, out of one pair and into another)
    moves: dict[tuple[int | None, str], PairMove] = field(default_factory=dict)
    dry_run: bool = False

    def _move(self, pair_id, supporter_code, district_code) -> PairMove:
        return self.moves.setdefault((pair_id, district_code), PairMove(pair_id, supporter_code, district_code))

    def report(self) -> list[str]:
        """What moved, a line per pair, for the command's output."""
        names = regions.names_of({m.supporter_code for m in self.moves.values() if m.supporter_code}
                                 | {m.district_code for m in self.moves.values()})
        lines = []
        for move in sorted(self.moves.values(), key=lambda m: (m.district_code, m.pair_id or 0)):
            pair = (f"pair {move.pair_id} {names.get(move.supporter_code, move.supporter_code)} → "
                    f"{names.get(move.district_code, move.district_code)}" if move.pair_id is not None
                    else f"no pair → {names.get(move.district_code, move.district_code)}")
            lines.append(f"{pair}: in {move.in_fen} fen ({move.in_units} units), out {move.out_fen} fen "
                         f"({move.out_units} units), net {move.net_fen:+d} fen")
        verb = "would move" if self.dry_run else "moved"
        lines.append(f"{verb} {self.moved_fen} fen on {self.lines} order lines" if self.lines
                     else "nothing to move: every line counts for the pairs of today")
        return lines


def reattribute(*, dry_run: bool = False) -> Reattribution:
    """Move every line's attribution to the pairs of today (one unit of work); `dry_run` reports without
    writing."""
    result = Reattribution(dry_run=dry_run)
    with transaction():
        pairs = PairIndex(regions.pairs_to())
        chains = Chains()
        amount, units = func.sum(AttributionEntry.amount_fen), func.sum(AttributionEntry.quantity)
        groups = db.session.execute(
            select(*_LINE_COLUMNS, AttributionEntry.pair_id, AttributionEntry.supporter_code, amount, units)
            .group_by(*_LINE_COLUMNS, AttributionEntry.pair_id, AttributionEntry.supporter_code)
            .having(or_(amount != 0, units != 0))
            .order_by(AttributionEntry.order_line_id, AttributionEntry.pair_id))
        now = utcnow()
        rows, lines = [], set()
        for group in groups:
            *line_values, pair_id, supporter_code, fen, quantity = group
            fen, quantity = int(fen), int(quantity)  # PostgreSQL sums bigints as numeric
            target = pairs.covering(chains(group.buyer_region_code), group.district_code)
            target_id = target.pair_id if target else None
            if target_id == pair_id:
                continue
            line = dict(zip((c.key for c in _LINE_COLUMNS), line_values), source="reattribution", created_at=now)
            rows.append(dict(line, amount_fen=-fen, quantity=-quantity, pair_id=pair_id,
                             supporter_code=supporter_code))
            rows.append(dict(line, amount_fen=fen, quantity=quantity, pair_id=target_id,
                             supporter_code=target.supporter_code if target else None))
            out = result._move(pair_id, supporter_code, group.district_code)
            into = result._move(target_id, rows[-1]["supporter_code"], group.district_code)
            out.out_fen += fen
            out.out_units += quantity
            into.in_fen += fen
            into.in_units += quantity
            result.moved_fen += fen
            lines.add(group.order_line_id)
        result.lines = len(lines)
        if rows and not dry_run:
            db.session.execute(insert(AttributionEntry), rows)
    return result
