#!/usr/bin/env python3
"""The runnable lakehouse example's host side: its Kubernetes inputs, the landed days, the report.

    local.py manifests              the ConfigMaps (code, dbt project, endpoints) and the Secret, as
                                    YAML for `kubectl apply -f -`, from .cluster/services/endpoints.json
    local.py land DATE [good|bad]   the shop's export of DATE into s3://landing (code/landing.py)
    local.py report [DATE]          rows per layer (read back through pyiceberg, a real Iceberg
                                    client, from the JDBC catalog and S3), snapshots, and the CRM

`make demo` (hack/demo.sh) and tests/cluster/test_lakehouse_local.py use these functions. The
report needs the project's venv (pyiceberg, pyarrow, psycopg2); `manifests` and `land` only the
standard library.
"""

from __future__ import annotations

import json
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ENDPOINTS = ROOT / ".cluster" / "services" / "endpoints.json"
sys.path.insert(0, str(HERE / "code"))

from landing import land as land_day  # noqa: E402
from s3lite import S3  # noqa: E402


def endpoints(path: Path = ENDPOINTS) -> dict[str, Any]:
    return json.loads(path.read_text())


def _configmap(name: str, data: dict[str, str], kind: str = "ConfigMap") -> dict[str, Any]:
    key = "stringData" if kind == "Secret" else "data"
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "labels": {"app": "lakehouse-local"}},
            key: data}


def databases(ep: dict[str, Any], prefix: str | None = None) -> tuple[str, str]:
    """(Iceberg catalog database, CRM database): the services' own, or `PREFIX_lake`, `PREFIX_crm`."""
    pg = ep["postgres"]
    return (f"{prefix}_lake", f"{prefix}_crm") if prefix else (pg["catalog"], pg["crm"])


def manifests(ep: dict[str, Any], prefix: str | None = None) -> list[dict[str, Any]]:
    """The two code ConfigMaps, the endpoints ConfigMap and the credentials Secret. With `prefix`
    (a test), the lake and the CRM are that prefix's own databases and warehouse folder."""
    pg, s3 = ep["postgres"], ep["s3"]
    jdbc = f"jdbc:postgresql://{pg['host']}:{pg['port']}"
    catalog_db, crm_db = databases(ep, prefix)
    code = {p.name: p.read_text() for p in sorted((HERE / "code").glob("*.py"))}
    dbt_dir = HERE / "dbt"
    dbt = {str(p.relative_to(dbt_dir)).replace("/", "__"): p.read_text()
           for p in sorted(dbt_dir.rglob("*")) if p.is_file()}
    return [
        _configmap("lakehouse-local-code", code),
        _configmap("lakehouse-local-dbt", dbt),
        _configmap("lakehouse-local-endpoints", {
            "LAKE_CATALOG_URI": f"{jdbc}/{catalog_db}", "CRM_JDBC_URL": f"{jdbc}/{crm_db}",
            "LAKE_S3_ENDPOINT": s3["endpoint"], "LAKE_WAREHOUSE": f"s3://lakehouse/{prefix or 'warehouse'}",
            "AWS_REGION": s3["region"]}),
        _configmap("lakehouse-local-credentials", {
            "PGUSER": pg["user"], "PGPASSWORD": pg["password"], "AWS_ACCESS_KEY_ID": s3["accessKey"],
            "AWS_SECRET_ACCESS_KEY": s3["secretKey"], "NOTIFY_URL": f"{ep['receiver']['url']}/{prefix or 'lakehouse'}"},
            kind="Secret"),
    ]


def land(ep: dict[str, Any], day: str, quality: str = "good", seed: int = 7) -> dict[str, Any]:
    s3 = ep["s3"]
    return land_day(S3(s3["endpoint"], s3["accessKey"], s3["secretKey"], s3["region"]), day, seed, quality, 600)


