"""Why the pre-sale domain refuses a request (nothing is changed)."""
from shop.error_codes import ErrorCode

# campaigns
DEPOSIT_TOO_HIGH = ErrorCode("deposit_too_high", 422, "a 定金 is at most 20% of the unit price (Civil Code art. 586)")
INVALID_PROMISE = ErrorCode("invalid_promise", 422, "a 定金 is returned double on default (double_deposit); a full "
                                                    "prepayment is refunded in full (refund_in_full)")
INVALID_WINDOW = ErrorCode("invalid_window", 422, "the order window closes before it opens, or shipping starts before "
                                                  "the order window has closed or ends before it starts")
OUTSIDE_SALE_MONTHS = ErrorCode("outside_sale_months", 422, "the shipping window leaves the product's sale months")
INVALID_QUANTITIES = ErrorCode("invalid_quantities", 422, "the minimum or the per-buyer limit is above the capacity")
UNKNOWN_SKU = ErrorCode("unknown_sku", 422, "the supplier has no SKU with that id")
NOT_A_DRAFT = ErrorCode("not_a_draft", 409, "only a draft campaign is edited")
ILLEGAL_CAMPAIGN_TRANSITION = ErrorCode("illegal_campaign_transition", 409,
                                        "the campaign's state does not allow that step")
CAMPAIGN_STATE_CHANGED = ErrorCode("campaign_state_changed", 409, "another request moved the campaign meanwhile")
WINDOW_PASSED = ErrorCode("window_passed", 409, "the order window has already ended")
PRODUCT_NOT_ON_SALE = ErrorCode("product_not_on_sale", 409, "the SKU, its product or its supplier is not on sale")
REASON_REQUIRED = ErrorCode("reason_required", 422, "suspending or cancelling a campaign needs a reason")
# pledges
CAMPAIGN_CLOSED = ErrorCode("campaign_closed", 409, "the campaign takes no pledges (not open, or its window ended)")
CAMPAIGN_FULL = ErrorCode("campaign_full", 409, "the quantity is more than the campaign's remaining capacity")
PER_BUYER_LIMIT = ErrorCode("per_buyer_limit", 409, "the buyer's pledges would exceed the per-buyer limit")
ORGANIZATION_REQUIRED = ErrorCode("organization_required", 422, "payment terms and the organisation's fapiao are for a "
                                                                "pledge with organization_id")
NOT_A_REDUCTION = ErrorCode("not_a_reduction", 422, "a pledge is reduced to fewer units, not raised (pledge again)")
PLEDGE_UNPAID = ErrorCode("pledge_unpaid", 409, "an unpaid pledge is not reduced: pay it, or withdraw it and pledge "
                                                "again")
PLEDGE_RELEASED = ErrorCode("pledge_released", 409, "the pledge was withdrawn or cancelled already")
# closing
WINDOW_OPEN = ErrorCode("window_open", 409, "the order window has not ended yet; the campaign closes when it does")
# supply
SUPPLY_CLOSED = ErrorCode("supply_closed", 409, "supply is committed or withdrawn only while the campaign is a draft "
                                                "or open and its order window has not ended")
OTHER_DISTRICT = ErrorCode("other_district", 422, "the supplier is not registered in the lead supplier's district")
SUPPLIER_NOT_APPROVED = ErrorCode("contributor_not_approved", 409, "only an approved supplier commits supply")
DELIVERY_NOT_DUE = ErrorCode("delivery_not_due", 409, "deliveries are recorded once the campaign has succeeded")
SUPPLY_CHANGED = ErrorCode("supply_changed", 409, "another request changed this commitment meanwhile")
# allocation and after
COMPENSATION_PAID = ErrorCode("compensation_paid", 409, "the compensation was paid out already")
