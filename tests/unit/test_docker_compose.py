"""docker-compose.yml cannot run here (no Docker engine); these checks keep it consistent with
the code and the local stack: references resolve, commands exist, ports and variables agree."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from deploy.kafka import acls, compose, security
from deploy.kafka.acls import PRINCIPALS
from deploy.kafka.security import password_var, username_var
from deploy.local import identity, stack

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
PORTS = {
    "registry": 8101,
    "telemetry": 8102,
    "inspection": 8103,
    "complaints": 8104,
    "credit": 8105,
    "campaign": 8106,
}
CONSOLE_PORT = 8100  # docs/local-stack.md, "Profiles"


def test_dependencies_refer_to_defined_services() -> None:
    for name, svc in SERVICES.items():
        deps = svc.get("depends_on", [])
        for dep in deps if isinstance(deps, list) else deps.keys():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"


def test_built_services_run_code_that_exists() -> None:
    for name, svc in SERVICES.items():
        if "build" not in svc:
            continue
        command = svc["command"]
        if command[1] == "-m":
            module = command[2].replace(".", "/")
            assert (ROOT / module / "__main__.py").exists(), f"{name}: no {module}/__main__.py"
        else:
            assert (ROOT / command[1]).exists(), f"{name}: no {command[1]}"


def test_every_built_service_module_is_in_compose_on_its_port() -> None:
    for name, port in PORTS.items():
        if not (ROOT / "services" / name / "__main__.py").exists():
            continue
        assert name in SERVICES, f"services/{name} exists but docker-compose.yml lacks it"
        assert f"127.0.0.1:{port}:{port}" in SERVICES[name]["ports"]
        env = SERVICES[name]["environment"]
        for var in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "OIDC_ISSUER"):
            assert var in env, f"{name} lacks {var}"
        # Services verify tokens; nothing in compose can sign one (issue 14).
        assert "SENTINEL_AUTH_SECRET" not in env


def test_infrastructure_uses_official_images_on_the_local_stack_ports() -> None:
    assert re.match(r"^apache/kafka:4\.", SERVICES["kafka"]["image"])
    assert kafka_properties()["process.roles"] == "broker,controller"
    assert "127.0.0.1:19092:19092" in SERVICES["kafka"]["ports"]
    assert re.match(r"^postgres:15", SERVICES["postgres"]["image"])
    assert "127.0.0.1:15432:5432" in SERVICES["postgres"]["ports"]
    assert "127.0.0.1:19090:9090" in SERVICES["prometheus"]["ports"]
    for volume in SERVICES["prometheus"]["volumes"]:
        host = volume.split(":")[0]
        assert (ROOT / host).exists(), f"prometheus mounts missing {host}"


def test_prometheus_loads_the_alert_rules() -> None:
    prometheus = SERVICES["prometheus"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in prometheus["volumes"]}
    assert mounted["/etc/prometheus/alerts.yml"] == "./deploy/prometheus/alerts.yml"
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]  # beside prometheus.yml: /etc/prometheus


def test_prometheus_sends_its_alerts_to_the_alertmanager_service() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == [stack.COMPOSE_ALERTMANAGER] == ["alertmanager:9093"]
    assert "alertmanager" in SERVICES["prometheus"]["depends_on"]


# --- alerts to a person (issue 21; deploy/alertmanager/) ----------------------------------------
def test_alertmanager_runs_the_repositorys_routes_on_the_local_stacks_port() -> None:
    alertmanager = SERVICES["alertmanager"]
    assert re.match(r"^prom/alertmanager:v0\.\d+\.\d+$", alertmanager["image"])
    assert (
        alertmanager["ports"]
        == [f"127.0.0.1:{stack.profiles()['dev'].alertmanager_port}:9093"]
        == ["127.0.0.1:19091:9093"]
    )
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    assert "--web.listen-address=:9093" in alertmanager["command"]
    assert "--cluster.listen-address=" in alertmanager["command"]  # one instance, no gossip
    mounted = {v.split(":")[1]: v.split(":")[0] for v in alertmanager["volumes"]}
    host = mounted["/etc/alertmanager/alertmanager.yml"]
    assert (ROOT / host).resolve() == stack.ALERTMANAGER_TEMPLATE


def test_alertmanager_reaches_the_console_with_the_shared_credential_as_a_secret_file() -> None:
    config = yaml.safe_load(stack.ALERTMANAGER_TEMPLATE.read_text())
    hook = config["receivers"][0]["webhook_configs"][0]
    console = SERVICES["console"]
    assert hook["url"] == f"http://console:{CONSOLE_PORT}{stack.ALERT_WEBHOOK_PATH}"
    credentials_file = hook["http_config"]["authorization"]["credentials_file"]
    # Compose mounts each secret of a service at /run/secrets/<name>.
    (secret,) = SERVICES["alertmanager"]["secrets"]
    assert credentials_file == f"/run/secrets/{secret}"
    assert COMPOSE["secrets"][secret] == {"environment": "SENTINEL_ALERT_WEBHOOK_TOKEN"}
    env = console["environment"]
    assert env["SENTINEL_ALERT_WEBHOOK_TOKEN"] == (
        "${SENTINEL_ALERT_WEBHOOK_TOKEN:?set SENTINEL_ALERT_WEBHOOK_TOKEN}"
    )
    assert env["ALERTMANAGER_URL"] == "http://alertmanager:9093"


def test_grafana_serves_the_provisioned_dashboard_to_anonymous_viewers() -> None:
    grafana = SERVICES["grafana"]
    assert re.match(r"^grafana/grafana:\d+\.", grafana["image"])
    assert grafana["ports"] == ["127.0.0.1:3000:3000"]
    env = grafana["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert "prometheus" in grafana["depends_on"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    assert mounted["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    for volume in grafana["volumes"]:
        host, _container, mode = volume.split(":")
        assert (ROOT / host).is_dir(), f"grafana mounts missing {host}"
        assert mode == "ro"
    assert (ROOT / "deploy/grafana/provisioning/datasources").is_dir()
    assert (ROOT / "deploy/grafana/provisioning/dashboards").is_dir()
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    host_dir = next(h for c, h in mounted.items() if home.startswith(c + "/"))
    assert (ROOT / host_dir / home.rsplit("/", 1)[1]).is_file()


def test_only_loopback_ports_are_published() -> None:
    for name, svc in SERVICES.items():
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_secrets_come_from_the_environment_not_the_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "SENTINEL_AUTH_SECRET" not in text
    for var in (
        "KEYCLOAK_ADMIN_PASSWORD",
        "SENTINEL_TERMINAL_MASTER_SECRET",
        "POSTGRES_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "CONSOLE_SESSION_SECRET",
        "SENTINEL_ALERT_WEBHOOK_TOKEN",
        *(password_var(principal) for principal in PRINCIPALS),
    ):
        assert re.search(rf"\$\{{{var}:\?", text), f"{var} must be required from the environment"


# --- Kafka security (issue 9 item 3; deploy/kafka/) -------------------------------------------
def kafka_properties() -> dict[str, str]:
    """The broker's configuration: the file docker-compose mounts for start.sh."""
    mounted = {v.split(":")[1]: v.split(":")[0] for v in SERVICES["kafka"]["volumes"]}
    assert mounted[compose.MOUNT] == "./deploy/kafka/docker"
    return stack.parse_properties((ROOT / "deploy/kafka/docker/server.properties").read_text())


