"""The local stack's identity provider (deploy/local/identity.py) and the demo people, without
starting anything: how Keycloak is started, which Java runs it, who the demo people are, and
what the demo hands to the services. `stack.py up` itself runs in every integration session."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.identity.keycloak import KeycloakAdmin
from deploy.local import demo, identity, stack
from sentinel_cli.identity import IdentityError

ROOT = Path(__file__).resolve().parents[3]


# --- how it starts ----------------------------------------------------------------------------
def test_keycloak_listens_on_loopback_at_the_fixed_address_with_a_fixed_issuer(
    dev: stack.Profile,
) -> None:
    args = identity.start_arguments(dev)
    assert args[:2] == ["start", "--optimized"]
    assert "--http-host=127.0.0.1" in args
    assert "--http-port=8180" in args  # docs/local-stack.md, "Profiles"
    assert "--hostname=http://127.0.0.1:8180" in args  # the issuer, however it is reached
    assert "--http-management-host=127.0.0.1" in args
    assert "--http-management-port=19000" in args
    # No clustering: the default cache listens on *:7800 and *:57800.
    assert "--cache=local" in args
    assert "--db-url=jdbc:postgresql://127.0.0.1:15432/keycloak" in args
    assert all("127.0.0.1" in a for a in args if "host" in a)
    assert identity.base_url(dev) == "http://127.0.0.1:8180"
    assert identity.Keycloak(dev).issuer == "http://127.0.0.1:8180/realms/sentinel"


def test_the_test_profile_runs_its_own_provider_on_its_own_ports_and_database(
    test_profile: stack.Profile,
) -> None:
    args = identity.start_arguments(test_profile)
    assert "--http-port=28180" in args and "--http-management-port=29000" in args
    assert "--db-url=jdbc:postgresql://127.0.0.1:25432/keycloak" in args
    assert identity.Keycloak(test_profile).ports() == [
        ("keycloak", 28180),
        ("keycloak management", 29000),
    ]


def test_the_secure_profile_runs_no_provider() -> None:
    secure = stack.profiles()["secure"]
    assert stack.identity_provider(secure) is None
    with pytest.raises(ValueError):
        identity.start_arguments(secure)


def test_the_start_options_need_no_rebuild() -> None:
    """`start --optimized` fails when a build-time option differs from the build's."""
    built = {a.split("=")[0] for a in identity.BUILD_OPTIONS}
    started = {a.split("=")[0] for a in identity.start_arguments(stack.profiles()["dev"])}
    assert not built & started
    assert "--db=postgres" in identity.BUILD_OPTIONS


def test_each_profile_has_its_own_server_folder_and_process(
    dev: stack.Profile, test_profile: stack.Profile
) -> None:
    a, b = identity.Keycloak(dev), identity.Keycloak(test_profile)
    assert a.server == Path("/repo/.run/keycloak/server")
    assert b.server == Path("/repo/.run/test/keycloak/server")
    assert not a.server.is_relative_to(b.server) and not b.server.is_relative_to(a.server)
    assert a.log == Path("/repo/.run/logs/keycloak.log")
    kc_sh = ["/bin/sh", "/repo/.run/test/keycloak/server/bin/kc.sh", "start", "--optimized"]
    assert stack.cmdline_matches(kc_sh, b.needles)
    assert not stack.cmdline_matches(kc_sh, a.needles)
    home = "-Dkc.home.dir=/repo/.run/keycloak/server/bin/.."
    java = ["java", home, "-cp", "x", "io.quarkus.bootstrap.runner.QuarkusEntryPoint"]
    assert stack.cmdline_matches(java, a.java_needles)
    assert not stack.cmdline_matches(java, b.java_needles)


