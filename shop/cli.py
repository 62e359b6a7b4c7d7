"""`flask shop ...` commands: reference data, demo data, admins, jobs."""
from __future__ import annotations

import logging

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

    from shop.procurement.demo import DEMO_DOMAIN, ORGANIZATIONS

    for account in demo.DEMO_ACCOUNTS:
        click.echo(f"  {account['role']:<22} {account['email']:<42} password: {demo.DEMO_PASSWORD}")
    for spec in ORGANIZATIONS:  # institutional buyers (procurement)
        for role, local in spec["people"].items():
            click.echo(f"  {spec['key'] + ' ' + role:<22} {local + '@' + DEMO_DOMAIN:<42} password: {demo.DEMO_PASSWORD}")
    from shop.presale.demo import PARTNER_OWNER, REVIEWER

    for role, account in (("partner coop owner", PARTNER_OWNER), ("county reviewer", REVIEWER)):  # pre-sale
        click.echo(f"  {role:<22} {account['email']:<42} password: {demo.DEMO_PASSWORD}")


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
    add_job_commands(shop_cli)
    app.cli.add_command(shop_cli)


def add_job_commands(group: AppGroup) -> None:
    """`flask shop <job>` for every registered job that has no command of its own (close-settlements takes a
    --month): the registry is the one list of jobs, so a new job gets its command without a second copy."""
    from shop.jobs.registry import JOBS, run_job

    def command_for(name: str, help_text: str):
        def run():
            click.echo(run_job(name))
        return click.Command(name, callback=run, help=help_text)

    for job in JOBS:
        if job.name not in group.commands:
            group.add_command(command_for(job.name, job.help))


@shop_cli.command("reattribute")
@click.option("--dry-run", is_flag=True, help="Report what would move, write nothing.")
def reattribute_command(dry_run):
    """Move consumption-assistance attribution to the support pairs of today and print what moved per pair
    (a pair edit never does this by itself). Idempotent: a second run moves nothing."""
    from shop.assistance.reattribution import reattribute

    for line in reattribute(dry_run=dry_run).report():
        click.echo(line)


@shop_cli.command("import-catalog")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--supplier", "supplier_id", type=int, required=True, help="The supplier's id.")
@click.option("--dry-run", is_flag=True, help="Check every row and write nothing.")
@click.option("--publish", is_flag=True, help="Publish the products (the supplier must be approved).")
@click.option("--as", "email", help="Act as this member (default: the supplier's first owner).")
def import_catalog_command(file, supplier_id, dry_run, publish, email):
    """Import products from a CSV or .xlsx file, all or nothing; exit code 1 when rows are rejected."""
    import sys
    from pathlib import Path

    from shop.catalog import importer
    from shop.errors import ShopError

    actor = importer.default_actor(supplier_id=supplier_id, email=email)
    if actor is None:
        raise click.ClickException(f"supplier {supplier_id}: no such supplier or member")
    path = Path(file)

    def progress(label, length):
        return click.progressbar(length=length, label=label, file=sys.stderr)

    try:
        result = importer.import_catalog(user=actor, supplier_id=supplier_id, data=path.read_bytes(),
                                         filename=path.name, dry_run=dry_run, publish=publish, progress=progress)
    except ShopError as error:
        if error.code != "import_rejected":
            raise click.ClickException(f"{error.code}: {error.detail} {error.errors or ''}".rstrip())
        _print_import_errors(error.errors["rows"], error.errors["error_count"])
        click.echo(f"rejected: {error.detail}")
        raise SystemExit(1)
    click.echo(f"{result['rows']} rows, {result['products']} products, {result['skus']} SKUs")
    _print_import_errors(result["errors"], result["error_count"])
    if dry_run:
        click.echo("dry run: nothing was written" + (" — the file would be rejected" if result["errors"] else ""))
        if result["errors"]:
            raise SystemExit(1)
    else:
        click.echo(f"imported {len(result['imported_product_ids'])} products"
                   f" ({'published' if publish else 'drafts'})")


