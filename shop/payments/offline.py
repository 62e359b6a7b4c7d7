"""An in-process card gateway for the demo loader: `load-demo` runs before localstripe starts (and must work
without it), yet pre-sale pledges are paid by card only (plan deposit_balance / card). With this gateway the
pledges go through the real services unchanged: an intent is created, the "buyer" pays it here, and
`reconcile_order` applies it as the lost-webhook path would; refunds answer succeeded at once.

Never a payment provider: nothing leaves the process, and it is installed only inside
`shop.payments.gateway.offline_gateway(...)`. Its references say demo (`pi_demo_…`, `re_demo_…`), so an operator
can tell them from localstripe's or Stripe's.
"""
from __future__ import annotations

import re

from shop.errors import PaymentProviderError
from shop.payments.gateway import Intent, InvalidWebhook, ProviderRefund


def _ref(prefix: str, key: str) -> str:
    # Derived from the services' idempotency key, so the same part always gets the same reference.
    return f"{prefix}_demo_{re.sub(r'[^A-Za-z0-9]+', '_', key).strip('_')}"


class OfflineDemoGateway:
    name = "stripe"  # stands in for the card provider: the payments it makes are the plan's card payments

    def __init__(self) -> None:
        self.intents: dict[str, Intent] = {}

    def create_intent(self, *, amount_fen, currency, idempotency_key, metadata) -> Intent:
        ref = _ref("pi", idempotency_key)
        if ref not in self.intents:
            self.intents[ref] = Intent(ref=ref, status="pending", amount_fen=amount_fen, currency=currency,
                                       metadata=dict(metadata))
        return self.intents[ref]

    def pay(self, ref: str) -> None:
        """What the buyer's card does at the provider: the intent succeeds for its amount."""
        intent = self._intent(ref)
        self.intents[ref] = Intent(ref=ref, status="succeeded", amount_fen=intent.amount_fen,
                                   currency=intent.currency, metadata=intent.metadata)

    def _intent(self, ref: str) -> Intent:
        if ref not in self.intents:  # made by another provider, or by an earlier load
            raise PaymentProviderError(f"The offline demo gateway knows no intent {ref}.")
        return self.intents[ref]

    def retrieve_intent(self, ref) -> Intent:
        return self._intent(ref)

    def cancel_intent(self, ref) -> Intent:
        intent = self._intent(ref)
        if intent.status == "pending":
            intent = self.intents[ref] = Intent(ref=ref, status="cancelled", amount_fen=intent.amount_fen,
                                                currency=intent.currency, metadata=intent.metadata)
        return intent

    def refund(self, *, intent_ref, amount_fen, idempotency_key, metadata) -> ProviderRefund:
        return ProviderRefund(ref=_ref("re", idempotency_key), status="succeeded")

    def parse_webhook(self, payload: bytes, headers):
        raise InvalidWebhook("the offline demo gateway sends no webhooks")
