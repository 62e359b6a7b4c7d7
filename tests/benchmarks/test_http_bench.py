"""The parts of benchmarks.http that decide whether its figures mean anything, against real servers: the checkout
world can buy (benchmarks.run's storm once failed at setup unnoticed), its signed webhook events are acknowledged
and their replays are duplicates, and the wrk script sends what the request file says, counts every status and
gives each request its own Idempotency-Key."""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from benchmarks import wrk
from benchmarks.http_requests import WEBHOOK, bearer, signed_event, stock_checks
from benchmarks.world import checkout_body, setup_checkout_world


def test_the_checkout_world_buys_and_its_stock_adds_up(app, stripe_server):
    world = setup_checkout_world(app, n_skus=2, stock=3, attempts=0, probe_orders=1, threads=2)
    client = app.test_client()
    for (_, token, address_id), sku_id in zip(world.buyers, world.hot_skus):
        response = client.post("/api/v1/checkout", json=checkout_body(address_id, sku_id),
                               headers={**bearer(token), "Idempotency-Key": f"bench-{sku_id}"})
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["payment_error"] is None
    checks = stock_checks(app, world, created=2)
    assert [c for c in checks if not c["ok"]] == []
    assert stock_checks(app, world, created=3)[-2]["ok"] is False  # fewer orders than 201 answers is caught


def test_a_signed_event_is_acknowledged_once_and_its_replay_is_a_duplicate(app):
    body, headers = signed_event("evt_bench_test_1", secret=app.config["STRIPE_WEBHOOK_SECRET"])
    client = app.test_client()
    first = client.post(WEBHOOK, data=body, headers=headers)
    assert (first.status_code, first.get_json()["outcome"]) == (200, "ignored")
    again = client.post(WEBHOOK, data=body, headers=headers)
    assert (again.status_code, again.get_json()["outcome"]) == (200, "duplicate")
    forged = client.post(WEBHOOK, data=body.replace("5990", "1"), headers=headers)
    assert forged.status_code == 400


@pytest.fixture
def echo_server():
    """A WSGI server on a loopback port: 201 for POST /made with the expected body and header, 404 otherwise;
    it records every Idempotency-Key it receives."""
    keys = []

    def application(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        keys.append(environ.get("HTTP_IDEMPOTENCY_KEY"))
        made = (environ["PATH_INFO"], environ["REQUEST_METHOD"], body, environ.get("HTTP_X_BENCH")) == (
            "/made", "POST", '{"name":"巫山脆李"}'.encode(), "yes")
        start_response("201 Created" if made else "404 Not Found", [("Content-Length", "2")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", keys
    server.shutdown()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (Debian package) not installed")
def test_wrk_sends_the_file_counts_every_status_and_keys_each_request(tmp_path, echo_server):
    base, keys = echo_server
    requests = wrk.write_requests(tmp_path / "requests", [
        ("POST", "/made", {"Content-Type": "application/json", "X-Bench": "yes"}, '{"name":"巫山脆李"}'),
        ("GET", "/missing", {}, None)])
    result = wrk.run(base, requests, seconds=1, connections=2, threads=2, idempotency_prefix="run1")
    # Two threads, two lines: each thread keeps to its own line, so both statuses appear.
    assert result.statuses.get(201, 0) > 0 and result.statuses.get(404, 0) > 0
    assert sum(result.statuses.values()) == result.requests
    assert result.non_2xx == result.statuses[404]
    assert 0 < result.p50_ms <= result.p99_ms
    assert None not in keys and len(set(keys)) == len(keys) >= result.requests


def test_a_request_field_holding_a_separator_is_refused(tmp_path):
    with pytest.raises(ValueError):
        wrk.write_requests(tmp_path / "requests", [("POST", "/x", {}, '{"a":\n1}')])


def test_the_latency_report_is_read_in_its_units():
    result = wrk.parse("""Running 1s test @ http://127.0.0.1:1
  2 threads and 16 connections
  Latency Distribution
     50%  850.00us
     75%    1.20ms
     90%    3.00ms
     99%    1.50s
  1234 requests in 2.00s, 1.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
Requests/sec:    617.00
wrk-status 200 1230
wrk-status 503 4
""")
    assert (result.p50_ms, result.p99_ms, result.rps, result.requests, result.seconds) == (0.85, 1500.0, 617.0, 1234,
                                                                                          2.0)
    assert result.statuses == {200: 1230, 503: 4} and result.non_2xx == 4 and result.errors == 5


def test_a_target_is_met_only_with_both_its_share_of_hello_and_its_p99():
    from benchmarks.http_requests import Kind

    listing = Kind("list", "GET /products", 0.12, 60)
    assert listing.met(0.12, 59.9) is True
    assert listing.met(0.119, 10.0) is False
    assert listing.met(0.5, 60.0) is False
    assert Kind("webhook", "POST webhook").met(0.01, 10_000.0) is None  # no target: informational only
