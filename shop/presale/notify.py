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


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def pledges_allocated(campaign: Campaign, results: list) -> None:
    """Each buyer learns what the harvest gave their pledge, what goes back, and the balance and its deadline."""
    due = f"{campaign.balance_due_at:%Y-%m-%d %H:%M} UTC" if campaign.balance_due_at else ""
    for pledge, row in results:
        if row.allocated == 0:
            body = f"实际产量不足，您预订的 {row.pledged} 件未能分配，订单已取消，已付 {_yuan(row.refund_fen)} 元将原路退回。"
        else:
            body = f"您预订的 {row.pledged} 件分配到 {row.allocated} 件（{row.reason}）。"
            if row.refund_fen:
                body += f"未分配部分的 {_yuan(row.refund_fen)} 元将原路退回。"
            if row.balance_fen:
                body += f"请在 {due} 前支付尾款 {_yuan(row.balance_fen)} 元，逾期定金不退。"
        buyer = get_user(user_id=pledge.buyer_id)
        enqueue(email=buyer.email, user_id=buyer.id, template="pledge_allocated", order_id=pledge.order_id,
                subject=f"预售「{campaign.title}」分配结果 / Allocation", body=body)
    _tell_supplier(campaign, template="campaign_allocated", subject=f"预售「{campaign.title}」已分配 / Allocated",
                   body=f"实际产量 {campaign.harvested_quantity} 件已分配给 {len(results)} 个预订。")


def deposit_forfeited(campaign: Campaign, pledge: Pledge, *, amount_fen: int) -> None:
    _tell_buyers([pledge], template="deposit_forfeited", subject=f"预售「{campaign.title}」尾款逾期 / Balance unpaid",
                 body=f"尾款未在截止时间前支付，订单已取消，定金 {_yuan(amount_fen)} 元按约定不予退还。")


def top_up_offered(campaign: Campaign, pledge: Pledge, *, hours: int) -> None:
    """`pledge` is the top-up: its order asks for the offered units at the campaign's price."""
    _tell_buyers([pledge], template="top_up_offered", subject=f"预售「{campaign.title}」补货 / More units for you",
                 body="有其他买家放弃了份额：可为您补足 {quantity} 件，" + f"请在 {hours} 小时内付款，逾期自动取消。")
