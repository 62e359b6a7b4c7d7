"""What each member role of a supplier may do: data, read by every member check (suppliers.services.require_role).
The ranking rules are shop.roles.RoleLadder, shared with organisations."""
from __future__ import annotations

from shop.roles import RoleLadder

# Lowest first. Existing members from before roles were split became managers (they could do all of this).
ROLE_ORDER = ("staff", "manager", "owner")
MEMBER_ROLES = tuple(reversed(ROLE_ORDER))  # highest first, as forms list them

PERMISSIONS = {
    # staff: the day-to-day catalog work and getting goods out of the door
    "view": "staff",                  # the supplier's private views: products, fulfilments, rules, members
    "edit_listings": "staff",         # products, new SKUs, SKU edits other than the price, catalog import/export
    "ship_fulfillment": "staff",      # ship and confirm delivery of the supplier's fulfilments
    # manager: money and stock
    "adjust_stock": "manager",
    "set_shipping_rule": "manager",
    "decide_refund": "manager",
    "issue_fapiao": "manager",        # a fapiao states an amount of money to the tax office
    "set_prices": "manager",          # changing the price of an existing SKU
    "run_campaigns": "manager",       # pre-sale campaigns: drafts, opening, cancelling (prices and 定金)
    # owner: who the supplier is and who works for it
    "manage_members": "owner",
    "edit_supplier": "owner",
}


LADDER = RoleLadder(ROLE_ORDER, PERMISSIONS)
rank, required_role, allows = LADDER.rank, LADDER.required_role, LADDER.allows
