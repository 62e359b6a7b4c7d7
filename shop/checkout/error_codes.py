"""Why POST /checkout refuses an order (nothing is reserved or charged when it does)."""
from shop.cart.error_codes import INSUFFICIENT_STOCK, INVALID_QUANTITY, OUT_OF_SEASON  # noqa: F401  (the same)
from shop.error_codes import ErrorCode

EMPTY_CART = ErrorCode("empty_cart", 422, "no items were given and the cart is empty")
DUPLICATE_SKU = ErrorCode("duplicate_sku", 422, "an SKU appears twice in `items`")
UNDELIVERABLE = ErrorCode("undeliverable", 422, "a supplier does not deliver to the address")
RETURN_CONFIRMATION_REQUIRED = ErrorCode("return_confirmation_required", 422,
                                         "a product's exclusion from 7-day return is not confirmed")
ORDER_TOO_LARGE = ErrorCode("order_too_large", 422, "more than the payment plan takes in one order")
IDEMPOTENCY_KEY_REUSED = ErrorCode("idempotency_key_reused", 422, "the key was used with a different body")
UNAVAILABLE = ErrorCode("unavailable", 409, "an item is no longer on sale")
RETURN_WORDING_CHANGED = ErrorCode("return_wording_changed", 409, "the return notice changed since it was read")
TOO_MANY_UNPAID_ORDERS = ErrorCode("too_many_unpaid_orders", 409, "pay or cancel earlier orders first")
