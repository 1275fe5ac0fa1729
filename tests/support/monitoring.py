"""Prometheus and Alertmanager as processes for a test (Debian's packages, installed the way
`make setup` does when missing), configured by the local stack's own renderers
(deploy/local/stack.py: prometheus_config, alertmanager_config) with a test's short intervals."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from deploy.local import stack
from tests.support.poll import until
from tests.support.process import low_free_port

# Alertmanager tells the console within about a second of an alert reaching it.
QUICK_GROUPING = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}


@dataclass
class Monitor:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def address(self) -> str:
        return self.url.removeprefix("http://")

    async def ready(self, within: float = 60) -> None:
        async def check() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                async with httpx.AsyncClient(trust_env=False) as http:
                    return (await http.get(f"{self.url}/-/ready", timeout=2)).status_code == 200
            except httpx.HTTPError:
                return False

        await until(check, within=within, every=0.2, what=f"{self.name} ready")


def installed(find: Callable[[], str | None], install: Callable[[], int], package: str) -> str:
    """The binary's path, installing the Debian package first where it is missing."""
    binary = find()
    if binary is None:
        install()  # best effort, where apt is usable (stack.py install-extras)
        binary = find()
    if binary is None:
        pytest.fail(f"{package} is not installed: `make setup` (stack.py install-extras, as root)")
    return binary


@contextmanager
def _run(name: str, command: Sequence[str], url: str, log: Path) -> Iterator[Monitor]:
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield Monitor(name, url, proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@contextmanager
def alertmanager(run_dir: Path, webhook_url: str, token: str) -> Iterator[Monitor]:
    """Alertmanager with the repository's routes, posting to `webhook_url` with `token`, its
    grouping intervals cut to a second."""
    binary = installed(
        stack.Alertmanager.binary, stack.install_alertmanager, "prometheus-alertmanager"
    )
    home = run_dir / "alertmanager"
    home.mkdir(parents=True, exist_ok=True)
    token_file = home / "webhook-token"
    token_file.write_text(token)
    config = home / "alertmanager.yml"
    rendered = stack.alertmanager_config(webhook_url, str(token_file), timing=QUICK_GROUPING)
    config.write_text(yaml.safe_dump(rendered, sort_keys=False))
    port = low_free_port()
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with _run(
        "alertmanager", command, f"http://127.0.0.1:{port}", run_dir / "alertmanager.log"
    ) as m:
        yield m


def rules_with_pending_periods(rules: Path, pending: Mapping[str, str]) -> dict[str, Any]:
    """`rules` (the repository's alerts.yml) with the `for:` of the alerts named in `pending`
    replaced; nothing else changes."""
    loaded: dict[str, Any] = yaml.safe_load(rules.read_text())
    seen = set()
    for group in loaded["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") in pending:
                rule["for"] = pending[rule["alert"]]
                seen.add(rule["alert"])
    assert seen == set(pending), f"no such alerts in {rules}: {set(pending) - seen}"
    return loaded


@contextmanager
def prometheus(
    run_dir: Path,
    jobs: Mapping[str, str],
    alertmanager_address: str,
    pending: Mapping[str, str],
    interval: str = "1s",
) -> Iterator[Monitor]:
    """Prometheus scraping `jobs` (service name -> host:port) every `interval`, evaluating the
    repository's alert rules as often (their `for:` cut to `pending`) and sending what fires to
    the Alertmanager at `alertmanager_address`, the local stack's way (a `service` label)."""
    binary = installed(stack.Prometheus.binary, stack.install_prometheus, "prometheus")
    home = run_dir / "prometheus"
    home.mkdir(parents=True, exist_ok=True)
    rules = home / "alerts.yml"
    rules.write_text(yaml.safe_dump(rules_with_pending_periods(stack.PROMETHEUS_RULES, pending)))
    config = stack.prometheus_config(
        lambda name, _port: jobs.get(name, ""),
        interval=interval,
        rule_files=[str(rules)],
        alertmanagers=[alertmanager_address],
    )
    config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] in jobs]
    config_file = home / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    port = low_free_port()
    command = [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with _run("prometheus", command, f"http://127.0.0.1:{port}", run_dir / "prometheus.log") as m:
        yield m
