"""The smoke journey of scripts/prod_stack.sh: a shopper's purchase through nginx only, then checks of what
makes it a multi-host stack (both upstreams served, the request id crossed nginx, the client's address is the
one nginx saw, rate limits shared through Redis, the worker runs queued jobs).

Usage (prod_stack.sh passes these; REDIS_URL and the app's other settings come from the environment):
    python scripts/smoke_journey.py --base http://127.0.0.1:NGINX --stripe-api http://127.0.0.1:LOCALSTRIPE \
        --nginx-log access.log --upstream 127.0.0.1:P1=app-a.log --upstream 127.0.0.1:P2=app-b.log
Exit 0 when every step passed; 1 with the failing step's reason otherwise.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import time
import uuid
from pathlib import Path

import requests
import stripe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from the repository root

from shop.demo import DEMO_PASSWORD  # noqa: E402 (after the path)

SUPPLIER_EMAIL = "coop@demo.sanxia.test"  # owner of the demo 巫山 cooperative, which sells 三峡白蜜 all year
PRODUCT_QUERY, PRODUCT_NAME = "白蜜", "三峡白蜜"
NGINX_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
SPOOFED_ADDRESS = "203.0.113.9"  # TEST-NET-3: what a client might write in X-Forwarded-For to dodge a limit


class JourneyFailed(Exception):
    pass


def check(condition, message: str) -> None:
    if not condition:
        raise JourneyFailed(message)


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise JourneyFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class Client:
    """One browser-like caller: its own cookies and CSRF token, an X-Request-ID of the journey's on every request
    (checked to come back), and every request remembered for the log checks."""

    _seq = itertools.count(1)
    sent: list[dict] = []  # {request_id, method, path, status}, of every client

    def __init__(self, base: str, name: str):
        self.base, self.name = base, name
        self.http = requests.Session()
        self.csrf: str | None = None

    def call(self, method: str, path: str, *, expect: int, what: str, json_body=None, headers=None,
             request_id: str | None = "auto") -> requests.Response:
        headers = dict(headers or {})
        if request_id == "auto":
            request_id = f"smoke-{self.name}-{next(self._seq)}"
        if request_id:
            headers["X-Request-ID"] = request_id
        if self.csrf and method not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = self.csrf
        if self.http.cookies:
            # The session cookie is Secure, as in production, and this stack has no TLS: sent by hand over the
            # plain http a real deployment serves as https (requests, like a browser, would withhold it).
            headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        try:
            response = self.http.request(method, self.base + path, json=json_body, headers=headers, timeout=30)
        except requests.RequestException as error:
            raise JourneyFailed(f"{what}: {method} {path} failed: {error}") from error
        echoed = response.headers.get("X-Request-ID")
        Client.sent.append({"request_id": echoed, "method": method, "path": path, "status": response.status_code})
        if response.status_code != expect:
            raise JourneyFailed(f"{what}: {method} {path} answered {response.status_code}, expected {expect}: "
                                f"{response.text[:600]}")
        if request_id:
            check(echoed == request_id, f"{what}: X-Request-ID {request_id!r} came back as {echoed!r}")
        return response

    def login(self, email: str, password: str) -> requests.Response:
        response = self.call("POST", "/api/v1/auth/login", expect=200, what=f"sign-in of {email}",
                             json_body={"email": email, "password": password})
        self.csrf = response.json()["csrf_token"]
        return response


def step(label: str):
    print(f"  - {label}", flush=True)


# --- the purchase ---------------------------------------------------------------------------------------------

def health(base: str) -> None:
    probe = Client(base, "health")
    live = probe.call("GET", "/healthz", expect=200, what="liveness")
    check(live.json() == {"status": "ok"}, f"/healthz body: {live.text}")
    # The app's security headers cross nginx; nginx names neither its version nor the upstream's server.
    check(live.headers.get("X-Content-Type-Options") == "nosniff", f"no nosniff through nginx: {live.headers}")
    check(live.headers.get("Server") == "nginx", f"Server header {live.headers.get('Server')!r}")
    check("Strict-Transport-Security" not in live.headers, "HSTS on plain http (PREFERRED_URL_SCHEME=http)")
    ready = probe.call("GET", "/readyz", expect=200, what="readiness").json()
    check(ready.get("checks") == {"database": "ok", "redis": "ok"}, f"/readyz checks: {ready}")
    step("/healthz ok (security headers through nginx, no HSTS on http); /readyz: database ok, redis ok")


def new_shopper(base: str) -> tuple[Client, int]:
    shopper = Client(base, "shopper")
    email, password = f"smoke-{uuid.uuid4().hex[:12]}@example.test", f"smoke-{uuid.uuid4().hex}"
    shopper.call("POST", "/api/v1/auth/register", expect=201, what="registration",
                 json_body={"email": email, "password": password, "display_name": "冒烟测试顾客"})
    response = shopper.login(email, password)
    cookie = next((c for c in shopper.http.cookies if c.name == "shop_session"), None)
    check(cookie is not None and cookie.secure, "the session cookie is missing or not Secure")
    check("httponly" in response.headers.get("Set-Cookie", "").lower(), "the session cookie is not HttpOnly")
    address = shopper.call("POST", "/api/v1/addresses", expect=201, what="adding an address", json_body={
        "recipient": "冒烟测试", "mobile": "+8613800000001", "region_code": "500101",
        "detail": "万州区高笋塘 1 号", "is_default": True}).json()
    step(f"registered and signed in {email} (Secure, HttpOnly session cookie), address {address['id']}")
    return shopper, address["id"]


def find_product(shopper: Client) -> tuple[int, int]:
    page = shopper.call("GET", f"/api/v1/products?q={PRODUCT_QUERY}&in_stock=true", expect=200,
                        what="catalog search").json()
    product = next((p for p in page["items"] if p["name"] == PRODUCT_NAME), None)
    check(product is not None, f"search {PRODUCT_QUERY!r} did not find {PRODUCT_NAME}: {page['items']}")
    detail = shopper.call("GET", f"/api/v1/products/{product['id']}", expect=200, what="product detail").json()
    sku = next((s for s in detail["skus"] if s["stock"] > 0), None)
    check(sku is not None, f"{PRODUCT_NAME} has no SKU in stock")
    step(f"search {PRODUCT_QUERY!r} found {PRODUCT_NAME} (product {product['id']}); detail: SKU {sku['id']} "
         f"at {sku['price_fen']} fen, stock {sku['stock']}")
    return product["id"], sku["id"]


def buy(shopper: Client, address_id: int, product_id: int, sku_id: int) -> tuple[dict, dict]:
    shopper.call("POST", "/api/v1/cart/lines", expect=201, what="adding to the cart",
                 json_body={"sku_id": sku_id, "quantity": 2})
    cart = shopper.call("GET", f"/api/v1/cart?address_id={address_id}", expect=200, what="the cart").json()
    check(not cart["has_problems"], f"the cart has problems: {cart}")
    result = shopper.call("POST", "/api/v1/checkout", expect=201, what="checkout",
                          headers={"Idempotency-Key": f"smoke-{uuid.uuid4().hex}"},
                          json_body={"address_id": address_id, "return_confirmations": [product_id]}).json()
    order, payment = result["order"], result["payment"]
    check(result["payment_error"] is None and payment, f"checkout created no payment: {result}")
    check(order["status"] == "pending_payment", f"new order is {order['status']}")
    check(order["total_fen"] == cart["total_fen"] == payment["amount_fen"],
          f"totals differ: order {order['total_fen']}, cart {cart['total_fen']}, payment {payment['amount_fen']}")
    step(f"cart of 2, checkout: order {order['number']} pending_payment, {order['total_fen']} fen, "
         f"PaymentIntent {payment['provider_ref']}")
    return order, payment


def pay(stripe_api: str, shopper: Client, order: dict, payment: dict) -> None:
    # What Stripe.js does in the buyer's browser, straight to the provider (not through nginx).
    sc = stripe.StripeClient("sk_test_smoke_buyer", base_addresses={"api": stripe_api}, max_network_retries=0)
    sc.v1.payment_intents.update(payment["provider_ref"], params={"payment_method": "pm_card_visa"})
    intent = sc.v1.payment_intents.confirm(payment["provider_ref"])
    check(intent.status == "succeeded", f"the PaymentIntent is {intent.status} after confirming")

    def paid():
        body = shopper.call("GET", f"/api/v1/orders/{order['id']}", expect=200, what="order status").json()
        return body if body["status"] == "paid" else None

    body = wait_for(paid, timeout=30, what="the payment_intent.succeeded webhook to mark the order paid")
    check(body["paid_fen"] == order["total_fen"], f"paid {body['paid_fen']} of {order['total_fen']} fen")
    step("paid at localstripe; its webhook reached the app through nginx; the order is paid")


def ship(base: str, shopper: Client, order: dict) -> None:
    supplier = Client(base, "supplier")
    supplier.login(SUPPLIER_EMAIL, DEMO_PASSWORD)
    page = supplier.call("GET", "/api/v1/fulfillments?status=pending&limit=100", expect=200,
                         what="the supplier's fulfilments").json()
    fulfillment = next((f for f in page["items"] if f["order_id"] == order["id"]), None)
    check(fulfillment is not None, f"{SUPPLIER_EMAIL} does not see order {order['number']} to fulfil")
    tracking = f"SF{int(time.time())}"
    supplier.call("POST", f"/api/v1/fulfillments/{fulfillment['id']}/ship", expect=200, what="shipping",
                  json_body={"carrier": "顺丰速运", "tracking_number": tracking})
    seen = shopper.call("GET", f"/api/v1/orders/{order['id']}", expect=200, what="the shipped order").json()
    check(seen["status"] == "shipped", f"the shopper sees the order {seen['status']}, not shipped")
    check([f["tracking_number"] for f in seen["fulfillments"]] == [tracking],
          f"the shopper sees tracking {[f['tracking_number'] for f in seen['fulfillments']]}, not {tracking}")
    step(f"the demo supplier shipped it ({tracking}); the shopper sees it shipped")


# --- what makes it a multi-host stack -------------------------------------------------------------------------

def jobs_run_on_the_worker(shopper: Client, order: dict) -> None:
    """The scheduler claimed this period of every job, and the worker runs what is queued: send-outbox runs
    enqueued now deliver (keep, without SMTP) the shopper's messages about this order. A run takes at most 100
    pending messages, oldest first, and the demo data leaves a backlog: as many runs as it takes are queued."""
    from redis import Redis
    from rq.job import JobStatus
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    from shop.jobs.queue import KEY_PREFIX, enqueue, queue
    from shop.jobs.registry import JOBS

    redis = Redis.from_url(os.environ["REDIS_URL"])
    claimed = {key.decode().split(":")[3] for key in redis.scan_iter(f"{KEY_PREFIX}*")}
    check(claimed == {job.name for job in JOBS}, f"the scheduler claimed {sorted(claimed)}, not every job")

    def messages_kept():
        page = shopper.call("GET", "/api/v1/notifications?limit=100", expect=200, what="notifications").json()
        mine = [m for m in page["items"] if m["order_id"] == order["id"]]
        return mine if mine and all(m["status"] == "kept" for m in mine) else None

    done, kept_per_run, mine = (JobStatus.FINISHED, JobStatus.FAILED), [], None
    while not mine:
        check(len(kept_per_run) < 20, f"20 send-outbox runs kept {kept_per_run} messages, not the shopper's")
        job = enqueue(redis, "send-outbox")
        status = wait_for(lambda: job.get_status(refresh=True) in done and job.get_status(refresh=False),
                          timeout=60, what=f"the worker to run send-outbox (RQ job {job.id})")
        check(status == JobStatus.FINISHED, f"the queued send-outbox {status.value} on the worker (see worker.log)")
        kept_per_run.append(job.return_value()["kept"])
        mine = messages_kept()
    shop_queue = queue(redis)
    failed = FailedJobRegistry(queue=shop_queue).get_job_ids()
    check(not failed, f"RQ jobs failed on the worker: {failed}")
    finished = FinishedJobRegistry(queue=shop_queue).count
    step(f"scheduler claimed all {len(JOBS)} jobs' periods; the worker finished {finished} jobs, none failed; "
         f"{len(kept_per_run)} send-outbox run(s) queued now kept {kept_per_run} messages, the shopper's "
         f"{len(mine)} about the order among them")


def forwarded_for_is_not_trusted_blindly(base: str) -> str:
    probe = Client(base, "xff")
    response = probe.call("GET", "/healthz", expect=200, what="spoofed X-Forwarded-For",
                          headers={"X-Forwarded-For": SPOOFED_ADDRESS})
    return response.headers["X-Request-ID"]


def nginx_makes_the_request_id(base: str) -> str:
    response = Client(base, "anon").call("GET", "/api/v1/regions?limit=1", expect=200, request_id=None,
                                         what="a request without X-Request-ID")
    rid = response.headers.get("X-Request-ID", "")
    check(NGINX_REQUEST_ID.fullmatch(rid), f"without a caller's id, the answer's X-Request-ID is {rid!r}, "
                                           "not nginx's $request_id (32 hex digits)")
    return rid


def rate_limit_is_shared(base: str, nginx: "Logs") -> None:
    """Wrong passwords for one address, through nginx's round robin: each answer's remaining count is one less
    than the one before, whichever gunicorn served it, and the limit's last + 1 attempt is refused. With counters
    in process memory, each of the four gunicorn workers would count alone."""
    probe = Client(base, "ratelimit")
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.test"
    remaining, served_by = [], set()
    for attempt in itertools.count(1):
        response = probe.http.post(base + "/api/v1/auth/login", json={"email": email, "password": "wrong"},
                                   headers={"X-Request-ID": f"smoke-ratelimit-{attempt}"}, timeout=30)
        Client.sent.append({"request_id": response.headers.get("X-Request-ID"), "method": "POST",
                            "path": "/api/v1/auth/login", "status": response.status_code})
        limit = int(response.headers.get("X-RateLimit-Limit", 0))
        check(limit > 0, f"login answer {response.status_code} has no X-RateLimit-Limit header")
        if response.status_code == 429:
            check(response.headers.get("Content-Type", "").startswith("application/problem+json"),
                  "the 429 is not problem+json")
            check(response.json().get("request_id") == f"smoke-ratelimit-{attempt}",
                  f"the 429's problem+json names request id {response.json().get('request_id')!r}")
            break
        check(response.status_code == 401, f"a wrong password answered {response.status_code}")
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
        served_by.add(nginx.upstream_of(f"smoke-ratelimit-{attempt}"))
        check(attempt <= limit, f"{attempt} logins within a minute and still no 429 (limit {limit})")
    check(remaining == list(range(remaining[0], remaining[0] - len(remaining), -1)),
          f"X-RateLimit-Remaining went {remaining}: not one count shared by every process")
    check(len(served_by) == 2, f"the login attempts were all served by {served_by}")
    step(f"login limit ({limit}/min) shared: remaining {remaining[0]}..{remaining[-1]} across both upstreams, "
         f"then 429")


class Logs:
    """nginx's JSON access log and each upstream's app log (JSON lines of the shop.access logger)."""

    def __init__(self, nginx_log: Path, upstream_logs: dict[str, Path]):
        self.nginx_log, self.upstream_logs = nginx_log, upstream_logs

    @staticmethod
    def _json_lines(path: Path) -> list[dict]:
        lines = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    pass  # gunicorn's own lines are text
        return lines

    def nginx_lines(self) -> list[dict]:
        return self._json_lines(self.nginx_log)

    def upstream_of(self, request_id: str) -> str:
        lines = wait_for(lambda: [e for e in self.nginx_lines() if e["request_id"] == request_id], timeout=5,
                         interval=0.05, what=f"nginx's log line of {request_id}")
        check(len(lines) == 1, f"nginx logged {request_id} {len(lines)} times")
        return lines[0]["upstream"]

    def app_access(self) -> dict[str, dict[str, dict]]:
        """upstream → request id → its shop.access line."""
        return {upstream: {e["request_id"]: e for e in self._json_lines(path) if e.get("logger") == "shop.access"}
                for upstream, path in self.upstream_logs.items()}


def logs_agree(logs: Logs, spoofed_rid: str, nginx_rid: str) -> dict[str, int]:
    """Every request of the journey, and the webhooks localstripe sent, appear once in nginx's log and once in
    the app log of the upstream nginx names, with the same request id."""
    time.sleep(0.5)  # the access lines are written as the answers leave
    nginx_by_id = {}
    for entry in logs.nginx_lines():
        check(entry["request_id"] not in nginx_by_id, f"nginx logged request id {entry['request_id']} twice")
        nginx_by_id[entry["request_id"]] = entry
    app = logs.app_access()
    check(set(app) == {e["upstream"] for e in nginx_by_id.values()},
          f"nginx's upstreams {sorted({e['upstream'] for e in nginx_by_id.values()})} are not {sorted(app)}")
    served = dict.fromkeys(app, 0)
    for sent in Client.sent:
        rid = sent["request_id"]
        entry = nginx_by_id.get(rid)
        check(entry is not None, f"nginx has no log line with request id {rid} ({sent['method']} {sent['path']})")
        upstream = entry["upstream"]
        line = app[upstream].get(rid)
        check(line is not None, f"{rid} went to {upstream} says nginx, but its app log has no such request")
        check(line["status"] == sent["status"] == entry["status"],
              f"{rid}: status {sent['status']} seen, {entry['status']} in nginx, {line['status']} in the app")
        others = [u for u in app if u != upstream and rid in app[u]]
        check(not others, f"{rid} is in the app logs of {upstream} and {others}")
        served[upstream] += 1
    check(all(served.values()), f"one upstream served nothing: {served}")
    webhooks = [e for e in nginx_by_id.values() if e["uri"] == "/api/v1/payments/stripe/webhook"]
    check(webhooks and all(e["status"] == 200 for e in webhooks), f"localstripe's webhooks at nginx: {webhooks}")
    for entry in webhooks:
        check(entry["request_id"] in app[entry["upstream"]], f"webhook {entry['request_id']} not in the app's log")
    spoofed = app[nginx_by_id[spoofed_rid]["upstream"]][spoofed_rid]
    check(spoofed["remote_addr"] == nginx_by_id[spoofed_rid]["remote_addr"],
          f"the app took the client's X-Forwarded-For: remote_addr {spoofed['remote_addr']!r}")
    check(nginx_rid in app[nginx_by_id[nginx_rid]["upstream"]], "nginx's own request id did not reach the app")
    step(f"{len(Client.sent)} requests: each in nginx's log and its upstream's app log with one request id "
         f"({', '.join(f'{u}: {n}' for u, n in served.items())}); {len(webhooks)} webhook(s) through nginx; "
         f"nginx's $request_id used when the caller sent none; a spoofed X-Forwarded-For ignored "
         f"(remote_addr {spoofed['remote_addr']})")
    return served


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="nginx's URL")
    parser.add_argument("--stripe-api", required=True, help="localstripe's URL (the buyer's browser pays there)")
    parser.add_argument("--nginx-log", required=True, type=Path)
    parser.add_argument("--upstream", action="append", required=True, metavar="HOST:PORT=APP_LOG")
    args = parser.parse_args(argv)
    upstreams = dict(item.split("=", 1) for item in args.upstream)
    logs = Logs(args.nginx_log, {upstream: Path(path) for upstream, path in upstreams.items()})
    started = time.monotonic()
    print(f"smoke journey through {args.base}:", flush=True)
    try:
        health(args.base)
        shopper, address_id = new_shopper(args.base)
        product_id, sku_id = find_product(shopper)
        order, payment = buy(shopper, address_id, product_id, sku_id)
        pay(args.stripe_api, shopper, order, payment)
        ship(args.base, shopper, order)
        jobs_run_on_the_worker(shopper, order)
        spoofed_rid = forwarded_for_is_not_trusted_blindly(args.base)
        nginx_rid = nginx_makes_the_request_id(args.base)
        rate_limit_is_shared(args.base, logs)  # last: it spends this address's login allowance for a minute
        logs_agree(logs, spoofed_rid, nginx_rid)
    except JourneyFailed as failure:
        print(f"smoke journey FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    print(f"smoke journey passed in {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
