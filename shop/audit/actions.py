"""The vocabulary of the audit log: every operator action is one named constant, and knows the kind of object
it acts on and what it means (documented in the OpenAPI spec from here).

Domains record with the constant (`actions.SUPPLIER_APPROVED`), never with a literal: a name that is not here
cannot be recorded (services.record raises), so the list below is every action the log can hold."""
from __future__ import annotations


class Action(str):
    target_type: str
    description: str

    def __new__(cls, name: str, target_type: str, description: str) -> "Action":
        value = super().__new__(cls, name)
        value.target_type, value.description = target_type, description
        return value


# --- supplier vetting (shop.suppliers) ---------------------------------------------------------------------------
SUPPLIER_APPROVED = Action("supplier.approved", "supplier", "a recommended applicant approved (platform step)")
SUPPLIER_REJECTED = Action("supplier.rejected", "supplier", "an application turned down by the platform, with a reason")
SUPPLIER_SUSPENDED = Action("supplier.suspended", "supplier", "an approved supplier suspended, with a reason")
SUPPLIER_REINSTATED = Action("supplier.reinstated", "supplier", "a suspended supplier approved again")
COUNTY_REVIEWER_APPOINTED = Action("county_reviewer.appointed", "county_reviewer",
                                   "a user appointed county reviewer of a district")
COUNTY_REVIEWER_REVOKED = Action("county_reviewer.revoked", "county_reviewer",
                                 "a county reviewer's appointment revoked")

# --- institutional buyers (shop.procurement) ---------------------------------------------------------------------
ORGANIZATION_APPROVED = Action("organization.approved", "organization", "an organisation approved")
ORGANIZATION_REJECTED = Action("organization.rejected", "organization", "an organisation turned down, with a reason")
ORGANIZATION_SUSPENDED = Action("organization.suspended", "organization", "an organisation suspended, with a reason")
ORGANIZATION_REINSTATED = Action("organization.reinstated", "organization", "a suspended organisation approved again")
ORGANIZATION_PAYMENT_TERMS_SET = Action("organization.payment_terms_set", "organization",
                                        "payment terms granted or withdrawn (prepaid, net_15|30|60)")
QUOTA_MINIMUM_SET = Action("quota_minimum.set", "quota_minimum",
                           "a province's minimum reserved share (预留份额) set; the target is the province code")

# --- regions and counterpart support (shop.regions) --------------------------------------------------------------
SUPPORT_PAIR_CREATED = Action("support_pair.created", "support_pair", "a counterpart-support pair added")
SUPPORT_PAIR_UPDATED = Action("support_pair.updated", "support_pair",
                              "a support pair's kind, verification or evidence changed")

# --- catalog (shop.catalog) --------------------------------------------------------------------------------------
GI_RECORD_VERIFIED = Action("gi_record.verified", "gi_record", "a GI record checked against the registry")
GI_RECORD_REJECTED = Action("gi_record.rejected", "gi_record", "a GI claim rejected, with a note")

# --- money (shop.refunds, shop.payments, shop.presale) -----------------------------------------------------------
REFUND_OPENED_BY_OPERATOR = Action("refund.opened_by_operator", "refund",
                                   "an operator refunded an amount of an order directly")
REFUND_APPROVED_BY_OPERATOR = Action("refund.approved_by_operator", "refund",
                                     "an operator approved a refund request (all or part)")
REFUND_REJECTED_BY_OPERATOR = Action("refund.rejected_by_operator", "refund", "an operator rejected a refund request")
REFUND_TRANSFER_RECORDED = Action("refund.transfer_recorded", "refund",
                                  "an operator sent a refund part back by bank transfer and recorded its reference")
BANK_TRANSFER_RECORDED = Action("bank_transfer.recorded", "order",
                                "an operator recorded a bank transfer (对公转账) received for an order")
CAMPAIGN_SUSPENDED = Action("campaign.suspended", "campaign", "a pre-sale campaign suspended, with a reason")
CAMPAIGN_REINSTATED = Action("campaign.reinstated", "campaign", "a suspended campaign back in the state it left")
COMPENSATION_PAID = Action("compensation.paid", "compensation",
                           "a 定金 compensation paid out by bank transfer, with its reference")

# --- settlements ------------------------------------------------------------------------------------------------
SETTLEMENT_PAID = Action("settlement.paid", "settlement", "a supplier's monthly settlement marked paid, with the "
                                                          "payout reference")
COMMISSION_RATE_SET = Action("commission_rate.set", "supplier",
                             "a supplier's commission rate (basis points) set, with its effective date")
SETTLEMENT_MONTH_CLOSED = Action("settlement_month.closed", "settlement_month",
                                 "a month's settlements frozen by an operator (target: the month, YYYY-MM), with "
                                 "the settlements, payables and commission it froze")

# --- assistance --------------------------------------------------------------------------------------------------
SUPPORTER_OFFICE_GRANTED = Action("supporter_office.granted", "supporter_office",
                                  "a user made a member of a supporting region's office (exports its pairs' figures)")
SUPPORTER_OFFICE_REVOKED = Action("supporter_office.revoked", "supporter_office",
                                  "a supporting region's office membership revoked")


ACTIONS: dict[str, Action] = {value: value for value in list(globals().values()) if isinstance(value, Action)}
TARGET_TYPES = tuple(sorted({action.target_type for action in ACTIONS.values()}))

# The review verbs of the domains, mapped to their actions (the services record `REVIEWED[verb]`).
SUPPLIER_REVIEWED = {"approve": SUPPLIER_APPROVED, "reject": SUPPLIER_REJECTED, "suspend": SUPPLIER_SUSPENDED,
                     "reinstate": SUPPLIER_REINSTATED}
ORGANIZATION_REVIEWED = {"approve": ORGANIZATION_APPROVED, "reject": ORGANIZATION_REJECTED,
                         "suspend": ORGANIZATION_SUSPENDED, "reinstate": ORGANIZATION_REINSTATED}
GI_REVIEWED = {"verify": GI_RECORD_VERIFIED, "reject": GI_RECORD_REJECTED}


def described() -> str:
    """The vocabulary as Markdown lines, for the spec."""
    return "\n".join(f"- `{name}` ({action.target_type}): {action.description}" for name, action in ACTIONS.items())
