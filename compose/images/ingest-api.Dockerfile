# The ingest API (ingest_api/): JSON events in, Avro records in Kafka out.
# Build context: the repository root. Only the app's code: its endpoints come from INGEST_* variables
# (compose/config/apps/ingest-api.env, rendered by dataplat compose-render).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/opt/dataplat

WORKDIR /opt/dataplat
COPY compose/images/requirements/ingest-api.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \
    && useradd --system --uid 10001 --user-group --no-create-home dataplat
COPY ingest_api/ ingest_api/

USER 10001:10001
EXPOSE 8000
CMD ["uvicorn", "ingest_api.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
