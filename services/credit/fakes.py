"""In-memory credit stores for use-case tests: the same answers as the Postgres ones (the store
suite, tests/integration/credit/test_store_suite.py, runs against both).

Locks have nothing to guard in one process, so `lock` and `lock_honours` are no-ops here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from contracts.duties import DutiesUpdated
from contracts.registry import MERCHANT_LEFT
from services.credit.domain import Adjustment, Entry
from services.credit.domain.follow_ons import FOLLOW_ON_KIND, CorrectedFinding
from services.credit.domain.objections import Objection, refused_repair
from services.credit.domain.public import MerchantGrade
from services.credit.store import (
    CaseDecided,
    ComplaintSeen,
    Drawing,
    Duties,
    FiledQuery,
    GradeQuery,
    ObjectionQuery,
    Observation,
    OrderSeen,
    RiskSeen,
    StatusSeen,
    StoredCredit,
    Stores,
)
from services.runtime.collation import stall_key


def _counts(pairs: Sequence[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for group, value in pairs:
        inner = out.setdefault(group, {})
        inner[value] = inner.get(value, 0) + 1
    return out


class FakeLedger:
    """`statuses`: the merchants' statuses the context holds (shared with it, as the tables are
    in one database): one who left counts in no market's grades."""

    def __init__(self, statuses: Mapping[str, StatusSeen] | None = None) -> None:
        self.statuses: Mapping[str, StatusSeen] = {} if statuses is None else statuses
        self.adjustments: dict[tuple[str, str], Adjustment] = {}
        self.held: dict[str, StoredCredit] = {}
        self.graded_at: dict[str, datetime] = {}
        self.corrected: dict[tuple[str, str, datetime], CorrectedFinding] = {}

    async def lock(self, merchant_id: str) -> None:
        return None

    async def lock_codes(self, codes: Sequence[str]) -> None:
        return None

    async def add(self, a: Adjustment) -> bool:
        if (a.event_id, a.kind) in self.adjustments:
            return False
        self.adjustments[(a.event_id, a.kind)] = a
        return True

    async def ledger(self, merchant_id: str) -> list[Adjustment]:
        subject = set(await self.subject(merchant_id))
        found = [a for a in self.adjustments.values() if a.merchant_id in subject]
        return sorted(found, key=lambda a: (a.occurred_at, a.event_id))

    async def subject(self, merchant_id: str) -> list[str]:
        codes = await self.subjects()
        code = codes.get(merchant_id)
        return sorted({merchant_id, *(m for m, c in codes.items() if code and c == code)})

    async def subjects(self) -> dict[str, str]:
        return {m: s.credit_code for m, s in self.statuses.items() if s.credit_code is not None}

    async def credit(self, merchant_id: str) -> StoredCredit | None:
        return self.held.get(merchant_id)

    async def credits(self, merchant_ids: Sequence[str]) -> dict[str, StoredCredit]:
        return {m: self.held[m] for m in merchant_ids if m in self.held}

    async def save(self, stored: StoredCredit) -> None:
        c = stored.credit
        held = self.held.get(c.merchant_id)
        # A grade keeps the moment it was first given while it holds.
        if held is None or held.credit.grade != c.grade or c.merchant_id not in self.graded_at:
            self.graded_at[c.merchant_id] = c.as_of
        self.held[c.merchant_id] = stored

    async def due_for_refade(self, now: datetime, current_version: str, limit: int) -> list[str]:
        due = [
            m
            for m, s in self.held.items()
            if (s.credit.next_fade_at is not None and s.credit.next_fade_at <= now)
            or s.credit.policy_version != current_version
        ]
        return sorted(due)[:limit]

    async def scores(self) -> dict[str, tuple[int, str]]:
        return {m: (s.credit.score, s.credit.grade) for m, s in self.held.items()}

    async def adjustment_keys(self) -> set[tuple[str, str, int, str]]:
        return {(a.event_id, a.kind, a.delta, a.policy_version) for a in self.adjustments.values()}

    async def grade_counts(self) -> dict[str, int]:
        return _counts([("", s.credit.grade) for s in self.held.values()]).get("", {})

    async def grades_by_market(self) -> dict[str, dict[str, int]]:
        left = {m for m, seen in self.statuses.items() if seen.status == MERCHANT_LEFT}
        trading = [s for m, s in self.held.items() if m not in left]
        return _counts([(s.market_id, s.credit.grade) for s in trading])

    async def market_grade_counts(self, market_id: str) -> dict[str, int]:
        return (await self.grades_by_market()).get(market_id, {})

    async def graded(self, merchant_id: str) -> tuple[str, datetime | None] | None:
        held = self.held.get(merchant_id)
        return None if held is None else (held.credit.grade, self.graded_at.get(merchant_id))

    async def ledger_before(self, end: datetime) -> list[Adjustment]:
        found = [a for a in self.adjustments.values() if a.occurred_at < end]
        return sorted(found, key=lambda a: (a.merchant_id, a.occurred_at, a.event_id))

    async def undone_events(self, before: datetime) -> set[str]:
        return {
            a.event_id
            for a in self.adjustments.values()
            if a.kind == FOLLOW_ON_KIND and a.occurred_at < before
        }

    async def corrected_finding(self, found: CorrectedFinding) -> None:
        self.corrected.setdefault((found.merchant_id, found.chain, found.found_at), found)

    async def corrected_findings(self, merchant_id: str, chain: str) -> list[CorrectedFinding]:
        found = [
            f for f in self.corrected.values() if (f.merchant_id, f.chain) == (merchant_id, chain)
        ]
        return sorted(found, key=lambda f: f.found_at)

    async def ledger_facts(
        self,
        kinds: Sequence[str],
        start: datetime,
        end: datetime,
        excluding: Collection[tuple[str, str]] = (),
    ) -> dict[str, list[tuple[str, datetime]]]:
        out: dict[str, list[tuple[str, datetime]]] = {}
        for a in self.adjustments.values():
            if a.kind in kinds and start <= a.occurred_at < end and a.key not in excluding:
                out.setdefault(a.merchant_id, []).append((a.kind, a.occurred_at))
        return out


