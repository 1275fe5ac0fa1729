"""`make demo`: start every service as its own process, seed a demo city, print where to look.

Run after `stack.py up` (which writes `.run/env` and creates the demo people in the identity
provider: `admin` and `<role>.<district>`, see `demo_people`). Here the city is seeded through
the registry with SENTINEL_ADMIN_TOKEN, and each market gets its operator, `operator.<market id>`.
Idempotent: services already running are left alone, and a city already seeded is not seeded
twice. A simulator stopped with `make simulator-stop` stays stopped (`simulator_stopped_on_purpose`)
until `make simulator-start`; one that died is started again.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from deploy.local.stack import CONSOLE_PORT, SERVICE_PORTS

if TYPE_CHECKING:
    from deploy.identity.keycloak import Person

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / ".run"
CONSOLE = "console"  # the staff console, on 8100: pages for people, no API


def read_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip().strip("'\"")
    return env


# What the services need from `.run/env` and nothing more: no provider administrator, no
# client secret, no password, no admin token (a service verifies tokens, it never gets one).
PRIVATE = ("KEYCLOAK_ADMIN_", "SENTINEL_DEMO_PASSWORD", "SENTINEL_ADMIN_TOKEN")


def service_env(env: dict[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in env.items() if not k.startswith(PRIVATE) and not k.endswith("_SECRET")
    } | {"SENTINEL_TERMINAL_MASTER_SECRET": env.get("SENTINEL_TERMINAL_MASTER_SECRET", "")}


def simulator_env(env: dict[str, str]) -> dict[str, str]:
    """The simulator reads the registry as its own machine client (role clerk), not as admin."""
    keep = ("OIDC_ISSUER", "SENTINEL_SIMULATOR_CLIENT_SECRET")
    return service_env(env) | {k: env[k] for k in keep if k in env}


def runnable() -> list[str]:
    """The services that exist so far: a later issue adds each one's `__main__`."""
    return [s for s in SERVICE_PORTS if (ROOT / "services" / s / "__main__.py").exists()]


def console_runnable() -> bool:
    return (ROOT / "services" / CONSOLE / "__main__.py").exists()


def console_env(env: dict[str, str]) -> dict[str, str]:
    """The console is the services' client: their URLs (in `.run/env`) and the provider people
    sign in at; its own address as the browser sees it."""
    url = env.get("CONSOLE_URL", f"http://127.0.0.1:{CONSOLE_PORT}")
    port = url.rsplit(":", 1)[-1].split("/")[0]
    return {"CONSOLE_PUBLIC_URL": url, "CONSOLE_HTTP_PORT": port}


def running_pid(pid_file: Path) -> int | None:
    """The process a pid file of ours names, checked as `make status` checks it (its start
    ticks, recorded at launch; deploy/local/stack.py)."""
    from deploy.local.stack import ServiceProcess

    return ServiceProcess(pid_file).pid() if pid_file.exists() else None


def record_pid(pid_file: Path, pid: int) -> None:
    from deploy.local.stack import write_pid_file

    write_pid_file(pid_file, pid)


def start_service(name: str, env: dict[str, str], extra: dict[str, str] | None = None) -> str:
    pid_file, log_file = RUN / "pids" / f"{name}.pid", RUN / "logs" / f"{name}.log"
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    restarted = ""
    if pid := running_pid(pid_file):
        from deploy.local.stack import ServiceProcess

        process = ServiceProcess(pid_file)
        if not (why := process.hung(pid)):
            return f"{name}: already running (pid {pid})"
        # A live pid that serves nothing (SIGSTOP, a wedged loop) is what the on-call runbook
        # meets as SentinelServiceDown: `make demo` replaces it rather than waiting on it.
        restarted = f"; pid {pid} was {why}: {process.stop()}"
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            cwd=ROOT,
            env=_child_env(service_env(env) | (extra or {})),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives `make demo`; `make down` stops it by pid
        )
    record_pid(pid_file, proc.pid)
    return f"{name}: started (pid {proc.pid}), log {log_file.relative_to(ROOT)}{restarted}"


