"""The identity provider's admin side, as the stack, the demo and the tests use it.

Keycloak's admin REST API, through the bootstrap administrator of its `master` realm: import the
`sentinel` realm from `sentinel-realm.json` beside this file, and create people and machine
clients idempotently. Services never use this: they only verify tokens (services/runtime/auth.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from sentinel_cli import identity
from sentinel_cli.identity import CLI_CLIENT, IdentityError, issuer

REALM = "sentinel"
REALM_FILE = Path(__file__).resolve().parent / "sentinel-realm.json"
CONSOLE_CLIENT = "sentinel-console"
# Machine clients (client credentials) and what their service account may do.
MACHINE_CLIENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "sentinel-ops": (("admin",), "*"),
    "sentinel-simulator": (("clerk",), "*"),
    "integrator-hotline-12345": (("handler",), "*"),
}


def password_grant(
    base_url: str, username: str, password: str, *, client_id: str = CLI_CLIENT
) -> dict[str, Any]:
    """A person's tokens from the provider at `base_url` (http://127.0.0.1:8180)."""
    return identity.password_grant(issuer(base_url), username, password, client_id=client_id)


def client_grant(base_url: str, client_id: str, secret: str) -> str:
    """A machine client's access token from the provider at `base_url`."""
    return identity.client_grant(issuer(base_url), client_id, secret)


@dataclass(frozen=True)
class Person:
    username: str
    roles: tuple[str, ...]
    district: str
    first_name: str = ""
    last_name: str = ""
    market_id: str | None = None
    # A department member's (部门人员) one department: a code of the campaign's catalogue
    # (services/campaign/departments.yaml), the token's `department`.
    department: str | None = None


def user_profile(definition: dict[str, Any]) -> dict[str, Any] | None:
    """The declarative user profile a realm file's components hold, parsed; None without one."""
    providers = definition.get("components", {}).get(
        "org.keycloak.userprofile.UserProfileProvider", []
    )
    for provider in providers:
        config = provider.get("config", {}).get("kc.user.profile.config")
        if config:
            profile: dict[str, Any] = json.loads(config[0])
            return profile
    return None