class FakeContext:
    def __init__(self) -> None:
        self.held_statuses: dict[str, StatusSeen] = {}
        self.observations: dict[tuple[str, str], Observation] = {}
        self.risks: dict[str, RiskSeen] = {}
        self.cleared: dict[str, datetime] = {}
        self.complaints: dict[str, ComplaintSeen] = {}
        self.inspections: dict[str, tuple[str, str, datetime]] = {}
        self.rectifications: dict[str, OrderSeen] = {}
        self.cases: dict[str, CaseDecided] = {}
        self.market_duties: dict[tuple[str, date], DutiesUpdated] = {}

    async def statuses(self, merchant_ids: Sequence[str]) -> dict[str, StatusSeen]:
        held = self.held_statuses
        return {m: held[m] for m in merchant_ids if m in held}

    async def set_statuses(self, seen: Mapping[str, StatusSeen]) -> None:
        for merchant_id, status in seen.items():
            held = self.held_statuses.get(merchant_id)
            if status.credit_code is None and held is not None:
                status = replace(status, credit_code=held.credit_code)
            self.held_statuses[merchant_id] = status

    async def observe(self, seen: Observation) -> None:
        self.observations.setdefault((seen.event_id, seen.kind), seen)

    async def observed(
        self,
        start: datetime,
        end: datetime,
        passed: Collection[str] = (),
        voided: Collection[str] = (),
    ) -> dict[tuple[str, str], tuple[int, int]]:
        out: dict[tuple[str, str], tuple[int, int]] = {}
        for o in self.observations.values():
            if o.kind == "rectification" and o.event_id in voided:
                continue
            if start <= o.at < end:
                n, good = out.get((o.market_id, o.kind), (0, 0))
                good_after_all = o.kind == "inspection" and o.event_id in passed
                out[(o.market_id, o.kind)] = (n + 1, good + int(o.good or good_after_all))
        return out

    async def last_inspection(self, merchant_id: str) -> datetime | None:
        seen = [
            o.at
            for o in self.observations.values()
            if o.kind == "inspection" and o.merchant_id == merchant_id
        ]
        return max(seen, default=None)

    async def risk_open(self, risk: RiskSeen) -> None:
        held = self.risks.get(risk.risk_id)
        self.risks[risk.risk_id] = risk if held is None else replace(held, severity=risk.severity)

    async def risk_cleared(self, risk_id: str, at: datetime) -> None:
        if risk_id in self.risks:
            self.cleared.setdefault(risk_id, at)

    async def open_food_safety_risks(self, at: datetime) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.risks.values():
            cleared = self.cleared.get(r.risk_id)
            if (
                r.category == "food_safety"
                and r.raised_at < at
                and (cleared is None or cleared >= at)
            ):
                out[r.market_id] = out.get(r.market_id, 0) + 1
        return out

    async def complaint_seen(self, seen: ComplaintSeen) -> None:
        held = self.complaints.get(seen.complaint_id)
        if held is None:
            self.complaints[seen.complaint_id] = seen
        elif held.version < seen.version:
            self.complaints[seen.complaint_id] = replace(
                held, state=seen.state, version=seen.version
            )

    async def roots(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for i in ids:
            if (r := self.risks.get(i)) is not None:
                found[i] = {"kind": "risk", "id": i, "rule": r.rule, "category": r.category}
                found[i] |= {"severity": r.severity, "at": r.raised_at.isoformat()}
            if (c := self.complaints.get(i)) is not None:
                found[i] = {"kind": "complaint", "id": i, "category": c.category}
                found[i] |= {"state": c.state, "at": c.received_at.isoformat()}
        return found

    async def inspected(self, merchant_id: str, task_id: str, outcome: str, at: datetime) -> None:
        held = self.inspections.get(merchant_id)
        if held is None or held[2] < at:
            self.inspections[merchant_id] = (task_id, outcome, at)

    async def rectification(self, order: OrderSeen) -> None:
        held = self.rectifications.get(order.rectification_id)
        if held is None:
            self.rectifications[order.rectification_id] = order
        elif held.version < order.version:
            changed = replace(
                held, state=order.state, deadline=order.deadline, version=order.version
            )
            self.rectifications[order.rectification_id] = changed

    async def last_inspection_of(self, merchant_id: str) -> tuple[datetime, str | None] | None:
        held = self.inspections.get(merchant_id)
        if held is not None:
            return held[2], held[1]
        at = await self.last_inspection(merchant_id)
        return None if at is None else (at, None)

    async def open_rectifications(self, merchant_id: str) -> tuple[int, datetime | None]:
        open_ = [
            r
            for r in self.rectifications.values()
            if r.merchant_id == merchant_id and r.state == "open"
        ]
        deadlines = [r.deadline for r in open_ if r.deadline is not None]
        return len(open_), min(deadlines, default=None)

    async def case_decided(self, case: CaseDecided) -> bool:
        if case.case_id in self.cases:
            return False
        self.cases[case.case_id] = case
        return True

    async def keep_duties(self, data: DutiesUpdated) -> bool:
        held = self.market_duties.get((data.market_id, data.as_of))
        if held is not None and held.updated_at >= data.updated_at:
            return False
        self.market_duties[(data.market_id, data.as_of)] = data
        return True

    async def duties(self, day: date) -> dict[str, Duties]:
        latest: dict[str, DutiesUpdated] = {}
        for (market_id, as_of), d in sorted(self.market_duties.items()):
            if as_of <= day:
                latest[market_id] = d
        return {
            m: (d.self_inspection_rate, d.report_on_time_rate, d.certified_share)
            for m, d in latest.items()
        }


class FakeAssessments:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[dict[str, Any], datetime]] = {}

    async def save_assessment(
        self, assessment_id: str, data: dict[str, Any], computed_at: datetime
    ) -> None:
        self.rows.setdefault(assessment_id, (data, computed_at))

    async def last_published(self) -> datetime | None:
        return max((at for _, at in self.rows.values()), default=None)

    async def latest_assessment(self, market_id: str) -> dict[str, Any] | None:
        mine = [(at, d) for d, at in self.rows.values() if d.get("market_id") == market_id]
        return None if not mine else dict(max(mine, key=lambda r: r[0])[1])


