from marshmallow import Schema, fields, pre_dump

from shop.catalog.queries import season_of
from shop.checkout.pricing import LINE_PROBLEMS
from shop.validators import Id, Quantity, QueryId


class CartLineSchema(Schema):
    line_id = fields.Integer()
    sku_id = fields.Integer()
    product_id = fields.Integer(allow_none=True)
    product_name = fields.String(allow_none=True)
    spec = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    quantity = fields.Integer()
    unit_price_fen = fields.Integer()
    line_total_fen = fields.Integer()
    available_stock = fields.Integer(allow_none=True)
    on_sale = fields.Boolean(metadata={"description": "False when the product went off sale: flagged, not dropped"})
    problems = fields.List(fields.String(), metadata={"description": " | ".join(LINE_PROBLEMS)})
    in_season = fields.Boolean(allow_none=True, metadata={"description": "On sale this month (Asia/Shanghai)"})
    on_sale_again_month = fields.Integer(allow_none=True, metadata={
        "description": "When out of season: the month (1-12) it is on sale again"})


class SupplierBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class CartGroupSchema(Schema):
    supplier = fields.Nested(SupplierBriefSchema)
    lines = fields.List(fields.Nested(CartLineSchema))
    subtotal_fen = fields.Integer()
    shipping_fen = fields.Integer()
    total_fen = fields.Integer()
    weight_g = fields.Integer()
    undeliverable = fields.Boolean()


class CartSchema(Schema):
    groups = fields.List(fields.Nested(CartGroupSchema))
    subtotal_fen = fields.Integer()
    shipping_fen = fields.Integer()
    total_fen = fields.Integer()
    has_problems = fields.Boolean()

    @pre_dump
    def from_view(self, view, **kwargs):
        quote = view.quote

        def line(q):
            return {"line_id": view.line_ids.get(q.sku_id), "sku_id": q.sku_id,
                    "product_id": q.product.id if q.sku else None, "product_name": q.product.name if q.sku else None,
                    "spec": q.sku.spec if q.sku else None, "unit": q.sku.unit if q.sku else None,
                    "quantity": q.quantity, "unit_price_fen": q.unit_price_fen, "line_total_fen": q.line_total_fen,
                    "available_stock": q.sku.stock if q.sku else None, "on_sale": "unavailable" not in q.problems,
                    "problems": q.problems,
                    **(season_of(q.product) if q.sku else {"in_season": None, "on_sale_again_month": None})}

        groups = [{"supplier": g.supplier, "lines": [line(q) for q in g.lines], "subtotal_fen": g.subtotal_fen,
                   "shipping_fen": g.shipping_fen, "total_fen": g.total_fen, "weight_g": g.weight_g,
                   "undeliverable": g.undeliverable} for g in quote.groups]
        if quote.missing:
            groups.append({"supplier": {"id": 0, "name": ""}, "lines": [line(q) for q in quote.missing],
                           "subtotal_fen": 0, "shipping_fen": 0, "total_fen": 0, "weight_g": 0,
                           "undeliverable": False})
        return {"groups": groups, "subtotal_fen": quote.subtotal_fen, "shipping_fen": quote.shipping_fen,
                "total_fen": quote.total_fen,
                "has_problems": bool(quote.problems()) or any(g.undeliverable for g in quote.groups)}


class CartQueryArgsSchema(Schema):
    address_id = QueryId(metadata={"description": "Quote shipping to this address"})


class CartLineCreateSchema(Schema):
    sku_id = Id(required=True)
    quantity = Quantity(required=True)


class CartLineUpdateSchema(Schema):
    quantity = Quantity(required=True)
