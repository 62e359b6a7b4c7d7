from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from shop.addresses.services import destination_codes, get_address
from shop.cart.models import CartLine
from shop.catalog.models import Sku
from shop.catalog.stock import InsufficientStock
from shop.catalog.queries import get_skus_for_pricing, out_of_season, season_of, sellable_problem
from shop.checkout.pricing import Quote, price_items
from shop.errors import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.transaction import transaction
from shop.cart import error_codes

MAX_CART_LINES = 100


@dataclass
class CartView:
    quote: Quote
    line_ids: dict[int, int]  # sku_id → cart line id


def _lines(user_id: int) -> list[CartLine]:
    return list(db.session.scalars(select(CartLine).where(CartLine.user_id == user_id).order_by(CartLine.id)))


def _view(lines: list[CartLine], *, destination=None, skus=None) -> CartView:
    quote = price_items([(line.sku_id, line.quantity) for line in lines], destination_codes=destination, skus=skus)
    return CartView(quote=quote, line_ids={line.sku_id: line.id for line in lines})


def view_cart(*, user, address_id: int | None = None) -> CartView:
    lines = _lines(user.id)
    destination = None
    if address_id is not None:
        destination = destination_codes(get_address(user=user, address_id=address_id))
    return _view(lines, destination=destination)


def _check_season(sku: Sku) -> None:
    if out_of_season(sku.product):
        month = season_of(sku.product)["on_sale_again_month"]
        raise Conflict(f"Out of season: on sale again from month {month}.", code=error_codes.OUT_OF_SEASON,
                       errors={"sku_id": [f"On sale again from month {month}."]})


def _check_quantity(sku: Sku, quantity: int) -> None:
    problem = sku.quantity_problem(quantity)
    if problem:
        raise ValidationFailed(problem, code=error_codes.INVALID_QUANTITY, errors={"quantity": [problem]})
    if quantity > sku.stock:
        raise InsufficientStock(f"Only {sku.stock} {sku.unit} available.", errors={"quantity": [sku.stock]})


def add_line(*, user, sku_id: int, quantity: int) -> CartView:
    """Add to the cart; an SKU already there has its quantity increased. The cart is priced in the same unit,
    from the lines and SKUs it has just read, and answered as committed (nothing is read twice)."""
    user_id = user.id
    try:
        with transaction(expire_on_commit=False):
            lines = _lines(user_id)
            skus = get_skus_for_pricing(sku_ids=[line.sku_id for line in lines] + [sku_id])
            sku = skus.get(sku_id)
            if sku is None or sellable_problem(sku):
                raise NotFound("No such SKU on sale.")
            _check_season(sku)
            line = next((line for line in lines if line.sku_id == sku_id), None)
            new_quantity = quantity + (line.quantity if line else 0)
            _check_quantity(sku, new_quantity)
            if line is None:
                if len(lines) >= MAX_CART_LINES:
                    raise ValidationFailed("The cart is full.", code=error_codes.CART_FULL)
                line = CartLine(user_id=user_id, sku_id=sku_id, quantity=new_quantity)
                db.session.add(line)
                db.session.flush()  # its id, for the answer
                lines.append(line)
            else:
                line.quantity = new_quantity
            return _view(lines, skus=skus)
    except IntegrityError:  # the same SKU added twice at once: the other request won, add to its line
        return add_line(user=user, sku_id=sku_id, quantity=quantity)


def _own_line(user, line_id: int) -> CartLine:
    line = db.session.get(CartLine, line_id)
    if line is None or line.user_id != user.id:
        raise NotFound("No such cart line.")
    return line


def set_quantity(*, user, line_id: int, quantity: int) -> CartView:
    with transaction():
        line = _own_line(user, line_id)
        sku = get_skus_for_pricing(sku_ids=[line.sku_id])[line.sku_id]
        if quantity > line.quantity:  # lowering or keeping the quantity of an out-of-season line stays allowed
            _check_season(sku)
        _check_quantity(sku, quantity)
        line.quantity = quantity
    return view_cart(user=user)


def remove_line(*, user, line_id: int) -> CartView:
    with transaction():
        db.session.delete(_own_line(user, line_id))
    return view_cart(user=user)


def clear(*, user) -> CartView:
    with transaction():
        db.session.execute(delete(CartLine).where(CartLine.user_id == user.id))
    return view_cart(user=user)


def remove_purchased(*, user_id: int, sku_ids: list[int]) -> None:
    """Called by checkout: runs in the caller's transaction (does not commit)."""
    db.session.execute(delete(CartLine).where(CartLine.user_id == user_id, CartLine.sku_id.in_(sku_ids)))