class FakeHonours:
    def __init__(self) -> None:
        self.drawings: dict[str, Drawing] = {}
        self.entries: dict[tuple[str, str], list[Entry]] = {}

    async def lock_honours(self) -> None:
        return None

    async def drawing(self, month: str | None = None) -> dict[str, Any] | None:
        if month is None:
            month = max(self.drawings, default=None)
        held = None if month is None else self.drawings.get(month)
        if held is None:
            return None
        row = {f: getattr(held, f) for f in ("month", "drawing_id", "policy_version")}
        row |= {"period_from": held.period[0], "period_to": held.period[1]}
        return row | {"drawn_at": held.drawn_at, "drawn_by": held.drawn_by}

    async def save_drawing(self, drawing: Drawing) -> None:
        if drawing.month in self.drawings:
            raise ValueError(f"the drawing of {drawing.month} is already stored")
        self.drawings[drawing.month] = drawing

    async def save_honour_entries(self, month: str, change: str, entries: Sequence[Entry]) -> None:
        # A new list, not the held one extended: a rolled-back unit's copy of the table holds
        # the lists as they were (services/runtime/fake_tables.py).
        self.entries[(month, change)] = [*self.entries.get((month, change), []), *entries]

    async def honour_entries(
        self, month: str, change: str, district: str | None = None
    ) -> list[Entry]:
        found = [
            e
            for e in self.entries.get((month, change), [])
            if district is None or e.district == district
        ]
        return sorted(found, key=lambda e: (e.kind, e.entity, e.district, e.entity_id))


