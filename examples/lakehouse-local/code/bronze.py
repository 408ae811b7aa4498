"""Bronze ingest (the `bronze-ingest` task, spark image): one landed day -> `lake.bronze.orders`.

Reads the day's manifest and CSV files from the landing bucket (Iceberg's S3FileIO), keeps every
row as it came (strings; an empty field becomes null), and replaces the day's partition of the
Iceberg table (`overwritePartitions`: a rerun of the same day gives the same table). Fails when
the row count differs from what validation counted. Outputs: rows and the new snapshot's id.

Usage: spark-submit bronze.py --date 2026-11-24 --expected-rows 600
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import os
import sys

import lakeconf

TABLE = "lake.bronze.orders"
COLUMNS = ["order_id", "customer_id", "order_ts", "amount", "currency"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--date", required=True)
    parser.add_argument("--expected-rows", type=int, required=True)
    args = parser.parse_args()
    day = args.date[:10]
    spark = lakeconf.session("bronze-ingest")
    s3 = lakeconf.s3_reader(spark)
    prefix = f"s3://landing/orders/date={day}"
    manifest = json.loads(lakeconf.read_bytes(s3, f"{prefix}/_manifest.json"))
    rows = []
    for entry in manifest["files"]:
        text = lakeconf.read_bytes(s3, f"s3://landing/{entry['path']}").decode()
        for record in csv.DictReader(io.StringIO(text)):
            rows.append(tuple((record.get(c) or None) for c in COLUMNS)
                        + (entry["path"].rsplit("/", 1)[-1], datetime.date.fromisoformat(day)))
    print(f"{day}: {len(rows)} rows from {len(manifest['files'])} files")
    if len(rows) != args.expected_rows:
        sys.exit(f"{len(rows)} rows read, validation counted {args.expected_rows}")
    spark.sql("CREATE NAMESPACE IF NOT EXISTS lake.bronze")
    spark.sql(f"""CREATE TABLE IF NOT EXISTS {TABLE} (order_id string, customer_id string, order_ts string,
                  amount string, currency string, source_file string, load_date date)
                  USING iceberg PARTITIONED BY (load_date)""")
    schema = "order_id string, customer_id string, order_ts string, amount string, currency string, " \
             "source_file string, load_date date"
    spark.createDataFrame(rows, schema).writeTo(TABLE).overwritePartitions()
    snapshot = spark.sql(f"SELECT snapshot_id FROM {TABLE}.snapshots ORDER BY committed_at DESC LIMIT 1").first()[0]
    total = spark.table(TABLE).count()
    print(f"{TABLE}: snapshot {snapshot}, {total} rows in all")
    with open(os.environ["DAGWRIGHT_OUTPUTS"], "w") as out:
        json.dump({"rows": len(rows), "snapshot": str(snapshot), "tableRows": total}, out)
    spark.stop()


if __name__ == "__main__":
    main()
