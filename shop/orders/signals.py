"""What other domains may react to in an order's life, without the orders domain importing them.

Receivers run inside the sender's unit of work, so their writes commit or roll back with the change."""
from blinker import Namespace

_signals = Namespace()

# sender: the order id. Sent once its pending fulfilments are cancelled (cancellation, expiry, rejection).
fulfillments_cancelled = _signals.signal("fulfillments-cancelled")

# sender: the order id; shares: the ledger's Shares that moved, amount_fen signed (+ paid, - refunded, + a refund
# given back to the order because it did not happen), quantity as the share named it (units, unsigned);
# source: "payment" | "refund" | "refund_released". Sent by shop.orders.ledger after the rows moved, in its
# caller's transaction: what receivers write commits or rolls back with the money.
line_money_moved = _signals.signal("line-money-moved")
