"""The local stack's identity provider: Keycloak from Maven Central, on the profile's PostgreSQL.

`stack.py up` runs it like Kafka: the `keycloak-quarkus-dist` zip is unpacked once into
`.cache/keycloak/keycloak-<version>/` (`make keycloak`, or here when missing), built once for
PostgreSQL (`kc.sh build`, ~30 s; a marker records the options) and started with
`kc.sh start --optimized` on loopback, with a JDK 21+ found in the system's JVM folder. Each
profile runs it from its own folder, `<state>/keycloak/server/`: `bin/kc.sh` copied, `lib`,
`conf`, `providers` and `themes` linked to the shared build, `data/` (its transaction log) its
own. Its database is `keycloak` on the profile's PostgreSQL; its bootstrap administrator's
password is generated once into `<state>/keycloak/admin.env` (0600).

Once ready, the `sentinel` realm is imported from deploy/identity/sentinel-realm.json (again
when that file changes), the machine clients get the secrets the stack generated, and in the
dev profile the demo people are created. See docs/local-stack.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from deploy.local.stack import (
    ROOT,
    Profile,
    StackError,
    Status,
    _poll,
    alive,
    cmdline,
    cmdline_matches,
    ensure_port_free,
    find_process,
    log_tail,
    parse_env_file,
    read_pid,
    rel,
    render_env_file,
    say,
    terminate,
    write_private,
)

if TYPE_CHECKING:
    from deploy.identity.keycloak import Person

KEYCLOAK_VERSION = "26.7.3"
KEYCLOAK_ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:zip"
KEYCLOAK_CACHE = ROOT / ".cache" / "keycloak"
REALM_FILE = ROOT / "deploy" / "identity" / "sentinel-realm.json"
JVM_DIR = Path("/usr/lib/jvm")
MIN_JAVA = 21
# Build-time options (`kc.sh build`); `start --optimized` then skips Quarkus' augmentation.
BUILD_OPTIONS = ("--db=postgres", "--health-enabled=true")
DATABASE = "keycloak"
ADMIN_USERNAME = "sentinel-admin"  # the bootstrap administrator of the master realm
OPS_CLIENT = "sentinel-ops"  # its client-credentials token is SENTINEL_ADMIN_TOKEN (10 h)
READY_DEADLINE_S = 180.0  # a first start creates the schema: ~15-30 s on 2 cores
# Where the dist is linked from a profile's server folder; bin/ is copied (kc.sh resolves its
# own path, and `kc.home.dir` must be the profile's folder so data/ is the profile's).
LINKED = ("lib", "conf", "providers", "themes")


# --- pure configuration -----------------------------------------------------------------------
def dist_home(cache: Path = KEYCLOAK_CACHE) -> Path:
    return cache / f"keycloak-{KEYCLOAK_VERSION}"


def base_url(profile: Profile) -> str:
    return f"http://127.0.0.1:{profile.keycloak_port}"


def start_arguments(profile: Profile) -> list[str]:
    """`kc.sh` arguments: production mode, plain HTTP on loopback, no clustering."""
    if profile.keycloak_port is None or profile.keycloak_management_port is None:
        raise ValueError(f"profile {profile.name} runs no identity provider")
    url = base_url(profile)
    return [
        "start",
        "--optimized",
        "--http-enabled=true",
        "--http-host=127.0.0.1",
        f"--http-port={profile.keycloak_port}",
        # A fixed front-end URL: the issuer is the same however the server is reached.
        f"--hostname={url}",
        # Health (and metrics) live on the management interface, 9000 by default.
        "--http-management-host=127.0.0.1",
        f"--http-management-port={profile.keycloak_management_port}",
        # The default (ispn) clusters over JGroups on *:7800 and *:57800; one node needs none.
        "--cache=local",
        f"--db-url=jdbc:postgresql://127.0.0.1:{profile.postgres_port}/{DATABASE}",
        "--db-username=postgres",  # trust authentication on loopback (stack.py's initdb)
        "--log-console-color=false",
    ]


def java_major(java_home: Path) -> int | None:
    """The feature version of the JDK at `java_home` (from its `release` file, else `java`)."""
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    try:
        text = (java_home / "release").read_text()
        found = re.search(r'^JAVA_VERSION="([0-9.]+)', text, re.MULTILINE)
    except OSError:
        found = None
    if not found:
        try:
            run = subprocess.run(
                [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        found = re.search(r'version "([0-9.]+)', run.stderr)
        if not found:
            return None
    parts = found.group(1).split(".")
    # "1.8.0" is Java 8; "21.0.2" is Java 21.
    return int(parts[1]) if parts[0] == "1" and len(parts) > 1 else int(parts[0])


def find_jdk(
    java_home: str | None = None, jvm_dir: Path = JVM_DIR, minimum: int = MIN_JAVA
) -> Path:
    """JAVA_HOME if it is new enough, else the newest JDK >= `minimum` in the JVM folder."""
    seen: list[str] = []
    if java_home:
        version = java_major(Path(java_home))
        if version is not None and version >= minimum:
            return Path(java_home)
        seen.append(f"JAVA_HOME={java_home} ({version or 'no java'})")
    candidates: dict[Path, int] = {}
    with contextlib.suppress(OSError):
        for entry in sorted(jvm_dir.iterdir()):
            real = entry.resolve()
            version = java_major(real)
            if version is None or real in candidates:
                continue
            candidates[real] = version
            seen.append(f"{entry} ({version})")
    fit = [(v, str(p)) for p, v in candidates.items() if v >= minimum]
    if fit:
        return Path(max(fit)[1])
    found = ", ".join(seen) or f"nothing in {jvm_dir}"
    raise StackError(
        f"keycloak: needs Java {minimum}+ and found none ({found})"
        f"; install a JDK {minimum}+ under {jvm_dir} (Temurin 25 is beside Java 17 on the CI "
        "machines) or point JAVA_HOME at one"
    )


def realm_digest(path: Path = REALM_FILE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_marker(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


# --- the distribution -------------------------------------------------------------------------
@contextlib.contextmanager
def _cache_lock(cache: Path) -> Iterator[None]:
    """The dev and the test stack may both want the dist at once; one unpacks or builds."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_dist(cache: Path = KEYCLOAK_CACHE) -> Path:
    """Unpack the distribution from Maven Central unless done (same as `make keycloak`)."""
    home = dist_home(cache)
    complete = home / ".complete"
    if complete.exists():
        return home
    with _cache_lock(cache):
        if complete.exists():
            return home
        if not shutil.which("mvn"):
            raise StackError(
                f"keycloak: the distribution is missing from {rel(cache)}; run `make keycloak` "
                "(needs Maven)"
            )
        say(f"keycloak: unpacking {KEYCLOAK_ARTIFACT} from Maven Central into {rel(cache)}")
        shutil.rmtree(home, ignore_errors=True)
        # The unpack goal leaves a `${project.basedir}` marker folder in its working directory.
        with tempfile.TemporaryDirectory(prefix="kc-unpack-") as scratch:
            run = subprocess.run(
                [
                    "mvn",
                    "-q",
                    "-B",
                    "dependency:unpack",
                    f"-Dartifact={KEYCLOAK_ARTIFACT}",
                    f"-DoutputDirectory={cache}",
                ],
                cwd=scratch,
                stdout=sys.stderr,
                check=False,
            )
        if run.returncode != 0 or not (home / "bin" / "kc.sh").exists():
            raise StackError("keycloak: Maven could not unpack the distribution; see above")
        complete.touch()
    return home


