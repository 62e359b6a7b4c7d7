"""Why an order or fulfilment refuses a move."""
from shop.error_codes import ErrorCode

ORDER_NOT_CANCELLABLE = ErrorCode("order_not_cancellable", 409, "shipped, delivered or already closed")
ORDER_NOT_SHIPPABLE = ErrorCode("order_not_shippable", 409, "the order is not paid (or is cancelled), or is held: "
                                "a pledge ships once its campaign is allocated")
ILLEGAL_ORDER_TRANSITION = ErrorCode("illegal_order_transition", 409, "the order's status does not allow this")
ORDER_STATE_CHANGED = ErrorCode("order_state_changed", 409, "the order changed meanwhile; reload it")
ILLEGAL_FULFILLMENT_TRANSITION = ErrorCode("illegal_fulfillment_transition", 409,
                                           "the fulfilment's status does not allow this")
FULFILLMENT_STATE_CHANGED = ErrorCode("fulfillment_state_changed", 409, "the fulfilment changed meanwhile; reload it")
