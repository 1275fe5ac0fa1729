"""SASL/SCRAM configuration: the broker properties (local `secure` profile and docker-compose),
the credentials the stack generates, the env it writes, and how the services read it back."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from faststream.security import SASLScram512
from pydantic import ValidationError

from deploy.kafka import compose, security
from deploy.kafka.acls import ADMIN, PRINCIPALS, SERVICES
from deploy.local import stack
from services.runtime.messaging import faststream_security
from services.runtime.settings import KafkaClientSettings, kafka_client_options_from_env

ROOT = Path(__file__).resolve().parents[3]
CREDENTIALS = {p: f"{p}0pw" for p in PRINCIPALS}


# --- broker properties ------------------------------------------------------------------------
def test_broker_properties_turn_on_scram_plain_controller_and_the_authorizer() -> None:
    props = security.broker_security_properties(
        client_listeners=["SASL_PLAINTEXT", "HOST"],
        inter_broker_listener="SASL_PLAINTEXT",
        admin_password="secret1",
    )
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert props["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
    assert props["authorizer.class.name"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert props["super.users"] == "User:admin"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    inter = props["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"]
    assert inter == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="admin" password="secret1";'
    )
    assert props["listener.name.host.scram-sha-512.sasl.jaas.config"].endswith("required;")
    controller = props["listener.name.controller.plain.sasl.jaas.config"]
    assert 'user_admin="secret1"' in controller
    assert controller.count("user_") == 1  # the controller admits the admin only


def test_without_the_admin_password_no_secret_is_rendered() -> None:
    props = security.broker_security_properties(
        client_listeners=["SASL_PLAINTEXT"],
        inter_broker_listener="SASL_PLAINTEXT",
        admin_password=None,
    )
    assert security.jaas_property("SASL_PLAINTEXT") not in props
    assert security.controller_jaas_property() not in props
    assert not [v for v in props.values() if "password" in v]


def test_the_inter_broker_listener_must_be_a_client_listener() -> None:
    with pytest.raises(ValueError, match="inter-broker"):
        security.broker_security_properties(
            client_listeners=["HOST"], inter_broker_listener="SASL_PLAINTEXT", admin_password="x"
        )


@pytest.mark.parametrize("bad", ["", "a,b", "a]b", 'a"b', "a;b", "a b", "a=b", "a\\b"])
def test_passwords_that_would_break_the_format_arguments_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        security.scram_format_args({**CREDENTIALS, "registry": bad})


def test_credentials_are_kept_and_completed() -> None:
    first, added = security.complete_credentials({})
    assert added and list(first) == list(PRINCIPALS)
    assert all(len(pw) == 48 and int(pw, 16) >= 0 for pw in first.values())
    again, added = security.complete_credentials(first)
    assert again == first and not added
    partial = {k: v for k, v in first.items() if k != "integrator"}
    completed, added = security.complete_credentials(partial)
    assert added and completed["registry"] == first["registry"]
    assert completed["integrator"] != first["integrator"]


def test_every_principal_gets_a_scram_user_at_format_time() -> None:
    args = security.scram_format_args(CREDENTIALS)
    assert args[0::2] == ["--add-scram"] * len(PRINCIPALS)
    assert args[1::2] == [f"SCRAM-SHA-512=[name={p},password={p}0pw]" for p in PRINCIPALS]


# --- the local stack's secure profile ---------------------------------------------------------
def test_the_secure_profile_has_ports_of_its_own() -> None:
    profiles = stack.profiles(Path("/repo"))
    secure = profiles["secure"]
    assert (secure.kafka_port, secure.controller_port, secure.postgres_port) == (
        21092,
        21093,
        21432,
    )
    assert secure.secure and secure.prometheus_port is None
    assert secure.state == Path("/repo/.run/secure")
    taken = {
        port
        for name, p in profiles.items()
        if name != "secure"
        for port in (p.kafka_port, p.controller_port, p.postgres_port, p.prometheus_port)
    }
    assert not taken & {secure.kafka_port, secure.controller_port, secure.postgres_port}
    assert not profiles["dev"].secure and not profiles["test"].secure


@pytest.mark.parametrize("name", ["dev", "test"])
def test_the_plain_profiles_keep_their_plaintext_broker(name: str) -> None:
    profile = stack.profiles(Path("/repo"))[name]
    props = stack.kafka_properties(profile, Path("/data"))
    assert props == stack._kafka_properties(profile, Path("/data"))
    assert props["listeners"].startswith("PLAINTEXT://")
    assert not [k for k in props if "sasl" in k or "authorizer" in k or k == "super.users"]


def test_the_secure_profile_renders_a_sasl_only_broker() -> None:
    profile = stack.profiles(Path("/repo"))["secure"]
    props = stack.kafka_properties(profile, Path("/data"), "adminpw1")
    assert props["listeners"] == ("SASL_PLAINTEXT://127.0.0.1:21092,CONTROLLER://127.0.0.1:21093")
    assert props["advertised.listeners"] == "SASL_PLAINTEXT://127.0.0.1:21092"
    assert props["inter.broker.listener.name"] == "SASL_PLAINTEXT"
    assert props["listener.security.protocol.map"] == (
        "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    )
    assert props["authorizer.class.name"] == security.AUTHORIZER
    assert props["auto.create.topics.enable"] == "false"
    # The JAAS strings survive the properties file.
    text = stack.render_properties(props)
    assert stack.parse_properties(text) == props
    with pytest.raises(ValueError, match="admin password"):
        stack.kafka_properties(profile, Path("/data"))


def test_credentials_are_generated_once_private_and_never_regenerated_for_a_formatted_broker(
    tmp_path: Path,
) -> None:
    profile = stack.Profile("secure", tmp_path, 21092, 21093, 21432, None, secure=True)
    kafka = stack.Kafka(profile)
    first = kafka.credentials()
    assert kafka.credentials() == first
    assert stat.S_IMODE(kafka.credentials_file.stat().st_mode) == 0o600
    assert kafka.admin_options() == security.client_options(ADMIN, first[ADMIN])
    # Formatted with these users: losing a password cannot be papered over by a new one.
    kafka.data.mkdir(parents=True)
    (kafka.data / "meta.properties").write_text("")
    kafka.credentials_file.write_text(
        kafka.credentials_file.read_text().replace("export integrator=", "export x=")
    )
    with pytest.raises(stack.StackError, match="start over"):
        kafka.credentials()
    assert stack.Kafka(stack.Profile("dev", tmp_path, 1, 2, 3, None)).admin_options() == {}


def test_the_env_file_gives_each_principal_its_login_but_never_the_admins() -> None:
    env = security.client_env(CREDENTIALS)
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    for principal in PRINCIPALS:
        if principal == ADMIN:
            assert security.password_var(ADMIN) not in env
            assert CREDENTIALS[ADMIN] not in env.values()
            continue
        assert env[f"{principal.upper()}_KAFKA_SASL_USERNAME"] == principal
        assert env[f"{principal.upper()}_KAFKA_SASL_PASSWORD"] == CREDENTIALS[principal]
    assert "KAFKA_SASL_USERNAME" not in env and "KAFKA_SASL_PASSWORD" not in env


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_reads_its_own_login_from_the_stack_env(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    for key, value in security.client_env(CREDENTIALS).items():
        monkeypatch.setenv(key, value)
    module = importlib.import_module(f"services.{service}.settings")
    settings_cls = next(
        v
        for k, v in vars(module).items()
        if k.endswith("Settings") and getattr(v, "service_name", None) == service
    )
    expected = security.client_options(service, CREDENTIALS[service])
    assert settings_cls().kafka_client_options() == expected
    assert kafka_client_options_from_env(service) == expected


def test_plaintext_is_the_default_and_sasl_needs_a_login(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if "KAFKA_S" in key:
            monkeypatch.delenv(key)
    assert KafkaClientSettings().kafka_client_options() == {}
    assert kafka_client_options_from_env("registry") == {}
    with pytest.raises(ValidationError, match="kafka_sasl_username"):
        KafkaClientSettings(kafka_security_protocol="SASL_PLAINTEXT")
    settings = KafkaClientSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="credit",
        kafka_sasl_password="pw",
    )
    assert "pw" not in repr(settings)
    assert settings.kafka_client_options() == security.client_options("credit", "pw")


def test_faststream_gets_the_same_login() -> None:
    assert faststream_security({}) is None
    scram = faststream_security(security.client_options("inspection", "pw"))
    assert isinstance(scram, SASLScram512)
    assert (scram.username, scram.password, scram.use_ssl) == ("inspection", "pw", False)
    with pytest.raises(ValueError, match="unsupported"):
        faststream_security({"security_protocol": "SSL"})


def test_provision_logs_in_from_the_environment_or_as_the_secure_profiles_admin(
    tmp_path: Path,
) -> None:
    login = {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_USERNAME": "admin",
        "KAFKA_SASL_PASSWORD": "pw",
    }
    dev = stack.Profile("dev", tmp_path / "dev", 1, 2, 3, None)
    assert stack.provision_login(dev, login) == security.client_options("admin", "pw")
    assert stack.provision_login(dev, {}) == {}
    secure = stack.Profile("secure", tmp_path / "s", 1, 2, 3, None, secure=True)
    admin = stack.provision_login(secure, {})
    assert admin["sasl_plain_username"] == "admin"
    with pytest.raises(stack.StackError, match="KAFKA_SASL_USERNAME"):
        stack.provision_login(dev, {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    args = stack.parse_args(["--profile", "secure", "provision", "--acls"])
    assert (args.profile, args.acls) == ("secure", True)


# --- docker-compose's start script ------------------------------------------------------------
STUB = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "{calls}"
if [ "$1" = random-uuid ]; then echo Cluster0IdAAAAAAAAAAAAA; fi
if [ "$1" = format ]; then echo "UserScramCredentialRecord salts and keys"; fi
"""


