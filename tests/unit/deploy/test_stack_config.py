"""The local stack's pure helpers: what it writes for Kafka, PostgreSQL, Prometheus and `.run/env`.

Starting the processes is exercised by every integration test (they run on the test profile);
these tests pin the rendered configuration without starting anything.
"""

from __future__ import annotations

import base64
import os
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from contracts.topics import Topic, all_topics
from deploy.local import stack


# --- profiles ---------------------------------------------------------------------------------
def test_profiles_use_the_fixed_ports_and_separate_state(
    dev: stack.Profile, test_profile: stack.Profile
) -> None:
    assert (dev.kafka_port, dev.controller_port, dev.postgres_port, dev.prometheus_port) == (
        19092,
        19093,
        15432,
        19090,
    )
    assert (test_profile.kafka_port, test_profile.controller_port) == (29092, 29093)
    assert test_profile.postgres_port == 25432
    assert test_profile.prometheus_port is None
    assert (dev.alertmanager_port, test_profile.alertmanager_port) == (19091, None)
    assert (dev.keycloak_port, dev.keycloak_management_port) == (8180, 19000)
    assert (test_profile.keycloak_port, test_profile.keycloak_management_port) == (28180, 29000)
    assert dev.demo_people and not test_profile.demo_people
    assert stack.profiles()["secure"].keycloak_port is None
    assert dev.state == Path("/repo/.run")
    assert test_profile.state == Path("/repo/.run/test")
    assert dev.bootstrap == "127.0.0.1:19092"
    assert test_profile.database_url == "postgresql://postgres@127.0.0.1:25432/postgres"


def test_no_two_profiles_share_a_port() -> None:
    ports = []
    for p in stack.profiles().values():
        ports += p.ports()  # every Kafka node's, PostgreSQL's, the monitors', Keycloak's
    ports += stack.SERVICE_PORTS.values()
    ports += [8100, 8190]  # the console (docs/local-stack.md), the demo simulator's control
    assert len(ports) == len(set(ports))


def test_every_fixed_port_is_below_the_ephemeral_range() -> None:
    """An outgoing connection's local port (32768-60999) could hold one and fail a start."""
    for p in stack.profiles().values():
        for port in p.ports():
            assert port < 32768


def test_a_profiles_component_folders_are_not_inside_another_profiles(
    dev: stack.Profile, test_profile: stack.Profile
) -> None:
    dev_dirs = [stack.Kafka(dev).data, stack.Postgres(dev).data, stack.Prometheus(dev).data]
    test_dirs = [stack.Kafka(test_profile).data, stack.Postgres(test_profile).data]
    for a in dev_dirs:
        for b in test_dirs:
            assert not a.is_relative_to(b) and not b.is_relative_to(a)
    assert not dev.pids.is_relative_to(test_profile.state)


# --- Kafka ------------------------------------------------------------------------------------
def test_kafka_is_a_single_kraft_node_on_loopback(dev: stack.Profile) -> None:
    props = stack.kafka_properties(dev, Path("/repo/.run/kafka/data"))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == "/repo/.run/kafka/data"
    assert props["auto.create.topics.enable"] == "false"
    assert props["num.partitions"] == "3"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert props[key] == "1"


def test_test_profile_kafka_uses_its_own_ports(test_profile: stack.Profile) -> None:
    props = stack.kafka_properties(test_profile, Path("/d"))
    assert "127.0.0.1:29092" in props["listeners"]
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"


def test_properties_render_and_parse_back(dev: stack.Profile) -> None:
    props = stack.kafka_properties(dev, Path("/repo/.run/kafka/data"))
    text = stack.render_properties(props, "generated\nsecond line")
    assert text.startswith("# generated\n# second line\n")
    assert stack.parse_properties(text) == props


