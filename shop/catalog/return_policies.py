"""What a buyer is told about 7-day no-reason return (七日无理由退货), per return policy, and which wording the
buyer confirmed. The wording is versioned: an order records the version its buyer saw, so a later change of
wording never rewrites what an earlier buyer agreed to."""
from __future__ import annotations

from shop.catalog.models import RETURN_POLICIES

NEEDS_CONFIRMATION = "excluded_with_confirmation"

# 《网络购买商品七日无理由退货暂行办法》 第六条 (by nature: fresh, custom-made) and 第七条 (not suitable by
# nature, confirmed by the buyer at purchase). Change the text → bump the version.
RETURN_NOTICES: dict[str, dict] = {
    "seven_day": {"version": "2026-12-v1", "text": "支持七日无理由退货（自签收次日起七日内，商品完好）。"},
    "excluded_fresh": {"version": "2026-12-v1",
                       "text": "鲜活易腐商品，不适用七日无理由退货；质量问题可凭照片申请售后。"},
    "excluded_custom": {"version": "2026-12-v1", "text": "定制商品，不适用七日无理由退货；质量问题可申请售后。"},
    NEEDS_CONFIRMATION: {"version": "2026-12-v1",
                         "text": "本商品根据商品性质不宜退货，经您在购买时确认后不适用七日无理由退货；"
                                 "质量问题仍可申请售后。"},
}
assert set(RETURN_NOTICES) == set(RETURN_POLICIES)


def notice_for(policy: str) -> dict:
    return {"policy": policy, "needs_confirmation": policy == NEEDS_CONFIRMATION, **RETURN_NOTICES[policy]}


def confirmation_record(product_id: int, *, confirmed_at) -> dict:
    """What an order keeps of one confirmation: the product, the wording version the buyer saw, and when."""
    return {"product_id": product_id, "wording_version": RETURN_NOTICES[NEEDS_CONFIRMATION]["version"],
            "confirmed_at": confirmed_at.isoformat()}


def confirmed_product_ids(records: list | None) -> set[int]:
    return {record["product_id"] for record in records or []}