def catalog(ep: dict[str, Any], prefix: str | None = None) -> Any:
    """The Iceberg catalog `lake` as pyiceberg sees it: the same JDBC tables in PostgreSQL."""
    import logging

    from pyiceberg.catalog.sql import SqlCatalog

    logging.getLogger("pyiceberg.catalog.sql").setLevel(logging.ERROR)  # "v0 schema": Iceberg Java's, as written
    pg, s3 = ep["postgres"], ep["s3"]
    return SqlCatalog("lake", **{
        "uri": f"postgresql+psycopg2://{pg['user']}:{pg['password']}@{pg['host']}:{pg['port']}/{databases(ep, prefix)[0]}",
        "s3.endpoint": s3["endpoint"], "s3.access-key-id": s3["accessKey"],
        "s3.secret-access-key": s3["secretKey"], "s3.region": s3["region"]})


def connect(ep: dict[str, Any], dbname: str) -> Any:
    import psycopg2

    pg = ep["postgres"]
    return psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"], dbname=dbname)


def crm_rows(ep: dict[str, Any], prefix: str | None = None) -> list[tuple[Any, ...]]:
    """The CRM table, ordered by customer, with each row's version (xmin); empty before any sync."""
    with closing(connect(ep, databases(ep, prefix)[1])) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('customer_segments')")
        if cur.fetchone()[0] is None:
            return []
        cur.execute("SELECT customer_id, orders, revenue, last_order, segment, as_of, xmin::text "
                    "FROM customer_segments ORDER BY customer_id")
        return list(cur.fetchall())


def layers(ep: dict[str, Any], prefix: str | None = None) -> dict[str, dict[str, Any]]:
    """{table: {rows, snapshots, perDay, table}} for bronze.orders, silver.orders, gold.customer_value."""
    cat = catalog(ep, prefix)
    out: dict[str, dict[str, Any]] = {}
    for name in ("bronze.orders", "silver.orders", "gold.customer_value"):
        table = cat.load_table(name)
        arrow = table.scan().to_arrow()
        per_day: dict[str, int] = {}
        if "load_date" in arrow.column_names:
            for d in arrow.column("load_date").to_pylist():
                per_day[str(d)] = per_day.get(str(d), 0) + 1
        out[name] = {"rows": arrow.num_rows, "snapshots": len(table.snapshots()), "perDay": per_day,
                     "table": arrow}
    return out


def gold_equals_crm(gold: list[dict[str, Any]], crm: list[tuple[Any, ...]]) -> bool:
    """Every Gold customer is in the CRM with the same orders, revenue and segment, and no other."""
    by_id = {g["customer_id"]: g for g in gold}
    return len(crm) == len(by_id) and all(
        c[0] in by_id and int(by_id[c[0]]["orders"]) == c[1] and by_id[c[0]]["revenue"] == c[2]
        and by_id[c[0]]["segment"] == c[4] for c in crm)


def report(ep: dict[str, Any], prefix: str | None = None) -> str:
    lines = ["layer                 rows  snapshots  rows per load day"]
    tables = layers(ep, prefix)
    for name, t in tables.items():
        days = ", ".join(f"{d}: {n}" for d, n in sorted(t["perDay"].items())) or "-"
        lines.append(f"{name:<20} {t['rows']:>5}  {t['snapshots']:>9}  {days}")
    crm = crm_rows(ep, prefix)
    same = gold_equals_crm(tables["gold.customer_value"]["table"].to_pylist(), crm)
    as_of = sorted({str(c[5]) for c in crm})
    lines.append(f"CRM customer_segments {len(crm):>5}  as of {', '.join(as_of) or '-'}; "
                 f"{'equal to Gold' if same else 'not Gold: the CRM keeps the last day that passed the gate'}")
    segments: dict[str, int] = {}
    for c in crm:
        segments[c[4]] = segments.get(c[4], 0) + 1
    if crm:
        lines.append("CRM segments: " + ", ".join(f"{s} {n}" for s, n in sorted(segments.items())))
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("manifests", "land", "report"):
        sys.exit(__doc__)
    ep = endpoints()
    if argv[0] == "manifests":
        print("\n---\n".join(json.dumps(m) for m in manifests(ep)))
    elif argv[0] == "land":
        print(json.dumps(land(ep, argv[1], *(argv[2:3] or ["good"]))))
    else:
        print(report(ep))


if __name__ == "__main__":
    main(sys.argv[1:])