def test_properties_escape_backslashes_and_refuse_newlines() -> None:
    text = stack.render_properties({"log.dirs": r"C:\kafka"})
    assert text == "log.dirs=C:\\\\kafka\n"
    assert stack.parse_properties(text) == {"log.dirs": r"C:\kafka"}
    with pytest.raises(ValueError):
        stack.render_properties({"a": "b\nc=d"})


def test_cluster_ids_look_like_kafka_storage_random_uuid() -> None:
    ids = {stack.new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cid in ids:
        assert len(cid) == 22 and not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_jvm_command_runs_the_main_class_on_the_maven_classpath() -> None:
    cmd = stack.kafka_jvm_command(
        "/usr/bin/java",
        Path("/libs"),
        Path("/repo/deploy/kafka/log4j2.yaml"),
        Path("/logs"),
        ["kafka.Kafka", "/state/server.properties"],
    )
    assert cmd[0] == "/usr/bin/java"
    assert "-Xms512m" in cmd and "-Xmx512m" in cmd
    assert "-Dlog4j2.configurationFile=/repo/deploy/kafka/log4j2.yaml" in cmd
    assert cmd[cmd.index("-cp") + 1] == "/libs/*"
    assert cmd[-2:] == ["kafka.Kafka", "/state/server.properties"]
    assert "-XX:TieredStopAtLevel=1" not in cmd  # C2 for a broker that lives


def test_the_brokers_tests_start_and_stop_skip_c2_and_the_demos_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack.Kafka, "_java", lambda self: "/usr/bin/java")
    profiles = stack.profiles(tmp_path)
    quick = {name for name, p in profiles.items() if p.quick_start}
    assert quick == {"test", "secure", "cluster", "chaos", "beside"}
    for name, profile in profiles.items():
        cmd = stack.Kafka(profile)._command(["kafka.Kafka", "x.properties"])
        jvm_options = cmd[: cmd.index("-cp")]
        assert ("-XX:TieredStopAtLevel=1" in jvm_options) == (name in quick), name


def test_the_broker_log4j_configuration_is_valid_yaml_with_a_console_root() -> None:
    config = yaml.safe_load(stack.KAFKA_LOG4J.read_text())["Configuration"]
    assert config["Appenders"]["Console"]["name"] == "STDOUT"
    assert config["Loggers"]["Root"]["AppenderRef"] == [{"ref": "STDOUT"}]


# --- PostgreSQL -------------------------------------------------------------------------------
def test_postgres_listens_only_on_loopback_at_the_profile_port(dev: stack.Profile) -> None:
    settings = stack.postgres_settings(dev, Path("/repo/.run/postgres/run"))
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["port"] == "15432"
    assert settings["max_connections"] == "200"
    assert settings["unix_socket_directories"] == "/repo/.run/postgres/run"
    assert stack.postgres_settings(dev, None)["unix_socket_directories"] == ""


def test_pg_conf_quotes_strings_and_leaves_numbers_bare() -> None:
    text = stack.render_pg_conf(
        {"port": "15432", "listen_addresses": "127.0.0.1", "log_line_prefix": "it's"}, "hdr"
    )
    assert text.splitlines() == [
        "# hdr",
        "port = 15432",
        "listen_addresses = '127.0.0.1'",
        "log_line_prefix = 'it''s'",
    ]


def test_postgres_socket_falls_back_to_tcp_only_when_the_path_is_too_long() -> None:
    short = stack.profiles(Path("/r"))["dev"]
    assert stack.Postgres(short)._socket_dir() == Path("/r/.run/postgres/run")
    long = stack.profiles(Path("/" + "x" * 120))["dev"]
    assert stack.Postgres(long)._socket_dir() is None


# --- Prometheus -------------------------------------------------------------------------------
def _jobs(config: dict[str, object]) -> dict[str, list[str]]:
    scrape_configs = config["scrape_configs"]
    assert isinstance(scrape_configs, list)
    return {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in scrape_configs
    }


