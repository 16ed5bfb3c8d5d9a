# The change-data-capture app (spark_apps/cdc/): Debezium's topics -> Iceberg tables. pip pyspark on
# Python 3.11 (as natively) plus Java 17, like the streaming image.
# Build context: the repository root. Only the app's code: its endpoints are required options
# (compose passes @/dataplat/conf/apps/cdc.args, rendered by dataplat compose-render) and Spark's
# settings (driver heap, the catalog `iceberg`) come from the mounted SPARK_CONF_DIR.

# The Kafka connector and Iceberg's Spark runtime, resolved by the same Maven module the native install uses.
FROM maven:3.9.11-eclipse-temurin-17 AS connectors
WORKDIR /build
COPY platform/jvm/pom.xml platform/jvm/pom.xml
COPY platform/jvm/spark/pom.xml platform/jvm/spark/pom.xml
RUN mvn -B -q -f platform/jvm/spark/pom.xml -Ddist.root=/dist package

FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    JAVA_HOME=/usr/lib/jvm/default-java \
    PYTHONPATH=/opt/dataplat

# Debian's security updates replace exact package versions; the base image tag pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends default-jre-headless procps \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/dataplat
COPY compose/images/requirements/cdc.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/cdc --create-home dataplat
COPY --from=connectors /dist/spark/jars/ /opt/dataplat/jars/
COPY spark_apps/__init__.py spark_apps/__init__.py
COPY spark_apps/cdc/ spark_apps/cdc/

USER 10001:10001
# the app's options are the container's command (without them it names the missing ones)
ENTRYPOINT ["spark-submit", "/opt/dataplat/spark_apps/cdc/app.py"]
