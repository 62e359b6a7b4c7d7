"""Supplier settlements: what the platform owes each supplier per month (shop.settlements.ledger)."""