def test_local_prometheus_scrapes_every_service_on_loopback_every_5s() -> None:
    text = stack.render_prometheus(stack.prometheus_config(stack.local_target), "header")
    assert text.startswith("# header\n")
    config = yaml.safe_load(text)
    assert config["global"]["scrape_interval"] == "5s"
    assert _jobs(config) == {
        "registry": ["127.0.0.1:8101"],
        "telemetry": ["127.0.0.1:8102"],
        "inspection": ["127.0.0.1:8103"],
        "complaints": ["127.0.0.1:8104"],
        "credit": ["127.0.0.1:8105"],
        "campaign": ["127.0.0.1:8106"],
    }
    assert {job["metrics_path"] for job in config["scrape_configs"]} == {"/metrics"}


def test_the_checked_in_template_has_the_same_jobs_on_service_dns_names() -> None:
    committed = yaml.safe_load(stack.PROMETHEUS_TEMPLATE.read_text())
    assert committed == stack.prometheus_config(
        stack.compose_target,
        rule_files=[stack.COMPOSE_RULES],
        alertmanagers=[stack.COMPOSE_ALERTMANAGER],
    )
    assert _jobs(committed)["credit"] == ["credit:8105"]
    assert _jobs(committed)["campaign"] == ["campaign:8106"]
    # relative to prometheus.yml: the repository's alerts.yml, and /etc/prometheus in compose
    assert committed["rule_files"] == ["alerts.yml"]
    assert (stack.PROMETHEUS_TEMPLATE.parent / "alerts.yml") == stack.PROMETHEUS_RULES


def test_rule_files_are_only_listed_when_given() -> None:
    assert "rule_files" not in stack.prometheus_config(stack.local_target)
    config = stack.prometheus_config(stack.local_target, rule_files=["/r/alerts.yml"])
    assert list(config) == ["global", "rule_files", "scrape_configs"]
    assert config["rule_files"] == ["/r/alerts.yml"]


def test_the_local_prometheus_loads_the_repositorys_rules_and_reloads_when_they_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "alerts.yml"
    rules.write_text("groups: []\n")
    monkeypatch.setattr(stack, "PROMETHEUS_RULES", rules)
    prometheus = stack.Prometheus(stack.profiles(tmp_path)["dev"])
    prometheus.home.mkdir(parents=True)
    assert prometheus._write_config()
    config = yaml.safe_load(prometheus.config.read_text())
    assert config["rule_files"] == [str(rules)]
    assert rules.is_absolute()
    assert _jobs(config)["telemetry"] == ["127.0.0.1:8102"]
    assert not prometheus._write_config()  # nothing changed: no reload
    rules.write_text("groups: [{name: x, rules: []}]\n")
    assert prometheus._write_config()  # the rules' digest is in the header: `up` sends HUP


# --- env file and secrets ---------------------------------------------------------------------
SECRETS = {
    "SENTINEL_TERMINAL_MASTER_SECRET": "b" * 64,
    "SENTINEL_DEMO_PASSWORD": "demo-pw",
    "SENTINEL_OPS_CLIENT_SECRET": "ops",
    "SENTINEL_SIMULATOR_CLIENT_SECRET": "sim",
    "INTEGRATOR_HOTLINE_12345_CLIENT_SECRET": "hotline",
    "SENTINEL_ALERT_WEBHOOK_TOKEN": "alert-hook",
}
IDENTITY = {
    "OIDC_ISSUER": "http://127.0.0.1:8180/realms/sentinel",
    "KEYCLOAK_URL": "http://127.0.0.1:8180",
    "KEYCLOAK_ADMIN_USERNAME": "sentinel-admin",
    "KEYCLOAK_ADMIN_PASSWORD": "kc-pw",
    "SENTINEL_ADMIN_TOKEN": "tok",
}


