"""Alertmanager's configuration (deploy/alertmanager/alertmanager.yml and what the local stack
renders from the same routes), checked by the real amtool: `check-config`, and `config routes
test` for where an alert of each severity goes. The `amtool` fixture (conftest.py) installs
Debian's package where amtool is missing and never skips."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from deploy.local import stack
from tests.unit.deploy.tools import run

SMTP_ENV = {
    "SENTINEL_ALERT_SMTP_SMARTHOST": "smtp.example.org:587",
    "SENTINEL_ALERT_SMTP_FROM": "sentinel@example.org",
    "SENTINEL_ALERT_SMTP_TO": "ops@example.org",
    "SENTINEL_ALERT_SMTP_USERNAME": "sentinel",
    "SENTINEL_ALERT_SMTP_PASSWORD": "smtp-pw",
}


def receivers_of(amtool: str, config: Path, *labels: str) -> set[str]:
    """The receivers amtool routes an alert with `labels` to."""
    args = ("config", "routes", "test", f"--config.file={config}", *labels)
    return set(run(amtool, *args, stdout_only=True).strip().split(","))


def test_the_repositorys_configuration_is_valid(amtool: str) -> None:
    output = run(amtool, "check-config", stack.ALERTMANAGER_TEMPLATE)
    assert "SUCCESS" in output
    assert "2 receivers" in output


def test_the_committed_file_is_the_compose_rendering_of_the_routes() -> None:
    committed = yaml.safe_load(stack.ALERTMANAGER_TEMPLATE.read_text())
    assert committed == stack.alertmanager_config(
        f"http://console:8100{stack.ALERT_WEBHOOK_PATH}", stack.COMPOSE_WEBHOOK_TOKEN_FILE
    )
    route = committed["route"]
    assert route["group_by"] == ["alertname", "service"]
    hook = committed["receivers"][0]["webhook_configs"][0]
    assert hook["send_resolved"] is True
    # The credential is read from a file at run time, never written in the repository.
    assert hook["http_config"]["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/run/secrets/alert_webhook_token",
    }
    assert "credentials" not in hook["http_config"]["authorization"]


def test_without_smtp_every_alert_reaches_the_console_and_email_sends_nothing(
    amtool: str,
) -> None:
    config = stack.ALERTMANAGER_TEMPLATE
    for severity in ("critical", "warning"):
        found = receivers_of(
            amtool, config, "alertname=SentinelServiceDown", f"severity={severity}"
        )
        assert "console" in found
    email = next(r for r in yaml.safe_load(config.read_text())["receivers"] if r["name"] == "email")
    assert email == {"name": "email"}  # a receiver with no configurations sends nothing


def test_with_smtp_critical_alerts_also_go_by_email(amtool: str, tmp_path: Path) -> None:
    smtp = stack.Smtp.from_env(SMTP_ENV)
    assert smtp is not None and smtp.smarthost == "smtp.example.org:587"
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        stack.render_prometheus(stack.alertmanager_config("http://h/x", "/tmp/token", smtp))
    )
    assert "SUCCESS" in run(amtool, "check-config", config)
    assert receivers_of(amtool, config, "severity=critical", "service=telemetry") == {
        "console",
        "email",
    }
    assert receivers_of(amtool, config, "severity=warning", "service=telemetry") == {"console"}
    mail = yaml.safe_load(config.read_text())["receivers"][1]["email_configs"][0]
    assert (mail["to"], mail["from"], mail["auth_username"]) == (
        "ops@example.org",
        "sentinel@example.org",
        "sentinel",
    )


@pytest.mark.parametrize(
    "missing",
    ["SENTINEL_ALERT_SMTP_SMARTHOST", "SENTINEL_ALERT_SMTP_FROM", "SENTINEL_ALERT_SMTP_TO"],
)
def test_smtp_is_configured_only_with_a_host_a_sender_and_a_recipient(missing: str) -> None:
    assert stack.Smtp.from_env({k: v for k, v in SMTP_ENV.items() if k != missing}) is None


def test_the_local_stack_renders_a_valid_configuration_with_the_secret_in_a_private_file(
    amtool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SMTP_ENV:
        monkeypatch.delenv(name, raising=False)
    dev = stack.profiles(tmp_path)["dev"]
    alertmanager = stack.Alertmanager(dev)
    alertmanager.home.mkdir(parents=True)
    assert alertmanager._write_config()
    assert not alertmanager._write_config()  # nothing changed: no reload
    assert "SUCCESS" in run(amtool, "check-config", alertmanager.config)
    config = yaml.safe_load(alertmanager.config.read_text())
    hook = config["receivers"][0]["webhook_configs"][0]
    assert hook["url"] == f"http://127.0.0.1:{stack.CONSOLE_PORT}/hooks/alertmanager"
    token_file = Path(hook["http_config"]["authorization"]["credentials_file"])
    token = stack.load_secrets(dev)["SENTINEL_ALERT_WEBHOOK_TOKEN"]
    assert token_file.read_text() == token and len(token) >= 32
    assert token not in alertmanager.config.read_text()
    for private in (token_file, alertmanager.config):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert alertmanager.address == "127.0.0.1:19091"
    assert "--cluster.listen-address=" in alertmanager._command("am")
    # SMTP set at `up`: the rendered file changes (and `up` sends HUP) and e-mails criticals.
    for name, value in SMTP_ENV.items():
        monkeypatch.setenv(name, value)
    assert alertmanager._write_config()
    assert receivers_of(amtool, alertmanager.config, "severity=critical") == {"console", "email"}


def test_prometheus_sends_its_alerts_to_the_alertmanager_with_a_service_label() -> None:
    config = stack.prometheus_config(
        stack.local_target, rule_files=["/r/alerts.yml"], alertmanagers=["127.0.0.1:19091"]
    )
    assert list(config) == ["global", "rule_files", "alerting", "scrape_configs"]
    alerting = config["alerting"]
    assert alerting["alertmanagers"] == [{"static_configs": [{"targets": ["127.0.0.1:19091"]}]}]
    assert alerting["alert_relabel_configs"] == [
        {"source_labels": ["job"], "regex": "(.+)", "target_label": "service"}
    ]
    assert "alerting" not in stack.prometheus_config(stack.local_target)


def test_the_local_prometheus_points_at_the_local_alertmanager_where_it_is_installed(
    tmp_path: Path, amtool: str
) -> None:
    prometheus = stack.Prometheus(stack.profiles(tmp_path)["dev"])
    prometheus.home.mkdir(parents=True)
    prometheus._write_config()
    config = yaml.safe_load(prometheus.config.read_text())
    assert stack.Alertmanager(prometheus.profile).usable  # the amtool fixture installed it
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["127.0.0.1:19091"]
