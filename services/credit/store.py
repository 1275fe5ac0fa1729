"""The credit stores: a protocol per store (what the use cases call), and its Postgres
implementation (SQL only). Every method runs on the connection and transaction of the unit of work
(services/runtime/unit_of_work.py), so an adjustment, the score it moves and the event announcing
it commit together. The in-memory fakes are in fakes.py; one suite runs against both
(tests/integration/credit/test_store_suite.py)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import asyncpg

from contracts.duties import DutiesUpdated
from services.credit.domain import Adjustment, Entry, MerchantCredit
from services.credit.domain.follow_ons import FOLLOW_ON_KIND, CorrectedFinding
from services.credit.domain.objections import Objection
from services.credit.domain.public import MerchantGrade
from services.runtime import serial
from services.runtime.collation import stall_order
from services.runtime.db import OnConnection
from services.runtime.paging import Keyset, Position, Window

Duties = tuple[float | None, float | None, float | None]


@dataclass(frozen=True, slots=True)
class StoredCredit:
    credit: MerchantCredit
    market_id: str
    district: str
    version: int


# What other services told credit, as the context store keeps it.
@dataclass(frozen=True, slots=True)
class StatusSeen:
    """The registry status credit last took of a merchant, and the version of its snapshot;
    with its 统一社会信用代码, which makes the registrations of one business one credit subject."""

    status: str
    version: int
    credit_code: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """An event the assessment counts: an inspection, a rectification or a complaint's limit,
    good or not."""

    event_id: str
    kind: str
    market_id: str
    district: str
    merchant_id: str | None
    at: datetime
    good: bool


# What the context keeps of a risk, a complaint, an order: fields named as in the event's data,
# which the use cases load them from whole (a field the event lacks fails loudly).
@dataclass(frozen=True, slots=True)
class RiskSeen:
    risk_id: str
    rule: str
    category: str
    severity: str
    market_id: str
    merchant_id: str | None
    raised_at: datetime


@dataclass(frozen=True, slots=True)
class ComplaintSeen:
    complaint_id: str
    category: str
    state: str
    merchant_id: str | None
    received_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class OrderSeen:
    """A rectification order as the public page shows it."""

    rectification_id: str
    merchant_id: str | None
    market_id: str
    state: str
    deadline: datetime | None
    version: int


@dataclass(frozen=True, slots=True)
class CaseDecided:
    case_id: str
    merchant_id: str | None
    market_id: str
    sanction: str
    decided_at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class Drawing:
    """A month's drawing of the honour and warning list (its entries are stored apart)."""

    month: str
    drawing_id: str
    policy_version: str
    period: tuple[datetime, datetime]
    drawn_at: datetime
    drawn_by: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class GradeQuery:
    """The public listing's filters (name contains `q`) and page; `limit=None`: every one."""

    q: str | None = None
    district: str | None = None
    market_id: str | None = None
    grade: str | None = None
    offset: int = 0
    limit: int | None = None


class Ledger(Protocol):
    """The adjustments and the scores they make."""

    async def lock(self, merchant_id: str) -> None:
        """One writer per credit subject at a time (the merchant's 统一社会信用代码, once known;
        else the merchant), whichever topic the event came from."""
        ...

    async def lock_codes(self, codes: Sequence[str]) -> None:
        """`lock` for the subjects of these codes, in the order given (sorted by the caller)."""
        ...

    async def add(self, a: Adjustment) -> bool: ...

    async def ledger(self, merchant_id: str) -> list[Adjustment]:
        """The entries of the merchant's credit subject: its own and those of every other
        registration of its 统一社会信用代码, by when they happened."""
        ...

    async def subject(self, merchant_id: str) -> list[str]:
        """The registrations of the merchant's credit subject, itself included, sorted."""
        ...

    async def subjects(self) -> dict[str, str]:
        """Merchant id → 统一社会信用代码, for every merchant whose code is known."""
        ...

    async def credit(self, merchant_id: str) -> StoredCredit | None: ...

    async def credits(self, merchant_ids: Sequence[str]) -> dict[str, StoredCredit]:
        """The stored credits of those of `merchant_ids` that have one (a subject's, at once)."""
        ...

    async def save(self, stored: StoredCredit) -> None: ...

    async def due_for_refade(
        self, now: datetime, current_version: str, limit: int
    ) -> list[str]: ...

    async def scores(self) -> dict[str, tuple[int, str]]: ...

    async def adjustment_keys(self) -> set[tuple[str, str, int, str]]: ...

    async def grade_counts(self) -> dict[str, int]: ...

    async def grades_by_market(self) -> dict[str, dict[str, int]]: ...

    async def market_grade_counts(self, market_id: str) -> dict[str, int]: ...

    async def graded(self, merchant_id: str) -> tuple[str, datetime | None] | None: ...

    async def ledger_before(self, end: datetime) -> list[Adjustment]:
        """Every adjustment that happened before `end` (the grades then)."""
        ...

    async def ledger_facts(
        self,
        kinds: Sequence[str],
        start: datetime,
        end: datetime,
        excluding: Collection[tuple[str, str]] = (),
    ) -> dict[str, list[tuple[str, datetime]]]:
        """Merchant → (kind, occurred_at) of the adjustments of `kinds` in [start, end), but for
        those whose key (event id, kind) is one of `excluding`."""
        ...

    async def corrected_finding(self, found: CorrectedFinding) -> None:
        """Keep an inspection's finding found wrong (once: read again, it changes nothing)."""
        ...

    async def corrected_findings(self, merchant_id: str, chain: str) -> list[CorrectedFinding]:
        """The merchant's findings found wrong in `chain`, by when they were found."""
        ...

    async def undone_events(self, before: datetime) -> set[str]:
        """The events whose entries were undone with a finding found wrong before `before`
        (an `objection.follow_on` is keyed by the event of the entry it reverses)."""
        ...


