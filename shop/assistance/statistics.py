"""The counterpart-support figures: sums of attribution entries (shop.assistance.attribution) over a period of
Asia/Shanghai calendar days, grouped one way, with filters.

Every figure is a sum over entries, so it is exact after refunds (a refund is a negative entry dated when it was
opened); finished months are read from their exact rollup (shop.assistance.rollup). The total is summed over the entries, never over the items (a province's figure and a pair's figure
are never added together). Grouping by supporter or pair covers the entries on a support pair only; every other
grouping covers all entries.

Supporters: a pair's supporter is a province, a city or a county. `group_by=supporter` ranks the supporting
provinces (the top of `region_chain`): a province's figure rolls up its own pairs and those of its cities and
counties (江苏 includes 南京→万州). Cities are not items of their own there — that would count their money twice
in one list — they appear as the supporter of their pairs under `group_by=pair`, and `supporter=<code>` narrows
any grouping to the pairs of that region and everything inside it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, case, func, literal, or_, select

from shop.assistance import error_codes as codes
from shop.assistance.attribution import Chains
from shop.assistance import rollup
from shop.assistance.models import AttributionEntry as Entry, AttributionRollup as Rollup
from shop.assistance.rollup import BUYER
from shop.assistance.suppression import Cell, Outcome, suppress
from shop.catalog import queries as catalog
from shop.database import local_day_start
from shop.errors import ValidationFailed
from shop.extensions import db
from shop.regions import services as regions

GROUP_BYS = ("district", "supporter", "pair", "product", "category", "buyer_kind", "channel", "market", "month")
CHANNELS = ("retail", "procurement", "presale", "store")  # the order channels an entry copies
CHANNEL_LABELS = {"retail": "零售", "procurement": "单位采购", "presale": "预售", "store": "门店"}
BUYER_KIND_LABELS = {"shopper": "个人消费者", "institution": "采购单位"}
MARKET_LABELS = {"inside": "市内", "outside": "市外", "unknown": "未知"}
FIXED_KEYS = {"buyer_kind": BUYER_KIND_LABELS, "channel": CHANNEL_LABELS, "market": MARKET_LABELS}
ON_PAIRS_ONLY = ("supporter", "pair")
MAX_PERIOD_DAYS = 3653  # ten years: a month grouping then has at most 121 items
NO_CATEGORY = "none"


@dataclass(frozen=True)
class Selection:
    group_by: str
    start: dt.date
    end: dt.date  # included
    district: str | None = None
    supporter: str | None = None
    channel: str | None = None
    buyer_kind: str | None = None
    category: int | None = None


@dataclass
class Group:
    key: str
    amount_fen: int = 0
    quantity: int = 0
    buyers: int = 0
    via_pairs_fen: int = 0
    via_buyers: int = 0
    rolled_up: bool = False  # some of its money is in the rollup (else all of it is in the entries read)


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)


def check_period(start: dt.date, end: dt.date) -> None:
    if end < start or (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationFailed("`to` must not be before `from`, and the period is at most ten years.",
                               code=codes.INVALID_PERIOD, errors={"to": ["Not a valid period."]})


# --- the query ----------------------------------------------------------------------------------------------


class Context:
    """What one statistic reads besides the entries (pairs and region chains), read once."""

    def __init__(self) -> None:
        self.pairs = regions.pairs_to()
        self.chains = Chains()

    def supporter_codes_within(self, code: str) -> set[str]:
        """The pairs' supporter codes that are `code` or inside it (a province: its cities and counties too)."""
        return {pair.supporter_code for pair in self.pairs if code in self.chains(pair.supporter_code)}

    def province_of(self) -> dict[str, str]:
        return {pair.supporter_code: self.chains(pair.supporter_code)[-1]
                for pair in self.pairs if self.chains(pair.supporter_code)}


def _category_ids(category_id: int) -> set[int]:
    """The category and its descendants, or a 422."""
    def walk(nodes, inside):
        for node in nodes:
            now_inside = inside or node["id"] == category_id
            if now_inside:
                found.add(node["id"])
            walk(node["children"], now_inside)

    found: set[int] = set()
    walk(catalog.list_categories(), False)
    if not found:
        raise ValidationFailed("No such category.", code=codes.UNKNOWN_CATEGORY, errors={"category": ["Unknown."]})
    return found


def _known_region(code: str, field: str) -> None:
    if regions.find_region(code) is None:
        raise ValidationFailed("Unknown region code.", code=codes.INVALID_REGION, errors={field: ["Unknown."]})


def period_of(selection: Selection) -> list:
    return [Entry.created_at >= local_day_start(selection.start),
            Entry.created_at < local_day_start(selection.end + dt.timedelta(days=1))]


