"""What other domains may react to in an order's life, without the orders domain importing them.

Receivers run inside the sender's unit of work, so their writes commit or roll back with the change."""
from blinker import Namespace

_signals = Namespace()

# sender: the order id. Sent once its pending fulfilments are cancelled (cancellation, expiry, rejection).
fulfillments_cancelled = _signals.signal("fulfillments-cancelled")
