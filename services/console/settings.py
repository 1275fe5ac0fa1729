"""The console's settings: `CONSOLE_*`, with the stack-wide names of `.run/env` as fallback."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings

SERVICES = ("registry", "telemetry", "inspection", "complaints", "credit", "campaign")


class ConsoleSettings(ServiceSettings):
    service_name: ClassVar[str] = "console"
    default_port: ClassVar[int] = 8100

    model_config = SettingsConfigDict(env_prefix="CONSOLE_")

    # The console's own address as the browser sees it: the provider sends people back here.
    public_url: str = ""
    oidc_client_id: str = "sentinel-console"
    # Where the console itself reads the provider's metadata when the issuer's address does not
    # reach it from here (compose: the issuer is what browsers see, `keycloak:8080` is inside).
    oidc_metadata_url: str = ""
    # Signs the session cookie; a random one per start when unset (sessions then end with it).
    session_secret: SecretStr = SecretStr("")
    # Secure cookies when served over https (a reverse proxy in production).
    cookie_secure: bool = False
    registry_url: str = "http://127.0.0.1:8101"
    telemetry_url: str = "http://127.0.0.1:8102"
    inspection_url: str = "http://127.0.0.1:8103"
    complaints_url: str = "http://127.0.0.1:8104"
    credit_url: str = "http://127.0.0.1:8105"
    campaign_url: str = "http://127.0.0.1:8106"
    # The largest form the console takes (services/runtime/body_limit.py): with photos, an
    # inspector's five of 5 MB each and room to spare; without, far more than any form's text.
    max_form_bytes: int = 30 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024
    # How long a page waits for a service before it says so.
    backend_timeout_s: float = 10.0
    # Alerts for the admin's page 告警 (services/console/alerts.py): where Alertmanager answers
    # (ALERTMANAGER_URL in .run/env), the credential its webhook presents
    # (SENTINEL_ALERT_WEBHOOK_TOKEN; none: the webhook accepts nothing), how many alerts are kept.
    alertmanager_url: str = ""
    alert_webhook_token: SecretStr = SecretStr("")
    alert_history: int = 200

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://127.0.0.1:{self.port}").rstrip("/")

    def url_of(self, service: str) -> str:
        url: str = getattr(self, f"{service}_url")
        return url.rstrip("/")
