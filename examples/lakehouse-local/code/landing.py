#!/usr/bin/env python3
"""The shop's exporter, simulated: one day of orders landed in S3, deterministic from a seed.

Writes `s3://landing/orders/date=YYYY-MM-DD/part-N.csv` (header
`order_id,customer_id,order_ts,amount,currency`) and `_manifest.json` (schema version, files, rows).
The same seed and date always give the same bytes. Some rows are bad on purpose, as real exports
are: a missing customer, a negative or unreadable amount, a duplicated order. A `good` day has
about 2 % of them (Silver drops them); a `bad` day (the exporter broke) has about 35 %, which the
quality gate must stop before it reaches the CRM.

Usage: landing.py --endpoint URL --date 2026-11-24 [--seed 7] [--quality good|bad] [--rows 600]
(credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Prints the manifest.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from s3lite import S3  # noqa: E402

HEADER = "order_id,customer_id,order_ts,amount,currency"
CUSTOMERS = 40
BAD_SHARE = {"good": 0.02, "bad": 0.35}


def generate(day: str, seed: int, quality: str, rows: int, files: int = 3) -> dict[str, str]:
    """{file name: CSV text} for one day; deterministic in (day, seed, quality, rows)."""
    rnd = random.Random(f"{seed}/{day}/{quality}")
    lines: list[str] = []
    for i in range(rows):
        order_id = f"{day.replace('-', '')}-{i:05d}"
        customer = f"C{rnd.randrange(CUSTOMERS):03d}"
        ts = f"{day}T{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}Z"
        amount = f"{rnd.randrange(500, 25000) / 100:.2f}"
        if rnd.random() < BAD_SHARE[quality]:
            kind = rnd.randrange(4)
            if kind == 0:
                customer = ""
            elif kind == 1:
                amount = f"-{amount}"
            elif kind == 2:
                amount = "n/a"
            elif lines:  # the exporter sent an order twice
                lines.append(lines[-1])
                continue
        lines.append(f"{order_id},{customer},{ts},{amount},EUR")
    size = -(-len(lines) // files)
    return {f"part-{n}.csv": "\n".join([HEADER, *lines[n * size:(n + 1) * size]]) + "\n" for n in range(files)}


def land(s3: S3, day: str, seed: int, quality: str, rows: int) -> dict[str, object]:
    """Upload the day's files, then the manifest (the exporter writes it last)."""
    parts = generate(day, seed, quality, rows)
    prefix = f"orders/date={day}"
    for name, text in parts.items():
        s3.put("landing", f"{prefix}/{name}", text.encode())
    manifest = {"schemaVersion": 3, "date": day, "seed": seed,
                "files": [{"path": f"{prefix}/{n}", "rows": t.count("\n") - 1} for n, t in parts.items()]}
    s3.put("landing", f"{prefix}/_manifest.json", json.dumps(manifest, indent=1).encode())
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--date", required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quality", choices=sorted(BAD_SHARE), default="good")
    parser.add_argument("--rows", type=int, default=600)
    args = parser.parse_args()
    print(json.dumps(land(S3(args.endpoint), args.date, args.seed, args.quality, args.rows)))


if __name__ == "__main__":
    main()
