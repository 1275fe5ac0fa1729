"""Faults on command: a small HTTP endpoint (loopback by default) beside the running simulator.

    POST   /faults        body: fault specs, one per line (or JSON: "spec", ["spec", ...],
                          {"spec": ...} or {"specs": [...]}) → 201 with the faults created
    GET    /faults        every fault of the run with its state (scheduled, active, stopped)
    GET    /faults/{id}   one fault
    DELETE /faults/{id}   stop it at the current event time
    GET    /status        counts, event time, sinks
    GET    /healthz       {"status": "ok"}

Plain HTTP/1.1 on asyncio streams, one request per connection: the simulator needs no web
framework for five routes, and `curl` is the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson

from simulator.engine import Engine
from simulator.faults import FaultError, FaultSpec, parse_spec, read_schedule

log = logging.getLogger("simulator.control")
Handler = Callable[[str, str, bytes], tuple[int, Any]]
MAX_BODY = 64 * 1024
REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
}


def specs_of(body: bytes) -> list[FaultSpec]:
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return read_schedule(body.decode("utf-8", errors="replace").splitlines())
    if isinstance(data, dict):
        data = data.get("specs", data.get("spec"))
    if isinstance(data, str):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
        raise FaultError('send fault specs as text lines, or JSON {"spec": "door_open:..."}')
    return [parse_spec(s) for s in data]


class Controller:
    """The routes, on the engine of the run (same event loop: no locking needed)."""

    def __init__(self, engine: Engine, status: Callable[[], dict[str, Any]]) -> None:
        self.engine, self.status = engine, status

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        path = path.rstrip("/") or "/"
        if path == "/healthz":
            return 200, {"status": "ok"}
        if path == "/status":
            return 200, self.status()
        if path == "/faults":
            if method == "GET":
                return 200, self.engine.faults.describe()
            if method != "POST":
                return 405, {"error": "use GET or POST on /faults"}
            try:
                specs = specs_of(body)
                if not specs:
                    raise FaultError("no fault spec in the body")
                created = [self.engine.add_fault(spec) for spec in specs]
            except FaultError as exc:
                return 400, {"error": "invalid_fault", "message": str(exc)}
            for fault in created:
                log.info("fault_commanded", extra={"fault": fault.describe()})
            return 201, [f.describe() for f in created]
        if path.startswith("/faults/"):
            fault_id = path.removeprefix("/faults/")
            found = self.engine.faults.get(fault_id)
            if found is None:
                return 404, {"error": "not_found", "message": f"no fault {fault_id!r}"}
            if method == "GET":
                return 200, found.describe()
            if method == "DELETE":
                return 200, self.engine.stop_fault(fault_id).describe()
            return 405, {"error": "use GET or DELETE on /faults/{id}"}
        return 404, {"error": "not_found", "message": f"no route {path}"}


class ControlServer:
    def __init__(self, host: str, port: int, handle: Handler) -> None:
        self.host, self.port, self.handle = host, port, handle
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, payload = await self._request(reader)
            body = orjson.dumps(payload)
            head = (
                f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _request(self, reader: asyncio.StreamReader) -> tuple[int, Any]:
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        except asyncio.LimitOverrunError:
            return 413, {"error": "headers too large"}
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return 400, {"error": "bad request line"}
        method, target = parts[0].upper(), parts[1]
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            return 400, {"error": "bad content-length"}
        if length > MAX_BODY:
            return 413, {"error": f"body over {MAX_BODY} bytes"}
        body = await asyncio.wait_for(reader.readexactly(length), timeout=10) if length else b""
        return self.handle(method, urlsplit(target).path, body)
