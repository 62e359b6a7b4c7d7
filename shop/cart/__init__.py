"""The shopper's cart: SKU lines checked against MOQ, step and availability."""