def run_start(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "kafka"
    (home / "bin").mkdir(parents=True, exist_ok=True)
    for tool in ("kafka-storage.sh", "kafka-server-start.sh"):
        path = home / "bin" / tool
        path.write_text(STUB.format(calls=tmp_path / "calls"))
        path.chmod(0o755)
    data = tmp_path / "data"
    source = tmp_path / "server.properties"
    source.write_text(compose.render().replace(compose.DATA_DIR, str(data)))
    return subprocess.run(
        ["bash", str(compose.START_SCRIPT)],
        env={
            "PATH": os.environ["PATH"],
            "KAFKA_HOME": str(home),
            "SENTINEL_KAFKA_PROPERTIES": str(source),
            "SENTINEL_KAFKA_WORK": str(tmp_path / "work"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def passwords_env() -> dict[str, str]:
    return {security.password_var(p): pw for p, pw in CREDENTIALS.items()}


def test_compose_start_formats_with_every_scram_user_and_starts_the_rendered_broker(
    tmp_path: Path,
) -> None:
    run = run_start(tmp_path, passwords_env())
    assert run.returncode == 0, run.stderr
    assert "salts and keys" not in run.stdout + run.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    work = tmp_path / "work"
    scram = " ".join(security.scram_format_args(CREDENTIALS)).replace("'", "")
    assert calls == [
        "kafka-storage.sh random-uuid",
        f"kafka-storage.sh format -t Cluster0IdAAAAAAAAAAAAA -c {work}/server.properties {scram}",
        f"kafka-server-start.sh {work}/server.properties",
    ]
    props = stack.parse_properties((work / "server.properties").read_text())
    expected = compose.compose_broker_properties(admin_password=CREDENTIALS[ADMIN])
    assert props == expected | {"log.dirs": str(tmp_path / "data")}
    assert stat.S_IMODE((work / "server.properties").stat().st_mode) == 0o600
    admin = stack.parse_properties((work / "admin.properties").read_text())
    assert admin["security.protocol"] == "SASL_PLAINTEXT"
    assert f'password="{CREDENTIALS[ADMIN]}"' in admin["sasl.jaas.config"]


def test_compose_start_does_not_format_twice(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "meta.properties").write_text("")
    run = run_start(tmp_path, passwords_env())
    assert run.returncode == 0, run.stderr
    assert [c.split()[0] for c in (tmp_path / "calls").read_text().splitlines()] == [
        "kafka-server-start.sh"
    ]


@pytest.mark.parametrize(("principal", "value"), [("credit", ""), ("terminals", "a,b]")])
def test_compose_start_refuses_a_missing_or_unusable_password(
    tmp_path: Path, principal: str, value: str
) -> None:
    env = passwords_env() | {security.password_var(principal): value}
    run = run_start(tmp_path, env)
    assert run.returncode == 1
    assert security.password_var(principal) in run.stderr
    assert not (tmp_path / "calls").exists()


def test_compose_start_knows_every_principal() -> None:
    line = next(
        line
        for line in compose.START_SCRIPT.read_text().splitlines()
        if line.startswith("PRINCIPALS=")
    )
    assert line == f'PRINCIPALS="{" ".join(PRINCIPALS)}"'
