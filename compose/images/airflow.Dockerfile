# Airflow 3.1.8 with the platform's providers, and Java 17 + pyspark for SparkSubmitOperator tasks
# (LocalExecutor: the drivers run in the scheduler container). Build context: the repository root.
FROM apache/airflow:3.1.8-python3.11

USER 0
# Java for spark-submit; gcc and the Kerberos headers build gssapi (pulled by the HDFS provider).
# Debian's security updates replace exact package versions; the base image tag pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends default-jre-headless gcc libkrb5-dev \
    && rm -rf /var/lib/apt/lists/*

USER 50000
ENV JAVA_HOME=/usr/lib/jvm/default-java \
    PYTHONPATH=/opt/dataplat
COPY compose/images/requirements/airflow.txt /tmp/requirements.txt
# apache-airflow is repeated so pip never moves the image's own version.
RUN pip install --no-cache-dir "apache-airflow==3.1.8" -r /tmp/requirements.txt \
    && pip install --no-cache-dir --no-deps "apache-airflow-providers-apache-spark==6.3.4"
