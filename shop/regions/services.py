from __future__ import annotations

import csv
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload

from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.database import json_objects
from shop.errors import NotFound, ValidationFailed
from shop.extensions import db
from shop.pagination import SortKey, keyset_page
from shop.regions.models import Region, SupportPair
from shop.transaction import transaction

DUPLICATE_PAIR = {"conflict": "duplicate_support_pair", "conflict_detail": "This pair already exists."}
AUDITED_PAIR_FIELDS = ("supporter_code", "recipient_code", "kind", "verified", "evidence")


def get_region(*, code: str, field: str | None = None, reservoir_only: bool = False) -> Region:
    """The region, or 404 — or, when `field` names an input field, a 422 on that field."""
    region = db.session.get(Region, code)
    problem = None
    if region is None:
        problem = "Unknown region code."
    elif reservoir_only and not region.reservoir_district:
        problem = "Not a Three Gorges reservoir-area district."
    if problem:
        if field:
            raise ValidationFailed(problem, code="invalid_region", errors={field: [problem]})
        raise NotFound(problem)
    return region


def get_county(*, code: str, field: str) -> Region:
    region = get_region(code=code, field=field)
    if region.level != "county":
        raise ValidationFailed("A county-level code is needed.", code="invalid_region",
                               errors={field: ["A county-level code is needed."]})
    return region


def list_regions(*, level=None, parent=None, reservoir_district=None, q=None, limit, cursor):
    stmt = select(Region)
    if level:
        stmt = stmt.where(Region.level == level)
    if parent:
        stmt = stmt.where(Region.parent_code == parent)
    if reservoir_district is not None:
        stmt = stmt.where(Region.reservoir_district.is_(reservoir_district))
    if q:
        stmt = stmt.where(Region.name.contains(q, autoescape=True))
    return keyset_page(db.session, stmt, keys=[SortKey(Region.code, lambda r: r.code)], limit=limit, cursor=cursor)


def _pairs_query():
    return select(SupportPair).options(joinedload(SupportPair.supporter), joinedload(SupportPair.recipient))


def list_support_pairs(*, supporter=None, recipient=None, kind=None, verified=None, limit, cursor):
    stmt = _pairs_query()
    if supporter:
        stmt = stmt.where(SupportPair.supporter_code == supporter)
    if recipient:
        stmt = stmt.where(SupportPair.recipient_code == recipient)
    if kind:
        stmt = stmt.where(SupportPair.kind == kind)
    if verified is not None:
        stmt = stmt.where(SupportPair.verified.is_(verified))
    return keyset_page(db.session, stmt, keys=[SortKey(SupportPair.id, lambda p: p.id)], limit=limit, cursor=cursor)


def supporting_regions_json(district_code):
    """SQL: the regions supporting a recipient district (counterpart programme) as a JSON array of
    {code, name, level}, unordered (sort by code), for a catalog statement to read with its product page.
    `district_code` is a column of the enclosing statement (or a value)."""
    supporter = aliased(Region, name="supporter")  # the enclosing statement may read region itself
    return (select(json_objects(code=supporter.code, name=supporter.name, level=supporter.level))
            .select_from(SupportPair).join(supporter, supporter.code == SupportPair.supporter_code)
            .where(SupportPair.recipient_code == district_code, SupportPair.kind == "three_gorges_counterpart")
            .scalar_subquery())


def get_support_pair(*, pair_id: int) -> SupportPair:
    pair = db.session.scalar(_pairs_query().where(SupportPair.id == pair_id))
    if pair is None:
        raise NotFound("No such support pair.")
    return pair


def _validate_pair(supporter_code: str, recipient_code: str) -> None:
    get_region(code=supporter_code, field="supporter_code")
    get_region(code=recipient_code, field="recipient_code", reservoir_only=True)
    if supporter_code == recipient_code:
        raise ValidationFailed("A region cannot support itself.", code="invalid_region",
                               errors={"recipient_code": ["Same as the supporter."]})


def create_support_pair(*, actor, supporter_code, recipient_code, kind, verified=False, evidence="") -> SupportPair:
    """Platform admins (the caller checks): `actor` is who the audit log names."""
    with transaction(**DUPLICATE_PAIR) as tx:
        _validate_pair(supporter_code, recipient_code)
        pair = SupportPair(supporter_code=supporter_code, recipient_code=recipient_code, kind=kind,
                           verified=verified, evidence=evidence)
        db.session.add(pair)
        db.session.flush()  # the id, for the log (a duplicate is refused here, before any entry)
        audit.record(tx, actor=actor, action=audit_actions.SUPPORT_PAIR_CREATED, target_type="support_pair",
                     target_id=pair.id, after=audit.snapshot(pair, AUDITED_PAIR_FIELDS))
    return get_support_pair(pair_id=pair.id)