def ensure_built(home: Path, jdk: Path) -> None:
    """`kc.sh build` once for the options the stack starts with (a marker records them)."""
    marker = home / ".sentinel-build"
    wanted = " ".join(BUILD_OPTIONS) + "\n"
    if marker.exists() and marker.read_text() == wanted:
        return
    with _cache_lock(home.parent):
        if marker.exists() and marker.read_text() == wanted:
            return
        say(f"keycloak: building the server for {' '.join(BUILD_OPTIONS)} (once, ~30 s)")
        began = time.monotonic()
        log = home.parent / "build.log"
        with log.open("wb") as out:
            run = subprocess.run(
                ["/bin/sh", str(home / "bin" / "kc.sh"), "build", *BUILD_OPTIONS],
                env=_java_env(jdk),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=600,
                check=False,
            )
        if run.returncode != 0:
            raise StackError(f"keycloak: `kc.sh build` failed:\n{log_tail(log)}")
        marker.write_text(wanted)
        say(f"keycloak: built in {time.monotonic() - began:.1f}s")


def _java_env(jdk: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "JAVA"}  # kc.sh prefers $JAVA
    return env | {"JAVA_HOME": str(jdk)} | dict(extra or {})


# --- databases --------------------------------------------------------------------------------
async def database_exists(server_url: str, name: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(server_url, timeout=10)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def create_database(server_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url, timeout=10)
    try:
        with contextlib.suppress(asyncpg.DuplicateDatabaseError):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


# --- the component ----------------------------------------------------------------------------
class Keycloak:
    name = "keycloak"

    def __init__(self, profile: Profile, cache: Path = KEYCLOAK_CACHE) -> None:
        self.profile = profile
        self.cache = cache
        self.home = profile.state / "keycloak"
        self.server = self.home / "server"  # kc.home.dir
        self.pid_file = self.home / "keycloak.pid"
        self.admin_file = self.home / "admin.env"
        self.realm_marker = self.home / "realm.sha256"  # the realm file as imported
        self.people_marker = self.home / "people.sha256"  # the people and password as created
        self.log = profile.logs / "keycloak.log"
        self.started_at: float | None = None  # monotonic, when this process started it

    # -- where -------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self.profile.keycloak_port is not None

    @property
    def url(self) -> str:
        return base_url(self.profile)

    @property
    def issuer(self) -> str:
        from sentinel_cli.identity import issuer

        return issuer(self.url)

    def ports(self) -> list[tuple[str, int]]:
        if self.profile.keycloak_port is None or self.profile.keycloak_management_port is None:
            return []
        return [
            (self.name, self.profile.keycloak_port),
            (f"{self.name} management", self.profile.keycloak_management_port),
        ]

    # -- which process -----------------------------------------------------------------------
    @property
    def needles(self) -> tuple[str, ...]:
        """kc.sh, started from this profile's folder."""
        return (str(self.server / "bin" / "kc.sh"), "start")

    @property
    def java_needles(self) -> tuple[str, ...]:
        """The JVM kc.sh runs (its child): `kc.home.dir` is this profile's folder."""
        return (f"-Dkc.home.dir={self.server}/bin/..", "QuarkusEntryPoint")

    def script_pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        if pid and alive(pid) and cmdline_matches(cmdline(pid), self.needles):
            return pid
        found = find_process(self.needles) if self.enabled else None
        if found:
            self.pid_file.write_text(f"{found}\n")
        return found

    def java_pid(self) -> int | None:
        return find_process(self.java_needles) if self.enabled else None

    def pid(self) -> int | None:
        """kc.sh's pid, or the server's where kc.sh is gone (killed) and the JVM runs on."""
        return self.script_pid() or self.java_pid()

    def status(self) -> Status:
        pid = self.pid()
        return Status(self.name, pid is not None, pid, self.url, f"realm sentinel, {self.issuer}")

    def exited(self) -> bool:
        return self.pid() is None

    def rss_mb(self) -> float | None:
        """Resident memory of the JVM (kc.sh itself is a few hundred kB)."""
        pid = self.java_pid()
        try:
            status = Path(f"/proc/{pid}/status").read_text() if pid else ""
        except OSError:
            return None
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        return int(found.group(1)) / 1024 if found else None

    # -- start and stop ----------------------------------------------------------------------
    def prepare(self) -> Path:
        """The unpacked, built distribution and the JDK to run it: before anything starts."""
        jdk = find_jdk(os.environ.get("JAVA_HOME"))
        ensure_built(ensure_dist(self.cache), jdk)
        return jdk

    def _link_server(self, dist: Path) -> None:
        bin_dir = self.server / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        (self.server / "data").mkdir(exist_ok=True)
        script, source = bin_dir / "kc.sh", dist / "bin" / "kc.sh"
        if not script.exists() or script.read_bytes() != source.read_bytes():
            shutil.copy2(source, script)
        for name in LINKED:
            link, target = self.server / name, dist / name
            if link.is_symlink() and Path(os.readlink(link)) == target:
                continue
            if link.is_symlink() or link.is_file():
                link.unlink()
            elif link.exists():
                shutil.rmtree(link)
            link.symlink_to(target, target_is_directory=True)

    def admin_credentials(self) -> tuple[str, str]:
        values = parse_env_file(self.admin_file.read_text()) if self.admin_file.exists() else {}
        password = values.get("KEYCLOAK_ADMIN_PASSWORD")
        if not password:
            raise StackError(f"keycloak: no administrator password in {rel(self.admin_file)}")
        return values.get("KEYCLOAK_ADMIN_USERNAME") or ADMIN_USERNAME, password

    def _ensure_database(self) -> None:
        """The `keycloak` database, and the administrator's password that goes with it."""
        server = self.profile.database_url
        existed = asyncio.run(database_exists(server, DATABASE))
        has_password = self.admin_file.exists() and bool(
            parse_env_file(self.admin_file.read_text()).get("KEYCLOAK_ADMIN_PASSWORD")
        )
        if existed and not has_password:
            raise StackError(
                f"keycloak: the database {DATABASE!r} on 127.0.0.1:{self.profile.postgres_port} "
                f"exists, but {rel(self.admin_file)} with its administrator's password does not. "
                f"Restore the file, or drop the database (psql -h 127.0.0.1 -p "
                f"{self.profile.postgres_port} -U postgres -c 'DROP DATABASE {DATABASE}') to "
                "start the provider afresh, and run `up` again"
            )
        if not has_password:
            self.home.mkdir(parents=True, exist_ok=True)
            values = {
                "KEYCLOAK_ADMIN_USERNAME": ADMIN_USERNAME,
                "KEYCLOAK_ADMIN_PASSWORD": secrets.token_urlsafe(24),
            }
            header = (
                "The identity provider's bootstrap administrator (master realm); generated by "
                "deploy/local/identity.py with its database, keep it."
            )
            write_private(self.admin_file, render_env_file(values, header))
        if not existed:
            where = f"127.0.0.1:{self.profile.postgres_port}"
            say(f"keycloak: creating database {DATABASE!r} on {where}")
            asyncio.run(create_database(server, DATABASE))

    def start(self) -> bool:
        """Start unless running (PostgreSQL must answer); True when a process was started."""
        if not self.enabled or self.pid():
            return False
        self.pid_file.unlink(missing_ok=True)
        for label, port in self.ports():
            ensure_port_free(label, port)
        jdk = self.prepare()
        self._ensure_database()
        self._link_server(dist_home(self.cache))
        self.profile.logs.mkdir(parents=True, exist_ok=True)
        user, password = self.admin_credentials()
        env = _java_env(
            jdk,
            # Creates the administrator on the first start (an empty master realm) only.
            {"KC_BOOTSTRAP_ADMIN_USERNAME": user, "KC_BOOTSTRAP_ADMIN_PASSWORD": password},
        )
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                ["/bin/sh", str(self.server / "bin" / "kc.sh"), *start_arguments(self.profile)],
                cwd=self.server,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives this command; `down` stops it by pid
            )
        self.started_at = time.monotonic()
        self.pid_file.write_text(f"{proc.pid}\n")
        say(f"keycloak: started (pid {proc.pid}, Java {jdk}) on {self.url}, log {rel(self.log)}")
        return True

    def ready(self) -> bool:
        import urllib.error
        import urllib.request

        # No proxy: a loopback address must not go through one set in the environment.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        url = f"{self.url}/realms/master/.well-known/openid-configuration"
        try:
            with opener.open(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, deadline_s: float = READY_DEADLINE_S) -> None:
        async def probe() -> bool:
            return await asyncio.to_thread(self.ready)

        deadline = (self.started_at or time.monotonic()) + deadline_s
        asyncio.run(_poll(self.name, probe, deadline, self.exited, self.log))
        if self.started_at is not None:
            took = time.monotonic() - self.started_at
            rss = self.rss_mb()
            memory = f", {rss:.0f} MB resident" if rss else ""
            say(f"keycloak: ready after {took:.1f}s{memory}")

    def stop(self) -> str:
        """SIGTERM to kc.sh, which hands it to the JVM; then any JVM left without its kc.sh."""
        pid = self.script_pid()
        result = terminate(pid, self.needles, deadline_s=60) if pid else "not running"
        orphan = self.java_pid()
        if orphan:
            result = terminate(orphan, self.java_needles, deadline_s=60)
        self.pid_file.unlink(missing_ok=True)
        return result

    # -- the realm, its clients and people ---------------------------------------------------
    def configure(
        self, secret_values: Mapping[str, str], people: Sequence[Person] = ()
    ) -> dict[str, str]:
        """Realm, machine clients' secrets, `people`; returns the env the stack writes."""
        import httpx

        from deploy.identity.keycloak import MACHINE_CLIENTS, KeycloakAdmin, client_grant
        from sentinel_cli.identity import IdentityError, client_secret_name

        user, password = self.admin_credentials()
        digest = realm_digest(REALM_FILE)
        recorded = _read_marker(self.realm_marker)
        demo_password = secret_values.get("SENTINEL_DEMO_PASSWORD", "")
        people_digest = hashlib.sha256(
            json.dumps(
                [digest, demo_password, *(dataclasses.asdict(p) for p in people)], sort_keys=True
            ).encode()
        ).hexdigest()
        began = time.monotonic()
        try:
            with KeycloakAdmin(self.url, user, password) as admin:
                if recorded != digest and admin.realm_exists():
                    say(f"keycloak: {rel(REALM_FILE)} changed since the import; importing it again")
                    admin.delete_realm()
                imported = admin.ensure_realm(REALM_FILE)
                if imported:
                    say(f"keycloak: realm sentinel imported from {rel(REALM_FILE)}")
                self.realm_marker.write_text(digest + "\n")
                for client_id, (roles, district) in MACHINE_CLIENTS.items():
                    secret = secret_values[client_secret_name(client_id)]
                    admin.ensure_machine_client(client_id, secret, roles, district)
                # Setting a password costs the provider a slow hash per person (~0.25 s): only
                # when the realm is new or the people or their password changed.
                if people and (imported or _read_marker(self.people_marker) != people_digest):
                    for person in people:
                        admin.ensure_user(person, demo_password)
                    self.people_marker.write_text(people_digest + "\n")
            token = client_grant(
                self.url, OPS_CLIENT, secret_values[client_secret_name(OPS_CLIENT)]
            )
        except (IdentityError, httpx.HTTPError) as exc:
            hint = ""
            if "administrator was refused" in str(exc):
                hint = (
                    f" ({rel(self.admin_file)} does not match the database {DATABASE!r}: "
                    "restore the file or drop the database)"
                )
            raise StackError(f"keycloak: {exc}{hint}") from exc
        who = f", {len(people)} demo people" if people else ""
        say(
            f"keycloak: realm, {len(MACHINE_CLIENTS)} machine clients{who} in place "
            f"({time.monotonic() - began:.1f}s)"
        )
        return {
            "OIDC_ISSUER": self.issuer,
            "KEYCLOAK_URL": self.url,
            "KEYCLOAK_ADMIN_USERNAME": user,
            "KEYCLOAK_ADMIN_PASSWORD": password,
            "SENTINEL_ADMIN_TOKEN": token,
        }
