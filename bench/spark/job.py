"""The seeds' Spark pipeline, as a batch job over the whole topic: Kafka → from_json →
the row columns → Postgres through JDBC (append, or append into a staging table then
INSERT … SELECT … ON CONFLICT), or Cassandra through spark-cassandra-connector.

Usage: job.py <append|upsert|cassandra> <brokers> <topic> <jdbc-url> <table> <records>
Prints one JSON line: records, seconds (from the Kafka read to the write's end; the
session's start-up is outside, as table creation is for the other contenders)."""
import json
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

mode, brokers, topic, jdbc_url, table, records = sys.argv[1:7]
spark = SparkSession.builder.appName(f"bench-{mode}").master("local[2]").getOrCreate()
spark.sparkContext.setLogLevel("ERROR")

s = lambda *names: [StructField(n, StringType()) for n in names]
schema = StructType(s("gender", "email", "phone") + [
    StructField("name", StructType(s("first", "last"))),
    StructField("location", StructType(
        [StructField("street", StructType([StructField("number", IntegerType())] + s("name")))]
        + s("city", "state", "country", "postcode"))),
    StructField("login", StructType(s("uuid", "username"))),
    StructField("registered", StructType(s("date"))),
    StructField("picture", StructType(s("medium"))),
])

started = time.monotonic()
raw = (spark.read.format("kafka").option("kafka.bootstrap.servers", brokers).option("subscribe", topic)
       .option("startingOffsets", "earliest").option("endingOffsets", "latest").load())
u = raw.select(F.from_json(F.col("value").cast("string"), schema).alias("u")).select("u.*")
email = F.lower(F.trim(F.col("email")))
rows = u.select(
    F.lower(F.col("login.uuid")).alias("id"),
    F.trim(F.col("name.first")).alias("first_name"),
    F.trim(F.col("name.last")).alias("last_name"),
    F.col("gender"),
    F.concat_ws(", ", F.concat_ws(" ", F.col("location.street.number"), F.col("location.street.name")),
                F.col("location.city"), F.col("location.state"), F.col("location.country")).alias("address"),
    F.col("location.postcode").alias("post_code"),
    email.alias("email"),
    F.col("login.username").alias("username"),
    F.col("registered.date").alias("registered_date"),
    F.col("phone"),
    F.col("picture.medium").alias("picture"),
)
if mode == "cassandra":
    (rows.write.format("org.apache.spark.sql.cassandra").mode("append")
     .options(keyspace="bench", table=table).save())
else:
    rows = rows.withColumn("email_domain", F.substring_index(email, "@", -1)) \
               .withColumn("registered_year", F.year(F.to_timestamp(F.col("registered_date"))).cast("long"))
    target = table if mode == "append" else f"{table}_staging"
    rows.write.format("jdbc").option("url", jdbc_url).option("dbtable", target) \
        .option("driver", "org.postgresql.Driver").option("batchsize", 5000).mode("append").save()
    if mode == "upsert":
        cols = ["id", "first_name", "last_name", "gender", "address", "post_code", "email", "username",
                "registered_date", "phone", "picture", "email_domain", "registered_year"]
        conn = spark._jvm.java.sql.DriverManager.getConnection(jdbc_url)
        st = conn.createStatement()
        st.execute(f"CREATE TABLE IF NOT EXISTS {table} (LIKE {target}, PRIMARY KEY (id))")
        st.execute(f"INSERT INTO {table} AS t SELECT DISTINCT ON (id) * FROM {target} ON CONFLICT (id) DO UPDATE SET "
                   + ", ".join(f"{c} = EXCLUDED.{c}" for c in cols[1:]) + " WHERE (t.*) IS DISTINCT FROM (EXCLUDED.*)")
        st.execute(f"DROP TABLE {target}")
        conn.close()
seconds = time.monotonic() - started
print(json.dumps({"mode": mode, "records": int(records), "seconds": seconds, "recordsPerSecond": int(records) / seconds}))
spark.stop()
