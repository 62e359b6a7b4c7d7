"""What other domains may react to in a supplier's life, without the suppliers domain importing them.

Receivers run inside the sender's unit of work, so their writes commit or roll back with the change."""
from blinker import Namespace

_signals = Namespace()

# sender: the supplier id; kwargs: old_name, new_name. Sent after the row is updated, before commit.
supplier_renamed = _signals.signal("supplier-renamed")