class Context(Protocol):
    """What other services told credit: merchant statuses, observations for the assessment,
    risks and complaints (the roots of chains), the public page's inspections and orders,
    decided enforcement cases and the markets' duties."""

    async def statuses(self, merchant_ids: Sequence[str]) -> dict[str, StatusSeen]:
        """The status last taken of each of the merchants that has one."""
        ...

    async def set_statuses(self, seen: Mapping[str, StatusSeen]) -> None:
        """Each merchant's status as given (in one statement), replacing the one held."""
        ...

    async def observe(self, seen: Observation) -> None: ...

    async def observed(
        self,
        start: datetime,
        end: datetime,
        passed: Collection[str] = (),
        voided: Collection[str] = (),
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """(market, kind) → (count, good count) of what happened in [start, end); an inspection
        whose event is one of `passed` counts as good (its finding was found wrong), and a
        rectification whose event is one of `voided` not at all (it followed from one)."""
        ...

    async def last_inspection(self, merchant_id: str) -> datetime | None: ...

    async def risk_open(self, risk: RiskSeen) -> None: ...

    async def risk_cleared(self, risk_id: str, at: datetime) -> None: ...

    async def open_food_safety_risks(self, at: datetime) -> dict[str, int]: ...

    async def complaint_seen(self, seen: ComplaintSeen) -> None: ...

    async def roots(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """What started each chain: a risk or a complaint this service has seen, by its id."""
        ...

    async def inspected(
        self, merchant_id: str, task_id: str, outcome: str, at: datetime
    ) -> None: ...

    async def rectification(self, order: OrderSeen) -> None: ...

    async def last_inspection_of(self, merchant_id: str) -> tuple[datetime, str | None] | None:
        """When the merchant was last inspected and the outcome; an inspection counted before
        outcomes were kept has none."""
        ...

    async def open_rectifications(self, merchant_id: str) -> tuple[int, datetime | None]: ...

    async def case_decided(self, case: CaseDecided) -> bool:
        """True the first time a decision of the case is seen (it adjusts the merchant then)."""
        ...

    async def keep_duties(self, data: DutiesUpdated) -> bool:
        """Keep a market's duties of a day unless a later update of that day is held."""
        ...

    async def duties(self, day: date) -> dict[str, Duties]:
        """Each market's latest duties of a day not after `day`: (self-inspection rate, reports
        on time, certified share)."""
        ...


class Assessments(Protocol):
    """The market and district assessments published."""

    async def save_assessment(
        self, assessment_id: str, data: dict[str, Any], computed_at: datetime
    ) -> None: ...

    async def last_published(self) -> datetime | None: ...

    async def latest_assessment(self, market_id: str) -> dict[str, Any] | None: ...


class Honours(Protocol):
    """The honour and warning list (红黑榜): each month's drawing and its entries."""

    async def lock_honours(self) -> None:
        """One drawing at a time (the schedule and an admin at once)."""
        ...

    async def drawing(self, month: str | None = None) -> dict[str, Any] | None:
        """A month's drawing, or the latest one when `month` is None."""
        ...

    async def save_drawing(self, drawing: Drawing) -> None: ...

    async def save_honour_entries(
        self, month: str, change: str, entries: Sequence[Entry]
    ) -> None: ...

    async def honour_entries(
        self, month: str, change: str, district: str | None = None
    ) -> list[Entry]: ...


# The objection ledger's order: by the moment filed, then by id.
FILED = Keyset("filed_at", "objection_id")


@dataclass(frozen=True, slots=True)
class ObjectionQuery:
    """Which objections to list: of one district (None: every one), merchant or state; with
    `overdue_as_of`, only those still open after their deadline at that moment; with
    `closed_from`, none closed (decided or withdrawn) before that moment."""

    district: str | None = None
    merchant_id: str | None = None
    state: str | None = None
    overdue_as_of: datetime | None = None
    closed_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class FiledQuery:
    """A page of the objection ledger (信用异议台账): the objections filed in `window`, past
    `after` in its order (newest first), of `district` (None: any); at most `limit`."""

    window: Window
    after: Position | None
    district: str | None
    limit: int


class Objections(Protocol):
    """Objections to merchants' credit records (信用异议) and repairs (信用修复): one per
    disputed entry and ground, and only one of them open or reversing it."""

    async def add_objection(self, objection: Objection) -> bool:
        """Store a new objection; False when its entry is disputed already, not withdrawn, on the
        same ground, or by one open or reversing it (nothing stored)."""
        ...

    async def objection(self, objection_id: str, *, lock: bool = False) -> Objection | None:
        """One objection; `lock` holds it until the unit of work ends (a decision)."""
        ...

    async def objections_of(self, event_id: str, kind: str) -> list[Objection]:
        """The entry's objections not withdrawn, oldest filed first."""
        ...

    async def save_objection(self, objection: Objection) -> None:
        """Write an objection back as decided or withdrawn."""
        ...

    async def objections(self, query: ObjectionQuery) -> list[Objection]:
        """Those `query` asks for, oldest filed first."""
        ...

    async def open_counts(self, now: datetime) -> dict[tuple[str, bool], int]:
        """Open objections by district and whether they are past their deadline at `now`."""
        ...

    async def filed(self, query: FiledQuery) -> list[Objection]:
        """The page `query` asks for, newest filed first (then by id)."""
        ...


class GradeListing(Protocol):
    """The registry view's merchants with their grades (the public listing)."""

    async def merchant_grades(self, query: GradeQuery) -> tuple[list[MerchantGrade], int]:
        """Merchants of the registry view with their grades (name contains `q`), by district,
        market and stall; and how many match in all. `limit=None`: every one (the CSV)."""
        ...


@dataclass(frozen=True, slots=True)
class Stores:
    """What one unit of work holds: the service's stores on one connection."""

    ledger: Ledger
    context: Context
    assessments: Assessments
    honours: Honours
    grades: GradeListing
    objections: Objections


def postgres_stores(conn: asyncpg.Connection) -> Stores:
    return Stores(
        PostgresLedger(conn),
        PostgresContext(conn),
        PostgresAssessments(conn),
        PostgresHonours(conn),
        PostgresGradeListing(conn),
        PostgresObjections(conn),
    )


class PostgresLedger(OnConnection):
    async def lock(self, merchant_id: str) -> None:
        await self.conn.execute(
            """SELECT pg_advisory_xact_lock(hashtext('credit:' || coalesce(
                   (SELECT 'code:' || credit_code FROM merchant_status WHERE merchant_id = $1),
                   $1)))""",
            merchant_id,
        )

    async def lock_codes(self, codes: Sequence[str]) -> None:
        for code in codes:
            await self.conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('credit:code:' || $1))", code
            )

    async def add(self, a: Adjustment) -> bool:
        done = await self.conn.execute(
            """INSERT INTO adjustments (event_id, kind, merchant_id, delta, occurred_at, fades_at,
                                        policy_version, correlation_id, entry)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING""",
            a.event_id, a.kind, a.merchant_id, a.delta, a.occurred_at, a.fades_at,
            a.policy_version, a.correlation_id, serial.dump(a),
        )  # fmt: skip
        return bool(done == "INSERT 0 1")

    async def ledger(self, merchant_id: str) -> list[Adjustment]:
        rows = await self.conn.fetch(
            """SELECT entry FROM adjustments WHERE merchant_id = ANY($1::text[])
               ORDER BY occurred_at, event_id""",
            await self.subject(merchant_id),
        )
        return [serial.load(Adjustment, r["entry"]) for r in rows]

    async def subject(self, merchant_id: str) -> list[str]:
        rows = await self.conn.fetch(
            """SELECT s.merchant_id FROM merchant_status s
               JOIN merchant_status me ON me.credit_code = s.credit_code
               WHERE me.merchant_id = $1""",
            merchant_id,
        )
        return sorted({merchant_id, *(r["merchant_id"] for r in rows)})

    async def subjects(self) -> dict[str, str]:
        rows = await self.conn.fetch(
            "SELECT merchant_id, credit_code FROM merchant_status WHERE credit_code IS NOT NULL"
        )
        return {r["merchant_id"]: r["credit_code"] for r in rows}

    async def credit(self, merchant_id: str) -> StoredCredit | None:
        return (await self.credits([merchant_id])).get(merchant_id)

    async def credits(self, merchant_ids: Sequence[str]) -> dict[str, StoredCredit]:
        rows = await self.conn.fetch(
            """SELECT merchant_id, credit, market_id, district, version FROM credits
               WHERE merchant_id = ANY($1::text[])""",
            list(merchant_ids),
        )
        return {
            r["merchant_id"]: StoredCredit(
                serial.load(MerchantCredit, r["credit"]),
                r["market_id"],
                r["district"],
                r["version"],
            )
            for r in rows
        }

    async def save(self, stored: StoredCredit) -> None:
        c = stored.credit
        await self.conn.execute(
            """INSERT INTO credits (merchant_id, market_id, district, score, grade, policy_version,
                                    next_fade_at, version, credit, graded_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (merchant_id) DO UPDATE SET
                   market_id = EXCLUDED.market_id, district = EXCLUDED.district,
                   graded_at = CASE WHEN credits.grade = EXCLUDED.grade
                                    AND credits.graded_at IS NOT NULL
                                    THEN credits.graded_at ELSE EXCLUDED.graded_at END,
                   score = EXCLUDED.score, grade = EXCLUDED.grade,
                   policy_version = EXCLUDED.policy_version, next_fade_at = EXCLUDED.next_fade_at,
                   version = EXCLUDED.version, credit = EXCLUDED.credit, updated_at = now()""",
            c.merchant_id, stored.market_id, stored.district, c.score, c.grade, c.policy_version,
            c.next_fade_at, stored.version, serial.dump(c), c.as_of,
        )  # fmt: skip

    async def due_for_refade(self, now: datetime, current_version: str, limit: int) -> list[str]:
        rows = await self.conn.fetch(
            """SELECT merchant_id FROM credits
               WHERE next_fade_at <= $1 OR policy_version <> $2
               ORDER BY merchant_id LIMIT $3""",
            now, current_version, limit,
        )  # fmt: skip
        return [r["merchant_id"] for r in rows]

    async def scores(self) -> dict[str, tuple[int, str]]:
        rows = await self.conn.fetch("SELECT merchant_id, score, grade FROM credits")
        return {r["merchant_id"]: (r["score"], r["grade"]) for r in rows}

    async def adjustment_keys(self) -> set[tuple[str, str, int, str]]:
        rows = await self.conn.fetch(
            "SELECT event_id, kind, delta, policy_version FROM adjustments"
        )
        return {(r["event_id"], r["kind"], r["delta"], r["policy_version"]) for r in rows}

    async def grade_counts(self) -> dict[str, int]:
        rows = await self.conn.fetch("SELECT grade, count(*) AS n FROM credits GROUP BY grade")
        return {r["grade"]: r["n"] for r in rows}

    async def grades_by_market(self) -> dict[str, dict[str, int]]:
        rows = await self.conn.fetch(
            f"SELECT market_id, grade, count(*) AS n FROM credits {TRADING}"
            " GROUP BY market_id, grade"
        )
        out: dict[str, dict[str, int]] = {}
        for r in rows:
            out.setdefault(r["market_id"], {})[r["grade"]] = r["n"]
        return out

    async def market_grade_counts(self, market_id: str) -> dict[str, int]:
        rows = await self.conn.fetch(
            f"SELECT grade, count(*) AS n FROM credits {TRADING} AND market_id = $1 GROUP BY grade",
            market_id,
        )
        return {r["grade"]: r["n"] for r in rows}

    async def graded(self, merchant_id: str) -> tuple[str, datetime | None] | None:
        row = await self.conn.fetchrow(
            "SELECT grade, graded_at FROM credits WHERE merchant_id = $1", merchant_id
        )
        return None if row is None else (row["grade"], row["graded_at"])

    async def ledger_before(self, end: datetime) -> list[Adjustment]:
        rows = await self.conn.fetch(
            "SELECT entry FROM adjustments WHERE occurred_at < $1 ORDER BY merchant_id", end
        )
        return [serial.load(Adjustment, r["entry"]) for r in rows]

    async def corrected_finding(self, found: CorrectedFinding) -> None:
        await self.conn.execute(
            """INSERT INTO corrected_findings (merchant_id, chain, found_at, decided_at,
                                               objection_id)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
            found.merchant_id, found.chain, found.found_at, found.decided_at, found.objection_id,
        )  # fmt: skip

    async def undone_events(self, before: datetime) -> set[str]:
        rows = await self.conn.fetch(
            "SELECT event_id FROM adjustments WHERE kind = $1 AND occurred_at < $2",
            FOLLOW_ON_KIND,
            before,
        )
        return {r["event_id"] for r in rows}

    async def corrected_findings(self, merchant_id: str, chain: str) -> list[CorrectedFinding]:
        rows = await self.conn.fetch(
            """SELECT merchant_id, chain, found_at, decided_at, objection_id
               FROM corrected_findings WHERE merchant_id = $1 AND chain = $2 ORDER BY found_at""",
            merchant_id, chain,
        )  # fmt: skip
        return [CorrectedFinding(**dict(r)) for r in rows]

    async def ledger_facts(
        self,
        kinds: Sequence[str],
        start: datetime,
        end: datetime,
        excluding: Collection[tuple[str, str]] = (),
    ) -> dict[str, list[tuple[str, datetime]]]:
        left_out = sorted(excluding)
        rows = await self.conn.fetch(
            """SELECT merchant_id, kind, occurred_at FROM adjustments a
               WHERE kind = ANY($1::text[]) AND occurred_at >= $2 AND occurred_at < $3
                 AND NOT EXISTS (SELECT 1 FROM unnest($4::text[], $5::text[]) AS x(event_id, kind)
                                 WHERE x.event_id = a.event_id AND x.kind = a.kind)""",
            list(kinds), start, end, [e for e, _ in left_out], [k for _, k in left_out],
        )  # fmt: skip
        out: dict[str, list[tuple[str, datetime]]] = {}
        for r in rows:
            out.setdefault(r["merchant_id"], []).append((r["kind"], r["occurred_at"]))
        return out


# The credits of merchants still trading: one who left its stall (退出经营) keeps its score and
# its page, and counts in no market's grades.
TRADING = """WHERE NOT EXISTS (SELECT 1 FROM merchant_status s
                              WHERE s.merchant_id = credits.merchant_id AND s.status = 'left')"""


class PostgresContext(OnConnection):
    async def statuses(self, merchant_ids: Sequence[str]) -> dict[str, StatusSeen]:
        rows = await self.conn.fetch(
            """SELECT merchant_id, status, version, credit_code FROM merchant_status
               WHERE merchant_id = ANY($1::text[])""",
            list(merchant_ids),
        )
        return {
            r["merchant_id"]: StatusSeen(r["status"], r["version"], r["credit_code"]) for r in rows
        }

    async def set_statuses(self, seen: Mapping[str, StatusSeen]) -> None:
        if not seen:
            return
        await self.conn.execute(
            """INSERT INTO merchant_status (merchant_id, status, version, credit_code)
               SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[])
               ON CONFLICT (merchant_id) DO UPDATE
                   SET status = EXCLUDED.status, version = EXCLUDED.version,
                       credit_code = coalesce(EXCLUDED.credit_code, merchant_status.credit_code)""",
            list(seen), [s.status for s in seen.values()], [s.version for s in seen.values()],
            [s.credit_code for s in seen.values()],
        )  # fmt: skip

    async def observe(self, seen: Observation) -> None:
        await self.conn.execute(
            """INSERT INTO observations (event_id, kind, market_id, district, merchant_id, at, good)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
            seen.event_id, seen.kind, seen.market_id, seen.district, seen.merchant_id, seen.at,
            seen.good,
        )  # fmt: skip

    async def observed(
        self,
        start: datetime,
        end: datetime,
        passed: Collection[str] = (),
        voided: Collection[str] = (),
    ) -> dict[tuple[str, str], tuple[int, int]]:
        rows = await self.conn.fetch(
            """SELECT market_id, kind, count(*) AS n,
                      count(*) FILTER (WHERE good OR (kind = 'inspection'
                                                     AND event_id = ANY($3::text[]))) AS good
               FROM observations
               WHERE at >= $1 AND at < $2
                 AND NOT (kind = 'rectification' AND event_id = ANY($4::text[]))
               GROUP BY market_id, kind""",
            start, end, sorted(passed), sorted(voided),
        )  # fmt: skip
        return {(r["market_id"], r["kind"]): (r["n"], r["good"]) for r in rows}

    async def last_inspection(self, merchant_id: str) -> datetime | None:
        at: datetime | None = await self.conn.fetchval(
            "SELECT max(at) FROM observations WHERE merchant_id = $1 AND kind = 'inspection'",
            merchant_id,
        )
        return at

    async def risk_open(self, risk: RiskSeen) -> None:
        await self.conn.execute(
            """INSERT INTO risks (risk_id, rule, category, severity, market_id, merchant_id,
                                  raised_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (risk_id) DO UPDATE SET severity = EXCLUDED.severity""",
            risk.risk_id, risk.rule, risk.category, risk.severity, risk.market_id, risk.merchant_id,
            risk.raised_at,
        )  # fmt: skip

    async def risk_cleared(self, risk_id: str, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE risks SET cleared_at = $2 WHERE risk_id = $1 AND cleared_at IS NULL",
            risk_id, at,
        )  # fmt: skip

    async def open_food_safety_risks(self, at: datetime) -> dict[str, int]:
        rows = await self.conn.fetch(
            """SELECT market_id, count(*) AS n FROM risks
               WHERE category = 'food_safety' AND raised_at < $1
                 AND (cleared_at IS NULL OR cleared_at >= $1)
               GROUP BY market_id""",
            at,
        )
        return {r["market_id"]: r["n"] for r in rows}

    async def complaint_seen(self, seen: ComplaintSeen) -> None:
        await self.conn.execute(
            """INSERT INTO complaints (complaint_id, category, state, merchant_id, received_at,
                                       version)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (complaint_id) DO UPDATE SET state = EXCLUDED.state,
                   version = EXCLUDED.version WHERE complaints.version < EXCLUDED.version""",
            seen.complaint_id, seen.category, seen.state, seen.merchant_id, seen.received_at,
            seen.version,
        )  # fmt: skip

    async def roots(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for r in await self.conn.fetch(
            "SELECT risk_id, rule, category, severity, raised_at FROM risks "
            "WHERE risk_id = ANY($1::text[])",
            ids,
        ):
            found[r["risk_id"]] = {
                "kind": "risk",
                "id": r["risk_id"],
                "rule": r["rule"],
                "category": r["category"],
                "severity": r["severity"],
                "at": r["raised_at"].isoformat(),
            }
        for r in await self.conn.fetch(
            "SELECT complaint_id, category, state, received_at FROM complaints "
            "WHERE complaint_id = ANY($1::text[])",
            ids,
        ):
            found[r["complaint_id"]] = {
                "kind": "complaint",
                "id": r["complaint_id"],
                "category": r["category"],
                "state": r["state"],
                "at": r["received_at"].isoformat(),
            }
        return found

    async def inspected(self, merchant_id: str, task_id: str, outcome: str, at: datetime) -> None:
        await self.conn.execute(
            """INSERT INTO last_inspections (merchant_id, task_id, outcome, at)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (merchant_id) DO UPDATE SET
                   task_id = EXCLUDED.task_id, outcome = EXCLUDED.outcome, at = EXCLUDED.at
               WHERE last_inspections.at < EXCLUDED.at""",
            merchant_id, task_id, outcome, at,
        )  # fmt: skip

    async def rectification(self, order: OrderSeen) -> None:
        await self.conn.execute(
            """INSERT INTO rectifications
                   (rectification_id, merchant_id, market_id, state, deadline, version)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (rectification_id) DO UPDATE SET
                   state = EXCLUDED.state, deadline = EXCLUDED.deadline,
                   version = EXCLUDED.version
               WHERE rectifications.version < EXCLUDED.version""",
            order.rectification_id, order.merchant_id, order.market_id, order.state, order.deadline,
            order.version,
        )  # fmt: skip

    async def last_inspection_of(self, merchant_id: str) -> tuple[datetime, str | None] | None:
        row = await self.conn.fetchrow(
            "SELECT at, outcome FROM last_inspections WHERE merchant_id = $1", merchant_id
        )
        if row is not None:
            return row["at"], row["outcome"]
        at = await self.last_inspection(merchant_id)
        return None if at is None else (at, None)

    async def open_rectifications(self, merchant_id: str) -> tuple[int, datetime | None]:
        row = await self.conn.fetchrow(
            """SELECT count(*) AS n, min(deadline) AS earliest FROM rectifications
               WHERE merchant_id = $1 AND state = 'open'""",
            merchant_id,
        )
        return row["n"], row["earliest"]

    async def case_decided(self, case: CaseDecided) -> bool:
        inserted = await self.conn.fetchval(
            """INSERT INTO enforcement_cases
                   (case_id, merchant_id, market_id, sanction, decided_at, event_id)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true""",
            case.case_id, case.merchant_id, case.market_id, case.sanction, case.decided_at,
            case.event_id,
        )  # fmt: skip
        return bool(inserted)

    async def keep_duties(self, data: DutiesUpdated) -> bool:
        applied = await self.conn.fetchval(
            """INSERT INTO market_duties (market_id, as_of, district, self_inspection_rate,
                                          report_on_time_rate, certified_share, updated_at, duties)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (market_id, as_of) DO UPDATE SET
                   district = EXCLUDED.district,
                   self_inspection_rate = EXCLUDED.self_inspection_rate,
                   report_on_time_rate = EXCLUDED.report_on_time_rate,
                   certified_share = EXCLUDED.certified_share,
                   updated_at = EXCLUDED.updated_at, duties = EXCLUDED.duties
               WHERE market_duties.updated_at < EXCLUDED.updated_at
               RETURNING true""",
            data.market_id, data.as_of, data.district, data.self_inspection_rate,
            data.report_on_time_rate, data.certified_share, data.updated_at,
            data.model_dump(mode="json"),
        )  # fmt: skip
        return bool(applied)

    async def duties(self, day: date) -> dict[str, Duties]:
        rows = await self.conn.fetch(
            """SELECT DISTINCT ON (market_id) market_id, self_inspection_rate,
                      report_on_time_rate, certified_share
               FROM market_duties WHERE as_of <= $1
               ORDER BY market_id, as_of DESC""",
            day,
        )
        return {
            r["market_id"]: (
                r["self_inspection_rate"],
                r["report_on_time_rate"],
                r["certified_share"],
            )
            for r in rows
        }


class PostgresAssessments(OnConnection):
    async def save_assessment(
        self, assessment_id: str, data: dict[str, Any], computed_at: datetime
    ) -> None:
        await self.conn.execute(
            """INSERT INTO assessments (assessment_id, scope, market_id, district, period_from,
                                        period_to, assessment, computed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
            assessment_id, data["scope"], data["market_id"], data["district"],
            datetime.fromisoformat(data["period_from"]), datetime.fromisoformat(data["period_to"]),
            data, computed_at,
        )  # fmt: skip

    async def last_published(self) -> datetime | None:
        at: datetime | None = await self.conn.fetchval("SELECT max(computed_at) FROM assessments")
        return at

    async def latest_assessment(self, market_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(
            """SELECT assessment FROM assessments WHERE market_id = $1
               ORDER BY computed_at DESC LIMIT 1""",
            market_id,
        )
        return None if row is None else dict(row["assessment"])


class PostgresHonours(OnConnection):
    async def lock_honours(self) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('credit:honours'))")

    async def drawing(self, month: str | None = None) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(
            """SELECT month, drawing_id, policy_version, period_from, period_to, drawn_at,
                      drawn_by
               FROM honour_drawings WHERE $1::text IS NULL OR month = $1
               ORDER BY month DESC LIMIT 1""",
            month,
        )
        return None if row is None else dict(row)

    async def save_drawing(self, drawing: Drawing) -> None:
        await self.conn.execute(
            """INSERT INTO honour_drawings (month, drawing_id, policy_version, period_from,
                                            period_to, drawn_at, drawn_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            drawing.month, drawing.drawing_id, drawing.policy_version, drawing.period[0],
            drawing.period[1], drawing.drawn_at, drawing.drawn_by,
        )  # fmt: skip

    async def save_honour_entries(self, month: str, change: str, entries: Sequence[Entry]) -> None:
        await self.conn.executemany(
            """INSERT INTO honour_entries (month, change, list, entity, entity_id, district, entry)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            [
                (month, change, e.kind, e.entity, e.entity_id, e.district, serial.dump(e))
                for e in entries
            ],
        )

    async def honour_entries(
        self, month: str, change: str, district: str | None = None
    ) -> list[Entry]:
        rows = await self.conn.fetch(
            """SELECT entry FROM honour_entries
               WHERE month = $1 AND change = $2 AND ($3::text IS NULL OR district = $3)
               ORDER BY list, entity, district, entity_id""",
            month, change, district,
        )  # fmt: skip
        return [serial.load(Entry, r["entry"]) for r in rows]


class PostgresObjections(OnConnection):
    async def add_objection(self, objection: Objection) -> bool:
        added: str | None = await self.conn.fetchval(
            """INSERT INTO objections (objection_id, merchant_id, district, event_id, kind, state,
                                       filed_at, due_at, ground, objection)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT DO NOTHING
               RETURNING objection_id""",
            objection.objection_id, objection.merchant_id, objection.district,
            objection.event_id, objection.kind, objection.state, objection.filed_at,
            objection.due_at, objection.ground, serial.dump(objection),
        )  # fmt: skip
        return added is not None

    async def objection(self, objection_id: str, *, lock: bool = False) -> Objection | None:
        held = " FOR UPDATE" if lock else ""
        found = await self.conn.fetchval(
            f"SELECT objection FROM objections WHERE objection_id = $1{held}", objection_id
        )
        return None if found is None else serial.load(Objection, found)

    async def objections_of(self, event_id: str, kind: str) -> list[Objection]:
        rows = await self.conn.fetch(
            """SELECT objection FROM objections
               WHERE event_id = $1 AND kind = $2 AND state <> 'withdrawn'
               ORDER BY filed_at, objection_id""",
            event_id, kind,
        )  # fmt: skip
        return [serial.load(Objection, r["objection"]) for r in rows]

    async def save_objection(self, objection: Objection) -> None:
        await self.conn.execute(
            "UPDATE objections SET state = $2, objection = $3 WHERE objection_id = $1",
            objection.objection_id, objection.state, serial.dump(objection),
        )  # fmt: skip

    async def objections(self, query: ObjectionQuery) -> list[Objection]:
        rows = await self.conn.fetch(
            """SELECT objection FROM objections
               WHERE ($1::text IS NULL OR district = $1) AND ($2::text IS NULL OR merchant_id = $2)
                 AND ($3::text IS NULL OR state = $3)
                 AND ($4::timestamptz IS NULL OR (state = 'open' AND due_at < $4))
                 AND ($5::timestamptz IS NULL OR state = 'open'
                      OR (objection->>'decided_at')::timestamptz >= $5)
               ORDER BY filed_at, objection_id""",
            query.district, query.merchant_id, query.state, query.overdue_as_of,
            query.closed_from,
        )  # fmt: skip
        return [serial.load(Objection, r["objection"]) for r in rows]

    async def open_counts(self, now: datetime) -> dict[tuple[str, bool], int]:
        rows = await self.conn.fetch(
            """SELECT district, due_at < $1 AS overdue, count(*) AS n FROM objections
               WHERE state = 'open' GROUP BY 1, 2""",
            now,
        )
        return {(r["district"], r["overdue"]): r["n"] for r in rows}

    async def filed(self, query: FiledQuery) -> list[Objection]:
        sql, args = FILED.page(
            "objections", "objection", query.window, query.after, query.limit,
            {"district": query.district},
        )  # fmt: skip
        return [serial.load(Objection, r["objection"]) for r in await self.conn.fetch(sql, *args)]


class PostgresGradeListing(OnConnection):
    async def merchant_grades(self, query: GradeQuery) -> tuple[list[MerchantGrade], int]:
        pattern = None if query.q is None else "%" + like_escape(query.q) + "%"
        where = """($1::text IS NULL OR m.snapshot->>'name' ILIKE $1 ESCAPE '\\')
                   AND ($2::text IS NULL OR m.district = $2)
                   AND ($3::text IS NULL OR m.market_id = $3)
                   AND ($4::text IS NULL OR c.grade = $4)
                   AND m.status <> 'left'"""
        args = (pattern, query.district, query.market_id, query.grade)
        body = f"""FROM directory_merchants m
                   LEFT JOIN credits c ON c.merchant_id = m.id
                   LEFT JOIN directory_markets k ON k.id = m.market_id
                   WHERE {where}"""
        total: int = await self.conn.fetchval(f"SELECT count(*) {body}", *args)
        rows = await self.conn.fetch(
            f"""SELECT m.id, m.snapshot->>'name' AS name, m.market_id,
                       k.snapshot->>'name' AS market_name, m.district, m.stall_no, c.grade,
                       c.graded_at
                {body} ORDER BY m.district, m.market_id, {stall_order("m.stall_no")}, m.id
                OFFSET $5 LIMIT $6""",
            *args, query.offset, query.limit,
        )  # fmt: skip
        found = [serial.load(MerchantGrade, dict(r)) for r in rows]
        return found, total


def like_escape(text: str) -> str:
    """`text` matched literally inside a LIKE pattern (escape character `\\`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
