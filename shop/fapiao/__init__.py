"""Fapiao (增值税发票): each supplier is the seller of its fulfilment, so an order's fapiao request becomes one
fapiao per fulfilment, which that supplier issues and records."""
