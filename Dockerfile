# One image for every Market Sentinel service; the command picks the service.

# The console's scripts (htmx, charts) from the npm registry, pinned by its package-lock.json.
FROM node:20-slim AS console-assets
WORKDIR /assets
COPY services/console/package.json services/console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# Telemetry's native verifier (native/, Rust by PyO3), a wheel for the image's own Python: the
# same base, the crates pinned by native/Cargo.lock, maturin pinned by constraints.txt, built as
# `make setup` builds it. Without it telemetry runs its Python checks alone, with about a third
# more CPU per reading (docs/operations.md).
FROM python:3.11-slim AS native
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/* \
 && curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
ENV PATH=/root/.cargo/bin:$PATH PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY constraints.txt ./
RUN pip install -c constraints.txt maturin
COPY native ./native
RUN maturin build --quiet --release --locked -m native/Cargo.toml -i python3.11 --out /wheels

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Dependencies first, pinned by constraints.txt, so code changes reuse this layer.
COPY pyproject.toml constraints.txt ./
RUN mkdir -p contracts services && touch contracts/__init__.py services/__init__.py \
 && pip install -c constraints.txt . && pip uninstall -y market-sentinel

COPY --from=native /wheels /wheels
RUN pip install --no-deps /wheels/sentinel_native-*.whl && rm -rf /wheels

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
