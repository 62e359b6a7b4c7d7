"""Why procurement refuses a request (nothing is changed)."""
from shop.error_codes import ErrorCode

# organisations and members
CREDIT_CODE_TAKEN = ErrorCode("credit_code_taken", 409, "an organisation with this credit code is registered")
REASON_REQUIRED = ErrorCode("reason_required", 422, "rejecting or suspending needs a reason; the applicant is told")
ILLEGAL_ORGANIZATION_TRANSITION = ErrorCode("illegal_organization_transition", 409,
                                            "the review step does not start from the organisation's status")
INVALID_HOME_REGION = ErrorCode("invalid_home_region", 422, "the home region is not a province or a city")
UNKNOWN_USER = ErrorCode("unknown_user", 422, "no account has this email")
ALREADY_MEMBER = ErrorCode("already_member", 409, "the user is a member already")
LOCKED_AFTER_APPROVAL = ErrorCode("locked_after_approval", 409, "credit code, home region and kind are locked once "
                                                                "approved")
OWN_LIMIT = ErrorCode("own_limit", 403, "nobody sets their own spending limit (another admin does)")
LAST_ADMIN = ErrorCode("last_admin", 409, "the organisation's last admin cannot leave or be demoted")
# requisitions
ORGANIZATION_NOT_APPROVED = ErrorCode("organization_not_approved", 409,
                                      "the organisation is not approved (or is suspended): no orders on terms, "
                                      "no pledges")
ORGANIZATION_SUSPENDED = ErrorCode("organization_suspended", 409, "a suspended or rejected organisation orders nothing")
NO_PAYMENT_TERMS = ErrorCode("no_payment_terms", 409, "the platform has not granted this organisation terms; pay by card")
OVERDUE_INVOICES = ErrorCode("overdue_invoices", 409, "the organisation has overdue invoices: no new orders on terms "
                                                      "until they are paid")
OVER_SPENDING_LIMIT = ErrorCode("over_spending_limit", 403, "a pledge for the organisation is above the member's own "
                                                         "spending limit (pledges wait for no approval)")
OWN_REQUISITION = ErrorCode("own_requisition", 403, "nobody approves a requisition they placed")
NOT_AWAITING_APPROVAL = ErrorCode("not_awaiting_approval", 409, "the requisition was approved, rejected or "
                                                                "withdrawn already")
SPECIAL_FAPIAO_NEEDS_TAXPAYER_ID = ErrorCode("special_fapiao_needs_taxpayer_id", 422,
                                             "a 专用发票 needs the organisation's taxpayer id")
# quotas
NO_CANTEEN = ErrorCode("no_canteen", 409, "an organisation without a canteen files no reserved share")
SHARE_BELOW_MINIMUM = ErrorCode("share_below_minimum", 422, "the share is below the province's minimum")
QUOTA_NOT_FOUND = ErrorCode("quota_not_found", 404, "no quota is filed for that year")
# standing orders
INVALID_SCHEDULE = ErrorCode("invalid_schedule", 422, "the end date is before the start, or too far ahead")
STANDING_ORDER_ENDED = ErrorCode("standing_order_ended", 409, "the standing order has ended")
# province minimums, quota filing and statements (shop.procurement.quotas, shop.procurement.statements)
NOT_A_PROVINCE = ErrorCode("not_a_province", 422, "a minimum share is set for a province, not a city, a county or an "
                                                  "unknown code")
QUOTA_MINIMUM_CHANGED = ErrorCode("quota_minimum_changed", 409, "another administrator set this province's minimum at "
                                                                "the same moment; read it and retry")
INVALID_QUOTA_YEAR = ErrorCode("invalid_quota_year", 422, "a quota year is between 2000 and 2100")
INVALID_PERIOD = ErrorCode("invalid_period", 422, "the period ends before it starts, is longer than 366 days or "
                                                  "leaves the years 2000 to 2100")