def conditions(selection: Selection, context: Context, table=Entry, *, within: set[str] | None = None) -> list:
    """The filters of a selection on the entries or the rollup (the same column names; no period);
    `within`: the supporter codes an export is limited to."""
    where = []
    if selection.district:
        _known_region(selection.district, "district")
        where.append(table.district_code == selection.district)
    if selection.supporter:
        _known_region(selection.supporter, "supporter")
        where.append(table.supporter_code.in_(sorted(context.supporter_codes_within(selection.supporter))))
    if within is not None:
        where.append(table.supporter_code.in_(sorted(within)))
    if selection.channel:
        where.append(table.channel == selection.channel)
    if selection.buyer_kind:
        where.append(table.buyer_kind == selection.buyer_kind)
    if selection.category is not None:
        where.append(table.category_id.in_(sorted(_category_ids(selection.category))))
    if selection.group_by in ON_PAIRS_ONLY:
        where.append(table.pair_id.is_not(None))
    return where


def key_expression(selection: Selection, context: Context, table=Entry):
    group_by = selection.group_by
    if group_by == "district":
        return table.district_code
    if group_by == "supporter":
        provinces = context.province_of()
        return case(provinces, value=table.supporter_code, else_=table.supporter_code) if provinces \
            else table.supporter_code
    if group_by in ("pair", "product", "category"):
        return {"pair": table.pair_id, "product": table.product_id, "category": table.category_id}[group_by]
    if group_by in ("buyer_kind", "channel"):
        return getattr(table, group_by)
    if group_by == "market":
        return case((table.inside_chongqing.is_(True), literal("inside")),
                    (table.inside_chongqing.is_(False), literal("outside")), else_=literal("unknown"))
    if table is Rollup:
        return Rollup.month
    months = rollup.month_starts(selection.start, selection.end)  # month: a CASE on UTC instants, the same on both dbs
    labels = [month.strftime("%Y-%m") for month in months]
    whens = [(Entry.created_at < local_day_start(nxt), literal(label)) for nxt, label in zip(months[1:], labels)]
    return case(*whens, else_=literal(labels[-1])) if whens else literal(labels[-1])


def _key(value) -> str:
    return NO_CATEGORY if value is None else str(value)


def _in_keys(column, values: list):
    return or_(column.in_([v for v in values if v is not None]), *([column.is_(None)] if None in values else []))


