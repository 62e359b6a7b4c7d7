"""Supplier enterprises (供货企业): onboarding, review, members, shipping rules."""
