# The platform's own Confluent-compatible schema registry (schema_registry/), as the native stack runs it.
# Build context: the repository root (compose/docker-compose.yml sets it).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/opt/dataplat

WORKDIR /opt/dataplat
COPY compose/images/requirements/registry.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/registry --create-home dataplat
COPY schema_registry/ schema_registry/

USER 10001:10001
EXPOSE 8081
CMD ["python", "-m", "schema_registry", "--host", "0.0.0.0", "--port", "8081", "--db", "/var/lib/registry/registry.db"]