def test_env_has_every_fixed_variable(dev: stack.Profile, test_profile: stack.Profile) -> None:
    env = stack.stack_env(
        dev, SECRETS, "http://127.0.0.1:19090", IDENTITY, "http://127.0.0.1:19091"
    )
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert env["DATABASE_URL"] == "postgresql://postgres@127.0.0.1:15432/postgres"
    assert env["REGISTRY_URL"] == "http://127.0.0.1:8101"
    assert env["TELEMETRY_URL"] == "http://127.0.0.1:8102"
    assert env["INSPECTION_URL"] == "http://127.0.0.1:8103"
    assert env["COMPLAINTS_URL"] == "http://127.0.0.1:8104"
    assert env["CREDIT_URL"] == "http://127.0.0.1:8105"
    assert env["CAMPAIGN_URL"] == "http://127.0.0.1:8106"  # split out of the registry
    assert env["CONSOLE_URL"] == "http://127.0.0.1:8100"  # the staff console (issue 15)
    assert env["PROMETHEUS_URL"] == "http://127.0.0.1:19090"
    # Issue 21: Alertmanager, and the credential its webhook presents to the console.
    assert env["ALERTMANAGER_URL"] == "http://127.0.0.1:19091"
    assert env["SENTINEL_ALERT_WEBHOOK_TOKEN"] == "alert-hook"
    assert env["SENTINEL_ADMIN_TOKEN"] == "tok"
    assert env["SENTINEL_TERMINAL_MASTER_SECRET"] == "b" * 64
    # docs/local-stack.md and issue 14: the provider's issuer, the demo people's one password.
    assert env["OIDC_ISSUER"] == "http://127.0.0.1:8180/realms/sentinel"
    assert env["SENTINEL_DEMO_PASSWORD"] == "demo-pw"
    assert env["KEYCLOAK_URL"] == "http://127.0.0.1:8180"
    assert (env["KEYCLOAK_ADMIN_USERNAME"], env["KEYCLOAK_ADMIN_PASSWORD"]) == (
        "sentinel-admin",
        "kc-pw",
    )
    assert env["SENTINEL_OPS_CLIENT_SECRET"] == "ops"
    assert env["SENTINEL_SIMULATOR_CLIENT_SECRET"] == "sim"
    assert env["INTEGRATOR_HOTLINE_12345_CLIENT_SECRET"] == "hotline"
    # Nothing signs tokens any more.
    assert "SENTINEL_AUTH_SECRET" not in env
    assert list(env)[-1] == "SENTINEL_ADMIN_TOKEN"
    test_env = stack.stack_env(test_profile, SECRETS, None, IDENTITY)
    assert "PROMETHEUS_URL" not in test_env
    assert "ALERTMANAGER_URL" not in test_env and "SENTINEL_ALERT_WEBHOOK_TOKEN" not in test_env
    assert test_env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:29092"


def test_without_a_provider_the_env_has_no_identity_and_no_token() -> None:
    env = stack.stack_env(stack.profiles()["secure"], SECRETS, None, None)
    assert env["SENTINEL_TERMINAL_MASTER_SECRET"] == "b" * 64
    for name in ("OIDC_ISSUER", "SENTINEL_ADMIN_TOKEN", "SENTINEL_DEMO_PASSWORD"):
        assert name not in env
    assert not [k for k in env if k.endswith("_CLIENT_SECRET")]


def test_env_file_renders_exports_that_parse_back() -> None:
    env = {"PLAIN": "127.0.0.1:19092", "SPACED": "a b", "QUOTED": "it's $HOME", "EMPTY": ""}
    text = stack.render_env_file(env, "header")
    assert text.splitlines()[0] == "# header"
    assert "export PLAIN=127.0.0.1:19092" in text.splitlines()
    assert stack.parse_env_file(text) == env
    with pytest.raises(ValueError):
        stack.render_env_file({"NOT-A-NAME": "x"})


def test_env_file_is_what_a_shell_sees_when_it_sources_it(tmp_path: Path) -> None:
    env = {"A": "http://127.0.0.1:8101", "B": "it's $HOME `x`", "C": "eyJ.abc-_.def"}
    path = tmp_path / "env"
    path.write_text(stack.render_env_file(env, "comment"))
    script = f'source {shlex.quote(str(path))} && printf \'%s\\0\' "$A" "$B" "$C"'
    out = subprocess.run(
        ["bash", "-c", script], capture_output=True, check=True, env={"PATH": os.environ["PATH"]}
    ).stdout
    assert out.split(b"\0")[:3] == [v.encode() for v in env.values()]


