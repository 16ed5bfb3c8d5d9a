# The source API (source_api/): a day of synthetic insights for the batch DAG.
# Build context: the repository root.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/opt/dataplat

WORKDIR /opt/dataplat
COPY compose/images/requirements/source-api.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \
    && useradd --system --uid 10001 --user-group --no-create-home dataplat
COPY source_api/ source_api/

USER 10001:10001
EXPOSE 8001
CMD ["uvicorn", "source_api.main:app", "--host", "0.0.0.0", "--port", "8001", "--no-access-log"]
