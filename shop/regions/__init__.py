"""Regions (GB/T 2260) and counterpart-support pairs (对口支援)."""