class KeycloakAdmin:
    """A small admin client; every method is idempotent."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = (username, password)
        self._http = httpx.Client(timeout=timeout)
        self._token = ""
        self._token_until = 0.0
        self._role_cache: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KeycloakAdmin:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------
    def _send(self, method: str, url: str, within_s: float = 30.0, **kwargs: Any) -> httpx.Response:
        """The provider's answer, asked again while it has trouble of its own (a 5xx or no
        answer): after its database restarted (the fault tests restart the one it shares), its
        first query on a pooled connection fails and the pool replaces that connection."""
        deadline = time.monotonic() + within_s
        while True:
            try:
                r = self._http.request(method, url, **kwargs)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            else:
                if r.status_code < 500 or time.monotonic() > deadline:
                    return r
            time.sleep(0.5)

    def _auth(self) -> dict[str, str]:
        if time.monotonic() >= self._token_until:
            user, password = self._credentials
            r = self._send(
                "POST",
                f"{self.base_url}/realms/master/protocol/openid-connect/token",
                data={
                    "grant_type": "password",
                    "client_id": "admin-cli",
                    "username": user,
                    "password": password,
                },
            )
            if r.status_code != 200:
                raise IdentityError(f"the provider's administrator was refused: {r.text[:200]}")
            body = r.json()
            self._token = body["access_token"]
            self._token_until = time.monotonic() + max(5.0, body.get("expires_in", 60) - 10)
        return {"Authorization": f"Bearer {self._token}"}

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.base_url}/admin{path}"
        r = self._send(method, url, headers=self._auth(), **kwargs)
        if r.status_code >= 400 and r.status_code != 404:
            raise IdentityError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r

    # -- realm -----------------------------------------------------------------------------
    def realm_exists(self, realm: str = REALM) -> bool:
        return self._call("GET", f"/realms/{realm}").status_code == 200

    def ensure_realm(self, path: Path = REALM_FILE) -> bool:
        """Import the realm from its file unless it exists; True when it was imported. A realm
        imported from an older file gets what the file added since (`reconcile_realm`)."""
        definition = json.loads(path.read_text(encoding="utf-8"))
        if self.realm_exists(definition["realm"]):
            self.reconcile_realm(definition)
            return False
        self._call("POST", "/realms", json=definition)
        return True

    def reconcile_realm(self, definition: dict[str, Any]) -> list[str]:
        """Add to the existing realm the client scopes' protocol mappers and the user profile's
        attributes that `definition` has and it lacks (matched by name); returns what was added.
        Only additions: what an administrator changed in the realm is kept, and the people in
        it stay (a test stack shared by several sessions, or a deployment imported once by
        compose's `--import-realm`, which skips a realm that exists)."""
        realm = definition["realm"]
        added: list[str] = []
        scopes = {s["name"]: s for s in self._call("GET", f"/realms/{realm}/client-scopes").json()}
        for wanted in definition.get("clientScopes", []):
            scope = scopes.get(wanted["name"])
            if scope is None:
                continue
            have = {m["name"] for m in scope.get("protocolMappers") or []}
            for mapper in wanted.get("protocolMappers", []):
                if mapper["name"] not in have:
                    self._call(
                        "POST",
                        f"/realms/{realm}/client-scopes/{scope['id']}/protocol-mappers/models",
                        json=mapper,
                    )
                    added.append(f"mapper {wanted['name']}/{mapper['name']}")
        wanted_profile = user_profile(definition)
        if wanted_profile is not None:
            profile = self._call("GET", f"/realms/{realm}/users/profile").json()
            have = {a["name"] for a in profile.get("attributes") or []}
            missing = [a for a in wanted_profile.get("attributes", []) if a["name"] not in have]
            if missing:
                profile["attributes"] = [*(profile.get("attributes") or []), *missing]
                self._call("PUT", f"/realms/{realm}/users/profile", json=profile)
                added += [f"attribute {a['name']}" for a in missing]
        return added

    def delete_realm(self, realm: str = REALM) -> bool:
        """Delete the realm with everything in it; True when there was one."""
        return self._call("DELETE", f"/realms/{realm}").status_code != 404

    # -- people ----------------------------------------------------------------------------
    def user_id(self, username: str) -> str | None:
        found = self._call(
            "GET", f"/realms/{REALM}/users", params={"username": username, "exact": "true"}
        ).json()
        return str(found[0]["id"]) if found else None

    def _role(self, name: str) -> dict[str, Any]:
        if name not in self._role_cache:
            r = self._call("GET", f"/realms/{REALM}/roles/{name}")
            if r.status_code == 404:
                raise IdentityError(f"realm role {name!r} does not exist")
            self._role_cache[name] = r.json()
        return self._role_cache[name]

    def _grant_roles(self, user_id: str, roles: Iterable[str]) -> None:
        self._call(
            "POST",
            f"/realms/{REALM}/users/{user_id}/role-mappings/realm",
            json=[self._role(r) for r in roles],
        )

    def ensure_user(self, person: Person, password: str) -> str:
        """Create or update `person` with `password`; returns the user's id (its `sub`)."""
        attributes = {"district": [person.district]}
        if person.market_id:
            attributes["market_id"] = [person.market_id]
        if person.department:
            attributes["department"] = [person.department]
        body: dict[str, Any] = {
            "username": person.username,
            "enabled": True,
            "emailVerified": True,
            "firstName": person.first_name or person.username,
            "attributes": attributes,
            "requiredActions": [],
        }
        if person.last_name:
            body["lastName"] = person.last_name
        user_id = self.user_id(person.username)
        if user_id is None:
            body["credentials"] = [{"type": "password", "value": password, "temporary": False}]
            r = self._call("POST", f"/realms/{REALM}/users", json=body)
            if r.status_code == 409:  # created by a concurrent caller
                user_id = self.user_id(person.username)
            else:
                user_id = r.headers["location"].rsplit("/", 1)[-1]
        else:
            self._call("PUT", f"/realms/{REALM}/users/{user_id}", json=body)
            self._call(
                "PUT",
                f"/realms/{REALM}/users/{user_id}/reset-password",
                json={"type": "password", "value": password, "temporary": False},
            )
        if user_id is None:
            raise IdentityError(f"user {person.username!r} could not be created")
        self._grant_roles(user_id, person.roles)
        return user_id

    def set_enabled(self, username: str, enabled: bool) -> None:
        user_id = self.user_id(username)
        if user_id is None:
            raise IdentityError(f"no user {username!r}")
        self._call("PUT", f"/realms/{REALM}/users/{user_id}", json={"enabled": enabled})

    # -- machine clients -------------------------------------------------------------------
    def _client(self, client_id: str) -> dict[str, Any]:
        found = self._call("GET", f"/realms/{REALM}/clients", params={"clientId": client_id}).json()
        if not found:
            raise IdentityError(f"client {client_id!r} is not in the realm")
        return dict(found[0])

    def ensure_machine_client(
        self, client_id: str, secret: str, roles: Iterable[str], district: str
    ) -> None:
        """Set the client's secret, and its service account's roles and district."""
        client = self._client(client_id)
        self._call(
            "PUT",
            f"/realms/{REALM}/clients/{client['id']}",
            json={**client, "secret": secret},
        )
        account = self._call(
            "GET", f"/realms/{REALM}/clients/{client['id']}/service-account-user"
        ).json()
        self._call(
            "PUT",
            f"/realms/{REALM}/users/{account['id']}",
            json={**account, "attributes": {"district": [district]}},
        )
        self._grant_roles(account["id"], roles)

    def set_client_token_lifespan(self, client_id: str, seconds: int) -> None:
        client = self._client(client_id)
        attributes = {**client.get("attributes", {}), "access.token.lifespan": str(seconds)}
        self._call(
            "PUT",
            f"/realms/{REALM}/clients/{client['id']}",
            json={**client, "attributes": attributes},
        )

    def add_redirect_uri(self, client_id: str, uri: str) -> bool:
        """Let `client_id` send people back to `uri` (an exact URI, or one ending in `*`), and
        accept requests from its origin; True when the client changed. The tests register their
        console's address this way (its port is picked per run)."""
        client = self._client(client_id)
        parts = urlsplit(uri)
        origin = f"{parts.scheme}://{parts.netloc}"
        redirects = list(client.get("redirectUris") or [])
        origins = list(client.get("webOrigins") or [])
        if uri in redirects and origin in origins:
            return False
        redirects += [uri] if uri not in redirects else []
        origins += [origin] if origin not in origins else []
        self._call(
            "PUT",
            f"/realms/{REALM}/clients/{client['id']}",
            json={**client, "redirectUris": redirects, "webOrigins": origins},
        )
        return True

    def remove_redirect_uri(self, client_id: str, uri: str) -> None:
        """Undo `add_redirect_uri`: `uri` and its origin are no longer accepted."""
        client = self._client(client_id)
        parts = urlsplit(uri)
        origin = f"{parts.scheme}://{parts.netloc}"
        redirects = [u for u in client.get("redirectUris") or [] if u != uri]
        origins = [o for o in client.get("webOrigins") or [] if o != origin]
        self._call(
            "PUT",
            f"/realms/{REALM}/clients/{client['id']}",
            json={**client, "redirectUris": redirects, "webOrigins": origins},
        )

    def ensure_direct_grant_client(self, client_id: str, token_lifespan_s: int) -> None:
        """A public direct-grant client like `sentinel-cli` with its own token lifespan (the
        tests use a short one to watch a withdrawn person's last token expire)."""
        found = self._call("GET", f"/realms/{REALM}/clients", params={"clientId": client_id})
        if found.json():
            self.set_client_token_lifespan(client_id, token_lifespan_s)
            return
        self._call(
            "POST",
            f"/realms/{REALM}/clients",
            json={
                "clientId": client_id,
                "enabled": True,
                "publicClient": True,
                "standardFlowEnabled": False,
                "directAccessGrantsEnabled": True,
                "defaultClientScopes": ["sentinel"],
                "attributes": {"access.token.lifespan": str(token_lifespan_s)},
            },
        )