def test_the_demo_launcher_reads_the_env_file(tmp_path: Path) -> None:
    from deploy.local.demo import read_env

    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092", "SENTINEL_ADMIN_TOKEN": "eyJ.x.y"}
    path = tmp_path / "env"
    path.write_text(stack.render_env_file(env, "h"))
    assert read_env(path) == env


def test_secrets_are_generated_once_and_then_kept() -> None:
    fresh, changed = stack.complete_secrets({})
    assert changed
    assert set(fresh) == set(SECRETS)
    keys = {k: v for k, v in fresh.items() if k != "SENTINEL_DEMO_PASSWORD"}
    assert all(len(v) == 64 and int(v, 16) >= 0 for v in keys.values())
    assert len(set(keys.values())) == len(keys)
    # Typed into a sign-in form: short, URL-safe, still 96 random bits.
    assert len(fresh["SENTINEL_DEMO_PASSWORD"]) == 16
    again, changed = stack.complete_secrets(fresh)
    assert again == fresh and not changed
    partial, changed = stack.complete_secrets({"SENTINEL_TERMINAL_MASTER_SECRET": "keep"})
    assert changed and partial["SENTINEL_TERMINAL_MASTER_SECRET"] == "keep"
    # The HS256 secret of old env files is dropped when the file is completed.
    old, changed = stack.complete_secrets({"SENTINEL_AUTH_SECRET": "x", **fresh})
    assert old == fresh and not changed


def test_no_helper_signs_a_token_any_more() -> None:
    for name in ("admin_token", "fallback_token", "ISSUER", "TOKEN_TTL_S"):
        assert not hasattr(stack, name)
    assert "jwt.encode" not in Path(stack.__file__).read_text()


# --- topic plan -------------------------------------------------------------------------------
def _topic(name: str, partitions: int = 3, cleanup: str = "delete") -> Topic:
    return Topic(
        name=name,
        key="id",
        description="",
        producers=(),
        consumers=(),
        event_types=(),
        partitions=partitions,
        cleanup_policy=cleanup,  # type: ignore[arg-type]
    )


def test_missing_topics_are_created() -> None:
    plan = stack.plan_topics(all_topics(), {})
    assert [t.name for t in plan.create] == [t.name for t in all_topics()]
    assert not plan.alter and not plan.grow


def test_topics_in_place_need_nothing() -> None:
    existing = {t.name: stack.ExistingTopic(t.partitions, t.config()) for t in all_topics()}
    assert stack.plan_topics(all_topics(), existing).empty


def test_broker_defaults_beyond_the_catalog_do_not_count_as_drift() -> None:
    topic = _topic("a.v1", cleanup="compact")
    have = {**topic.config(), "max.message.bytes": "1048588"}
    assert stack.plan_topics([topic], {"a.v1": stack.ExistingTopic(3, have)}).empty


def test_changed_configs_are_set_to_the_catalogs() -> None:
    topic = _topic("a.v1", cleanup="compact")
    drifted = {**topic.config(), "cleanup.policy": "delete"}
    plan = stack.plan_topics([topic], {"a.v1": stack.ExistingTopic(3, drifted)})
    assert plan.alter == {"a.v1": topic.config()}
    assert plan.alter["a.v1"]["cleanup.policy"] == "compact"
    assert not plan.create and not plan.grow


def test_partitions_grow_but_never_shrink() -> None:
    topic = _topic("a.v1", partitions=6)
    fewer = stack.plan_topics([topic], {"a.v1": stack.ExistingTopic(2, topic.config())})
    assert fewer.grow == {"a.v1": 6}
    more = stack.plan_topics([topic], {"a.v1": stack.ExistingTopic(12, topic.config())})
    assert more.empty


