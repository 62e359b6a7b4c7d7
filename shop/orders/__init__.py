"""Orders: lines with snapshots, one fulfilment per supplier, events, cancellations and refunds."""