def update_support_pair(*, actor, pair_id: int, changes: dict) -> SupportPair:
    with transaction(**DUPLICATE_PAIR) as tx:
        pair = get_support_pair(pair_id=pair_id)
        before = audit.snapshot(pair, AUDITED_PAIR_FIELDS)
        verified = changes.get("verified", pair.verified)
        evidence = changes.get("evidence", pair.evidence)
        if verified and not (evidence or "").strip():  # judged on the result, whichever field the change touches
            raise ValidationFailed("A verified pair needs its evidence.", code="evidence_required",
                                   errors={"evidence": ["Say which source names this pair."]})
        for field in ("verified", "evidence", "kind"):
            if field in changes:
                setattr(pair, field, changes[field])
        audit.record(tx, actor=actor, action=audit_actions.SUPPORT_PAIR_UPDATED, target_type="support_pair",
                     target_id=pair.id, before=before, after=audit.snapshot(pair, AUDITED_PAIR_FIELDS),
                     keep=("supporter_code", "recipient_code"))
    return get_support_pair(pair_id=pair_id)


def _read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_reference_data(data_dir: Path | None = None) -> dict:
    """Upsert the national county list, the reservoir-area reference and the support pairs.
    Idempotent: a second run changes nothing. Returns counts of rows added. One unit of work."""
    data_dir = Path(data_dir or current_app.config["REFERENCE_DIR"])
    rows: dict[str, dict] = {}
    for row in _read_csv(data_dir / "counties.csv"):
        rows[row["code"]] = {**row, "reservoir_district": False}
    for row in _read_csv(data_dir / "regions.csv"):  # the project's reference wins over the national list
        rows[row["code"]] = {**rows.get(row["code"], {}), **row,
                             "reservoir_district": row["reservoir_district"].strip().lower() == "true"}
    pair_rows = _read_csv(data_dir / "support_pairs.csv")
    with transaction():
        existing = {r.code: r for r in db.session.scalars(select(Region))}
        added_regions = 0
        # Parents first so that the self-referencing foreign key is satisfied at every insert.
        order = {"province": 0, "city": 1, "county": 2}
        for row in sorted(rows.values(), key=lambda r: (order[r["level"]], r["code"])):
            values = dict(name=row["name"], level=row["level"], parent_code=row["parent_code"] or None,
                          reservoir_district=row["reservoir_district"])
            region = existing.get(row["code"])
            if region is None:
                db.session.add(Region(code=row["code"], **values))
                added_regions += 1
            else:
                for key, value in values.items():
                    if getattr(region, key) != value:
                        setattr(region, key, value)
        db.session.flush()
        existing_pairs = {(p.supporter_code, p.recipient_code, p.kind) for p in db.session.scalars(select(SupportPair))}
        added_pairs = 0
        for row in pair_rows:
            key = (row["supporter_code"], row["recipient_code"], row["kind"])
            if key in existing_pairs:
                continue
            db.session.add(SupportPair(supporter_code=key[0], recipient_code=key[1], kind=key[2],
                                       verified=row["verified"].strip().lower() == "true", evidence=row["evidence"]))
            added_pairs += 1
    return {"regions": added_regions, "support_pairs": added_pairs}


def names_of(codes) -> dict[str, str]:
    """code → name of these regions, in one query (codes that are no region are left out)."""
    codes = list(codes)
    if not codes:
        return {}
    return dict(db.session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())


def find_region(code: str) -> Region | None:
    """The region of a code, or None (a read, in the caller's transaction)."""
    return db.session.get(Region, code)


def region_chain(code: str) -> list[Region]:
    """The region and its ancestors, nearest first (county → city → province)."""
    chain = []
    region = db.session.get(Region, code)
    while region is not None and len(chain) < 4:
        chain.append(region)
        region = db.session.get(Region, region.parent_code) if region.parent_code else None
    return chain


def pairs_to(recipient_codes=None) -> list[SupportPair]:
    """The support pairs of every kind (to these recipient districts when given), by id: a read in the caller's
    transaction, for consumption-assistance attribution."""
    stmt = select(SupportPair).order_by(SupportPair.id)
    if recipient_codes is not None:
        stmt = stmt.where(SupportPair.recipient_code.in_(set(recipient_codes)))
    return list(db.session.scalars(stmt))
