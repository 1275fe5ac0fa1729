-- Routine patrol plans (the A–D graded supervision scheme): one per merchant, the whole value as
-- jsonb (PatrolPlan.to_dict()) with the columns the scheduler and the score consumer ask by.
-- A plan may exist before the registry's snapshot of its merchant (a credit score read first);
-- the scheduler only patrols merchants the `merchants` projection knows.
CREATE TABLE patrol_plans (
    merchant_id   text PRIMARY KEY,
    grade         text CHECK (grade IN ('A', 'B', 'C', 'D')),
    -- The version of the credit score the grade came from: an older one is ignored.
    grade_version integer,
    anchor        timestamptz NOT NULL,
    due_at        timestamptz NOT NULL,
    -- The patrol task made when the plan came due, until an inspection of the merchant completes.
    task_id       text,
    plan          jsonb NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- The scheduler's question: plans without a pending patrol task, by due date.
CREATE INDEX patrol_plans_due ON patrol_plans (due_at) WHERE task_id IS NULL;
-- A plan started for a merchant already inspected counts from its last completed task.
CREATE INDEX tasks_merchant_completed ON tasks (merchant_id) WHERE state = 'completed';
