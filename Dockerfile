# The hub's production image. The API (`hub serve`), the Celery worker (`hub worker`), the
# scheduler (`hub beat`) and migrations (`hub db upgrade`) all run from it; docker-compose.yml
# picks the command. Secrets are never baked in: they arrive as HUB_ variables at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY specs ./specs
RUN pip install . \
    && groupadd --system --gid 10001 hub \
    && useradd --system --uid 10001 --gid hub --home-dir /var/lib/hub --no-create-home \
        --shell /usr/sbin/nologin hub \
    && install -d -o hub -g hub -m 0700 /var/lib/hub

# the policy ships beside the code, not inside the installed package
ENV HUB_DATA_DIR=/var/lib/hub \
    HUB_POLICY_FILE=/app/specs/policy.yaml

USER 10001:10001
EXPOSE 8000
# one server process per CPU core the container sees (PostgreSQL); `--workers N` to choose
CMD ["hub", "serve", "--host", "0.0.0.0", "--port", "8000"]
