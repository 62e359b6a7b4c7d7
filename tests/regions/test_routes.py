"""Regions (GB/T 2260) and counterpart-support pairs over HTTP, and the reference-data loader."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shop.extensions import db
from shop.regions.models import Region, SupportPair
from tests.support import make_user, assert_problem, PROBLEM_JSON

DATA_DIR = Path(__file__).resolve().parents[2] / "shop" / "regions" / "data"


def reservoir_codes_from_csv() -> set[str]:
    with (DATA_DIR / "regions.csv").open(encoding="utf-8", newline="") as handle:
        return {row["code"] for row in csv.DictReader(handle) if row["reservoir_district"].strip().lower() == "true"}


def walk(client, url: str, limit: int) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        page_url = f"{url}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(page_url)
        assert response.status_code == 200, response.json
        assert len(response.json["items"]) <= limit
        items.extend(response.json["items"])
        cursor = response.json["next_cursor"]
        pages += 1
        assert pages < 100
        if not cursor:
            return items


def pair_count() -> int:
    return db.session.scalar(select(func.count()).select_from(SupportPair))


@pytest.fixture
def admin(make_client):
    api = make_client()
    api.login_as(make_user(admin=True))
    return api


@pytest.fixture
def member(make_client):
    api = make_client()
    api.login_as(make_user())
    return api


# --- regions ------------------------------------------------------------------------------------------------


def test_reservoir_districts_are_exactly_the_reference_list(client):
    expected = reservoir_codes_from_csv()
    assert len(expected) == 15
    response = client.get("/api/v1/regions?reservoir_district=true&limit=100")
    assert response.status_code == 200
    items = response.json["items"]
    assert response.json["next_cursor"] is None
    assert {r["code"] for r in items} == expected
    assert len(items) == 15
    assert all(r["reservoir_district"] is True for r in items)
    by_code = {r["code"]: r for r in items}
    assert by_code["500237"]["name"] == "巫山县"
    assert by_code["500237"]["level"] == "county"
    assert by_code["500237"]["parent_code"] == "500000"


def test_reservoir_districts_default_page_also_complete(client):
    response = client.get("/api/v1/regions?reservoir_district=true")
    assert {r["code"] for r in response.json["items"]} == reservoir_codes_from_csv()


def test_non_reservoir_filter_excludes_districts(client):
    items = walk(client, "/api/v1/regions?reservoir_district=false&parent=500000", 100)
    codes = {r["code"] for r in items}
    assert codes and not codes & reservoir_codes_from_csv()


@pytest.mark.parametrize("query", ["level=bogus", "level=", "parent=5000", "parent=abcdef",
                                   "reservoir_district=maybe"])
def test_invalid_region_filters_are_422(client, query):
    assert_problem(client.get(f"/api/v1/regions?{query}"), 422, "validation_error")


def test_province_listing_keyset_pagination(client):
    everything = client.get("/api/v1/regions?level=province&limit=100")
    assert everything.status_code == 200
    assert everything.json["next_cursor"] is None
    reference = everything.json["items"]
    assert len(reference) >= 31
    assert all(r["level"] == "province" for r in reference)
    codes = [r["code"] for r in reference]
    assert codes == sorted(codes)
    assert {"500000", "110000", "320000"} <= set(codes)

    first_page = client.get("/api/v1/regions?level=province&limit=10")
    assert len(first_page.json["items"]) == 10
    assert first_page.json["next_cursor"]

    walked = walk(client, "/api/v1/regions?level=province", 10)
    walked_codes = [r["code"] for r in walked]
    assert len(walked_codes) == len(set(walked_codes))  # no duplicates
    assert walked_codes == codes  # no gaps, same order
    assert walked == reference


def test_last_page_exactly_full_has_no_next_cursor(client):
    total = len(client.get("/api/v1/regions?reservoir_district=true&limit=100").json["items"])
    response = client.get(f"/api/v1/regions?reservoir_district=true&limit={total}")
    assert len(response.json["items"]) == total
    assert response.json["next_cursor"] is None


def test_parent_filter(client):
    items = walk(client, "/api/v1/regions?parent=500000", 100)
    codes = {r["code"] for r in items}
    assert "500101" in codes
    assert "500237" in codes
    assert all(r["parent_code"] == "500000" for r in items)
    assert "500000" not in codes and "110101" not in codes


def test_name_search(client):
    items = client.get("/api/v1/regions?q=巫山&limit=100").json["items"]
    assert "500237" in {r["code"] for r in items}
    assert all("巫山" in r["name"] for r in items)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "!!!!", "WyJhIiwiYiJd", "e30", "bnVsbA"])
def test_invalid_cursor_is_422(client, cursor):
    problem = assert_problem(client.get(f"/api/v1/regions?level=province&cursor={cursor}"), 422,
                             "invalid_cursor")
    assert "cursor" in problem["errors"]


@pytest.mark.parametrize("cursor", ["WzFd", "W1tdXQ", "W3siYSI6MX1d"])  # [1], [[]], [{"a":1}]: well-formed, wrong type
def test_tampered_cursor_value_is_422_not_500(client, cursor):
    problem = assert_problem(client.get(f"/api/v1/regions?level=province&cursor={cursor}"), 422,
                             "invalid_cursor")
    assert "cursor" in problem["errors"]


def test_valid_cursor_continues_after_its_code(client):
    from shop.pagination import encode_cursor

    items = client.get(f"/api/v1/regions?parent=500000&limit=3&cursor={encode_cursor(['500101'])}").json["items"]
    assert [r["code"] for r in items] == ["500102", "500103", "500104"]


@pytest.mark.parametrize("limit", ["0", "101", "2.7", "-1", "ten", ""])
def test_invalid_limit_is_422(client, limit):
    problem = assert_problem(client.get(f"/api/v1/regions?limit={limit}"), 422, "validation_error")
    assert "limit" in problem["errors"]


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_inclusive(client, limit):
    response = client.get(f"/api/v1/regions?limit={limit}")
    assert response.status_code == 200
    assert len(response.json["items"]) == limit


def test_default_limit_is_20(client):
    response = client.get("/api/v1/regions")
    assert len(response.json["items"]) == 20
    assert response.json["next_cursor"]


def test_get_region(client):
    response = client.get("/api/v1/regions/500237")
    assert response.status_code == 200
    assert response.json == {"code": "500237", "name": "巫山县", "level": "county", "parent_code": "500000",
                             "reservoir_district": True}


@pytest.mark.parametrize("code", ["999999", "abc"])
def test_unknown_region_is_404(client, code):
    problem = assert_problem(client.get(f"/api/v1/regions/{code}"), 404, "not_found")
    for key in ("type", "title", "detail"):
        assert key in problem


# --- support pairs ------------------------------------------------------------------------------------------


def test_wanzhou_has_seven_supporters(client):
    response = client.get("/api/v1/support-pairs?recipient=500101&limit=100")
    assert response.status_code == 200
    items = response.json["items"]
    assert len(items) == 7
    assert all(p["recipient"] == {"code": "500101", "name": "万州区"} for p in items)
    assert {p["supporter"]["code"] for p in items} == {"310000", "330200", "320100", "120000", "350200", "350000",
                                                         "230000"}
    assert len({p["id"] for p in items}) == 7


def test_support_pairs_by_supporter(client):
    items = client.get("/api/v1/support-pairs?supporter=320000").json["items"]
    assert [p["recipient"] for p in items] == [{"code": "500235", "name": "云阳县"}]
    assert items[0]["supporter"] == {"code": "320000", "name": "江苏省"}
    assert items[0]["kind"] == "three_gorges_counterpart"
    assert items[0]["verified"] is True
    assert items[0]["evidence"]


def test_support_pairs_pagination_walks_everything(client):
    everything = client.get("/api/v1/support-pairs?limit=100").json["items"]
    assert len(everything) == pair_count() >= 18
    walked = walk(client, "/api/v1/support-pairs?kind=three_gorges_counterpart", 5)
    assert [p["id"] for p in walked] == [p["id"] for p in everything if p["kind"] == "three_gorges_counterpart"]


@pytest.mark.parametrize("query", ["recipient=50010", "kind=friendship", "limit=0", "cursor=%%%"])
def test_invalid_support_pair_filters_are_422(client, query):
    response = client.get(f"/api/v1/support-pairs?{query}")
    assert response.status_code == 422
    assert response.mimetype == PROBLEM_JSON


NEW_PAIR = {"supporter_code": "330100", "recipient_code": "500113", "kind": "east_west_cooperation"}


def test_admin_creates_pair(admin, client):
    before = pair_count()
    response = admin.post("/api/v1/support-pairs", json={**NEW_PAIR, "evidence": "a city report"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["supporter"] == {"code": "330100", "name": "杭州市"}
    assert body["recipient"] == {"code": "500113", "name": "巴南区"}
    assert body["kind"] == "east_west_cooperation"
    assert body["verified"] is False
    assert body["evidence"] == "a city report"
    assert pair_count() == before + 1
    assert client.get(f"/api/v1/support-pairs/{body['id']}").json == body
    listed = client.get("/api/v1/support-pairs?recipient=500113").json["items"]
    assert [p["id"] for p in listed] == [body["id"]]


def test_duplicate_pair_is_409(admin):
    assert admin.post("/api/v1/support-pairs", json=NEW_PAIR).status_code == 201
    before = pair_count()
    assert_problem(admin.post("/api/v1/support-pairs", json=NEW_PAIR), 409, "duplicate_support_pair")
    seeded = {"supporter_code": "320000", "recipient_code": "500235", "kind": "three_gorges_counterpart"}
    assert_problem(admin.post("/api/v1/support-pairs", json=seeded), 409, "duplicate_support_pair")
    assert pair_count() == before
    # Same regions, another programme: a different pair.
    assert admin.post("/api/v1/support-pairs", json={**NEW_PAIR, "kind": "other"}).status_code == 201


def test_non_admin_cannot_create_pair(member):
    before = pair_count()
    assert_problem(member.post("/api/v1/support-pairs", json=NEW_PAIR), 403, "admin_only")
    assert pair_count() == before


def test_anonymous_cannot_create_pair(client):
    before = pair_count()
    assert_problem(client.post("/api/v1/support-pairs", json=NEW_PAIR), 401, "unauthorized")
    assert pair_count() == before


@pytest.mark.parametrize("changes,field", [
    ({"recipient_code": "320100"}, "recipient_code"),  # a city, not a reservoir district
    ({"recipient_code": "110101"}, "recipient_code"),  # a county, not a reservoir district
    ({"recipient_code": "999999"}, "recipient_code"),
    ({"supporter_code": "999999"}, "supporter_code"),
    ({"supporter_code": "500113"}, "recipient_code"),  # supports itself
])
def test_pair_regions_are_validated(admin, changes, field):
    before = pair_count()
    problem = assert_problem(admin.post("/api/v1/support-pairs", json={**NEW_PAIR, **changes}), 422,
                             "invalid_region")
    assert field in problem["errors"]
    assert pair_count() == before


@pytest.mark.parametrize("body,field", [({**NEW_PAIR, "kind": "friendship"}, "kind"),
                                        ({**NEW_PAIR, "recipient_code": "5001"}, "recipient_code"),
                                        ({**NEW_PAIR, "verified": "yes please"}, "verified"),
                                        ({**NEW_PAIR, "id": 5}, "id"),
                                        ({k: v for k, v in NEW_PAIR.items() if k != "kind"}, "kind")])
def test_pair_body_is_validated(admin, body, field):
    before = pair_count()
    problem = assert_problem(admin.post("/api/v1/support-pairs", json=body), 422, "validation_error")
    assert field in problem["errors"]
    assert pair_count() == before


def create_pair(admin, **extra) -> dict:
    response = admin.post("/api/v1/support-pairs", json={**NEW_PAIR, **extra})
    assert response.status_code == 201, response.json
    return response.json


def stored_pair(pair_id: int) -> SupportPair:
    db.session.expire_all()
    return db.session.get(SupportPair, pair_id)


@pytest.mark.parametrize("changes", [{"verified": True}, {"verified": True, "evidence": ""},
                                     {"verified": True, "evidence": "   "}])
def test_verifying_without_evidence_is_422(admin, changes):
    pair = create_pair(admin)
    problem = assert_problem(admin.patch(f"/api/v1/support-pairs/{pair['id']}", json=changes), 422,
                             "evidence_required")
    assert "evidence" in problem["errors"]
    assert stored_pair(pair["id"]).verified is False


def test_admin_verifies_pair_with_evidence(admin, client):
    pair = create_pair(admin)
    response = admin.patch(f"/api/v1/support-pairs/{pair['id']}", json={"verified": True, "evidence": "gov report"})
    assert response.status_code == 200, response.json
    assert response.json["verified"] is True
    assert response.json["evidence"] == "gov report"
    stored = stored_pair(pair["id"])
    assert (stored.verified, stored.evidence) == (True, "gov report")
    assert client.get(f"/api/v1/support-pairs/{pair['id']}").json["verified"] is True


def test_pair_with_evidence_can_be_verified_alone(admin):
    pair = create_pair(admin, evidence="named in a 2022 report")
    response = admin.patch(f"/api/v1/support-pairs/{pair['id']}", json={"verified": True})
    assert response.status_code == 200
    assert stored_pair(pair["id"]).verified is True


def test_verified_pair_cannot_lose_its_evidence_while_verifying(admin):
    """Verifying and blanking the evidence in one PATCH must not leave a verified pair without evidence."""
    pair = create_pair(admin, evidence="named in a 2022 report")
    response = admin.patch(f"/api/v1/support-pairs/{pair['id']}", json={"verified": True, "evidence": ""})
    assert_problem(response, 422, "evidence_required")
    stored = stored_pair(pair["id"])
    assert not (stored.verified and not stored.evidence.strip())


def test_verified_pair_cannot_lose_its_evidence(admin):
    """Blanking the evidence of an already verified pair breaks the same rule."""
    pair = create_pair(admin, verified=True, evidence="named in a 2022 report")
    response = admin.patch(f"/api/v1/support-pairs/{pair['id']}", json={"evidence": ""})
    assert_problem(response, 422, "evidence_required")
    stored = stored_pair(pair["id"])
    assert stored.verified is True and stored.evidence == "named in a 2022 report"


def test_patch_needs_admin(admin, member, client):
    pair = create_pair(admin)
    assert_problem(member.patch(f"/api/v1/support-pairs/{pair['id']}", json={"kind": "other"}), 403, "admin_only")
    assert_problem(client.patch(f"/api/v1/support-pairs/{pair['id']}", json={"kind": "other"}), 401,
                   "unauthorized")
    assert stored_pair(pair["id"]).kind == "east_west_cooperation"


def test_patch_kind_into_existing_pair_is_409(admin):
    first = create_pair(admin)
    second = create_pair(admin, kind="other")
    assert_problem(admin.patch(f"/api/v1/support-pairs/{second['id']}", json={"kind": first["kind"]}), 409,
                   "duplicate_support_pair")
    assert stored_pair(second["id"]).kind == "other"


def test_unknown_pair_is_404(admin, client):
    assert_problem(client.get("/api/v1/support-pairs/999999"), 404, "not_found")
    assert_problem(admin.patch("/api/v1/support-pairs/999999", json={"kind": "other"}), 404, "not_found")


# --- reference data -----------------------------------------------------------------------------------------


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Region)), pair_count())


def test_reference_loader_is_idempotent():
    from shop.regions.services import load_reference_data

    load_reference_data()
    before = counts()
    snapshot = {r.code: (r.name, r.level, r.parent_code, r.reservoir_district)
                for r in db.session.scalars(select(Region))}
    second = load_reference_data()
    assert second == {"regions": 0, "support_pairs": 0}
    db.session.expire_all()
    assert counts() == before
    assert {r.code: (r.name, r.level, r.parent_code, r.reservoir_district)
            for r in db.session.scalars(select(Region))} == snapshot
    assert before[0] >= 3000
    assert sum(1 for v in snapshot.values() if v[3]) == 15


def test_reference_loader_restores_deleted_pairs_only():
    from shop.regions.services import load_reference_data

    regions, pairs = counts()
    pair = db.session.scalar(select(SupportPair).where(SupportPair.supporter_code == "320000"))
    db.session.delete(pair)
    db.session.commit()
    assert load_reference_data() == {"regions": 0, "support_pairs": 1}
    assert counts() == (regions, pairs)
