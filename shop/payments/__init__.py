"""Payments: a gateway interface (Stripe today; WeChat Pay / Alipay / bank transfer later), webhooks, refunds."""