class Figures:
    """The groups of a selection (key → Group), read from the rollup's exact months and the entries of the rest
    (shop.assistance.rollup); buyer counts exact where suppression needs them."""

    def __init__(self, selection: Selection, context: Context, *, within: set[str] | None = None) -> None:
        self.selection, self.context, self.within = selection, context, within
        self.groups: dict[str, Group] = {}
        self.raw_keys: dict[str, object] = {}
        months = rollup.valid_months(selection.start, selection.end)
        if months:
            self._add_rollup([month.strftime("%Y-%m") for month in months])
        ranges = rollup.raw_ranges(selection.start, selection.end, months)
        self.unrolled = or_(*[and_(Entry.created_at >= a, Entry.created_at < b) for a, b in ranges]) if ranges \
            else None
        if ranges:
            self._add_entries(self.unrolled)

    def _group(self, raw_key) -> Group:
        key = _key(raw_key)
        self.raw_keys[key] = raw_key
        return self.groups.setdefault(key, Group(key))

    def _add_rollup(self, months: list[str]) -> None:
        base = (select(key_expression(self.selection, self.context, Rollup).label("k"), Rollup.amount_fen,
                       Rollup.quantity, Rollup.pair_id, Rollup.buyers)
                .where(Rollup.month.in_(months), *conditions(self.selection, self.context, Rollup,
                                                             within=self.within)).subquery())
        on_pair = base.c.pair_id.is_not(None)
        rows = db.session.execute(select(base.c.k, func.sum(base.c.amount_fen), func.sum(base.c.quantity),
                                         func.sum(case((on_pair, base.c.amount_fen), else_=0)), func.max(base.c.buyers),
                                         func.max(case((on_pair, base.c.buyers), else_=0))).group_by(base.c.k))
        for k, amount, quantity, via, buyers, via_buyers in rows:
            group = self._group(k)
            group.rolled_up = True
            group.amount_fen += int(amount or 0)
            group.quantity += int(quantity or 0)
            group.via_pairs_fen += int(via or 0)
            group.buyers, group.via_buyers = max(group.buyers, int(buyers or 0)), max(group.via_buyers,
                                                                                        int(via_buyers or 0))

    def _entries(self, period, *extra):
        return (select(key_expression(self.selection, self.context).label("k"), BUYER.label("b"), Entry.amount_fen,
                       Entry.quantity, Entry.pair_id)
                .where(period, *conditions(self.selection, self.context, within=self.within), *extra).subquery())

    def _add_entries(self, period) -> None:
        base = self._entries(period)
        on_pair = base.c.pair_id.is_not(None)
        # Buyers: a lower bound that costs no DISTINCT (1 when one buyer, else 2); count_small makes it exact.
        def bound(buyer):
            return case((func.count(buyer) == 0, 0), (func.min(buyer) == func.max(buyer), 1), else_=2)
        rows = db.session.execute(select(base.c.k, func.sum(base.c.amount_fen), func.sum(base.c.quantity),
                                         func.sum(case((on_pair, base.c.amount_fen), else_=0)), bound(base.c.b),
                                         bound(case((on_pair, base.c.b)))).group_by(base.c.k))
        for k, amount, quantity, via, buyers, via_buyers in rows:
            group = self._group(k)
            group.amount_fen += int(amount or 0)
            group.quantity += int(quantity or 0)
            group.via_pairs_fen += int(via or 0)
            group.buyers, group.via_buyers = max(group.buyers, int(buyers)), max(group.via_buyers, int(via_buyers))

    def count_small(self, threshold: int) -> None:
        """Replace the lower bounds under `threshold` by exact counts (from the entries of the whole period)."""
        small = [g for g in self.groups.values() if (g.amount_fen or g.quantity) and g.buyers < threshold]
        via_small = [g for g in self.groups.values() if g.via_pairs_fen and g.via_buyers < threshold]
        whole = and_(*period_of(self.selection))
        for groups, via in ((small, False), (via_small, True)):
            # A group none of whose money is rolled up has all its entries in the part read from the entries.
            for rolled_up in (False, True):
                keys = [g.key for g in groups if g.rolled_up == rolled_up]
                if not keys:
                    continue
                period = whole if rolled_up or self.unrolled is None else self.unrolled
                base = self._entries(period, *([Entry.pair_id.is_not(None)] if via else []))
                counts = db.session.execute(select(base.c.k, func.count(func.distinct(base.c.b)))
                                            .where(_in_keys(base.c.k, [self.raw_keys[k] for k in keys]))
                                            .group_by(base.c.k))
                for k, n in counts:
                    setattr(self.groups[_key(k)], "via_buyers" if via else "buyers", int(n))

    def union_buyers(self, keys: set[str], *, via: bool = False) -> int:
        """Distinct buyers of several groups together."""
        base = self._entries(and_(*period_of(self.selection)), *([Entry.pair_id.is_not(None)] if via else []))
        wanted = [self.raw_keys[key] for key in keys if key in self.raw_keys]
        return int(db.session.scalar(select(func.count(func.distinct(base.c.b)))
                                     .where(_in_keys(base.c.k, wanted))) or 0)


# --- labels and the response --------------------------------------------------------------------------------


def _labels(group_by: str, keys: set[str], context: Context) -> dict[str, str]:
    if group_by in FIXED_KEYS:
        return dict(FIXED_KEYS[group_by])
    if group_by in ("district", "supporter"):
        return regions.names_of(keys)
    if group_by == "pair":
        pairs = {str(pair.id): pair for pair in context.pairs if str(pair.id) in keys}
        names = regions.names_of({code for p in pairs.values() for code in (p.supporter_code, p.recipient_code)})
        name = lambda code: names.get(code, code)  # noqa: E731
        return {key: f"{name(p.supporter_code)} → {name(p.recipient_code)}" for key, p in pairs.items()}
    if group_by == "product":
        return {str(k): v for k, v in catalog.product_names(product_ids=[int(k) for k in keys]).items()}
    if group_by == "category":
        names = {NO_CATEGORY: "未分类"}

        def walk(nodes):
            for node in nodes:
                names[str(node["id"])] = node["name"]
                walk(node["children"])
        walk(catalog.list_categories())
        return names
    return {key: key for key in keys}  # month


def _all_keys(selection: Selection, groups: dict[str, Group]) -> list[str]:
    """The keys that appear even at zero (all 15 districts, every month, kind, channel, market) and the rest."""
    fixed: list[str] = []
    if selection.group_by == "district":
        fixed = [region.code for region in regions.list_regions(reservoir_district=True, limit=100,
                                                                 cursor=None)["items"]]
    elif selection.group_by == "month":
        fixed = [month.strftime("%Y-%m") for month in rollup.month_starts(selection.start, selection.end)]
    elif selection.group_by in FIXED_KEYS:
        fixed = list(FIXED_KEYS[selection.group_by])
    return fixed + sorted(set(groups) - set(fixed))


def min_buyers() -> int:
    return int(current_app.config.get("ASSISTANCE_MIN_BUYERS", 3))


