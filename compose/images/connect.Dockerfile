# Kafka Connect 4.1.1 (one distributed worker) with Debezium's PostgreSQL connector 3.6.1.Final, as the
# native stack runs it: the worker's classpath (connect/lib) and the plugin (connect/plugins) resolved
# by the same Maven module the native install uses, on Java 17. Build context: the repository root.
# No config inside: compose mounts compose/config/connect (java.args = the native java command line,
# worker.properties), rendered by dataplat compose-render. Python only runs the health check and
# compose/connect/apply_connectors.py (connect-setup), both standard library.

FROM maven:3.9.11-eclipse-temurin-17 AS dist
WORKDIR /build
COPY platform/jvm/pom.xml platform/jvm/pom.xml
COPY platform/jvm/connect/pom.xml platform/jvm/connect/pom.xml
RUN mvn -B -q -f platform/jvm/connect/pom.xml -Ddist.root=/dist package

FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JAVA_HOME=/usr/lib/jvm/default-java

# Debian's security updates replace exact package versions; the base image tag pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends default-jre-headless \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/connect --create-home dataplat
COPY --from=dist /dist/connect/ /opt/dataplat/connect/

USER 10001:10001
WORKDIR /var/lib/connect
EXPOSE 8083
# the worker's JVM options, classpath, main class and worker.properties are the container's command
ENTRYPOINT ["java"]