def test_topics_outside_the_catalog_are_left_alone() -> None:
    plan = stack.plan_topics([], {"someone.elses.v1": stack.ExistingTopic(1, {})})
    assert plan.empty


def test_plan_summary_names_what_changed() -> None:
    plan = stack.TopicPlan(create=[_topic("a.v1")], alter={"b.v1": {}}, grow={"c.v1": 6})
    summary = stack.describe_plan(plan, 20)
    assert "created 1" in summary and "b.v1" in summary and "c.v1" in summary
    assert "in place" in stack.describe_plan(stack.TopicPlan(), 20)


# --- processes --------------------------------------------------------------------------------
def test_cmdline_matching_needs_every_needle() -> None:
    args = ["java", "-cp", "/libs/*", "kafka.Kafka", "/repo/.run/kafka/server.properties"]
    assert stack.cmdline_matches(args, ("kafka.Kafka", "/repo/.run/kafka/server.properties"))
    assert not stack.cmdline_matches(
        args, ("kafka.Kafka", "/repo/.run/test/kafka/server.properties")
    )
    assert not stack.cmdline_matches([], ())


def test_pid_files_tolerate_garbage(tmp_path: Path) -> None:
    path = tmp_path / "x.pid"
    assert stack.read_pid(path) is None
    path.write_text("not a pid\n")
    assert stack.read_pid(path) is None
    path.write_text("1234\n/var/lib/postgresql\n")
    assert stack.read_pid(path) == 1234


def test_this_process_is_alive_and_recognised() -> None:
    me = os.getpid()
    assert stack.alive(me)
    assert stack.cmdline_matches(stack.cmdline(me), ("python",))
    assert not stack.alive(2**22 + 1)  # above pid_max's ceiling: never a process


def test_the_cli_offers_the_commands_the_makefile_and_compose_call() -> None:
    assert stack.parse_args(["up"]).profile == "dev"
    args = stack.parse_args(["--profile", "test", "up", "--json"])
    assert (args.profile, args.command, args.json) == ("test", "up", True)
    for command in ("down", "status", "install-extras"):
        assert stack.parse_args([command]).command == command
    assert stack.parse_args(["provision", "--bootstrap", "kafka:9092"]).bootstrap == "kafka:9092"
    with pytest.raises(SystemExit):
        stack.parse_args(["--profile", "prod", "up"])


def test_the_console_is_a_recorded_service_on_8100(tmp_path: Path) -> None:
    """`make status` and `make down` know the console the demo started, by its pid file."""
    pid_file = tmp_path / "console.pid"
    pid_file.write_text("0")
    service = stack.ServiceProcess(pid_file)
    assert (service.name, service.address) == ("console", "http://127.0.0.1:8100")
    assert stack.CONSOLE_PORT not in stack.SERVICE_PORTS.values()  # pages: Prometheus skips it


def test_the_browser_install_is_skipped_when_everything_is_there(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    present = {}
    for name in stack.BROWSER_PACKAGES:
        (tmp_path / name).touch()
        present[name] = tmp_path / name
    monkeypatch.setattr(stack, "BROWSER_PACKAGES", present)
    calls: list[list[str]] = []
    monkeypatch.setattr(stack, "_apt", lambda cmd, env: calls.append(cmd) or True)
    stack.install_browser()
    assert calls == []
    present["chromium"].unlink()
    monkeypatch.setattr(stack.os, "geteuid", lambda: 0)
    monkeypatch.setattr(stack.shutil, "which", lambda _: "/usr/bin/apt-get")
    stack.install_browser()
    # Refresh the lists first, then only what is missing.
    assert calls[0] == ["apt-get", "update", "-q"]
    assert calls[1][-1] == "chromium" and "--no-install-recommends" in calls[1]
    assert set(stack.BROWSER_PACKAGES) >= {"chromium", "chromium-driver"}
