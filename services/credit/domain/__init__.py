"""Pure credit rules: events in as facts, a ledger of adjustments, scores, grades, assessments.

No I/O and no clock: the service passes the parsed contract models, where it read them, the
state it loaded and `now` (an aware datetime).

    book = PolicyBook(policies)          # the versions policy_files.py read, by effective date
    meta = EventMeta.of(envelope, topic, partition, offset)
    facts = facts_from_inspection(envelope.type, envelope.data, meta)   # or _complaint / _merchant
    entries = [e for f in facts if (e := adjust(f, book)) is not None]  # policy at occurred_at
    credit, change = apply(credit, entry, now, book)        # change: publish credit.score.changed
    credit, change = refade(credit, ledger, now, book)      # scheduler, when credit.due(now, book)
    rebuild(ledger, now, book) / rebuild_all(...)           # equal to the live values
    ranked = rank_within_district([assess(figures, period, policy) for figures in markets])
    districts = rank_districts(roll_up(ranked))
    entries = draw(month, book.in_force(month.end(tz)).honours, merchants, markets, tz)  # 红黑榜
"""

from services.credit.domain.assessment import (
    NEUTRAL_SCORE,
    Assessment,
    MarketFigures,
    Period,
    assess,
    composite,
    rank_districts,
    rank_within_district,
    rate,
    risk_component,
    roll_up,
    score_parts,
)
from services.credit.domain.errors import StaleCredit, UnknownPolicyVersion
from services.credit.domain.facts import (
    FACT_KINDS,
    ClosedComplaint,
    EventMeta,
    Fact,
    FactKind,
    Place,
    facts_from_complaint,
    facts_from_enforcement,
    facts_from_inspection,
    facts_from_merchant,
    facts_from_objection,
)
from services.credit.domain.honours import (
    Entry,
    HonourRules,
    MarketRecord,
    MerchantRecord,
    Month,
    delisted,
    draw,
    due_month,
)
from services.credit.domain.ledger import (
    LABELS,
    Adjustment,
    MerchantCredit,
    ScoreChange,
    adjust,
    apply,
    grade,
    rebuild,
    rebuild_all,
    refade,
    regrade,
    score,
    unique,
)
from services.credit.domain.policy import (
    BASE_COMPONENTS,
    COMPONENTS,
    DUTY_COMPONENTS,
    AssessmentPolicy,
    Policy,
    PolicyBook,
    format_duration,
    parse_duration,
)
from services.runtime.clock import aware

__all__ = [
    "BASE_COMPONENTS",
    "COMPONENTS",
    "DUTY_COMPONENTS",
    "FACT_KINDS",
    "LABELS",
    "NEUTRAL_SCORE",
    "Adjustment",
    "Assessment",
    "AssessmentPolicy",
    "ClosedComplaint",
    "Entry",
    "EventMeta",
    "Fact",
    "FactKind",
    "HonourRules",
    "MarketFigures",
    "MarketRecord",
    "MerchantCredit",
    "MerchantRecord",
    "Month",
    "Period",
    "Place",
    "Policy",
    "PolicyBook",
    "ScoreChange",
    "StaleCredit",
    "UnknownPolicyVersion",
    "adjust",
    "apply",
    "assess",
    "aware",
    "composite",
    "delisted",
    "draw",
    "due_month",
    "facts_from_complaint",
    "facts_from_enforcement",
    "facts_from_inspection",
    "facts_from_merchant",
    "facts_from_objection",
    "format_duration",
    "grade",
    "parse_duration",
    "rank_districts",
    "rank_within_district",
    "rate",
    "rebuild",
    "rebuild_all",
    "refade",
    "regrade",
    "risk_component",
    "roll_up",
    "score",
    "score_parts",
    "unique",
]
