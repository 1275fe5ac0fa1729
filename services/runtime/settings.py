"""Configuration from the environment (pydantic-settings), one prefix per service.

Each service subclasses `ServiceSettings` with its own prefix (`REGISTRY_`, `TELEMETRY_`, ...).
The stack-wide variables written to `.run/env` (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`,
`OIDC_ISSUER`, ...) are read as a fallback, so one sourced env file configures every
service while a prefixed variable still overrides it for one service.

Kafka authentication (`KafkaClientSettings`) is PLAINTEXT unless `KAFKA_SECURITY_PROTOCOL` says
SASL_PLAINTEXT; then each service authenticates as its own principal with
`<SERVICE>_KAFKA_SASL_USERNAME` / `<SERVICE>_KAFKA_SASL_PASSWORD` (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

# What the environment sources read: the process environment, unless `from_environ` gives a
# mapping (a tool checking another principal's login, a test).
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("settings_environ", default=None)


class _UnprefixedEnv(EnvSettingsSource):
    """Reads the stack-wide names: the field name upper-cased, or `SENTINEL_<FIELD>`."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        if field_name in getattr(self.settings_cls, "own_only", ()):
            return None, field_name, False
        for name in (field_name.upper(), f"SENTINEL_{field_name.upper()}"):
            value = self.env_vars.get(name.lower())
            if value is not None:
                return value, field_name, False
        return None, field_name, False


class KafkaClientSettings(BaseSettings):
    """How a Kafka client authenticates: nothing (PLAINTEXT), or SASL with a username/password."""

    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Self:
        if self.kafka_security_protocol != "PLAINTEXT" and not (
            self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()
        ):
            raise ValueError(
                f"kafka_security_protocol={self.kafka_security_protocol} needs "
                "kafka_sasl_username and kafka_sasl_password"
            )
        return self

    def kafka_client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients (producer, consumer, admin); {} for PLAINTEXT."""
        if self.kafka_security_protocol == "PLAINTEXT":
            return {}
        return {
            "security_protocol": self.kafka_security_protocol,
            "sasl_mechanism": self.kafka_sasl_mechanism,
            "sasl_plain_username": self.kafka_sasl_username,
            "sasl_plain_password": self.kafka_sasl_password.get_secret_value(),
        }

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The prefixed variable wins; the stack-wide one fills in what it leaves unset.
        sources = (init_settings, env_settings, _UnprefixedEnv(settings_cls), file_secret_settings)
        environ = _ENVIRON.get()
        if environ is not None:
            lowered = {k.lower(): v for k, v in environ.items()}
            for source in sources:
                if isinstance(source, EnvSettingsSource):
                    source.env_vars = lowered
        return sources

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], **values: Any) -> Self:
        """The settings read from `environ` instead of the process environment."""
        token = _ENVIRON.set(dict(environ))
        try:
            return cls(**values)
        finally:
            _ENVIRON.reset(token)


def kafka_client_options_from_env(service: str) -> dict[str, Any]:
    """`kafka_client_options()` of a service configured only by the environment
    (`<SERVICE>_KAFKA_*`, falling back to `KAFKA_*`), for code that has no settings object."""
    settings = KafkaClientSettings(_env_prefix=f"{service.upper()}_")
    return settings.kafka_client_options()


class ServiceSettings(KafkaClientSettings):
    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8100
    # Fields read only under the service's own prefix, never from a stack-wide name: a service's
    # policy (INSPECTION_POLICY) must not be taken from another service's (POLICY) by accident.
    own_only: ClassVar[frozenset[str]] = frozenset()

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    database_url: str = "postgresql://postgres@127.0.0.1:15432/postgres"
    db_schema: str = Field(default="", description="Postgres schema; defaults to the service name")
    db_pool_min: int = 1
    db_pool_max: int = 10
    http_host: str = "127.0.0.1"
    # This replica's own name in its view groups (a pod's name, say): every replica reads the
    # registry's compacted topics whole, so no two may share those groups. Empty: the host's
    # name and the HTTP port (services/runtime/projection.py).
    replica_id: str = ""
    http_port: int = 0
    # The identity provider whose access tokens the service accepts (services/runtime/auth.py).
    oidc_issuer: str = "http://127.0.0.1:8180/realms/sentinel"
    oidc_audience: str = "sentinel-api"
    # Where to fetch the provider's keys when the issuer's own address does not reach it from
    # here (compose: the issuer is what browsers see, the keys come from the `keycloak` host).
    oidc_jwks_url: str = ""
    # A JWKS document (JSON) to trust instead of fetching one: public keys only.
    oidc_jwks: str = ""
    # The city's time zone: every day the services count (a licence's, a deadline's, a working
    # day, a market's opening hours, a month of the honour list) is a day there.
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    log_json: bool = True
    consumer_group: str = ""
    outbox_poll_interval_s: float = 0.5
    outbox_batch_size: int = 500
    # How long the relay waits for Kafka to acknowledge a batch before it logs the interruption
    # and tries again (aiokafka's idempotent producer itself never gives up).
    outbox_publish_timeout_s: float = Field(default=30.0, gt=0)
    # A handler failing on a message nothing proves wrong is retried with backoff (doubling from
    # retry_backoff_s to retry_backoff_max_s); after handler_max_attempts tries its partition
    # stalls, and is tried again every stalled_retry_s (services/runtime/messaging.py).
    handler_max_attempts: int = 10
    # How long a consumer that stopped heartbeating (killed, frozen) keeps its partitions before
    # the group hands them to the others; a replica restarted in its place waits that long for
    # them. Kafka's default; the broker takes 6,000 ms or more (group.min.session.timeout.ms).
    kafka_session_timeout_ms: int = Field(default=10_000, ge=6_000)
    retry_backoff_s: float = 0.2
    retry_backoff_max_s: float = 5.0
    stalled_retry_s: float = 60.0
    # How long start-up waits for the broker and the database before giving up.
    startup_timeout_s: float = 300.0
    # The largest request body taken, JSON or a form without files (services/runtime/
    # body_limit.py): a thousand signed readings to /ingest, its most, are about 0.2 MB.
    http_max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=64 * 1024)
    # Public endpoints, per client address: requests a second on average, and the burst allowed.
    public_rate_per_s: float = 20.0
    public_burst: int = 60
    # The peers trusted to name the client in X-Forwarded-For: the console, calling for the
    # portal's citizens, and a load balancer (addresses or networks, comma-separated; `*` only
    # where nothing else reaches the service). Others' header is ignored, so it cannot dodge a
    # limit (services/runtime/forwarded.py, docs/open-data.md "Rate limit").
    forwarded_allow_ips: str = "127.0.0.1,::1"

    @property
    def pg_schema(self) -> str:
        return self.db_schema or self.service_name

    def secret(self, name: str) -> str:
        """The value of the secret setting `name`; SystemExit naming the variables that set it
        when none did (the service cannot run without it)."""
        value: str = getattr(self, name).get_secret_value()
        if not value:
            prefix = self.model_config.get("env_prefix", "")
            raise SystemExit(f"SENTINEL_{name.upper()} (or {prefix}{name.upper()}) is not set")
        return value

    @property
    def port(self) -> int:
        return self.http_port or self.default_port

    @property
    def group_id(self) -> str:
        return self.consumer_group or f"sentinel-{self.service_name}"
