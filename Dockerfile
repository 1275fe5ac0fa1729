# One image for every Market Sentinel service; the command picks the service.

# The console's scripts (htmx, charts) from the npm registry, pinned by its package-lock.json.
FROM node:20-slim AS console-assets
WORKDIR /assets
COPY services/console/package.json services/console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Dependencies first, pinned by constraints.txt, so code changes reuse this layer.
COPY pyproject.toml constraints.txt ./
RUN mkdir -p contracts services && touch contracts/__init__.py services/__init__.py \
 && pip install -c constraints.txt . && pip uninstall -y market-sentinel

COPY contracts ./contracts
COPY services ./services
COPY --from=console-assets /assets/node_modules ./services/console/node_modules
COPY deploy/__init__.py ./deploy/__init__.py
COPY deploy/local ./deploy/local
COPY deploy/kafka ./deploy/kafka
COPY deploy/identity ./deploy/identity
RUN pip install --no-deps -c constraints.txt . \
 && useradd --system --uid 10001 sentinel
USER sentinel
# Each service reads <SERVICE>_HTTP_HOST; in a container it listens on all interfaces.
ENV REGISTRY_HTTP_HOST=0.0.0.0 TELEMETRY_HTTP_HOST=0.0.0.0 INSPECTION_HTTP_HOST=0.0.0.0 \
    COMPLAINTS_HTTP_HOST=0.0.0.0 CREDIT_HTTP_HOST=0.0.0.0 CAMPAIGN_HTTP_HOST=0.0.0.0 \
    CONSOLE_HTTP_HOST=0.0.0.0
CMD ["python", "-m", "services.registry"]
