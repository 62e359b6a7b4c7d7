"""What each member role of an organisation may do (buyer < approver < admin): data for one check,
shop.procurement.organizations.require_role."""
from __future__ import annotations

from shop.roles import RoleLadder

ROLE_ORDER = ("buyer", "approver", "admin")
PERMISSIONS = {
    "view": "buyer",                    # the organisation's profile, its own requisitions and fapiao
    "place_requisition": "buyer",       # within the member's own spending limit, or for approval above it
    "manage_standing_orders": "buyer",  # the member's own standing orders
    "approve_requisition": "approver",  # never one's own
    "view_requisitions": "approver",    # every member's requisitions, invoices and fapiao
    "view_statements": "approver",      # statements and quota progress, for the finance office
    "view_members": "approver",         # who the members are and their spending limits
    "manage_members": "admin",
    "edit_organization": "admin",
    "file_quota": "admin",
}
LADDER = RoleLadder(ROLE_ORDER, PERMISSIONS)
MEMBER_ROLES = LADDER.roles