def _child_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment (PATH, …) without what `service_env` keeps from children."""
    mine = {k: v for k, v in os.environ.items() if not k.startswith(PRIVATE)}
    mine = {k: v for k, v in mine.items() if not k.endswith("_SECRET")}
    return mine | env


def simulator_marker() -> Path:
    """Present while the operator wants the simulator stopped (`make simulator-stop`)."""
    return RUN / "simulator.stopped"


def simulator_stopped_on_purpose() -> bool:
    return simulator_marker().exists()


def demo_simulator(env: dict[str, str], first_run: bool) -> str:
    """`make demo`'s simulator: started unless the operator stopped it on purpose. A pid file
    alone cannot tell the two apart (a simulator that died leaves one too), so the stop leaves a
    marker that only `make simulator-start` removes."""
    if simulator_stopped_on_purpose():
        return "simulator: stopped on purpose (make simulator-start to resume)"
    return start_simulator(env, first_run)


def stop_simulator() -> str:
    """`make simulator-stop`: stop the demo's simulator and keep it stopped across `make demo`."""
    marker = simulator_marker()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("written by `make simulator-stop`; `make simulator-start` removes it\n")
    pid_file = RUN / "pids" / "simulator.pid"
    if pid := running_pid(pid_file):
        from deploy.local.stack import ServiceProcess

        done = f"{ServiceProcess(pid_file).stop()} (pid {pid})"
    else:
        done = "not running"
    return f"simulator: {done}; make demo leaves it stopped (make simulator-start to resume)"


def resume_simulator() -> str:
    """`make simulator-start`: the simulator again, live (the hour it replays on a new city
    would be rejected as replays now), and `make demo` starts it again when it dies."""
    env_file, city = RUN / "env", RUN / "demo" / "terminals.json"
    if not env_file.exists() or not city.exists():
        missing = env_file if not env_file.exists() else city
        raise SystemExit(f".run/{missing.relative_to(RUN)} is missing: run `make demo` first")
    simulator_marker().unlink(missing_ok=True)
    return start_simulator(read_env(env_file), first_run=False)


