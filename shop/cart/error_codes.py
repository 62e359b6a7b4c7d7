"""Why the cart refuses a line (the cart is left as it was)."""
from shop.error_codes import ErrorCode

CART_FULL = ErrorCode("cart_full", 422, "the cart holds its maximum number of lines")
# The cart and checkout refuse lines for the same reasons: checkout names these three from here.
INVALID_QUANTITY = ErrorCode("invalid_quantity", 422, "a quantity breaks the minimum order or the case size")
OUT_OF_SEASON = ErrorCode("out_of_season", 409, "an item is outside its sale months (on sale again: see the "
                                                "product's on_sale_again_month)")
INSUFFICIENT_STOCK = ErrorCode("insufficient_stock", 409, "not enough stock")
