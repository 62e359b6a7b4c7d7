"""Campaign results for the public counterpart-support statistics (shop.assistance): per campaign anyone may see
(neither drafts nor suspended ones), what was pledged, allocated, delivered and paid."""
from __future__ import annotations

from sqlalchemy import func, select

from shop.extensions import db
from shop.orders.models import Order
from shop.pagination import SortKey, keyset_page
from shop.presale.models import PUBLIC_STATUSES, Campaign, Pledge, SupplyCommitment
from shop.suppliers import services as suppliers


def campaign_results(*, status: str | None = None, limit: int, cursor: str | None) -> dict:
    """Newest first, keyset-paged; each item a dict. Three statements per page besides the page itself:
    pledges with their orders' money, deliveries, the lead suppliers' districts."""
    stmt = select(Campaign).where(Campaign.status.in_(PUBLIC_STATUSES))
    if status:
        stmt = stmt.where(Campaign.status == status)
    page = keyset_page(db.session, stmt, keys=[SortKey(Campaign.id, lambda c: c.id, descending=True)], limit=limit,
                       cursor=cursor)
    campaigns = page["items"]
    ids = [campaign.id for campaign in campaigns]
    pledged, delivered, districts = {}, {}, {}
    if ids:
        # Active pledges hold units; allocation is what the harvest gave them; money is the pledges' orders'
        # paid − refunded, forfeited deposits included (they were paid and kept).
        pledged = {row[0]: row[1:] for row in db.session.execute(
            select(Pledge.campaign_id,
                   func.coalesce(func.sum(Pledge.allocated_quantity), 0),
                   func.coalesce(func.sum(Order.paid_fen - Order.refunded_fen), 0))
            .join(Order, Order.id == Pledge.order_id)
            .where(Pledge.campaign_id.in_(ids)).group_by(Pledge.campaign_id))}
        delivered = dict(db.session.execute(
            select(SupplyCommitment.campaign_id, func.coalesce(func.sum(SupplyCommitment.delivered_quantity), 0))
            .where(SupplyCommitment.campaign_id.in_(ids)).group_by(SupplyCommitment.campaign_id)).all())
        districts = suppliers.supplier_districts(supplier_ids={campaign.supplier_id for campaign in campaigns})
    items = []
    for campaign in campaigns:
        allocated, paid = pledged.get(campaign.id, (0, 0))
        items.append({
            "id": campaign.id, "title": campaign.title, "status": campaign.status,
            "supplier_id": campaign.supplier_id, "district_code": districts.get(campaign.supplier_id),
            "minimum_quantity": campaign.minimum_quantity, "capacity": campaign.capacity,
            "pledged_quantity": campaign.pledged_quantity, "allocated_quantity": int(allocated),
            "delivered_quantity": int(delivered.get(campaign.id, 0)),
            "pledged_fen": campaign.pledged_quantity * campaign.unit_price_fen, "paid_fen": int(paid),
            "opens_at": campaign.opens_at, "closes_at": campaign.closes_at,
        })
    return {"items": items, "next_cursor": page["next_cursor"]}
