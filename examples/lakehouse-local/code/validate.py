"""Validation of one landed day (the `validate-landing` task, python image): is the export complete?

Reads `_manifest.json`, checks every listed file is there with the rows the manifest promises and
the expected header, and publishes the counts as the task's outputs (`bronze-ingest` checks its
row count against `rows`). A wrong schema version never fixes itself: exit code 3 (the workflow
lists it in noRetryOnExitCodes). A missing manifest or file fails the attempt, to be retried.

Usage: python -m validate DATE   (with /opt/lakehouse on PYTHONPATH; the store at LAKE_S3_ENDPOINT)
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error

from s3lite import S3

HEADER = "order_id,customer_id,order_ts,amount,currency"


def main(day: str) -> None:
    s3 = S3(os.environ["LAKE_S3_ENDPOINT"])
    prefix = f"orders/date={day}"
    try:
        manifest = json.loads(s3.get("landing", f"{prefix}/_manifest.json"))
    except urllib.error.HTTPError as err:
        sys.exit(f"landing for {day}: no manifest yet ({err.code})")
    if manifest.get("schemaVersion") != 3:
        print(f"landing for {day}: schema {manifest.get('schemaVersion')}, expected 3", file=sys.stderr)
        sys.exit(3)
    present = set(s3.list("landing", prefix + "/"))
    rows = malformed = 0
    for entry in manifest.get("files") or []:
        if entry["path"] not in present:
            sys.exit(f"landing for {day}: {entry['path']} is listed but missing")
        lines = s3.get("landing", entry["path"]).decode().splitlines()
        if not lines or lines[0] != HEADER:
            print(f"{entry['path']}: unexpected header {lines[:1]}", file=sys.stderr)
            sys.exit(3)
        body = lines[1:]
        if len(body) != int(entry["rows"]):
            sys.exit(f"{entry['path']}: {len(body)} rows, the manifest says {entry['rows']}")
        rows += len(body)
        malformed += sum(1 for line in body if line.count(",") != HEADER.count(","))
    files = len(manifest.get("files") or [])
    print(f"landing for {day}: {files} files, {rows} rows, {malformed} malformed")
    with open(os.environ["DAGWRIGHT_OUTPUTS"], "w") as out:
        json.dump({"files": files, "rows": rows, "malformed": malformed}, out)


if __name__ == "__main__":
    main(sys.argv[1][:10])