def test_kafka_runs_the_sasl_broker_from_the_rendered_configuration() -> None:
    kafka = SERVICES["kafka"]
    assert kafka["entrypoint"] == ["/bin/bash", f"{compose.MOUNT}/start.sh"]
    assert (ROOT / "deploy/kafka/docker/start.sh").is_file()
    assert kafka_properties() == compose.compose_broker_properties()
    assert compose.SERVER_PROPERTIES.read_text() == compose.render(), (
        "deploy/kafka/docker/server.properties is stale: python -m deploy.kafka.compose"
    )
    props = kafka_properties()
    assert props["authorizer.class.name"] == security.AUTHORIZER
    assert props["super.users"] == "User:admin"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert "PLAINTEXT://" not in props["listeners"].replace("SASL_PLAINTEXT://", "")
    for protocol in props["listener.security.protocol.map"].split(","):
        assert protocol.split(":")[1] == "SASL_PLAINTEXT", protocol
    assert props["log.dirs"] == "/var/lib/kafka/data"
    assert "kafka-data:/var/lib/kafka/data" in kafka["volumes"]
    # The healthcheck logs in with the admin properties start.sh writes.
    assert "--command-config /tmp/sentinel/admin.properties" in kafka["healthcheck"]["test"][1]


def test_kafka_creates_a_scram_user_per_principal_from_the_environment() -> None:
    env = SERVICES["kafka"]["environment"]
    assert set(env) == {password_var(p) for p in PRINCIPALS}
    for principal in PRINCIPALS:
        var = password_var(principal)
        assert env[var] == f"${{{var}:?set {var}}}"


