"""Shipping addresses (county-level GB/T 2260 code + detail)."""
