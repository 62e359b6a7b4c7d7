"""Why a refund request or decision is refused (nothing is refunded when it is)."""
from shop.error_codes import ErrorCode

NOT_DELIVERED = ErrorCode("not_delivered", 409, "refunds are asked for after delivery; cancel before shipment")
NOT_RETURNABLE = ErrorCode("not_returnable", 409, "the line is excluded from 7-day no-reason return")
RETURN_WINDOW_CLOSED = ErrorCode("return_window_closed", 409, "the 7-day no-reason return period is over")
REFUND_EXCEEDS_PAID = ErrorCode("refund_exceeds_paid", 409, "more than was paid and not yet refunded")
REFUND_ALREADY_DECIDED = ErrorCode("refund_already_decided", 409, "the refund was decided already")
REFUND_STATE_CHANGED = ErrorCode("refund_state_changed", 409, "the refund changed meanwhile; reload it")
REFUND_PART_NOT_AWAITING_TRANSFER = ErrorCode("refund_part_not_awaiting_transfer", 409,
                                              "that part is not waiting for a bank transfer")
PHOTOS_REQUIRED = ErrorCode("photos_required", 422, "a quality claim on fresh produce needs photos")
INVALID_LINE = ErrorCode("invalid_line", 422, "a named line is not in this order")
INVALID_QUANTITY = ErrorCode("invalid_quantity", 422, "more than the line holds")
REFUND_EXCEEDS_REQUEST = ErrorCode("refund_exceeds_request", 422, "more than the buyer asked for")
