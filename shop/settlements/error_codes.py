"""Why the settlements domain refuses a request (nothing is changed)."""
from shop.error_codes import ErrorCode

MONTH_NOT_OVER = ErrorCode("month_not_over", 409, "only a month that has ended (Asia/Shanghai) can be closed")
MONTH_ALREADY_CLOSED = ErrorCode("month_already_closed", 409, "the month was closed already: its settlements "
                                                              "are frozen")
SETTLEMENT_PAID = ErrorCode("settlement_paid", 409, "the settlement was marked paid already, with another payout "
                                                    "reference")
ILLEGAL_SETTLEMENT_TRANSITION = ErrorCode("illegal_settlement_transition", 409,
                                          "the settlement's state does not allow that step")
RATE_IN_CLOSED_MONTH = ErrorCode("rate_in_closed_month", 409, "a commission rate cannot take effect on or before "
                                                              "the end of a closed month")