def _print_import_errors(errors, count):
    for error in errors:
        click.echo(f"row {error['row']}\t{error['column']}\t{error['message']}")
    if count > len(errors):
        click.echo(f"... and {count - len(errors)} more")


@shop_cli.command("export-catalog")
@click.option("--supplier", "supplier_id", type=int, required=True, help="The supplier's id.")
@click.option("--as", "email", help="Act as this member (default: the supplier's first owner).")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def export_catalog_command(supplier_id, email, out):
    """Write the supplier's catalog (draft and active products) to an .xlsx in the import format."""
    from pathlib import Path

    from shop.catalog import exporter, importer

    actor = importer.default_actor(supplier_id=supplier_id, email=email)
    if actor is None:
        raise click.ClickException(f"supplier {supplier_id}: no such supplier or member")
    Path(out).write_bytes(exporter.export_catalog(user=actor, supplier_id=supplier_id))
    click.echo(f"catalog of supplier {supplier_id} written to {out}")


@shop_cli.command("close-settlements")
@click.option("--month", default=None, help="YYYY-MM (Asia/Shanghai); default: last month.")
def close_settlements(month):
    """Close a month's supplier settlements (freezing their figures). Once per month: a second run says so."""
    from shop.errors import ShopError
    from shop.settlements.schemas import MONTH
    from shop.settlements.services import close_month, last_month

    month = month or last_month()
    if MONTH.regex.fullmatch(month) is None:
        raise click.BadParameter("a month as YYYY-MM", param_hint="--month")
    try:
        closed = close_month(month=month)
    except ShopError as error:
        raise click.ClickException(f"{error.code}: {error.detail}")
    click.echo(f"{closed.month}: {closed.settlements} settlements closed, payable {closed.payable_fen} fen, "
               f"commission {closed.commission_fen} fen")


@shop_cli.command("run-jobs")
@click.option("--once", is_flag=True, help="Run every registered job once and exit.")
def run_jobs(once):
    """Run the background jobs in this process (shop.jobs.registry): every one once, or each once per period
    until stopped. For the embedded default; with REDIS_URL use schedule-jobs and worker instead."""
    import time

    from shop.database import utcnow
    from shop.jobs.registry import next_due, run_due

    last: dict = {}
    while True:
        for name, result in run_due(utcnow(), last).items():
            click.echo(f"{name}: {result}")
        if once:
            return
        time.sleep(max(0.0, (next_due(utcnow()) - utcnow()).total_seconds()))


def _redis_connection():
    from shop.jobs.queue import connect

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("REDIS_URL is not set (without Redis, use `flask shop run-jobs`)")
    return connect(url)


@shop_cli.command("schedule-jobs")
@click.option("--once", is_flag=True, help="Enqueue what is due now and exit.")
@click.option("--tick", default=10.0, show_default=True, help="Seconds between looks at the clock.")
def schedule_jobs(once, tick):
    """Enqueue each registered job once per period on the RQ queue. Safe to run on several hosts at once."""
    import time

    from shop.database import utcnow
    from shop.jobs.queue import schedule_due

    from redis.exceptions import RedisError

    connection = _redis_connection()
    while True:
        try:
            enqueued = schedule_due(connection, utcnow())
        except RedisError as error:
            # Fails closed: nothing runs while Redis is away, and nothing runs twice when it is back (a period is
            # claimed in Redis). The jobs read state, so the first period after it returns catches up.
            if once:
                raise click.ClickException(f"Redis did not answer ({type(error).__name__}); nothing more was "
                                           "enqueued. The next run catches up.")
            logging.getLogger("shop.jobs").warning("schedule-jobs: Redis did not answer (%s); retrying in %ss",
                                                   type(error).__name__, tick)
            enqueued = []
        if enqueued:
            click.echo(f"enqueued: {', '.join(enqueued)}")
        if once:
            return
        time.sleep(tick)


@shop_cli.command("worker")
@click.option("--burst", is_flag=True, help="Exit once the queue is empty.")
def worker(burst):
    """An RQ worker running the queued jobs inside this app."""
    from shop.jobs.queue import work

    work(_redis_connection(), burst=burst)
