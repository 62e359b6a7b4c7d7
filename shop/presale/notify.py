"""What buyers and suppliers are told about a campaign. Messages go to the outbox in the caller's transaction."""
from __future__ import annotations

from shop.accounts.services import get_user
from shop.notifications.services import enqueue
from shop.presale.models import Campaign, Pledge
from shop.suppliers import services as suppliers


def _tell_buyers(pledges: list[Pledge], *, template: str, subject: str, body: str) -> None:
    for pledge in pledges:
        buyer = get_user(user_id=pledge.buyer_id)
        enqueue(email=buyer.email, user_id=buyer.id, template=template, order_id=pledge.order_id, subject=subject,
                body=body.format(quantity=pledge.quantity))


def _tell_supplier(campaign: Campaign, *, template: str, subject: str, body: str) -> None:
    for _, owner in suppliers.owners(supplier_ids={campaign.supplier_id}):
        enqueue(email=owner.email, user_id=owner.id, template=template, subject=subject, body=body)


def campaign_succeeded(campaign: Campaign, pledges: list[Pledge], *, demand: int) -> None:
    _tell_buyers(pledges, template="campaign_succeeded", subject=f"预售「{campaign.title}」成团 / Campaign succeeded",
                 body="您预订的 {quantity} 件已成团，采收后将按实际产量分配并通知您支付尾款。")
    _tell_supplier(campaign, template="campaign_succeeded", subject=f"预售「{campaign.title}」成团 / Succeeded",
                   body=f"已付款的预订共 {demand} 件，达到起订量 {campaign.minimum_quantity} 件。"
                        f"采收后请录入实际产量进行分配。")


def campaign_failed(campaign: Campaign, pledges: list[Pledge], *, demand: int) -> None:
    _tell_buyers(pledges, template="campaign_failed", subject=f"预售「{campaign.title}」未成团 / Campaign failed",
                 body="预售未达到起订量，您预订的 {quantity} 件已取消，已付款项将原路退回。")
    _tell_supplier(campaign, template="campaign_failed", subject=f"预售「{campaign.title}」未成团 / Failed",
                   body=f"已付款的预订共 {demand} 件，未达到起订量 {campaign.minimum_quantity} 件；"
                        f"所有预订已取消并退款。")
