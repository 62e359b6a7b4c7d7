"""The counterpart-support figures: sums of attribution entries (shop.assistance.attribution) over a period of
Asia/Shanghai calendar days, grouped one way, with filters.

Every figure is a sum over entries, so it is exact after refunds (a refund is a negative entry dated when it was
opened). The total is summed over the entries, never over the items (a province's figure and a pair's figure
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
from sqlalchemy import case, func, literal, or_, select

from shop.assistance import error_codes as codes
from shop.assistance.attribution import Chains
from shop.assistance.models import AttributionEntry as Entry
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


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)


def check_period(start: dt.date, end: dt.date) -> None:
    if end < start or (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationFailed("`to` must not be before `from`, and the period is at most ten years.",
                               code=codes.INVALID_PERIOD, errors={"to": ["Not a valid period."]})


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    months, month = [], dt.date(start.year, start.month, 1)
    while month <= end:
        months.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


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


def conditions(selection: Selection, context: Context, *, within: set[str] | None = None) -> list:
    """The WHERE of a selection; `within`: the supporter codes an export is limited to."""
    where = [Entry.created_at >= local_day_start(selection.start),
             Entry.created_at < local_day_start(selection.end + dt.timedelta(days=1))]
    if selection.district:
        _known_region(selection.district, "district")
        where.append(Entry.district_code == selection.district)
    if selection.supporter:
        _known_region(selection.supporter, "supporter")
        where.append(Entry.supporter_code.in_(sorted(context.supporter_codes_within(selection.supporter))))
    if within is not None:
        where.append(Entry.supporter_code.in_(sorted(within)))
    if selection.channel:
        where.append(Entry.channel == selection.channel)
    if selection.buyer_kind:
        where.append(Entry.buyer_kind == selection.buyer_kind)
    if selection.category is not None:
        where.append(Entry.category_id.in_(sorted(_category_ids(selection.category))))
    if selection.group_by in ON_PAIRS_ONLY:
        where.append(Entry.pair_id.is_not(None))
    return where


def key_expression(selection: Selection, context: Context):
    group_by = selection.group_by
    if group_by == "district":
        return Entry.district_code
    if group_by == "supporter":
        provinces = context.province_of()
        return case(provinces, value=Entry.supporter_code, else_=Entry.supporter_code) if provinces \
            else Entry.supporter_code
    if group_by in ("pair", "product", "category"):
        column = {"pair": Entry.pair_id, "product": Entry.product_id, "category": Entry.category_id}[group_by]
        return column
    if group_by in ("buyer_kind", "channel"):
        return getattr(Entry, group_by)
    if group_by == "market":
        return case((Entry.inside_chongqing.is_(True), literal("inside")),
                    (Entry.inside_chongqing.is_(False), literal("outside")), else_=literal("unknown"))
    months = month_starts(selection.start, selection.end)  # month: a CASE on UTC instants, the same on both dbs
    labels = [month.strftime("%Y-%m") for month in months]
    whens = [(Entry.created_at < local_day_start(nxt), literal(label)) for nxt, label in zip(months[1:], labels)]
    return case(*whens, else_=literal(labels[-1])) if whens else literal(labels[-1])


# An institution counts as its organisation: negative organisation ids never meet positive user ids.
BUYER = func.coalesce(-Entry.organization_id, Entry.buyer_id)


def per_buyer(selection: Selection, context: Context, *, within: set[str] | None = None):
    """(key, buyer) → net amount, net quantity, net on pairs: the subquery every figure is summed from."""
    base = (select(key_expression(selection, context).label("k"), BUYER.label("b"), Entry.amount_fen,
                   Entry.quantity, Entry.pair_id)
            .where(*conditions(selection, context, within=within)).subquery())
    via = func.sum(case((base.c.pair_id.is_not(None), base.c.amount_fen), else_=0))
    return (select(base.c.k, base.c.b, func.sum(base.c.amount_fen).label("a"), func.sum(base.c.quantity).label("q"),
                   via.label("v"))
            .group_by(base.c.k, base.c.b).subquery())


def _key(value) -> str:
    return NO_CATEGORY if value is None else str(value)


def aggregate(selection: Selection, context: Context, *, within: set[str] | None = None):
    """The groups (key → Group) and a function counting the distinct buyers of several groups together."""
    inner = per_buyer(selection, context, within=within)
    counts = lambda condition: func.sum(case((condition, 1), else_=0))  # noqa: E731
    rows = db.session.execute(select(inner.c.k, func.sum(inner.c.a), func.sum(inner.c.q),
                                     counts(or_(inner.c.a != 0, inner.c.q != 0)), func.sum(inner.c.v),
                                     counts(inner.c.v != 0))
                              .group_by(inner.c.k)).all()
    groups = {_key(k): Group(_key(k), int(a or 0), int(q or 0), int(n or 0), int(v or 0), int(vn or 0))
              for k, a, q, n, v, vn in rows}
    raw_keys = {_key(k): k for k, *_ in rows}

    def union_buyers(keys: set[str], *, via: bool = False) -> int:
        nonzero = inner.c.v != 0 if via else or_(inner.c.a != 0, inner.c.q != 0)
        wanted = [raw_keys[key] for key in keys if key in raw_keys]
        in_keys = or_(inner.c.k.in_([k for k in wanted if k is not None]),
                      *([inner.c.k.is_(None)] if None in wanted else []))
        return int(db.session.scalar(select(func.count(func.distinct(inner.c.b))).where(nonzero, in_keys)) or 0)

    return groups, union_buyers


# --- labels and the response --------------------------------------------------------------------------------


def _labels(group_by: str, keys: set[str], context: Context) -> dict[str, str]:
    if group_by in FIXED_KEYS:
        return dict(FIXED_KEYS[group_by])
    if group_by in ("district", "supporter"):
        return regions.names_of(keys)
    if group_by == "pair":
        pairs = {str(pair.id): pair for pair in context.pairs if str(pair.id) in keys}
        names = regions.names_of({p.supporter_code for p in pairs.values()} | {p.recipient_code for p in pairs.values()})
        return {key: f"{names.get(p.supporter_code, p.supporter_code)} → {names.get(p.recipient_code, p.recipient_code)}"
                for key, p in pairs.items()}
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
        fixed = [month.strftime("%Y-%m") for month in month_starts(selection.start, selection.end)]
    elif selection.group_by in FIXED_KEYS:
        fixed = list(FIXED_KEYS[selection.group_by])
    return fixed + sorted(set(groups) - set(fixed))


def min_buyers() -> int:
    return int(current_app.config.get("ASSISTANCE_MIN_BUYERS", 3))


def statistics(selection: Selection, *, raw: bool = False, within: set[str] | None = None) -> dict:
    """The figures of a selection, as the public API answers them (raw: without suppression)."""
    check_period(selection.start, selection.end)
    context = Context()
    groups, union_buyers = aggregate(selection, context, within=within)
    keys = _all_keys(selection, groups)
    groups = {key: groups.get(key) or Group(key) for key in keys}
    threshold = min_buyers()
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
            .where(*conditions(selection, context, within=within)).subquery())
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
