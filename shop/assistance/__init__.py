"""Counterpart-support results (消费帮扶): what each paid order line counts for its district and for the support
pair that covers its buyer, kept as an append-only ledger that follows the order money (attribution.py)."""
