"""Telemetry HTTP API: the public ingest endpoint, risks for people to see and acknowledge,
what each terminal last reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from contracts import topics
from contracts.people import Actor
from services.runtime.app import state
from services.runtime.auth import Principal, require, within_or_absent
from services.runtime.errors import NotFound
from services.runtime.inputs import storable_router
from services.runtime.ratelimit import rate_limited
from services.telemetry.domain import LastReport
from services.telemetry.projections import TerminalInfo
from services.telemetry.service import Telemetry
from services.telemetry.store import RiskQuery
from services.telemetry.verification import Rejected, TerminalsAndClock, check

router = APIRouter()
# The staff's routes (risks, terminals) refuse text Postgres cannot hold (NUL, lone surrogates)
# up front, naming the field; `/ingest` does not: there each reading is judged on its own, as on
# the topic. They join `router` at the end of the module.
staff = storable_router()
Reader = Annotated[Principal, Depends(require("inspector", "handler", "clerk", "leader"))]
Inspector = Annotated[Principal, Depends(require("inspector"))]
MAX_INGEST = 1000


def _as_sent(reading: Any) -> tuple[Any, bytes]:
    """What to judge for one item of a request, and its JSON bytes (to forward or to quote).

    orjson, which reads the topic, neither writes nor reads an integer beyond 64 bits or a lone
    surrogate (`"\\ud800"`), both of which a JSON body may hold. Such an item is judged as its
    JSON text, as the topic's consumer would judge those very bytes, instead of failing the
    whole request."""
    try:
        raw = orjson.dumps(reading)
    except TypeError:
        raw = json.dumps(reading, separators=(",", ":")).encode()
        return raw, raw
    return (reading if isinstance(reading, dict) else raw), raw


Tel = Annotated[Telemetry, Depends(state("telemetry"))]


@router.post(
    "/ingest",
    tags=["readings"],
    summary="signed readings from terminals (public)",
    dependencies=[Depends(rate_limited("ingest"))],
)
async def ingest(
    request: Request,
    tel: Tel,
    readings: Annotated[list[Any], Body(max_length=MAX_INGEST, description="signed readings")],
) -> dict[str, Any]:
    """Each reading is verified as on the topic; accepted ones go to `telemetry.readings.v1`,
    rejected ones to `telemetry.rejected.v1`, and the answer says which, reading by reading."""
    now = tel.now()
    received = datetime.fromtimestamp(now, UTC)
    items = [_as_sent(r) for r in readings]
    # Only terminals the registry knows have a state (and a NUL in an unknown id would fail the
    # query).
    known = tel.directory.terminals
    ids = [
        r["terminal_id"]
        for r, _ in items
        if isinstance(r, dict)
        and isinstance(r.get("terminal_id"), str)
        and r["terminal_id"] in known
    ]
    # Seqs of batches this replica holds pending count too (a replay of one is rejected here).
    seqs = await tel.last_seqs(ids)
    # Readings of one request may follow each other: a seq accepted here counts for the next.
    producer = request.app.state.service.messaging.producer
    results: list[dict[str, Any]] = []
    futures = []
    against = TerminalsAndClock(
        tel.directory, lambda tid: seqs.get(tid, -1), now, tel.settings.future_tolerance_s
    )
    for index, (reading, raw) in enumerate(items):
        verdict = check(reading, against)
        if isinstance(verdict, Rejected):
            topic, event, key = tel.rejection(raw, verdict, received, "ingest")
            futures.append(await producer.send(topic, event.to_json(), key=key.encode()))
            results.append(
                {
                    "index": index,
                    "status": "rejected",
                    "reason": verdict.reason,
                    "field": verdict.field,
                    "detail": verdict.detail,
                }
            )
            continue
        seqs[verdict.terminal.id] = verdict.reading.seq
        futures.append(
            await producer.send(
                topics.TELEMETRY_READINGS.name, raw, key=verdict.terminal.id.encode()
            )
        )
        results.append({"index": index, "status": "accepted"})
    for future in futures:
        await future
    accepted = sum(r["status"] == "accepted" for r in results)
    return {"accepted": accepted, "rejected": len(results) - accepted, "results": results}


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=1000)


@staff.get("/risks", tags=["risks"])
async def list_risks(
    tel: Tel,
    who: Reader,
    state: Annotated[Literal["open", "cleared"] | None, Query()] = None,
    market_id: Annotated[str | None, Query()] = None,
    terminal_id: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    async with tel.uow() as work:
        items = await work.stores.telemetry.risks(
            RiskQuery(state, market_id, terminal_id, who.listing_district(), limit)
        )
    return {"items": items}


@staff.get("/risks/{risk_id}", tags=["risks"])
async def get_risk(risk_id: str, tel: Tel, who: Reader) -> dict[str, Any]:
    """One risk with its evidence; a cold-chain risk's carries `readings`, the temperature
    curve of its window. Another district's risk answers 404, as if absent."""
    async with tel.uow() as work:
        risk = await work.stores.telemetry.risk(risk_id)
    if risk is None or not who.may_act_in(risk["district"]):
        raise NotFound(f"no risk {risk_id!r}")
    return risk


