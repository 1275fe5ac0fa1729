"""Where the CLI finds the stack: each setting from the environment if set there, else from
`.run/env` (written by `make up` / `make demo`), else the local stack's default
(docs/local-stack.md).

`.run/env` is looked for as `$SENTINEL_ENV_FILE`, then `./.run/env`, then the checkout's own.

Kafka: the CLI logs in as the `integrator` principal when `KAFKA_SECURITY_PROTOCOL` says
SASL_PLAINTEXT, with `INTEGRATOR_KAFKA_SASL_USERNAME` / `_PASSWORD` (else `KAFKA_SASL_*`), the
names the services use (services/runtime/kafka_login.py); `.run/secure/env` sets them.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.runtime.kafka_login import INTEGRATOR, client_options

ROOT = Path(__file__).resolve().parents[1]
SERVICES: dict[str, int] = {
    "registry": 8101,
    "telemetry": 8102,
    "inspection": 8103,
    "complaints": 8104,
    "credit": 8105,
    "campaign": 8106,
}
DEFAULTS: dict[str, str] = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092",
    **{f"{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in SERVICES.items()},
}


def read_env(path: Path) -> dict[str, str]:
    """`KEY=value` lines of a shell-sourceable file (`export` optional, values may be quoted)."""
    env: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        try:
            parts = shlex.split(value, comments=True)
        except ValueError:
            parts = [value.strip().strip("'\"")]
        env[key.strip()] = parts[0] if parts else ""
    return env


def env_file() -> Path | None:
    explicit = os.environ.get("SENTINEL_ENV_FILE")
    if explicit:
        return Path(explicit)
    for candidate in (Path.cwd() / ".run" / "env", ROOT / ".run" / "env"):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class Config:
    values: dict[str, str]
    source: Path | None = None
    overrides: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.overrides.get(name) or self.values.get(name) or default

    @property
    def bootstrap(self) -> str:
        return self.get("KAFKA_BOOTSTRAP_SERVERS")

    def url(self, service: str) -> str:
        return self.get(f"{service.upper()}_URL").rstrip("/")

    def kafka_login(self, principal: str = INTEGRATOR) -> dict[str, Any]:
        """aiokafka's login options for `principal` from these settings ({} for PLAINTEXT);
        KafkaLoginError (a ValueError) names the variable missing."""
        return client_options(principal, self.values | self.overrides)

    @property
    def admin_token(self) -> str:
        return self.get("SENTINEL_ADMIN_TOKEN")

    def with_bootstrap(self, bootstrap: str | None) -> Config:
        if not bootstrap:
            return self
        return Config(
            self.values, self.source, self.overrides | {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
        )

    def missing_from_environ(self) -> dict[str, str]:
        """What `.run/env` (or a default) supplies that the process environment lacks: handed to
        a child such as the simulator so it finds the stack without `source .run/env`."""
        return {k: v for k, v in self.values.items() if k not in os.environ and v}


def _stack_wide(name: str) -> bool:
    """Names `.run/env` may carry beyond the defaults: ours, the provider, clients' secrets,
    Kafka logins (`KAFKA_SECURITY_PROTOCOL`, `INTEGRATOR_KAFKA_SASL_USERNAME`, ...)."""
    return (
        name.startswith(("SENTINEL_", "KAFKA_"))
        or "_KAFKA_" in name
        or name == "OIDC_ISSUER"
        or name.endswith("_CLIENT_SECRET")
    )


def load(path: Path | None = None) -> Config:
    source = path if path is not None else env_file()
    from_file = read_env(source) if source is not None and source.is_file() else {}
    values = dict(DEFAULTS) | from_file
    values |= {k: v for k, v in os.environ.items() if k in values or _stack_wide(k)}
    return Config(values, source if from_file else None)
