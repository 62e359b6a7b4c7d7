"""Refunds: one home for the model, its transitions, and every write to what is refunded."""
