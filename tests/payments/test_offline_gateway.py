"""The demo loader's offline gateway answers card calls only inside its block, and only in that context."""
from __future__ import annotations

import threading

from shop.payments.gateway import StripeGateway, get_gateway, offline_gateway
from shop.payments.offline import OfflineDemoGateway


def test_offline_gateway_is_scoped_to_its_block_and_its_thread(app):
    seen = []
    with app.app_context(), offline_gateway(OfflineDemoGateway()) as gateway:
        assert get_gateway("stripe") is gateway

        def other_thread():
            with app.app_context():
                seen.append(get_gateway("stripe"))

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        intent = gateway.create_intent(amount_fen=1000, currency="CNY", idempotency_key="order:7:pi:deposit",
                                       metadata={})
        assert intent.ref == "pi_demo_order_7_pi_deposit" and intent.status == "pending"
        gateway.pay(intent.ref)
        assert gateway.retrieve_intent(intent.ref).status == "succeeded"
    assert isinstance(seen[0], StripeGateway)
    with app.app_context():
        assert isinstance(get_gateway("stripe"), StripeGateway)
