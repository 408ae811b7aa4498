"""Spark settings of the lakehouse: the Iceberg catalog `lake` (a JDBC catalog in PostgreSQL, data
files in S3 through Iceberg's S3FileIO), read from the pod's environment.

The environment comes from the ConfigMap `lakehouse-local-endpoints` and the Secret
`lakehouse-local-credentials` (see the workflow's defaults): LAKE_CATALOG_URI, LAKE_S3_ENDPOINT,
LAKE_WAREHOUSE, PGUSER, PGPASSWORD, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
Every jar this needs is in the image (/opt/spark/jars): nothing is downloaded at run time.
"""

from __future__ import annotations

import os
from typing import Any

CATALOG = "spark.sql.catalog.lake"


def catalog_conf() -> dict[str, str]:
    env = os.environ
    return {
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        CATALOG: "org.apache.iceberg.spark.SparkCatalog",
        f"{CATALOG}.catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        f"{CATALOG}.uri": env["LAKE_CATALOG_URI"],
        f"{CATALOG}.jdbc.user": env["PGUSER"],
        f"{CATALOG}.jdbc.password": env["PGPASSWORD"],
        f"{CATALOG}.warehouse": env["LAKE_WAREHOUSE"],
        f"{CATALOG}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        f"{CATALOG}.s3.endpoint": env["LAKE_S3_ENDPOINT"],
        f"{CATALOG}.s3.path-style-access": "true",
        f"{CATALOG}.s3.access-key-id": env["AWS_ACCESS_KEY_ID"],
        f"{CATALOG}.s3.secret-access-key": env["AWS_SECRET_ACCESS_KEY"],
        f"{CATALOG}.client.region": env.get("AWS_REGION", "us-east-1"),
        "spark.sql.defaultCatalog": "lake",
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.shuffle.partitions": "2",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }


def session(app: str) -> Any:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app)
    for key, value in catalog_conf().items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def s3_reader(spark: Any) -> Any:
    """Iceberg's S3FileIO (the AWS SDK in the image) for files outside the tables: the landing zone."""
    jvm = spark.sparkContext._jvm
    props = jvm.java.util.HashMap()
    for key, value in catalog_conf().items():
        if key.startswith(f"{CATALOG}.s3.") or key.startswith(f"{CATALOG}.client."):
            props.put(key[len(CATALOG) + 1:], value)
    io = jvm.org.apache.iceberg.aws.s3.S3FileIO()
    io.initialize(props)
    return io


def read_bytes(io: Any, path: str) -> bytes:
    stream = io.newInputFile(path).newStream()
    try:
        return bytes(stream.readAllBytes())
    finally:
        stream.close()