def test_every_service_logs_in_to_kafka_as_its_own_principal() -> None:
    seen: dict[str, str] = {}
    for name in PORTS:
        env = SERVICES[name]["environment"]
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env[username_var(name)] == name
        var = password_var(name)
        assert env[var] == f"${{{var}:?set {var}}}"
        # No shared login: no unprefixed username, no other service's password.
        assert "KAFKA_SASL_USERNAME" not in env
        assert not [k for k in env if k.endswith("_KAFKA_SASL_PASSWORD") and k != var]
        seen[env[username_var(name)]] = name
    assert sorted(seen) == sorted(PORTS)


def test_the_topics_provisioner_applies_the_acls_as_admin() -> None:
    topics = SERVICES["topics"]
    assert topics["command"][-1] == "--acls"
    assert topics["command"][:3] == ["python", "deploy/local/stack.py", "provision"]
    env = topics["environment"]
    assert security.client_options_from_env(env | {"KAFKA_SASL_PASSWORD": "x"}) == (
        security.client_options("admin", "x")
    )
    assert (
        env["KAFKA_SASL_PASSWORD"] == "${ADMIN_KAFKA_SASL_PASSWORD:?set ADMIN_KAFKA_SASL_PASSWORD}"
    )
    # The image copies deploy/local only; the ACL rules are mounted from the checkout.
    mounted = {v.split(":")[1]: v.split(":")[0] for v in topics["volumes"]}
    assert mounted["/app/deploy/kafka"] == "./deploy/kafka"
    assert (ROOT / "deploy/kafka/acls.py").is_file()
    # The rules it applies cover every principal but the super user.
    principals = {acl.principal for acl in acls.catalog_acls()}
    assert principals == set(PRINCIPALS) - set(acls.SUPER_USERS)


# --- identity provider (issue 14; deploy/identity/, deploy/local/identity.py) -----------------
def test_keycloak_is_the_official_image_of_the_local_stacks_version_on_8180() -> None:
    keycloak = SERVICES["keycloak"]
    assert keycloak["image"] == f"quay.io/keycloak/keycloak:{identity.KEYCLOAK_VERSION}"
    assert keycloak["ports"] == ["127.0.0.1:8180:8080"]  # docs/local-stack.md, "Profiles"
    env = keycloak["environment"]
    assert env["KC_HTTP_ENABLED"] == "true"
    assert env["KC_CACHE"] == "local"  # one node: no JGroups cluster
    assert env["KC_HEALTH_ENABLED"] == "true"
    assert "/dev/tcp/127.0.0.1/9000" in keycloak["healthcheck"]["test"][1]
    assert "/health/ready" in keycloak["healthcheck"]["test"][1]
    assert env["KC_BOOTSTRAP_ADMIN_PASSWORD"] == (
        "${KEYCLOAK_ADMIN_PASSWORD:?set KEYCLOAK_ADMIN_PASSWORD}"
    )


