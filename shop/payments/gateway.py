"""The payment gateway interface and its Stripe implementation.

Services talk to a `PaymentGateway`, never to the SDK: a direct WeChat Pay or Alipay adapter (or bank
transfer for institutions) is another implementation of the same few verbs.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

import stripe
from flask import current_app

from shop.errors import PaymentProviderError
from shop.money import from_provider_amount, to_provider_amount
from shop.payments import error_codes


@dataclass(frozen=True)
class Intent:
    ref: str
    status: str  # pending | succeeded | cancelled | failed (our vocabulary)
    amount_fen: int
    currency: str
    client_secret: str | None = None
    failure_code: str | None = None
    failure_message: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderRefund:
    ref: str
    status: str  # succeeded | pending | failed


@dataclass(frozen=True)
class ProviderEvent:
    id: str
    type: str
    intent: Intent | None = None
    raw: dict = field(default_factory=dict)


class ProviderUnavailable(PaymentProviderError):
    """The provider did not answer (refused, timed out, its own 5xx or rate limit): nothing was decided there that
    we know of, and the same call may succeed shortly. Every other provider error is a 502."""

    status, code, title = 503, error_codes.PAYMENT_PROVIDER_UNAVAILABLE, "Payment provider unavailable"
    retry_after = 30


class InvalidWebhook(Exception):
    """Bad, missing or stale signature."""


class MalformedEvent(InvalidWebhook):
    """A correctly signed body that is not an event of the shape we read."""


class PaymentGateway(Protocol):
    name: str

    def create_intent(self, *, amount_fen: int, currency: str, idempotency_key: str, metadata: dict) -> Intent: ...

    def retrieve_intent(self, ref: str) -> Intent: ...

    def cancel_intent(self, ref: str) -> Intent: ...

    def refund(self, *, intent_ref: str, amount_fen: int, idempotency_key: str, metadata: dict) -> ProviderRefund: ...

    def parse_webhook(self, payload: bytes, headers) -> ProviderEvent: ...


_STRIPE_STATUS = {
    "succeeded": "succeeded",
    "canceled": "cancelled",
    "requires_payment_method": "pending",
    "requires_confirmation": "pending",
    "requires_action": "pending",
    "processing": "pending",
    "requires_capture": "pending",
}


class StripeGateway:
    name = "stripe"

    def __init__(self, *, secret_key: str, webhook_secret: str | None, api_base: str | None,
                 payment_method_types: list[str], max_network_retries: int, timeout_seconds: float):
        # The SDK waits 80 s by default: longer than a gunicorn worker lives (30 s), so a hung provider would
        # have the worker killed mid-request instead of the client told to retry.
        options = {"max_network_retries": max_network_retries,
                   "http_client": stripe.RequestsClient(timeout=timeout_seconds)}
        if api_base:
            options["base_addresses"] = {"api": api_base}
        self.client = stripe.StripeClient(secret_key, **options)
        self.webhook_secret = webhook_secret
        self.payment_method_types = payment_method_types

    @staticmethod
    def _intent(obj) -> Intent:
        data = obj if isinstance(obj, dict) else obj.to_dict()
        amount, currency = from_provider_amount(data["amount"], data["currency"])
        error = data.get("last_payment_error") or {}
        return Intent(ref=data["id"], status=_STRIPE_STATUS.get(data.get("status"), "pending"), amount_fen=amount,
                      currency=currency, client_secret=data.get("client_secret"), failure_code=error.get("code"),
                      failure_message=error.get("message") or "", metadata=dict(data.get("metadata") or {}))

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (stripe.APIConnectionError, stripe.RateLimitError) as error:
            raise ProviderUnavailable(f"Stripe did not answer ({error.__class__.__name__}); retry shortly.") from error
        except stripe.APIError as error:  # its 5xx
            raise ProviderUnavailable(f"Stripe answered {error.http_status}; retry shortly.") from error
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe: {error.user_message or error.__class__.__name__}") from error

    def create_intent(self, *, amount_fen, currency, idempotency_key, metadata) -> Intent:
        amount, provider_currency = to_provider_amount(amount_fen, currency)
        params = {"amount": amount, "currency": provider_currency, "metadata": metadata,
                  "payment_method_types": self.payment_method_types}
        intent = self._call(self.client.v1.payment_intents.create, params=params,
                            options={"idempotency_key": idempotency_key})
        return self._intent(intent)

    def retrieve_intent(self, ref) -> Intent:
        return self._intent(self._call(self.client.v1.payment_intents.retrieve, ref))

    def cancel_intent(self, ref) -> Intent:
        return self._intent(self._call(self.client.v1.payment_intents.cancel, ref))

    def refund(self, *, intent_ref, amount_fen, idempotency_key, metadata) -> ProviderRefund:
        refund = self._call(self.client.v1.refunds.create,
                            params={"payment_intent": intent_ref, "amount": amount_fen, "metadata": metadata},
                            options={"idempotency_key": idempotency_key})
        status = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(refund.status, "pending")
        return ProviderRefund(ref=refund.id, status=status)

    def parse_webhook(self, payload: bytes, headers) -> ProviderEvent:
        signature = headers.get("Stripe-Signature")
        if not signature or not self.webhook_secret:
            raise InvalidWebhook("missing signature")
        try:
            stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, self.webhook_secret,
                                                  stripe.Webhook.DEFAULT_TOLERANCE)
        except (UnicodeDecodeError, stripe.SignatureVerificationError) as error:
            raise InvalidWebhook(str(error)) from error
        # Signed by Stripe, so not hostile; still, a body of an unexpected shape is refused (400, changes nothing)
        # rather than answered with a 500, which Stripe would retry for days.
        try:
            data = json.loads(payload)
        except (ValueError, RecursionError) as error:
            raise MalformedEvent("the body is not JSON") from error
        obj = _event_object(data)
        intent = self._intent(_checked_intent(obj)) if obj.get("object") == "payment_intent" else None
        return ProviderEvent(id=data["id"], type=data["type"], intent=intent, raw=data)


def _event_object(data) -> dict:
    if not isinstance(data, dict):
        raise MalformedEvent("an event is a JSON object")
    if not isinstance(data.get("id"), str) or not data["id"] or not isinstance(data.get("type"), str):
        raise MalformedEvent("an event has a string id and type")
    inner = data.get("data") or {}
    obj = inner.get("object") if isinstance(inner, dict) else None
    if obj is not None and not isinstance(obj, dict):
        raise MalformedEvent("data.object is a JSON object")
    return obj or {}


def _checked_intent(obj: dict) -> dict:
    amount = obj.get("amount")
    if not isinstance(obj.get("id"), str) or not obj["id"] or not isinstance(amount, int) or \
            isinstance(amount, bool) or amount < 0 or not isinstance(obj.get("currency"), str) or \
            not isinstance(obj.get("status"), str):
        raise MalformedEvent("a payment_intent has a string id, currency and status and an integer amount")
    for key in ("metadata", "last_payment_error"):
        if obj.get(key) is not None and not isinstance(obj[key], dict):
            raise MalformedEvent(f"a payment_intent's {key} is an object")
    return obj


# Set only by `offline_gateway` (the demo loader): a context variable, so no other thread or request sees it.
_offline: ContextVar[PaymentGateway | None] = ContextVar("offline_gateway", default=None)


@contextmanager
def offline_gateway(gateway: PaymentGateway):
    """Within the block, in this context only, every card call goes to `gateway` instead of Stripe: the demo
    loader pays its pre-sale pledges through the real services with no provider running (see
    shop.payments.offline)."""
    token = _offline.set(gateway)
    try:
        yield gateway
    finally:
        _offline.reset(token)


def get_gateway(provider: str = "stripe") -> PaymentGateway:
    if provider != "stripe":
        raise PaymentProviderError(f"No gateway for {provider}.")
    if (offline := _offline.get()) is not None:
        return offline
    cfg = current_app.config
    if not cfg.get("STRIPE_SECRET_KEY"):
        raise PaymentProviderError("Stripe is not configured.")
    local = bool(cfg.get("STRIPE_API_BASE"))
    key = (cfg["STRIPE_SECRET_KEY"], cfg.get("STRIPE_WEBHOOK_SECRET"), cfg.get("STRIPE_API_BASE"),
           cfg["STRIPE_TIMEOUT_SECONDS"])
    cache = current_app.extensions.setdefault("payment_gateways", {})
    if key not in cache:  # one client per configuration: it keeps its HTTP connections
        cache[key] = StripeGateway(secret_key=cfg["STRIPE_SECRET_KEY"], webhook_secret=cfg.get("STRIPE_WEBHOOK_SECRET"),
                                   api_base=cfg.get("STRIPE_API_BASE"),
                                   payment_method_types=cfg["STRIPE_PAYMENT_METHOD_TYPES"],
                                   max_network_retries=0 if local else 2,
                                   timeout_seconds=cfg["STRIPE_TIMEOUT_SECONDS"])
    return cache[key]