def start_simulator(env: dict[str, str], first_run: bool) -> str:
    """The terminal simulator on the demo city. On the first run it replays the last hour at 30x
    with faults, so risks appear within a couple of minutes; later runs only go on live (the
    hour already sent would be rejected as replays)."""
    pid_file, log_file = RUN / "pids" / "simulator.pid", RUN / "logs" / "simulator.log"
    if pid := running_pid(pid_file):
        return f"simulator: already running (pid {pid})"
    command = [
        sys.executable, "-m", "simulator", "run",
        "--city", str(RUN / "demo" / "terminals.json"),
        "--control", "127.0.0.1:8190", "--seed", "1",
    ]  # fmt: skip
    if first_run:
        command += [
            "--start=-1h", "--speed", "30",
            "--fault", "door_open@+5m", "--fault", "crowd_surge@+10m",
            "--fault", "refund_spree@+15m",
            "--fault", "forge@+20m:duration=2m", "--fault", "replay@+20m:duration=2m",
        ]  # fmt: skip
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_child_env(simulator_env(env)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    record_pid(pid_file, proc.pid)
    # `make fault` talks to the control endpoint: say "started" only once it answers.
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit("the simulator exited; see .run/logs/simulator.log")
        try:
            if httpx.get("http://127.0.0.1:8190/status", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    return f"simulator: started (pid {proc.pid}), log {log_file.relative_to(ROOT)}"


def wait_ready(name: str, deadline_s: float = 90) -> None:
    if name == CONSOLE:  # no broker or database of its own: alive is ready
        url = f"http://127.0.0.1:{CONSOLE_PORT}/healthz"
    else:
        url = f"http://127.0.0.1:{SERVICE_PORTS[name]}/readyz"
    end = time.monotonic() + deadline_s
    last = ""
    while time.monotonic() < end:
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == 200:
                return
            last = r.text
        except httpx.HTTPError as exc:
            last = str(exc)
        pid_file = RUN / "pids" / f"{name}.pid"
        if pid_file.exists() and not running_pid(pid_file):
            raise SystemExit(f"{name} exited; see .run/logs/{name}.log")
        time.sleep(0.5)
    raise SystemExit(f"{name} not ready within {deadline_s}s: {last}")


# --- the demo city ------------------------------------------------------------------------
def credit_code(serial: int) -> str:
    """A well-formed 统一社会信用代码 (GB 32100-2015 check character) for a demo merchant."""
    from contracts.identifiers import credit_code_check_char

    first17 = f"92370602MA{serial:07d}"
    return first17 + credit_code_check_char(first17)


CITY: list[dict[str, Any]] = [
    {
        "code": "zhifu",
        "name": "芝罘区",
        "markets": [
            ("幸福农贸市场", "farmers", 800, "幸福路1号", "张建国", ["李明", "王芳"]),
            ("只楚果蔬批发市场", "wholesale", 2000, "只楚路88号", "刘强", ["陈静", "赵磊"]),
        ],
    },
    {
        "code": "laishan",
        "name": "莱山区",
        "markets": [("莱山农贸市场", "farmers", 600, "迎春大街20号", "孙伟", ["周洁", "吴刚"])],
    },
]
# Where each demo market stands (WGS-84 degrees, made up within its district), by name: the
# portal's 附近的市场 orders them by distance from the phone.
LOCATIONS: dict[str, tuple[float, float]] = {
    "幸福农贸市场": (37.5384, 121.3977),
    "只楚果蔬批发市场": (37.5562, 121.3531),
    "莱山农贸市场": (37.4946, 121.4452),
}
# The demo people (deploy/local/identity.py creates them on `make up`, dev profile): one per
# role and district, plus the city's administrator; (family name, given name).
STAFF_ROLES = ("clerk", "inspector", "handler", "leader", "department")
ADMIN_NAME = ("陈", "志远")
STAFF_NAMES: dict[tuple[str, str], tuple[str, str]] = {
    ("clerk", "zhifu"): ("王", "晓燕"),
    ("inspector", "zhifu"): ("李", "建军"),
    ("handler", "zhifu"): ("张", "丽娟"),
    ("leader", "zhifu"): ("刘", "国强"),
    ("department", "zhifu"): ("赵", "文静"),
    ("clerk", "laishan"): ("孙", "海涛"),
    ("inspector", "laishan"): ("周", "志刚"),
    ("handler", "laishan"): ("吴", "秀兰"),
    ("leader", "laishan"): ("郑", "伟民"),
    ("department", "laishan"): ("冯", "雪梅"),
}
# The one department (a code of services/campaign/departments.yaml) each district's department
# member belongs to: their token says it, and they report done only its 议定事项.
DEMO_DEPARTMENTS = {"zhifu": "health", "laishan": "market_regulation"}
# A second clerk per district, `clerk2.<district>`: a merchant's objection to its credit record
# (信用异议) is decided by a clerk who did not record it (docs/objections.md).
SECOND_CLERK_NAMES = {"zhifu": ("钱", "晓梅"), "laishan": ("袁", "立平")}
# A market operator's (主办方) staff member per market, in the order the markets are seeded.
OPERATOR_NAMES = [("黄", "立新"), ("马", "春华"), ("高", "明"), ("林", "淑芬"), ("何", "永生")]


def demo_people() -> list[Person]:
    """`admin` (district *), `<role>.<district>` for every staff role and demo district, and
    `clerk2.<district>`, the second clerk."""
    from deploy.identity.keycloak import Person

    family, given = ADMIN_NAME
    # Chinese names read family name first: the whole name is the first name, so the token's
    # `name` (the realm's full-name mapper: "first last") reads 李建军, not 建军 李.
    people = [Person("admin", ("admin",), "*", first_name=family + given)]
    for district in CITY:
        for role in STAFF_ROLES:
            family, given = STAFF_NAMES.get((role, district["code"]), ("钱", "多多"))
            people.append(
                Person(
                    f"{role}.{district['code']}",
                    (role,),
                    district["code"],
                    first_name=family + given,
                    department=DEMO_DEPARTMENTS.get(district["code"], "market_regulation")
                    if role == "department"
                    else None,
                )
            )
        family, given = SECOND_CLERK_NAMES.get(district["code"], ("钱", "少少"))
        people.append(
            Person(
                f"clerk2.{district['code']}",
                ("clerk",),
                district["code"],
                first_name=family + given,
            )
        )
    return people


def operator_person(market: dict[str, Any], index: int) -> Person:
    from deploy.identity.keycloak import Person

    family, given = OPERATOR_NAMES[index % len(OPERATOR_NAMES)]
    return Person(
        f"operator.{market['id']}",
        ("operator",),
        market["district"],
        first_name=family + given,
        market_id=market["id"],
    )


def seed_operators(env: dict[str, str]) -> list[str]:
    """`operator.<market id>` for every market the registry knows; the demo password."""
    from deploy.identity.keycloak import KeycloakAdmin

    headers = {"Authorization": f"Bearer {env['SENTINEL_ADMIN_TOKEN']}"}
    answer = httpx.get(f"{env['REGISTRY_URL']}/markets", headers=headers, timeout=10)
    body = answer.raise_for_status().json()
    markets = body["items"] if isinstance(body, dict) else body
    made = []
    with KeycloakAdmin(
        env["KEYCLOAK_URL"], env["KEYCLOAK_ADMIN_USERNAME"], env["KEYCLOAK_ADMIN_PASSWORD"]
    ) as admin:
        for index, market in enumerate(markets):
            person = operator_person(market, index)
            admin.ensure_user(person, env["SENTINEL_DEMO_PASSWORD"])
            made.append(person.username)
    return made


# Categories in the words a clerk types (the registry takes them as written, and the market page
# shows them as they are).
STALLS = [
    ("老王鲜肉", ["猪肉", "牛肉"], "chilled"),
    ("海鲜李", ["水产"], "frozen"),
    ("张记冻品", ["冷冻食品"], "frozen"),
    ("绿源蔬菜", ["蔬菜"], None),
]


def seed(base: str, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    summary: dict[str, Any] = {"markets": [], "terminals": []}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        existing = {d["code"] for d in http.get("/districts").raise_for_status().json()}
        if "zhifu" in existing:
            return {"seeded": False}
        serial = 1
        for district in CITY:
            http.post(
                "/districts", json={"code": district["code"], "name": district["name"]}
            ).raise_for_status()
            for name, kind, capacity, address, leader, members in district["markets"]:
                market = (
                    http.post(
                        "/markets",
                        json={
                            "name": name,
                            "district": district["code"],
                            "kind": kind,
                            "operator": f"{name}管理有限公司",
                            "address": address,
                            "capacity": capacity,
                            "opening_hours": {"open": "06:00", "close": "19:00"},
                        },
                    )
                    .raise_for_status()
                    .json()
                )
                http.put(
                    f"/markets/{market['id']}/task-force",
                    json={"leader": leader, "members": members},
                ).raise_for_status()
                latitude, longitude = LOCATIONS[name]
                http.put(
                    f"/markets/{market['id']}/location",
                    json={"latitude": latitude, "longitude": longitude},
                ).raise_for_status()
                summary["markets"].append(market["id"])
                footfall = (
                    http.post(
                        "/terminals",
                        json={"kind": "footfall", "market_id": market["id"], "interval_s": 60},
                    )
                    .raise_for_status()
                    .json()
                )
                summary["terminals"].append(
                    {k: footfall[k] for k in ("id", "kind", "market_id", "key")}
                )
                for i, (mname, categories, profile) in enumerate(STALLS, start=1):
                    merchant = (
                        http.post(
                            "/merchants",
                            json={
                                "name": mname,
                                "market_id": market["id"],
                                "stall_no": f"A-{i:02d}",
                                "credit_code": credit_code(serial),
                                "food_licence": f"JY1370602{serial:07d}"[:16],
                                "licence_valid_until": (
                                    date.today() + timedelta(days=365)
                                ).isoformat(),
                                "categories": categories,
                            },
                        )
                        .raise_for_status()
                        .json()
                    )
                    serial += 1
                    terminal_kind = "cold_chain" if profile else "payment"
                    body: dict[str, Any] = {
                        "kind": terminal_kind,
                        "market_id": market["id"],
                        "merchant_id": merchant["id"],
                        "interval_s": 60,
                    }
                    if profile:
                        body["profile"] = profile
                    t = http.post("/terminals", json=body).raise_for_status().json()
                    summary["terminals"].append(
                        {
                            k: t.get(k)
                            for k in ("id", "kind", "market_id", "merchant_id", "profile", "key")
                        }
                    )
    # Terminal keys are shown once by the API; keep them for the terminal simulator.
    keys = RUN / "demo" / "terminals.json"
    keys.parent.mkdir(parents=True, exist_ok=True)
    keys.write_text(json.dumps(summary["terminals"], ensure_ascii=False, indent=2))
    keys.chmod(0o600)
    return {"seeded": True, **summary}


# (market index, stall, category, facts, request, channel, accept?)
COMPLAINTS = [
    (0, "A-01", "short_weight", "在A-01摊位买的两斤猪肉，回家一称只有一斤六两。", "退还差价",
     "web", True),
    (0, "A-01", "short_weight", "A-01摊位买的两斤猪肉回家一称只有一斤六两，缺斤短两。", "退款",
     "hotline_12345", False),
    (0, "A-02", "food_safety", "A-02摊位的冻虾解冻后有异味，怀疑冷链断了。", "下架并赔偿",
     "platform_12315", True),
    (1, "A-04", "price", "A-04摊位白菜标价1.5元一斤，结账按2元收。", "按标价结算",
     "walk_in", False),
]  # fmt: skip


def seed_complaints(base: str, token: str, markets: list[str]) -> int:
    """A few citizens' complaints: two accepted (they become inspection tasks), one a duplicate
    of another, one waiting for a decision. The complaints service learns the markets from the
    registry's topics a moment after they are created, so a 422 on the market is retried."""
    headers = {"Authorization": f"Bearer {token}"}
    made = 0
    with httpx.Client(base_url=base, timeout=10) as http:
        for i, (market, stall, category, facts, request, channel, accept) in enumerate(COMPLAINTS):
            body = {
                "complainant": {"name": "市民" + "甲乙丙丁"[i], "phone": f"1380535{i:04d}"},
                "market_id": markets[market],
                "stall_no": stall,
                "category": category,
                "facts": facts,
                "request": request,
                "channel": channel,
            }
            deadline = time.monotonic() + 60
            while True:
                r = http.post("/complaints", json=body)
                if r.status_code != 422 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            r.raise_for_status()
            made += 1
            if accept:
                accepted = http.post(f"/complaints/{r.json()['id']}/accept", headers=headers)
                accepted.raise_for_status()
    return made


def start() -> int:
    env_file = RUN / "env"
    if not env_file.exists():
        raise SystemExit(".run/env is missing: run `make up` first")
    env = read_env(env_file)
    names = runnable()
    for name in names:
        print(start_service(name, env))
    for name in names:
        wait_ready(name)
        print(f"{name}: ready")
    result = seed(env["REGISTRY_URL"], env["SENTINEL_ADMIN_TOKEN"])
    if result["seeded"]:
        markets, terminals = len(result["markets"]), len(result["terminals"])
        print(f"demo city seeded: {markets} markets, {terminals} terminals")
        if "complaints" in names:
            made = seed_complaints(
                env["COMPLAINTS_URL"], env["SENTINEL_ADMIN_TOKEN"], result["markets"]
            )
            print(f"demo complaints filed: {made} (2 accepted, 1 linked as a duplicate)")
    else:
        print("demo city already seeded")
    if "campaign" in names:
        # Idempotent on its own: a city seeded before the campaign service existed gets it too.
        from deploy.local.demo_campaign import seed_demo_campaign

        url = env.get("CAMPAIGN_URL", f"http://127.0.0.1:{SERVICE_PORTS['campaign']}")
        campaign = seed_demo_campaign(url, env["SENTINEL_ADMIN_TOKEN"], env["REGISTRY_URL"])
        if campaign.get("seeded"):
            print(
                f"demo campaign seeded: {campaign['campaign_id']}, "
                f"district {campaign['late_district']} late"
            )
        else:
            print("demo campaign already seeded")
    if env.get("KEYCLOAK_URL"):
        operators = seed_operators(env)
        print(f"market operators in the identity provider: {len(operators)} (operator.<market id>)")
    if "telemetry" in names and (RUN / "demo" / "terminals.json").exists():
        print(demo_simulator(env, first_run=result["seeded"]))
    if console_runnable():
        print(start_service(CONSOLE, env, console_env(env)))
        wait_ready(CONSOLE)
        print(f"{CONSOLE}: ready")
    print_where_to_look(env, names)
    return 0


def print_where_to_look(env: dict[str, str], names: list[str]) -> None:
    print("\nMarket Sentinel is running.")
    if console_runnable():
        console = env.get("CONSOLE_URL", f"http://127.0.0.1:{CONSOLE_PORT}")
        print(f"  console     {console}/staff/   the staff pages; sign in at {console}/login")
        print("              as inspector.zhifu, handler.zhifu, clerk.zhifu, leader.zhifu, …")
        print("              password: source .run/env; echo $SENTINEL_DEMO_PASSWORD")
        print(
            f"  portal      {console}/markets   the citizens' pages, no sign-in: 市场查询 and"
            " 附近的市场, 我要投诉, 意见建议, 进度查询, 红黑榜"
        )
    for name in names:
        url = env.get(f"{name.upper()}_URL", f"http://127.0.0.1:{SERVICE_PORTS[name]}")
        print(f"  {name:<11} {url}   API docs {url}/docs   metrics {url}/metrics")
    print(f"  kafka       {env['KAFKA_BOOTSTRAP_SERVERS']}")
    print(f"  postgres    {env['DATABASE_URL']}")
    if env.get("PROMETHEUS_URL"):
        print(f"  prometheus  {env['PROMETHEUS_URL']}")
    if env.get("ALERTMANAGER_URL"):
        alerts = f"{env.get('CONSOLE_URL', f'http://127.0.0.1:{CONSOLE_PORT}')}/staff/alerts"
        # Debian's Alertmanager serves its API and no web page: the page to open is the console's.
        api = env["ALERTMANAGER_URL"]
        print(f"  alerts      {alerts} (告警, as admin)   Alertmanager API {api}")
    if env.get("KEYCLOAK_URL"):
        kc = env["KEYCLOAK_URL"]
        print(f"  identity    {kc}   realm sentinel   admin console {kc}/admin (KEYCLOAK_ADMIN_*)")
    print("\n  source .run/env    # *_URL, OIDC_ISSUER, SENTINEL_ADMIN_TOKEN (10 h), …")
    print('  curl -H "Authorization: Bearer $SENTINEL_ADMIN_TOKEN" $REGISTRY_URL/markets')
    auth = '-H "Authorization: Bearer $SENTINEL_ADMIN_TOKEN"'
    if "telemetry" in names:
        print(f'  curl -s {auth} "$TELEMETRY_URL/risks?state=open"')
        print("  make fault SPEC='door_open:terminal=auto'   # the simulator's faults become risks")
        print("  make simulator-stop   # the simulator stays stopped until make simulator-start")
    if "complaints" in names:
        print(f'  curl -s {auth} "$COMPLAINTS_URL/complaints?state=received"')
    if "credit" in names:
        print("  curl -s $CREDIT_URL/public/merchants/<merchant id>   # grade; README: Credit")
    if "campaign" in names:
        print("  curl -s $CAMPAIGN_URL/public/disclosures   # the campaign's exposed problems")
    if env.get("OIDC_ISSUER"):
        print_sign_in(env)
    print("  logs: .run/logs/   status: make status   stop: make down")


def print_sign_in(env: dict[str, str]) -> None:
    people = ", ".join(p.username for p in demo_people()[:4])
    print(f"\nSign in at the identity provider {env.get('KEYCLOAK_URL', '')} (realm sentinel,")
    print(f"issuer {env['OIDC_ISSUER']}) as any demo person:")
    print(f"  {people}, …: admin, and <role>.<district> for roles {', '.join(STAFF_ROLES)}")
    print(f"  in districts {', '.join(d['code'] for d in CITY)}; operator.<market id> per market;")
    print("  clerk2.<district>: a second clerk, who decides the 信用异议 the first records")
    print("  password: source .run/env; echo $SENTINEL_DEMO_PASSWORD   (the same for everyone)")
    print("  make token USER=inspector.zhifu       # that person's access token (5 minutes)")
    print(f"  account page: {env.get('KEYCLOAK_URL', '')}/realms/sentinel/account")


def stop() -> int:
    for pid_file in sorted((RUN / "pids").glob("*.pid")):
        pid = running_pid(pid_file)
        if pid:
            os.kill(pid, signal.SIGTERM)
            print(f"{pid_file.stem}: SIGTERM sent")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo")
    parser.add_argument("command", choices=["start", "stop", "simulator-stop", "simulator-start"])
    args = parser.parse_args(argv)
    if args.command == "simulator-stop":
        print(stop_simulator())
        return 0
    if args.command == "simulator-start":
        print(resume_simulator())
        return 0
    return start() if args.command == "start" else stop()


if __name__ == "__main__":
    raise SystemExit(main())