class FakeGradeListing:
    """The registry view's merchants (`merchants`, as the view's rows: id, name, market_id,
    market_name, district, stall_no) joined with the fake ledger's grades."""

    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger
        self.merchants: list[dict[str, Any]] = []

    async def merchant_grades(self, query: GradeQuery) -> tuple[list[MerchantGrade], int]:
        found = []
        for m in sorted(
            self.merchants,
            key=lambda m: (m["district"], m["market_id"], stall_key(m["stall_no"]), m["id"]),
        ):
            if m.get("status") == MERCHANT_LEFT:
                continue
            row = {k: v for k, v in m.items() if k != "status"}
            graded = await self.ledger.graded(m["id"])
            if (
                (query.q is None or query.q.casefold() in m["name"].casefold())
                and (query.district is None or m["district"] == query.district)
                and (query.market_id is None or m["market_id"] == query.market_id)
                and (query.grade is None or (graded is not None and graded[0] == query.grade))
            ):
                found.append(
                    MerchantGrade(
                        **row,
                        grade=graded[0] if graded else None,
                        graded_at=graded[1] if graded else None,
                    )
                )
        end = None if query.limit is None else query.offset + query.limit
        return found[query.offset : end], len(found)


class FakeObjections:
    def __init__(self) -> None:
        self.held: dict[str, Objection] = {}

    async def add_objection(self, objection: Objection) -> bool:
        for held in await self.objections_of(objection.event_id, objection.kind):
            # The two unique indexes of migrations 0007 and 0009: a repair refused may be
            # asked for again.
            same = held.ground == objection.ground and not refused_repair(held)
            if same or held.state != "upheld":
                return False
        self.held[objection.objection_id] = objection
        return True

    async def objection(self, objection_id: str, *, lock: bool = False) -> Objection | None:
        return self.held.get(objection_id)

    async def objections_of(self, event_id: str, kind: str) -> list[Objection]:
        held = self.held.values()
        found = [o for o in held if o.key == (event_id, kind) and o.state != "withdrawn"]
        return sorted(found, key=lambda o: (o.filed_at, o.objection_id))

    async def save_objection(self, objection: Objection) -> None:
        self.held[objection.objection_id] = objection

    async def objections(self, query: ObjectionQuery) -> list[Objection]:
        found = [
            o
            for o in self.held.values()
            if query.district in (None, o.district)
            and query.merchant_id in (None, o.merchant_id)
            and query.state in (None, o.state)
            and (query.overdue_as_of is None or o.is_overdue(query.overdue_as_of))
            and (
                query.closed_from is None
                or o.decided_at is None
                or o.decided_at >= query.closed_from
            )
        ]
        return sorted(found, key=lambda o: (o.filed_at, o.objection_id))

    async def filed(self, query: FiledQuery) -> list[Objection]:
        def order(o: Objection) -> tuple[datetime, str]:
            return (o.filed_at, o.objection_id)

        found = [
            o
            for o in self.held.values()
            if query.window.holds(o.filed_at)
            and (query.after is None or order(o) < (query.after.at, query.after.id))
            and query.district in (None, o.district)
        ]
        return sorted(found, key=order, reverse=True)[: query.limit]

    async def open_counts(self, now: datetime) -> dict[tuple[str, bool], int]:
        counts: dict[tuple[str, bool], int] = {}
        for o in self.held.values():
            if o.state == "open":
                key = (o.district, o.is_overdue(now))
                counts[key] = counts.get(key, 0) + 1
        return counts


class FakeStores(Stores):
    """The fakes of one service, the grade listing reading the ledger's grades."""

    def __init__(self) -> None:
        context = FakeContext()
        ledger = FakeLedger(context.held_statuses)
        super().__init__(
            ledger,
            context,
            FakeAssessments(),
            FakeHonours(),
            FakeGradeListing(ledger),
            FakeObjections(),
        )


def fake_stores() -> FakeStores:
    return FakeStores()
