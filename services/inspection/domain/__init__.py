"""Pure inspection rules: triggers in, tasks and rectification orders out. No I/O, no clock.

Every function takes the state the service loaded and `now` (an aware datetime from an
injectable clock) and returns the changed values with the events to publish; the service stores
both in one unit of work (services/inspection/service.py). Files (the policy overrides, the
finding catalogue) are read by adapters (settings.py, policy_files.py) and handed in as values.

    policy = settings.load_policy()   # Policy.from_dict over the defaults (settings.py)
    # Kafka handlers: telemetry.risks.v1, complaints.events.v1 (accepted),
    # registry.campaign.v1 (registry.renovation.check_failed: a market-level renovation task)
    decision = decide(store.open_task(task_key(trigger)), trigger, policy, now,
                      task_force=market.task_force)
    # HTTP: POST /tasks/{id}/claim, /complete; POST /rectifications/{id}/verify
    change = claim(task, by=inspector, now=now)
    done = complete(task, by=inspector, outcome="major",
                    findings=[FindingReport("CCH-01", "8.9 °C at 10:05")],
                    departments=["market_regulation", "health"], now=now, policy=policy,
                    catalogue=catalogue)
    checked = verify(order, passed=False, by=inspector, now=now, policy=policy,
                     reinspection=store.task(order.reinspection_task_id))
    # Scheduler: overdue marks (each published once) and patrols
    mark_task_overdue(task, now); mark_rectification_overdue(order, now, policy)
    # Its merchant left its stall: its tasks still to do are withdrawn, its open orders lapse
    withdraw(task, "merchant_left", now); lapse(order, "merchant_left", now)
    plan = PatrolPlan.start(merchant_id, grade, last_inspection_at, now, policy)

Errors: `IllegalTransition` (a 409 carrying the current state), `InvalidCompletion` and
`InvalidVerification` (a 422 naming every offending field) are the runtime's plain failures
(services/runtime/failures.py), shown over HTTP by services/runtime/errors.py.
"""

from services.inspection.domain.catalogue import GROUPS, Catalogue, FindingCode, Group
from services.inspection.domain.errors import (
    IllegalTransition,
    InvalidCompletion,
    InvalidVerification,
)
from services.inspection.domain.events import Outgoing
from services.inspection.domain.intake import Action, Decision, IgnoreReason, decide
from services.inspection.domain.lifecycle import (
    Completion,
    Escalation,
    Lapse,
    TaskChange,
    Verification,
    claim,
    complete,
    lapse,
    mark_rectification_overdue,
    mark_task_overdue,
    ordered_by_finding,
    verify,
    withdraw,
)
from services.inspection.domain.model import (
    Finding,
    FindingReport,
    RectificationOrder,
    Task,
    TaskForce,
    TriggerRef,
    target_of,
)
from services.inspection.domain.patrol import PatrolPlan, first_patrol_offset, next_patrol
from services.inspection.domain.policy import DEFAULT_POLICY, Policy, parse_duration
from services.inspection.domain.triggers import (
    ComplaintTrigger,
    PatrolTrigger,
    RenovationTrigger,
    RiskTrigger,
    Trigger,
    task_key,
)

__all__ = [
    "DEFAULT_POLICY",
    "GROUPS",
    "Action",
    "Catalogue",
    "ComplaintTrigger",
    "Completion",
    "Decision",
    "Escalation",
    "Finding",
    "FindingCode",
    "FindingReport",
    "Group",
    "IgnoreReason",
    "IllegalTransition",
    "InvalidCompletion",
    "InvalidVerification",
    "Lapse",
    "Outgoing",
    "PatrolPlan",
    "PatrolTrigger",
    "Policy",
    "RectificationOrder",
    "RenovationTrigger",
    "RiskTrigger",
    "Task",
    "TaskChange",
    "TaskForce",
    "Trigger",
    "TriggerRef",
    "Verification",
    "claim",
    "complete",
    "decide",
    "first_patrol_offset",
    "lapse",
    "mark_rectification_overdue",
    "mark_task_overdue",
    "next_patrol",
    "ordered_by_finding",
    "parse_duration",
    "target_of",
    "task_key",
    "verify",
    "withdraw",
]
