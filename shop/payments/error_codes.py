"""Why a payment is refused, and why a webhook event is (Stripe retries 5xx forever, so these are 4xx)."""
from shop.error_codes import ErrorCode

ORDER_NOT_PAYABLE = ErrorCode("order_not_payable", 409, "nothing is due (paid, cancelled or expired)")
PAYMENT_IN_PROGRESS = ErrorCode("payment_in_progress", 409, "a payment for this part is being processed")
NOT_CARD_PAYABLE = ErrorCode("not_card_payable", 409, "the part due is paid by bank transfer")
NOT_TRANSFER_PAYABLE = ErrorCode("not_transfer_payable", 409, "the part due is paid by card")
OVERPAYMENT = ErrorCode("overpayment", 422, "more than is due; nothing is recorded")
INVALID_SIGNATURE = ErrorCode("invalid_signature", 400, "the Stripe-Signature does not match the body")
INVALID_EVENT = ErrorCode("invalid_event", 400, "a signed body that is not a Stripe event of a known shape")
PAYMENT_PROVIDER_UNAVAILABLE = ErrorCode(
    "payment_provider_unavailable", 503, "the payment provider did not answer; an order placed meanwhile stands with "
    "its stock held (`order_id`, `retry`): pay it with POST /api/v1/orders/{id}/payment shortly")
DUPLICATE_BANK_REFERENCE = ErrorCode("duplicate_bank_reference", 409, "this bank reference is recorded already")
