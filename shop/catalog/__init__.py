"""Catalog: categories, products, SKUs, stock, search."""
