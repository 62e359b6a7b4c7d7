"""One pricing function for the cart and the checkout: what the shopper sees is what the order charges."""
from __future__ import annotations

from dataclasses import dataclass, field

from shop.catalog.models import Product, Sku
from shop.catalog.queries import get_skus_for_pricing, out_of_season, sellable_problem
from shop.errors import ValidationFailed
from shop.suppliers.models import Supplier
from shop.suppliers.services import quote_shipping, shipping_rules_for


# Why a line cannot be bought as it is. The first two leave the line out of the totals.
UNAVAILABLE, OUT_OF_SEASON, QUANTITY, STOCK = "unavailable", "out_of_season", "quantity", "stock"
LINE_PROBLEMS = (UNAVAILABLE, OUT_OF_SEASON, QUANTITY, STOCK)
NOT_COUNTED = {UNAVAILABLE, OUT_OF_SEASON}


@dataclass
class QuoteLine:
    sku_id: int
    quantity: int
    sku: Sku | None
    unit_price_fen: int = 0
    line_total_fen: int = 0
    problems: list[str] = field(default_factory=list)  # LINE_PROBLEMS

    @property
    def product(self) -> Product | None:
        return self.sku.product if self.sku else None


@dataclass
class SupplierGroup:
    supplier: Supplier
    lines: list[QuoteLine]
    subtotal_fen: int = 0
    weight_g: int = 0
    cold_chain: bool = False
    shipping_fen: int = 0
    undeliverable: bool = False

    @property
    def total_fen(self) -> int:
        return self.subtotal_fen + self.shipping_fen


@dataclass
class Quote:
    groups: list[SupplierGroup]
    missing: list[QuoteLine]  # SKUs that no longer exist

    @property
    def subtotal_fen(self) -> int:
        return sum(g.subtotal_fen for g in self.groups)

    @property
    def shipping_fen(self) -> int:
        return sum(g.shipping_fen for g in self.groups)

    @property
    def total_fen(self) -> int:
        return self.subtotal_fen + self.shipping_fen

    @property
    def lines(self) -> list[QuoteLine]:
        return [line for group in self.groups for line in group.lines] + self.missing

    def problems(self) -> dict[int, list[str]]:
        return {line.sku_id: line.problems for line in self.lines if line.problems}


def price_items(items: list[tuple[int, int]], *, destination_codes: list[str] | None, channel: str = "retail",
                unit_prices: dict[int, int] | None = None, skus: dict[int, Sku] | None = None) -> Quote:
    """Price (sku_id, quantity) items grouped by supplier, with each supplier's shipping to the destination
    (a county code and its ancestors; None = no address yet, quoted without regional exclusions).

    `unit_prices` is the pre-sale channel's: each listed SKU is priced at that unit price (the campaign's), and
    neither its season nor its stock is judged (a campaign sells a coming harvest against its own capacity).
    Shipping is then quoted on those line totals, so lines, subtotals and shipping stay one consistent quote.
    `skus`: the caller's get_skus_for_pricing() of these SKUs (or more), read in the same transaction."""
    if skus is None:
        skus = get_skus_for_pricing(sku_ids=[sku_id for sku_id, _ in items])
    supplier_ids = {sku.product.supplier_id for sku in skus.values()}
    rules = shipping_rules_for(supplier_ids=supplier_ids)

    groups: dict[int, SupplierGroup] = {}
    missing = []
    for sku_id, quantity in items:
        sku = skus.get(sku_id)
        line = QuoteLine(sku_id=sku_id, quantity=quantity, sku=sku)
        if sku is None:
            line.problems.append(UNAVAILABLE)
            missing.append(line)
            continue
        ahead = unit_prices is not None and sku_id in unit_prices
        if sellable_problem(sku):
            line.problems.append(UNAVAILABLE)
        elif out_of_season(sku.product) and not ahead:
            line.problems.append(OUT_OF_SEASON)
        if sku.quantity_problem(quantity):
            line.problems.append(QUANTITY)
        if quantity > sku.stock and not ahead:
            line.problems.append(STOCK)
        # Volume tiers are institutional prices; retail pays the list price; a pre-sale its campaign's price.
        if ahead:
            line.unit_price_fen = unit_prices[sku_id]
        else:
            line.unit_price_fen = sku.unit_price_for(quantity) if channel == "procurement" else sku.price_fen
        line.line_total_fen = line.unit_price_fen * quantity
        supplier = sku.product.supplier
        group = groups.setdefault(supplier.id, SupplierGroup(supplier=supplier, lines=[]))
        group.lines.append(line)

    for group in groups.values():
        counted = [line for line in group.lines if not NOT_COUNTED.intersection(line.problems)]
        group.subtotal_fen = sum(line.line_total_fen for line in counted)
        group.weight_g = sum(line.sku.weight_g * line.quantity for line in counted)
        group.cold_chain = any(line.sku.product.cold_chain for line in counted)
        if counted:
            try:
                group.shipping_fen = quote_shipping(rules.get(group.supplier.id), subtotal_fen=group.subtotal_fen,
                                                    weight_g=group.weight_g, cold_chain=group.cold_chain,
                                                    region_codes=destination_codes or [])
            except ValidationFailed as error:  # the supplier does not deliver to this destination
                if error.code != "undeliverable":
                    raise
                group.undeliverable = True
    return Quote(groups=sorted(groups.values(), key=lambda g: g.supplier.id), missing=missing)
