"""Why the cart refuses a line (the cart is left as it was)."""
from shop.error_codes import ErrorCode

CART_FULL = ErrorCode("cart_full", 422, "the cart holds its maximum number of lines")
INVALID_QUANTITY = ErrorCode("invalid_quantity", 422, "the quantity breaks the minimum order or the case size")
OUT_OF_SEASON = ErrorCode("out_of_season", 409, "outside its sale months; more cannot be added")
INSUFFICIENT_STOCK = ErrorCode("insufficient_stock", 409, "not enough stock")
