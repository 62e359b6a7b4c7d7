"""`flask shop ...` commands: reference data, demo data, admins, jobs."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

shop_cli = AppGroup("shop", help="Three Gorges showcase shop commands.")


@shop_cli.command("load-reference")
def load_reference():
    """Load regions (national county list + reservoir reference), support pairs and categories. Idempotent."""
    from shop.catalog.seed import load_categories
    from shop.regions.services import load_reference_data

    added = load_reference_data()
    categories = load_categories()
    click.echo(f"reference data: {added['regions']} regions and {added['support_pairs']} support pairs added; "
               f"categories: {categories}")


@shop_cli.command("load-demo")
@click.option("--force", is_flag=True, help="Allow outside development.")
def load_demo(force):
    """Load demo users, suppliers and products (marked demo). Idempotent."""
    from shop import demo

    if current_app.config["ENV_NAME"] == "production" and not force:
        raise click.ClickException("refusing to load demo data in production (use --force)")
    summary = demo.load_demo_data()
    click.echo(f"demo data: {summary}")


@shop_cli.command("demo-accounts")
def demo_accounts():
    """Print the demo accounts."""
    from shop import demo

    for account in demo.DEMO_ACCOUNTS:
        click.echo(f"  {account['role']:<22} {account['email']:<32} password: {demo.DEMO_PASSWORD}")


@shop_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="Platform admin")
def create_admin(email, password, name):
    """Create a platform admin (or make an existing user one)."""
    from shop.accounts.services import create_admin as create
    from shop.errors import ShopError

    try:
        user = create(email=email, password=password, display_name=name)
    except ShopError as error:
        raise click.ClickException(f"{error.detail} {error.errors or ''}")
    click.echo(f"admin: {user.email} (id {user.id})")


def init_app(app: Flask) -> None:
    app.cli.add_command(shop_cli)


@shop_cli.command("expire-orders")
def expire_orders():
    """Cancel unpaid orders past their reservation time and release their stock."""
    from shop.orders.jobs import expire_unpaid_orders

    click.echo(expire_unpaid_orders())


@shop_cli.command("reconcile-payments")
@click.option("--older-than-minutes", default=5, show_default=True)
def reconcile_payments(older_than_minutes):
    """Ask the provider about pending payments (finds payments whose webhook was lost)."""
    import datetime as dt

    from shop.orders.jobs import reconcile_pending_payments

    click.echo(reconcile_pending_payments(older_than=dt.timedelta(minutes=older_than_minutes)))


@shop_cli.command("auto-confirm")
def auto_confirm():
    """Complete delivered orders whose buyer did not confirm receipt in time."""
    from shop.orders.jobs import auto_confirm_receipts

    click.echo(auto_confirm_receipts(days=current_app.config["AUTO_CONFIRM_DAYS"]))


@shop_cli.command("send-outbox")
def send_outbox():
    """Send pending notifications by SMTP (or keep them readable when SMTP is not configured)."""
    from shop.notifications.services import deliver_outbox

    click.echo(deliver_outbox())
