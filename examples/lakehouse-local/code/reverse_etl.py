"""Reverse ETL (the `reverse-etl` task, spark image): Gold customer values -> the CRM's PostgreSQL.

Reads `lake.gold.customer_value` and makes the CRM table `customer_segments` equal to it, in one
transaction: rows are upserted only where a value differs (`IS DISTINCT FROM`) and customers no
longer in Gold are deleted, so a rerun of the same day changes nothing (not even a row version).
Outputs: how many rows Gold has, how many were written and deleted.

Usage: spark-submit reverse_etl.py --date 2026-11-24   (CRM_JDBC_URL, PGUSER, PGPASSWORD from the env)
"""

from __future__ import annotations

import argparse
import json
import os

import lakeconf

DDL = """CREATE TABLE IF NOT EXISTS customer_segments (
  customer_id text PRIMARY KEY, orders integer NOT NULL, revenue numeric(12,2) NOT NULL,
  last_order timestamptz NOT NULL, segment text NOT NULL, as_of date NOT NULL)"""
UPSERT = """INSERT INTO customer_segments AS c SELECT * FROM stage
  ON CONFLICT (customer_id) DO UPDATE SET orders = EXCLUDED.orders, revenue = EXCLUDED.revenue,
    last_order = EXCLUDED.last_order, segment = EXCLUDED.segment, as_of = EXCLUDED.as_of
  WHERE (c.orders, c.revenue, c.last_order, c.segment, c.as_of)
    IS DISTINCT FROM (EXCLUDED.orders, EXCLUDED.revenue, EXCLUDED.last_order, EXCLUDED.segment, EXCLUDED.as_of)"""
DELETE = "DELETE FROM customer_segments c WHERE NOT EXISTS (SELECT 1 FROM stage s WHERE s.customer_id = c.customer_id)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--date", required=True)
    day = parser.parse_args().date[:10]
    spark = lakeconf.session("reverse-etl")
    gold = spark.sql("SELECT customer_id, orders, CAST(revenue AS string) AS revenue, "
                     "CAST(last_order AS string) AS last_order, segment FROM lake.gold.customer_value").collect()
    jvm = spark.sparkContext._jvm
    conn = jvm.java.sql.DriverManager.getConnection(os.environ["CRM_JDBC_URL"], os.environ["PGUSER"],
                                                     os.environ["PGPASSWORD"])
    try:
        conn.setAutoCommit(False)
        st = conn.createStatement()
        st.execute(DDL)
        st.execute("CREATE TEMP TABLE stage (LIKE customer_segments) ON COMMIT DROP")
        insert = conn.prepareStatement("INSERT INTO stage VALUES (?, ?, CAST(? AS numeric), CAST(? AS timestamptz), ?, CAST(? AS date))")
        for row in gold:
            insert.setString(1, row.customer_id)
            insert.setInt(2, int(row.orders))
            insert.setString(3, row.revenue)
            insert.setString(4, row.last_order + "+00")
            insert.setString(5, row.segment)
            insert.setString(6, day)
            insert.addBatch()
        insert.executeBatch()
        written = st.executeUpdate(UPSERT)
        deleted = st.executeUpdate(DELETE)
        conn.commit()
    finally:
        conn.close()
    print(f"customer_segments: {len(gold)} customers in Gold, {written} written, {deleted} deleted")
    with open(os.environ["DAGWRIGHT_OUTPUTS"], "w") as out:
        json.dump({"customers": len(gold), "written": written, "deleted": deleted}, out)
    spark.stop()


if __name__ == "__main__":
    main()
