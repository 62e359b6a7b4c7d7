"""A year of a busy center, made fast: suppliers in every reservoir district (and one outside), products, shoppers
and institutions from the supporting provinces, from Chongqing and from elsewhere, orders with one to three
lines, every line paid and some refunded in part or in full, and the attribution entries the ledger would have
written for them — all with SQLAlchemy Core executemany in batches (no ORM, no services: a million lines would
take hours through checkout).

The entries follow shop.assistance.attribution's rules for these simple histories: a payment entry (+line total,
+units, at the payment) and, for a refunded line, a refund entry (−amount, −units returned, all of them when it
leaves nothing) a few days later, inside the year; the pair is the verified pair nearest in the buyer's region
chain (`PairIndex`, the rule's own code). `generate` returns the lines and events it wrote when asked
(`keep=True`), so that a test can sum them independently of the statistics' SQL.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select, text

from shop.database import SHOP_TIMEZONE

BATCH = 10_000
PASSWORD_HASH = "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtcmVhbC1oYXNo$bm90LWEtcmVhbC1oYXNoLW5vdC1hLXJlYWw"
CHANNEL_WEIGHTS = {"retail": 70, "presale": 10, "store": 20}  # shoppers; institutions buy through procurement


@dataclass
class Line:
    id: int
    order_id: int
    district_code: str
    supplier_id: int
    product_id: int
    category_id: int | None
    channel: str
    buyer_kind: str
    buyer_id: int
    organization_id: int | None
    buyer_region_code: str | None
    inside_chongqing: bool | None
    pair_id: int | None
    supporter_code: str | None
    events: list[tuple[dt.datetime, int, int]] = field(default_factory=list)  # (at, fen, units)


@dataclass
class Generated:
    lines: int = 0
    orders: int = 0
    entries: int = 0
    kept: list[Line] = field(default_factory=list)


def _next_id(conn, table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar()) + 1


def _flush(conn, table, rows: list[dict]) -> None:
    if rows:
        conn.execute(insert(table), rows)
        rows.clear()


def _buyer_regions(session, tables, pairs) -> list[str | None]:
    """A county inside each verified pair's supporter, Chongqing counties (市内), counties of regions that
    support nothing, and None (a shopper who declared no home)."""
    region = tables["region"]
    counties = [code for (code,) in session.execute(select(region.c.code).where(region.c.level == "county")
                                                 .order_by(region.c.code))]
    picks: list[str | None] = []
    for pair in pairs:
        prefix = pair.supporter_code[:2] if pair.supporter_code.endswith("0000") else pair.supporter_code[:4]
        inside = [code for code in counties if code.startswith(prefix)]
        picks += inside[:2]
    picks += [code for code in counties if code.startswith("50")][:6]  # Chongqing
    picks += [code for code in counties if code.startswith(("11", "42", "61"))][:4]  # 北京, 湖北, 陕西
    return sorted(set(picks)) + [None]


def generate(app, *, lines: int, year: int, seed: int = 1, keep: bool = False) -> Generated:
    """Insert about `lines` order lines paid in `year` (Asia/Shanghai) and their attribution entries."""
    from shop.assistance.attribution import Chains, PairIndex
    from shop.extensions import db
    from shop.regions import services as regions

    rng = random.Random(seed)
    tables = db.metadata.tables
    out = Generated()
    with app.app_context():
        pairs = [p for p in regions.pairs_to() if p.verified]
        index, chains = PairIndex(pairs), Chains()
        session = db.session
        buyer_regions = _buyer_regions(session, tables, pairs)
        chain_of = {code: chains(code) for code in buyer_regions}
        inside = {code: chains.inside_chongqing(code) for code in buyer_regions}
        region = tables["region"]
        districts = [code for (code,) in session.execute(select(region.c.code).where(
            region.c.reservoir_district.is_(True)).order_by(region.c.code))] + ["500103"]  # 渝中: outside
        categories = [cid for (cid,) in session.execute(select(tables["category"].c.id))] or [None]
        db.session.remove()  # before writing: on SQLite an open read would hold the lock the writer needs
        with db.engine.begin() as conn:
            products = _catalog(conn, tables, districts, categories, rng)
            users, organizations = _buyers(conn, tables, buyer_regions, lines, rng)
            _orders(conn, tables, out, lines=lines, year=year, rng=rng, keep=keep, products=products, users=users,
                    organizations=organizations, index=index, chain_of=chain_of, inside=inside)
            if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
                for name in ("user", "organization", "supplier", "product", "sku", "order", "fulfillment",
                             "order_line", "attribution_entry"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                                      f"(SELECT COALESCE(MAX(id), 1) FROM \"{name}\"))"))
    return out


def _catalog(conn, tables, districts, categories, rng) -> list[dict]:
    supplier_id, product_id, sku_id = (_next_id(conn, tables[t]) for t in ("supplier", "product", "sku"))
    suppliers, products, skus = [], [], []
    for i, district in enumerate(districts):
        sid = supplier_id + i
        suppliers.append(dict(id=sid, name=f"基准供应商{sid}", kind="cooperative", credit_code=f"93{sid:016d}",
                              district_code=district, contact_name="联系人", contact_phone="13800000000",
                              status="approved"))
        for _ in range(12):
            pid, price = product_id + len(products), rng.choice((990, 1990, 2990, 5800, 8800, 12800))
            products.append(dict(id=pid, supplier_id=sid, category_id=rng.choice(categories),
                                 origin_district_code=district, name=f"基准商品{pid}", product_type="prepackaged",
                                 return_policy="seven_day", status="active", min_price_fen=price))
            skus.append(dict(id=sku_id + len(skus), product_id=pid, spec="1kg", weight_g=1000, price_fen=price,
                             stock=10**6))
    _flush(conn, tables["supplier"], suppliers)
    rows = [dict(p) for p in products]
    _flush(conn, tables["product"], rows)
    _flush(conn, tables["sku"], [dict(s) for s in skus])
    return [dict(p, sku_id=s["id"], price=s["price_fen"]) for p, s in zip(products, skus)]


def _buyers(conn, tables, buyer_regions, lines, rng):
    """Shoppers (about one per 8 lines) and institutions (one per 400 lines, each with a buyer)."""
    user_id, org_id = _next_id(conn, tables["user"]), _next_id(conn, tables["organization"])
    shoppers = max(lines // 8, 30)
    institutions = max(lines // 400, 6)
    users, orgs, rows, org_rows = [], [], [], []
    for i in range(shoppers + institutions):
        uid = user_id + i
        home = rng.choice(buyer_regions)
        rows.append(dict(id=uid, email=f"bench{uid}@example.test", email_normalized=f"bench{uid}@example.test",
                         display_name="基准买家", password_hash=PASSWORD_HASH, home_region_code=home))
        if i < shoppers:
            users.append((uid, home))
        else:
            oid = org_id + len(orgs)
            home = home or buyer_regions[0]
            org_rows.append(dict(id=oid, name=f"基准单位{oid}", kind="hospital", credit_code=f"12{oid:016d}",
                                 home_region_code=home, address="地址", contact_name="联系人",
                                 contact_phone="13800000000", fapiao_title=f"基准单位{oid}", status="approved"))
            orgs.append((uid, oid, home))
        if len(rows) >= BATCH:
            _flush(conn, tables["user"], rows)
    _flush(conn, tables["user"], rows)
    _flush(conn, tables["organization"], org_rows)
    return users, orgs


def _local(year: int, rng) -> dt.datetime:
    start = dt.datetime(year, 1, 1, tzinfo=SHOP_TIMEZONE)
    seconds = (dt.datetime(year + 1, 1, 1, tzinfo=SHOP_TIMEZONE) - start).total_seconds()
    return (start + dt.timedelta(seconds=rng.randrange(int(seconds)))).astimezone(dt.timezone.utc)


def _orders(conn, tables, out: Generated, *, lines, year, rng, keep, products, users, organizations, index,
            chain_of, inside) -> None:
    order_id, fulfillment_id, line_id, entry_id = (_next_id(conn, tables[t]) for t in
                                                   ("order", "fulfillment", "order_line", "attribution_entry"))
    year_end = dt.datetime(year + 1, 1, 1, tzinfo=SHOP_TIMEZONE).astimezone(dt.timezone.utc)
    by_supplier: dict[int, list[dict]] = {}
    for product in products:
        by_supplier.setdefault(product["supplier_id"], []).append(product)
    supplier_ids = sorted(by_supplier)
    batches = {name: [] for name in ("order", "fulfillment", "order_line", "attribution_entry")}
    written = 0
    while written < lines:
        institutional = rng.random() < 0.15
        if institutional:
            buyer_id, organization_id, home = rng.choice(organizations)
            channel = "procurement"
        else:
            (buyer_id, home), organization_id = rng.choice(users), None
            channel = rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[0]
        paid_at = _local(year, rng)
        chosen = rng.sample(by_supplier[rng.choice(supplier_ids)], k=min(rng.choice((1, 1, 2, 3)), lines - written))
        order_lines, subtotal, refunded_total = [], 0, 0
        for product in chosen:
            quantity = rng.choice((1, 1, 2, 3, 5)) * (10 if institutional else 1)
            total = product["price"] * quantity
            refund_fen = refund_units = 0
            if rng.random() < 0.08:  # a refund: the whole line, or some of its units
                refund_units = quantity if quantity == 1 or rng.random() < 0.4 else rng.randrange(1, quantity)
                refund_fen = product["price"] * refund_units
            order_lines.append((product, quantity, total, refund_fen, refund_units))
            subtotal += total
            refunded_total += refund_fen
        oid, fid = order_id + out.orders, fulfillment_id + out.orders
        status = "cancelled" if refunded_total == subtotal else "completed"
        batches["order"].append(dict(id=oid, number=f"B{oid:012d}", buyer_id=buyer_id, organization_id=organization_id,
                                     channel=channel, status=status, subtotal_fen=subtotal, shipping_fen=0,
                                     total_fen=subtotal, paid_fen=subtotal, refunded_fen=refunded_total,
                                     shipping_address={}, buyer_region_code=home, placed_at=paid_at, paid_at=paid_at))
        batches["fulfillment"].append(dict(id=fid, order_id=oid, supplier_id=chosen[0]["supplier_id"],
                                           status="delivered", subtotal_fen=subtotal, shipping_fen=0))
        pair_chain = chain_of[home] if home else []
        for product, quantity, total, refund_fen, refund_units in order_lines:
            lid = line_id + written
            pair = index.covering(pair_chain, product["origin_district_code"])
            snapshot = dict(district_code=product["origin_district_code"], supplier_id=product["supplier_id"],
                            product_id=product["id"], category_id=product["category_id"], channel=channel,
                            buyer_kind="institution" if organization_id else "shopper", buyer_id=buyer_id,
                            organization_id=organization_id, buyer_region_code=home,
                            inside_chongqing=inside[home] if home else None,
                            pair_id=pair.pair_id if pair else None, supporter_code=pair.supporter_code if pair else None)
            batches["order_line"].append(dict(
                id=lid, order_id=oid, fulfillment_id=fid, sku_id=product["sku_id"], product_id=product["id"],
                supplier_id=product["supplier_id"], origin_district_code=product["origin_district_code"],
                product_name=product["name"], sku_spec="1kg", unit="袋", weight_g=1000, product_type="prepackaged",
                return_policy="seven_day", unit_price_fen=product["price"], category_id=product["category_id"],
                quantity=quantity, line_total_fen=total, paid_fen=total, refunded_fen=refund_fen))
            events = [(paid_at, total, quantity)]
            if refund_fen:
                at = min(paid_at + dt.timedelta(days=rng.randrange(1, 20), seconds=rng.randrange(86400)),
                         year_end - dt.timedelta(seconds=1))
                events.append((at, -refund_fen, -refund_units))
            for (at, fen, units), source in zip(events, ("payment", "refund")):
                batches["attribution_entry"].append(dict(id=entry_id + out.entries, source=source, order_id=oid,
                                                         order_line_id=lid, amount_fen=fen, quantity=units,
                                                         created_at=at, **snapshot))
                out.entries += 1
            if keep:
                out.kept.append(Line(id=lid, order_id=oid, events=events, **snapshot))
            written += 1
        out.orders += 1
        if len(batches["order_line"]) >= BATCH:
            for name in ("order", "fulfillment", "order_line", "attribution_entry"):
                _flush(conn, tables[name], batches[name])
    for name in ("order", "fulfillment", "order_line", "attribution_entry"):
        _flush(conn, tables[name], batches[name])
    out.lines = written