@staff.post("/risks/{risk_id}/acknowledge", tags=["risks"])
async def acknowledge(
    risk_id: str,
    tel: Tel,
    who: Inspector,
    body: Annotated[AcknowledgeIn | None, Body()] = None,
) -> dict[str, Any]:
    note = body.note if body else None
    return await tel.acknowledge(
        risk_id, Actor.of(who.subject, who.display_name), note, who.listing_district()
    )


# --- what terminals last reported ---------------------------------------------------------------
# The stored states trail the readings (docs/operations.md, "Running several replicas"); this
# replica's own held states are read in where newer, other replicas' are not.
LAG = (
    " Terminals' states are written every few batches, so the answer may lag the newest"
    " readings by up to the flush interval (`TELEMETRY_STATE_FLUSH_INTERVAL_S`, 1 s by default):"
    " what the answering replica has judged itself is included at once, what other replicas"
    " judged once they have written it."
)


class LastReported(BaseModel):
    seq: int = Field(description="the last accepted reading's seq")
    ts: datetime | None = Field(description="the last accepted reading's time (event time)")
    heard_at: datetime | None = Field(
        description="when the terminal was last heard of: its last reading's time or arrival"
    )
    temp_c: float | None = Field(description="the last temperature (cold chain only)")
    open_risks: int = Field(description="how many of the terminal's risks are open")


class TerminalReport(BaseModel):
    terminal_id: str
    kind: str
    market_id: str
    district: str
    merchant_id: str | None
    stall_no: str | None
    status: str
    last: LastReported | None = Field(
        description="what it last reported; null: no reading has arrived yet"
    )


class TerminalReports(BaseModel):
    items: list[TerminalReport]


def _at(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _report(t: TerminalInfo, last: LastReport | None) -> TerminalReport:
    return TerminalReport(
        terminal_id=t.id,
        kind=t.kind,
        market_id=t.market_id,
        district=t.district,
        merchant_id=t.merchant_id,
        stall_no=t.stall_no,
        status=t.status,
        last=None
        if last is None
        else LastReported(
            seq=last.seq,
            ts=_at(last.ts),
            heard_at=_at(last.heard),
            temp_c=last.temp_c,
            open_risks=last.open_risks,
        ),
    )


@staff.get(
    "/terminals",
    tags=["terminals"],
    response_model=TerminalReports,
    description="What each terminal of the market last reported, by terminal id: every"
    " terminal telemetry knows of the market (of the caller's district), `last` null until a"
    " reading of it has been accepted." + LAG,
)
async def list_terminals(
    tel: Tel, who: Reader, market_id: Annotated[str, Query(min_length=1)]
) -> TerminalReports:
    terminals = tel.market_terminals(market_id, who.listing_district())
    reports = await tel.last_reports([t.id for t in terminals])
    return TerminalReports(items=[_report(t, reports.get(t.id)) for t in terminals])


@staff.get(
    "/terminals/{terminal_id}",
    tags=["terminals"],
    response_model=TerminalReport,
    description="What one terminal last reported; another district's terminal, or one"
    " telemetry does not know, answers 404." + LAG,
)
async def get_terminal(terminal_id: str, tel: Tel, who: Reader) -> TerminalReport:
    terminal = within_or_absent(
        who, tel.directory.terminals.get(terminal_id), "terminal", terminal_id
    )
    reports = await tel.last_reports([terminal_id])
    return _report(terminal, reports.get(terminal_id))


router.include_router(staff)
