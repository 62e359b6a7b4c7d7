"""Checkout: pricing and shipping quotes shared with the cart, and placing the order."""
