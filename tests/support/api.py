"""A service's HTTP client in integration tests: each call carries a token of `role` in
`district` (an admin's of the whole city unless the test says otherwise)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.support import identity


@dataclass
class RoleClient:
    client: httpx.AsyncClient

    def token(self, role: str = "admin", district: str = "*") -> dict[str, str]:
        return identity.bearer(role, district)

    async def post(
        self, path: str, body: object, role: str = "admin", district: str = "*"
    ) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.token(role, district))

    async def put(
        self, path: str, body: object, role: str = "admin", district: str = "*"
    ) -> httpx.Response:
        return await self.client.put(path, json=body, headers=self.token(role, district))

    async def patch(
        self, path: str, body: object, role: str = "admin", district: str = "*"
    ) -> httpx.Response:
        return await self.client.patch(path, json=body, headers=self.token(role, district))

    async def get(self, path: str, role: str = "admin", district: str = "*") -> httpx.Response:
        return await self.client.get(path, headers=self.token(role, district))