def test_the_server_folder_links_the_shared_build_and_keeps_its_own_data(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    for name in ("bin", *identity.LINKED):
        (dist / name).mkdir(parents=True)
    (dist / "bin" / "kc.sh").write_text("#!/bin/sh\n")
    keycloak = identity.Keycloak(stack.profiles(tmp_path)["dev"])
    for _ in range(2):  # idempotent
        keycloak._link_server(dist)
    server = keycloak.server
    assert (server / "bin" / "kc.sh").is_file() and not (server / "bin").is_symlink()
    assert (server / "data").is_dir() and not (server / "data").is_symlink()
    for name in identity.LINKED:
        assert (server / name).is_symlink()
        assert (server / name).resolve() == (dist / name).resolve()


def test_kc_sh_runs_on_the_chosen_jdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA", "/usr/bin/java")  # kc.sh would prefer it to JAVA_HOME
    env = identity._java_env(Path("/jdk25"), {"KC_BOOTSTRAP_ADMIN_USERNAME": "a"})
    assert env["JAVA_HOME"] == "/jdk25"
    assert "JAVA" not in env
    assert env["KC_BOOTSTRAP_ADMIN_USERNAME"] == "a"


def test_the_makefile_fetches_the_same_version() -> None:
    makefile = (ROOT / "Makefile").read_text()
    version = re.search(r"^KEYCLOAK_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert version and version.group(1) == identity.KEYCLOAK_VERSION
    assert identity.KEYCLOAK_ARTIFACT.startswith("org.keycloak:keycloak-quarkus-dist:")
    setup = next(line for line in makefile.splitlines() if line.startswith("setup:"))
    assert "$(KEYCLOAK_DIST)/.complete" in setup
    assert identity.dist_home(Path("/c")) == Path(f"/c/keycloak-{identity.KEYCLOAK_VERSION}")


# --- which Java -------------------------------------------------------------------------------
def _jdk(root: Path, name: str, version: str, release: bool = True) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("")
    if release:
        (home / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    return home


def test_the_newest_jdk_21_or_later_in_the_jvm_folder_runs_keycloak(tmp_path: Path) -> None:
    _jdk(tmp_path, "java-17-openjdk-amd64", "17.0.12")
    _jdk(tmp_path, "temurin-21-jdk-amd64", "21.0.5")
    newest = _jdk(tmp_path, "temurin-25-jdk-amd64", "25.0.1")
    (tmp_path / "default-java").symlink_to(tmp_path / "java-17-openjdk-amd64")
    assert identity.find_jdk(None, tmp_path) == newest
    # JAVA_HOME wins when it is new enough, and is passed over when it is not.
    jdk21 = tmp_path / "temurin-21-jdk-amd64"
    assert identity.find_jdk(str(jdk21), tmp_path) == jdk21
    assert identity.find_jdk(str(tmp_path / "java-17-openjdk-amd64"), tmp_path) == newest


def test_no_jdk_21_is_a_clear_error(tmp_path: Path) -> None:
    _jdk(tmp_path, "java-17-openjdk-amd64", "17.0.12")
    with pytest.raises(stack.StackError, match=r"needs Java 21\+.*java-17-openjdk-amd64 \(17\)"):
        identity.find_jdk("/nonexistent", tmp_path)
    with pytest.raises(stack.StackError, match="nothing in"):
        identity.find_jdk(None, tmp_path / "empty")


def test_java_versions_are_read_from_the_release_file() -> None:
    assert identity.java_major(Path("/nonexistent")) is None


def test_old_style_java_versions_parse(tmp_path: Path) -> None:
    assert identity.java_major(_jdk(tmp_path, "j8", "1.8.0_392")) == 8
    assert identity.java_major(_jdk(tmp_path, "j25", "25")) == 25


# --- the demo people --------------------------------------------------------------------------
def test_the_demo_people_are_admin_one_per_role_and_district_and_a_second_clerk() -> None:
    people = demo.demo_people()
    names = [p.username for p in people]
    assert names[0] == "admin"
    admin = people[0]
    assert (admin.roles, admin.district) == (("admin",), "*")
    districts = [d["code"] for d in demo.CITY]
    assert districts == ["zhifu", "laishan"]
    expected = {f"{r}.{d}" for r in demo.STAFF_ROLES for d in districts}
    expected |= {f"clerk2.{d}" for d in districts}  # who decides the other's 信用异议
    assert set(names[1:]) == expected and len(names) == len(set(names))
    for required in ("inspector.zhifu", "handler.laishan", "clerk.zhifu", "leader.zhifu"):
        assert required in names  # issue 14, docs/local-stack.md ("Demo people")
    for person in people[1:]:
        role, district = person.username.split(".")
        role = role.removesuffix("2")
        assert (person.roles, person.district, person.market_id) == ((role,), district, None)
    # Everyone has a Chinese name of their own, family name first (the token's `name`).
    full = [p.first_name + p.last_name for p in people]
    assert len(set(full)) == len(full)
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", n) for n in full)


def test_each_market_gets_an_operator_of_its_district() -> None:
    person = demo.operator_person({"id": "mkt_0123456789abcdef", "district": "laishan"}, 2)
    assert person.username == "operator.mkt_0123456789abcdef"
    assert (person.roles, person.district) == (("operator",), "laishan")
    assert person.market_id == "mkt_0123456789abcdef"
    assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", person.first_name) and not person.last_name


def test_the_stack_creates_the_demo_people_in_the_dev_profile_only(
    dev: stack.Profile, test_profile: stack.Profile
) -> None:
    assert [p.username for p in stack.demo_people(dev)] == [p.username for p in demo.demo_people()]
    assert stack.demo_people(test_profile) == []


# --- what the demo hands out ------------------------------------------------------------------
ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:15432/postgres",
    "OIDC_ISSUER": "http://127.0.0.1:8180/realms/sentinel",
    "KEYCLOAK_URL": "http://127.0.0.1:8180",
    "KEYCLOAK_ADMIN_USERNAME": "sentinel-admin",
    "KEYCLOAK_ADMIN_PASSWORD": "kc",
    "SENTINEL_TERMINAL_MASTER_SECRET": "m" * 64,
    "SENTINEL_DEMO_PASSWORD": "pw",
    "SENTINEL_OPS_CLIENT_SECRET": "ops",
    "SENTINEL_SIMULATOR_CLIENT_SECRET": "sim",
    "INTEGRATOR_HOTLINE_12345_CLIENT_SECRET": "hot",
    "SENTINEL_ADMIN_TOKEN": "tok",
}


def test_services_get_no_credential_of_the_provider_and_no_token() -> None:
    env = demo.service_env(ENV)
    assert env["OIDC_ISSUER"] == ENV["OIDC_ISSUER"]
    assert env["SENTINEL_TERMINAL_MASTER_SECRET"] == "m" * 64  # terminal keys derive from it
    assert env["KAFKA_BOOTSTRAP_SERVERS"] and env["DATABASE_URL"]
    for name in (
        "KEYCLOAK_ADMIN_PASSWORD",
        "KEYCLOAK_ADMIN_USERNAME",
        "SENTINEL_DEMO_PASSWORD",
        "SENTINEL_ADMIN_TOKEN",
        "SENTINEL_OPS_CLIENT_SECRET",
        "SENTINEL_SIMULATOR_CLIENT_SECRET",
        "INTEGRATOR_HOTLINE_12345_CLIENT_SECRET",
    ):
        assert name not in env


def test_the_console_gets_what_a_service_gets_and_its_own_address() -> None:
    env = demo.service_env(ENV) | demo.console_env(ENV | {"CONSOLE_URL": "http://127.0.0.1:8100"})
    assert env["CONSOLE_PUBLIC_URL"] == "http://127.0.0.1:8100"
    assert env["CONSOLE_HTTP_PORT"] == "8100"
    assert "SENTINEL_ADMIN_TOKEN" not in env and "KEYCLOAK_ADMIN_PASSWORD" not in env
    assert demo.console_env({})["CONSOLE_PUBLIC_URL"] == "http://127.0.0.1:8100"


def test_the_simulator_logs_in_as_its_own_client_not_as_admin() -> None:
    env = demo.simulator_env(ENV)
    assert env["SENTINEL_SIMULATOR_CLIENT_SECRET"] == "sim"
    assert "SENTINEL_ADMIN_TOKEN" not in env and "SENTINEL_OPS_CLIENT_SECRET" not in env


def test_the_stack_script_runs_without_the_identity_modules() -> None:
    """docker-compose's `topics` service runs stack.py in an image holding deploy/local only."""
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('sentinel_cli', 'httpx') or name == 'deploy.identity':\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "sys.argv = ['stack.py', 'provision', '--help']\n"
        "import runpy\n"
        "runpy.run_path('deploy/local/stack.py', run_name='__main__')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", blocker],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr
    assert "--bootstrap" in run.stdout


async def test_the_simulator_gets_its_registry_token_by_client_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import argparse

    from sentinel_cli import identity as cli_identity
    from simulator import __main__ as simulator

    calls: list[tuple[str, str, str]] = []

    def grant(issuer: str, client_id: str, secret: str) -> str:
        calls.append((issuer, client_id, secret))
        return "sim-token"

    monkeypatch.setattr(cli_identity, "client_grant", grant)
    monkeypatch.setenv("OIDC_ISSUER", ENV["OIDC_ISSUER"])
    monkeypatch.setenv("SENTINEL_SIMULATOR_CLIENT_SECRET", "sim")
    assert await simulator._registry_token(argparse.Namespace(token=None)) == "sim-token"
    assert calls == [(ENV["OIDC_ISSUER"], "sentinel-simulator", "sim")]
    # A token given (--token, or $SENTINEL_ADMIN_TOKEN) wins; no provider, no token.
    assert await simulator._registry_token(argparse.Namespace(token="given")) == "given"
    monkeypatch.delenv("SENTINEL_SIMULATOR_CLIENT_SECRET")
    assert await simulator._registry_token(argparse.Namespace(token=None)) is None
    assert len(calls) == 1


class _FakeAdmin(KeycloakAdmin):
    """The admin client over one stored client representation instead of the provider."""

    def __init__(self, client: dict[str, Any]) -> None:
        super().__init__("http://127.0.0.1:1", "admin", "pw")
        self.stored, self.puts = client, 0

    def _client(self, client_id: str) -> dict[str, Any]:
        return dict(self.stored)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        assert (method, path) == ("PUT", f"/realms/sentinel/clients/{self.stored['id']}")
        self.stored, self.puts = kwargs["json"], self.puts + 1
        return httpx.Response(204)


def test_a_console_address_is_registered_once_with_its_origin_and_removed_again() -> None:
    admin = _FakeAdmin(
        {"id": "c1", "clientId": "sentinel-console", "redirectUris": ["a/*"], "webOrigins": ["+"]}
    )
    uri = "http://127.0.0.1:31234/auth/callback"
    assert admin.add_redirect_uri("sentinel-console", uri)
    assert admin.stored["redirectUris"] == ["a/*", uri]
    assert admin.stored["webOrigins"] == ["+", "http://127.0.0.1:31234"]
    assert not admin.add_redirect_uri("sentinel-console", uri)  # idempotent: no second write
    assert admin.puts == 1
    admin.remove_redirect_uri("sentinel-console", uri)
    assert (admin.stored["redirectUris"], admin.stored["webOrigins"]) == (["a/*"], ["+"])
    admin.close()


def test_the_admin_client_asks_again_while_the_provider_fails_on_its_database() -> None:
    """A 500 (its pooled database connection died in a restart) is asked again; a 4xx is not."""
    answers = iter([500, 500, 200, 200, 403])
    seen: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        status = next(answers)
        body = {"access_token": "t", "expires_in": 60} if status == 200 else {"error": "x"}
        return httpx.Response(status, json=body)

    admin = KeycloakAdmin("http://provider", "admin", "pw")
    admin._http = httpx.Client(transport=httpx.MockTransport(provider))
    assert admin._call("GET", "/realms/sentinel").status_code == 200
    token_path = "/realms/master/protocol/openid-connect/token"
    assert seen == [token_path, token_path, token_path, "/admin/realms/sentinel"]
    with pytest.raises(IdentityError, match="403"):
        admin._call("GET", "/realms/other")
    assert len(seen) == 5  # a refusal is final
