"""Institutional procurement (采购单位): organisations and their members, requisitions with approval, invoices on
terms, standing orders, the reserved-share quota (预留份额) and statements."""
