"""Small-group suppression of the public statistics: no published figure may let anyone work out what fewer than
`ASSISTANCE_MIN_BUYERS` buyers spent.

1. Primary: a group that is not zero and has fewer distinct buyers than the minimum (an institution counts as its
   organisation; a buyer counts in a group when it has an entry there) is withheld.
2. Complementary: the total is published, so withheld groups are recoverable together as total − Σ shown. The
   withheld set is therefore grown, the smallest shown group first (by |amount|, then |quantity|, then key), until
   it holds at least two groups AND at least `min_buyers` distinct buyers together (then the difference is a sum
   over enough buyers and no single withheld group can be read from it).
3. When no set satisfies that (everything there is has too few buyers), the total and the withheld sums are
   withheld too.

The rule protects one response; combining responses (two periods a day apart, a filter and its absence,
district totals against per-pair figures) can still narrow figures down — the README says so.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass
class Cell:
    key: str
    amount_fen: int
    quantity: int
    buyers: int  # distinct buyers with an entry in the cell

    @property
    def nonzero(self) -> bool:
        return self.amount_fen != 0 or self.quantity != 0


@dataclass(frozen=True)
class Outcome:
    hidden: frozenset[str]  # keys of the withheld cells
    total_hidden: bool  # the total (and the withheld sums) must be withheld as well


def suppress(cells: Iterable[Cell], *, min_buyers: int, union_buyers: Callable[[set[str]], int],
             initial: Iterable[str] = ()) -> Outcome:
    """Which cells to withhold. `union_buyers(keys)` answers the distinct buyers of several cells together (asked
    only when the sum of their counts cannot settle it); `initial` are keys withheld for another reason."""
    cells = [cell for cell in cells]
    by_key = {cell.key: cell for cell in cells}
    hidden = {cell.key for cell in cells if cell.nonzero and cell.buyers < min_buyers}
    hidden |= {key for key in initial if key in by_key and by_key[key].nonzero}
    if not hidden:
        return Outcome(frozenset(), False)

    def safe() -> bool:
        if len(hidden) < 2:
            return False
        counts = [by_key[key].buyers for key in hidden]
        if max(counts) >= min_buyers:
            return True
        if sum(counts) < min_buyers:  # the union has at most that many
            return False
        return union_buyers(set(hidden)) >= min_buyers

    shown = sorted((cell for cell in cells if cell.nonzero and cell.key not in hidden),
                   key=lambda c: (abs(c.amount_fen), abs(c.quantity), c.key))
    while not safe():
        if not shown:
            return Outcome(frozenset(hidden), True)
        hidden.add(shown.pop(0).key)
    return Outcome(frozenset(hidden), False)