def statistics(selection: Selection, *, raw: bool = False, within: set[str] | None = None,
               exact_buyers: bool = False) -> dict:
    """The figures of a selection, as the public API answers them (raw: without suppression; exact_buyers: every
    item's `buyers` exact, else a lower bound where it does not decide suppression)."""
    check_period(selection.start, selection.end)
    context = Context()
    figures = Figures(selection, context, within=within)
    threshold = min_buyers()
    if exact_buyers or not raw:
        figures.count_small(2**31 if exact_buyers else threshold)
    groups, union_buyers = figures.groups, figures.union_buyers
    keys = _all_keys(selection, groups)
    groups = {key: groups.get(key) or Group(key) for key in keys}
    outcome = via_outcome = Outcome(frozenset(), False)
    if not raw:
        outcome = suppress([Cell(g.key, g.amount_fen, g.quantity, g.buyers) for g in groups.values()],
                           min_buyers=threshold, union_buyers=union_buyers)
        if selection.group_by == "district":
            via_outcome = suppress([Cell(g.key, g.via_pairs_fen, 0, g.via_buyers) for g in groups.values()],
                                   min_buyers=threshold, initial=outcome.hidden,
                                   union_buyers=lambda ks: union_buyers(ks, via=True))
    labels = _labels(selection.group_by, set(keys), context)
    items = []
    for key in keys:
        group, hidden = groups[key], key in outcome.hidden
        via = None
        if selection.group_by == "district":
            via = None if key in via_outcome.hidden or via_outcome.total_hidden and group.via_pairs_fen \
                else group.via_pairs_fen
        items.append({"key": key, "label": labels.get(key, key), "amount_fen": None if hidden else group.amount_fen,
                      "quantity": None if hidden else group.quantity, "via_pairs_fen": via, "suppressed": hidden,
                      "buyers": group.buyers})
    _order(items, selection.group_by)
    withheld = [groups[key] for key in outcome.hidden]
    total = {"amount_fen": sum(g.amount_fen for g in groups.values()),
             "quantity": sum(g.quantity for g in groups.values())}
    hidden_sums = {"amount_fen": sum(g.amount_fen for g in withheld), "quantity": sum(g.quantity for g in withheld)}
    if outcome.total_hidden:
        total = {"amount_fen": None, "quantity": None}
        hidden_sums = {"amount_fen": None, "quantity": None}
    return {"group_by": selection.group_by, "start": selection.start, "end": selection.end,
            "min_buyers": threshold, "raw": raw, "items": items,
            "withheld": {"groups": len(withheld), **hidden_sums}, "total": total}


def _order(items: list[dict], group_by: str) -> None:
    """Months in order; everything else by amount (desc) then key, withheld items last by key (their place in
    a ranking would tell a range)."""
    if group_by == "month":
        return
    items.sort(key=lambda item: (item["suppressed"], -(item["amount_fen"] or 0) if not item["suppressed"] else 0,
                                 item["key"]))



def detail(selection: Selection, *, within: set[str] | None = None) -> list[dict]:
    """Per group, buyer kind and product: the exports' detail (sums only, no buyer)."""
    check_period(selection.start, selection.end)
    context = Context()
    base = (select(key_expression(selection, context).label("k"), Entry.buyer_kind, Entry.product_id,
                   Entry.amount_fen, Entry.quantity)
            .where(*period_of(selection), *conditions(selection, context, within=within)).subquery())
    rows = db.session.execute(select(base.c.k, base.c.buyer_kind, base.c.product_id, func.sum(base.c.amount_fen),
                                     func.sum(base.c.quantity))
                              .group_by(base.c.k, base.c.buyer_kind, base.c.product_id)
                              .order_by(base.c.k, base.c.buyer_kind, base.c.product_id)).all()
    labels = _labels(selection.group_by, {_key(k) for k, *_ in rows}, context)
    products = catalog.product_names(product_ids={product_id for _, _, product_id, _, _ in rows})
    return [{"key": _key(k), "label": labels.get(_key(k), _key(k)), "buyer_kind": kind, "product_id": product_id,
             "product": products.get(product_id, ""), "amount_fen": int(amount), "quantity": int(quantity)}
            for k, kind, product_id, amount, quantity in rows]


def supporter_scope(office_regions: list[str], supporter: str | None) -> set[str] | None:
    """The supporter codes an office member may export: those within their offices' regions. None when a
    `supporter` filter lies outside all of them."""
    context = Context()
    within = set().union(*(context.supporter_codes_within(code) for code in office_regions))
    if supporter is not None:
        _known_region(supporter, "supporter")
        if not set(office_regions) & {region for region in context.chains(supporter)}:
            return None
    return within