def test_keycloak_imports_the_repositorys_realm() -> None:
    keycloak = SERVICES["keycloak"]
    assert keycloak["command"][0] == "start" and "--import-realm" in keycloak["command"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in keycloak["volumes"]}
    host = mounted["/opt/keycloak/data/import/sentinel-realm.json"]
    assert (ROOT / host).resolve() == identity.REALM_FILE
    assert json.loads(identity.REALM_FILE.read_text())["realm"] == "sentinel"


def test_keycloak_keeps_its_data_in_its_own_database_on_the_compose_postgres() -> None:
    env = SERVICES["keycloak"]["environment"]
    assert env["KC_DB"] == "postgres"
    assert env["KC_DB_URL"] == f"jdbc:postgresql://postgres:5432/{identity.DATABASE}"
    assert env["KC_DB_USERNAME"] == SERVICES["postgres"]["environment"]["POSTGRES_USER"]
    assert env["KC_DB_PASSWORD"] == "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    assert SERVICES["keycloak"]["depends_on"]["keycloak-db"] == {
        "condition": "service_completed_successfully"
    }
    creator = SERVICES["keycloak-db"]
    assert creator["image"] == SERVICES["postgres"]["image"]
    assert f"CREATE DATABASE {identity.DATABASE}" in creator["command"][-1]
    assert creator["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_the_services_trust_the_issuer_people_get_their_tokens_from() -> None:
    """Tokens carry the front-end URL (KC_HOSTNAME) as issuer: the services' OIDC_ISSUER, the
    local stack's; the keys come from inside the network."""
    keycloak = SERVICES["keycloak"]["environment"]
    assert keycloak["KC_HOSTNAME"] == "http://127.0.0.1:8180"
    assert keycloak["KC_HOSTNAME_BACKCHANNEL_DYNAMIC"] == "true"
    issuer = f"{keycloak['KC_HOSTNAME']}/realms/sentinel"
    assert issuer == identity.Keycloak(stack.profiles()["dev"]).issuer
    for name in PORTS:
        env = SERVICES[name]["environment"]
        assert env["OIDC_ISSUER"] == issuer
        assert env["OIDC_JWKS_URL"].startswith("http://keycloak:8080/realms/sentinel/")


# --- the staff console (issue 15; services/console) -------------------------------------------
def test_the_console_runs_from_the_same_image_on_8100() -> None:
    console = SERVICES["console"]
    assert console["build"] == SERVICES["registry"]["build"]
    assert console["command"] == ["python", "-m", "services.console"]
    assert console["ports"] == [f"127.0.0.1:{CONSOLE_PORT}:{CONSOLE_PORT}"]
    assert stack.CONSOLE_PORT == CONSOLE_PORT
    assert f"127.0.0.1:{CONSOLE_PORT}/healthz" in console["healthcheck"]["test"][-1]
    # The image listens on all interfaces (the console reads CONSOLE_HTTP_HOST) and carries the
    # console's scripts from the npm registry, not from the build context.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "CONSOLE_HTTP_HOST=0.0.0.0" in dockerfile
    assert "services/console/package-lock.json" in dockerfile and "npm ci" in dockerfile
    assert "services/console/node_modules" in (ROOT / ".dockerignore").read_text().split()


def test_every_service_of_the_image_listens_on_all_interfaces() -> None:
    # Another container (the console, Prometheus) reaches a service by its name in the network:
    # one left on the default 127.0.0.1 is unreachable from outside its own container.
    env = (ROOT / "Dockerfile").read_text()
    for name in [*PORTS, "console"]:
        assert f"{name.upper()}_HTTP_HOST=0.0.0.0" in env, name


def test_the_console_calls_every_service_by_its_name_in_the_network() -> None:
    env = SERVICES["console"]["environment"]
    for name, port in PORTS.items():
        assert env[f"{name.upper()}_URL"] == f"http://{name}:{port}"
        assert SERVICES["console"]["depends_on"][name] == {"condition": "service_healthy"}
    assert SERVICES["console"]["depends_on"]["keycloak"] == {"condition": "service_healthy"}


def test_the_console_sends_people_to_the_issuer_and_back_to_a_registered_address() -> None:
    env = SERVICES["console"]["environment"]
    keycloak = SERVICES["keycloak"]["environment"]
    assert env["OIDC_ISSUER"] == f"{keycloak['KC_HOSTNAME']}/realms/sentinel"
    assert env["OIDC_JWKS_URL"].startswith("http://keycloak:8080/realms/sentinel/")
    assert env["CONSOLE_OIDC_METADATA_URL"] == (
        "http://keycloak:8080/realms/sentinel/.well-known/openid-configuration"
    )
    realm = json.loads(identity.REALM_FILE.read_text())
    client = next(c for c in realm["clients"] if c["clientId"] == "sentinel-console")
    assert client["publicClient"] and client["attributes"]["pkce.code.challenge.method"] == "S256"
    assert f"{env['CONSOLE_PUBLIC_URL']}/*" in client["redirectUris"]
    # A session secret from the environment; no database, no signing key (its one Kafka login
    # is checked below).
    assert env["CONSOLE_SESSION_SECRET"] == "${CONSOLE_SESSION_SECRET:?set CONSOLE_SESSION_SECRET}"
    assert "DATABASE_URL" not in env
    assert "SENTINEL_TERMINAL_MASTER_SECRET" not in env


def test_the_console_follows_the_risks_on_the_compose_broker_as_its_own_principal() -> None:
    """The risk board's live feed (services/console/live.py) reads telemetry.risks.v1 with the
    console's settings: the broker's address in the network and the `console` login, which
    ConsoleSettings must accept (SASL without a login is refused at start)."""
    from services.console.settings import ConsoleSettings

    env = SERVICES["console"]["environment"]
    assert (
        env["KAFKA_BOOTSTRAP_SERVERS"]
        == SERVICES["registry"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"]
        == "kafka:9092"
    )
    var = password_var(acls.CONSOLE)
    assert env[var] == f"${{{var}:?set {var}}}"
    assert "KAFKA_SASL_USERNAME" not in env
    assert [k for k in env if k.endswith("_KAFKA_SASL_PASSWORD")] == [var]
    resolved = {k: v.replace(f"${{{var}:?set {var}}}", "pw") for k, v in env.items()}
    settings = ConsoleSettings.from_environ(resolved)
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.kafka_client_options() == security.client_options(acls.CONSOLE, "pw")


def test_the_image_holds_every_deploy_package_the_stack_script_imports() -> None:
    """`stack.py provision` runs in the image (compose's topics job): what it imports is copied."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    copied = {line.split()[1] for line in lines if line.startswith("COPY deploy/")}
    script = (ROOT / "deploy/local/stack.py").read_text()
    imported = set(re.findall(r"^\s*from (deploy\.\w+)", script, flags=re.MULTILINE))
    assert imported, "stack.py imports no deploy package: this test reads it wrong"
    assert {m.replace(".", "/") for m in imported} <= copied


def test_the_image_builds_telemetrys_native_verifier_as_make_setup_does() -> None:
    """Without the extension telemetry logs a warning and runs its Python checks alone: the image
    builds it from native/ with the locked crates and installs it where the services run."""
    text = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)
    native = next(s for s in stages if " AS native" in s.splitlines()[0])
    final = stages[-1]
    assert "COPY native ./native" in native
    assert re.search(r"maturin build .*--locked -m native/Cargo\.toml", native)
    assert "pip install -c constraints.txt maturin" in native
    assert "COPY --from=native /wheels /wheels" in final
    assert re.search(r"pip install --no-deps /wheels/sentinel_native-\*\.whl", final)
    # A local build's artefacts never reach the build context.
    assert "native/target" in (ROOT / ".dockerignore").read_text().split()
