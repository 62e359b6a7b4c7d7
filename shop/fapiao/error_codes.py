"""Why a fapiao request or download is refused (nothing is changed)."""
from shop.error_codes import ErrorCode

# who may see and issue
NOT_FOUND = ErrorCode("not_found", 404, "no such fapiao (or order, or organisation), or not one the caller may see "
                                       "(another buyer's, another organisation's, another supplier's)")
ROLE_REQUIRED = ErrorCode("role_required", 403, "the member's role in the supplier is too low (issuing is "
                                                "manager level); `required_role` names the role needed")
FILE_NOT_ATTACHED = ErrorCode("fapiao_file_not_attached", 404,
                              "the fapiao is not issued yet, or was issued without a PDF")
# the state of the request
ALREADY_ISSUED = ErrorCode("fapiao_already_issued", 409, "the fapiao is issued already (a fapiao is issued once)")
FAPIAO_CANCELLED = ErrorCode("fapiao_cancelled", 409, "the fulfilment was cancelled, so its fapiao request lapsed")
NOT_SHIPPED = ErrorCode("fulfillment_not_shipped", 409, "the fulfilment has not shipped: a fapiao is issued for "
                                                        "goods sent")
TAXPAYER_ID_MISSING = ErrorCode("buyer_taxpayer_id_missing", 409,
                                "a 专用发票 (special) needs the buyer's taxpayer id, and the request has none")
# what the supplier entered
ISSUED_ON_IN_FUTURE = ErrorCode("issued_on_in_future", 422, "issued_on is after today in China (Asia/Shanghai)")
ISSUED_BEFORE_ORDER = ErrorCode("issued_before_order", 422, "issued_on is before the day the order was placed")
AMOUNT_ABOVE_INVOICEABLE = ErrorCode("amount_above_invoiceable", 422,
                                     "amount_fen is more than the fulfilment's goods and shipping less its refunds; "
                                     "`invoiceable_fen` says how much may be invoiced")
PDF_NOT_BASE64 = ErrorCode("pdf_not_base64", 422, "pdf_base64 is not standard base64")
NOT_A_PDF = ErrorCode("not_a_pdf", 422, "the decoded file does not start with %PDF-")
PDF_TOO_LARGE = ErrorCode("pdf_too_large", 422, "the decoded PDF is larger than 2 MiB")
BODY_TOO_LARGE = ErrorCode("payload_too_large", 413, "the request body is larger than 3 MiB")
