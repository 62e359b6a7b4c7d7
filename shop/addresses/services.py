from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from shop.addresses.models import Address
from shop.regions.models import Region
from shop.errors import NotFound, ValidationFailed
from shop.extensions import db
from shop.regions.services import get_county, region_chain
from shop.transaction import transaction

MAX_ADDRESSES = 30


def list_addresses(*, user) -> list[Address]:
    return list(db.session.scalars(select(Address).options(joinedload(Address.region))
                                   .where(Address.user_id == user.id)
                                   .order_by(Address.is_default.desc(), Address.id)))


def get_address(*, user, address_id: int) -> Address:
    """The user's address with its region and the region's ancestors loaded (one statement: region_chain then
    finds them in the session), or 404 (someone else's too). A read: in whatever transaction the caller has
    open (checkout calls it inside its own)."""
    address = db.session.scalar(select(Address).options(
        joinedload(Address.region).joinedload(Region.parent).joinedload(Region.parent)).where(Address.id == address_id))
    if address is None or address.user_id != user.id:
        raise NotFound("No such address.")
    return address


def _make_default(user, address: Address) -> None:
    db.session.execute(update(Address).where(Address.user_id == user.id, Address.id != address.id)
                       .values(is_default=False))
    address.is_default = True


def create_address(*, user, recipient, mobile, region_code, detail, postal_code=None, is_default=False) -> Address:
    with transaction():
        get_county(code=region_code, field="region_code")
        existing = list_addresses(user=user)
        if len(existing) >= MAX_ADDRESSES:
            raise ValidationFailed("Too many addresses.", code="too_many_addresses")
        address = Address(user_id=user.id, recipient=recipient, mobile=mobile, region_code=region_code,
                          detail=detail, postal_code=postal_code)
        db.session.add(address)
        db.session.flush()
        if is_default or not existing:  # the first address is the default
            _make_default(user, address)
    return get_address(user=user, address_id=address.id)


def update_address(*, user, address_id: int, changes: dict) -> Address:
    with transaction():
        address = get_address(user=user, address_id=address_id)
        if "region_code" in changes:
            get_county(code=changes["region_code"], field="region_code")
        for field in ("recipient", "mobile", "region_code", "detail", "postal_code"):
            if field in changes:
                setattr(address, field, changes[field])
        if changes.get("is_default"):
            _make_default(user, address)
    return get_address(user=user, address_id=address_id)


def delete_address(*, user, address_id: int) -> None:
    with transaction():
        address = get_address(user=user, address_id=address_id)
        was_default = address.is_default
        db.session.delete(address)
        db.session.flush()
        if was_default:
            successor = db.session.scalar(select(Address).where(Address.user_id == user.id).order_by(Address.id))
            if successor:
                successor.is_default = True


def default_address(*, user) -> Address | None:
    return db.session.scalar(select(Address).where(Address.user_id == user.id, Address.is_default.is_(True)))


def destination_codes(address: Address) -> list[str]:
    """The county's code and its ancestors' (a read, in the caller's transaction)."""
    return [region.code for region in region_chain(address.region_code)]


def destination(address: Address) -> tuple[list[str], dict]:
    """destination_codes() and snapshot() of the address from one walk of its region chain (checkout needs both)."""
    chain = region_chain(address.region_code)
    return [region.code for region in chain], _snapshot(address.region_code, chain, recipient=address.recipient,
                                                         mobile=address.mobile, detail=address.detail,
                                                         postal_code=address.postal_code)


def snapshot(address: Address) -> dict:
    """The address as printed on the parcel, frozen into the order (a read, in the caller's transaction)."""
    return delivery_snapshot(recipient=address.recipient, mobile=address.mobile, region_code=address.region_code,
                             detail=address.detail, postal_code=address.postal_code)


def delivery_snapshot(*, recipient: str, mobile: str, region_code: str, detail: str, postal_code: str | None = None,
                      field: str = "region_code") -> dict:
    """The same snapshot of an address given inline (an institution's delivery point, not an address-book
    entry); the region must be a county (422 naming `field`)."""
    get_county(code=region_code, field=field)
    return _snapshot(region_code, region_chain(region_code), recipient=recipient, mobile=mobile, detail=detail,
                     postal_code=postal_code)


def _snapshot(region_code: str, chain, *, recipient: str, mobile: str, detail: str, postal_code: str | None) -> dict:
    return {"recipient": recipient, "mobile": mobile, "region_code": region_code,
            "region_names": [region.name for region in reversed(chain)], "detail": detail,
            "postal_code": postal_code}


def snapshot_destination_codes(snapshot: dict) -> list[str]:
    """What destination_codes gives for the address a snapshot was taken of."""
    return [region.code for region in region_chain(snapshot["region_code"])]
