"""The store's schema, as an ordered list of migrations that upgrade any older file in place.

Never edit a migration once it has shipped: add a new one (``0005_...``) instead.
tests/store/test_migrations.py pins the source of every shipped migration so that an edit
fails loudly.

Conventions, so later tables fit in: plural table names, an ``INTEGER PRIMARY KEY
AUTOINCREMENT`` column ``id`` (ids are never reused, so audit entries stay unambiguous),
foreign keys named ``<singular>_id`` (``run_id``, ``finding_id``), UTC ISO-8601 text for
times (``*_at``, ``first_seen``, ``last_seen``) and JSON in TEXT columns. Planned next:
``remediations`` (``finding_id`` -> findings.id), ``approvals`` (``remediation_id`` ->
remediations.id), ``operations`` (Neon operation ids, ``remediation_id`` -> remediations.id)
and ``slack_outbox`` (messages to send, ``finding_id`` / ``remediation_id``).
"""

from __future__ import annotations

import json

from sqlite_utils import Database, Migrations

MIGRATION_SET = "neon-governor"

migrations = Migrations(MIGRATION_SET)


@migrations(name="0001_initial")
def initial(db: Database) -> None:
    """Runs, the latest view of each resource, and findings keyed by policy and resource."""
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            trigger TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            complete INTEGER CHECK (complete IN (0, 1)),
            requests INTEGER CHECK (requests >= 0),
            errors TEXT NOT NULL DEFAULT '[]',
            incomplete_parts TEXT NOT NULL DEFAULT '[]',
            policies_evaluated TEXT NOT NULL DEFAULT '[]',
            findings_seen INTEGER NOT NULL DEFAULT 0,
            findings_opened INTEGER NOT NULL DEFAULT 0,
            findings_reopened INTEGER NOT NULL DEFAULT 0,
            findings_resolved INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute(
        """
        CREATE TABLE resources (
            resource_type TEXT NOT NULL CHECK (
                resource_type IN ('organization', 'project', 'branch', 'endpoint', 'api_key')
            ),
            resource_id TEXT NOT NULL,
            org_id TEXT,
            project_id TEXT,
            name TEXT,
            scope TEXT,
            raw TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            last_run_id INTEGER NOT NULL REFERENCES runs(id),
            gone_at TEXT,
            PRIMARY KEY (resource_type, resource_id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE findings (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            policy TEXT NOT NULL,
            resource_type TEXT NOT NULL CHECK (
                resource_type IN ('project', 'branch', 'endpoint', 'api_key')
            ),
            resource_id TEXT NOT NULL,
            org_id TEXT,
            project_id TEXT,
            name TEXT NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
            summary TEXT NOT NULL,
            action TEXT NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('report', 'approve', 'auto')),
            status TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'suppressed')),
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            status_changed_at TEXT NOT NULL,
            resolved_at TEXT,
            reopened_at TEXT,
            reopen_count INTEGER NOT NULL DEFAULT 0,
            fingerprint TEXT NOT NULL,
            evidence TEXT NOT NULL DEFAULT '{}',
            estimate_usd REAL,
            estimate_method TEXT,
            estimate_kind TEXT CHECK (estimate_kind IN ('money', 'risk')),
            first_run_id INTEGER NOT NULL REFERENCES runs(id),
            last_run_id INTEGER NOT NULL REFERENCES runs(id),
            resolved_run_id INTEGER REFERENCES runs(id)
        )
        """
    )
    db.execute(
        "CREATE UNIQUE INDEX findings_by_key ON findings (policy, resource_type, resource_id)"
    )


@migrations(name="0002_audit_log")
def audit_log(db: Database) -> None:
    """An append-only record of what happened: triggers refuse UPDATE and DELETE."""
    db.execute(
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id),
            actor TEXT NOT NULL,
            event TEXT NOT NULL,
            subject TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}'
        )
        """
    )
    db.execute(
        """
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN
            SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed');
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN
            SELECT RAISE(ABORT, 'audit_log is append-only: DELETE is not allowed');
        END
        """
    )


@migrations(name="0003_report_indexes")
def report_indexes(db: Database) -> None:
    """Indexes for the questions reports ask: open findings, a project's resources, a run's log."""
    db.execute("CREATE INDEX findings_by_status ON findings (status, policy)")
    db.execute("CREATE INDEX resources_by_project ON resources (project_id)")
    db.execute("CREATE INDEX audit_log_by_run ON audit_log (run_id)")
    db.execute("CREATE INDEX audit_log_by_subject ON audit_log (subject)")


@migrations(name="0004_run_status")
def run_status(db: Database) -> None:
    """A run's status and failure reason; its incomplete parts kept once, not twice.

    Before: ``errors`` (from finish_run) and ``incomplete_parts`` (from the snapshot) held
    the same list. Both are merged into ``incomplete_parts`` and ``errors`` is dropped.
    A run with no ``finished_at`` stays ``running``: only the daemon, at start, may call
    it abandoned.
    """
    db.execute(
        "ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'running' "
        "CHECK (status IN ('running', 'finished', 'failed', 'abandoned'))"
    )
    db.execute("ALTER TABLE runs ADD COLUMN failure_reason TEXT")
    db.execute("UPDATE runs SET status = 'finished' WHERE finished_at IS NOT NULL")
    merged = []
    for run_id, errors, parts in db.execute(
        "SELECT id, errors, incomplete_parts FROM runs WHERE errors != '[]'"
    ).fetchall():
        kept = json.loads(parts)
        kept.extend(error for error in json.loads(errors) if error not in kept)
        text = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        merged.append((text, run_id))
    db.conn.executemany("UPDATE runs SET incomplete_parts = ? WHERE id = ?", merged)
    db.execute("ALTER TABLE runs DROP COLUMN errors")
    db.execute("CREATE INDEX runs_by_status ON runs (status)")


@migrations(name="0005_job_runs")
def job_runs(db: Database) -> None:
    """When each daemon job last ran and how it ended: catch-up at start, and ``status``."""
    db.execute(
        """
        CREATE TABLE job_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job TEXT NOT NULL,
            scheduled_for TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            outcome TEXT CHECK (
                outcome IN ('succeeded', 'incomplete', 'failed', 'cancelled', 'abandoned')
            ),
            run_id INTEGER REFERENCES runs(id),
            detail TEXT
        )
        """
    )
    db.execute("CREATE INDEX job_runs_by_job ON job_runs (job, id)")


@migrations(name="0006_remediations")
def remediations(db: Database) -> None:
    """Remediations with their state machine, the notices before acting, and switches (pause).

    ``change`` is the concrete request planned (JSON), ``before``/``after`` the settings it
    moves between (``before`` is what ``revert`` restores), ``findings`` the findings and
    fingerprints it was planned from. The partial unique index keeps one active remediation
    per resource, whatever process plans it.
    """
    db.execute(
        """
        CREATE TABLE remediations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER REFERENCES runs(id),
            reverts_id INTEGER REFERENCES remediations(id),
            account TEXT NOT NULL,
            policy TEXT NOT NULL,
            mode TEXT NOT NULL,
            findings TEXT NOT NULL DEFAULT '[]',
            resource_type TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            org_id TEXT,
            project_id TEXT,
            resource_name TEXT NOT NULL,
            change TEXT NOT NULL,
            before TEXT NOT NULL DEFAULT '{}',
            after TEXT NOT NULL DEFAULT '{}',
            disruptive INTEGER NOT NULL CHECK (disruptive IN (0, 1)),
            irreversible INTEGER NOT NULL CHECK (irreversible IN (0, 1)),
            why TEXT NOT NULL DEFAULT '',
            estimate_usd REAL,
            plan_hash TEXT,
            state TEXT NOT NULL CHECK (state IN (
                'planned', 'awaiting_approval', 'approved', 'rejected', 'expired',
                'executing', 'waiting_operations', 'succeeded', 'failed', 'skipped'
            )),
            reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            approval_expires_at TEXT,
            decided_by TEXT,
            decided_at TEXT,
            intent_at TEXT,
            sent_at TEXT,
            finished_at TEXT,
            operations TEXT NOT NULL DEFAULT '[]',
            error TEXT,
            request_id TEXT,
            recoverable_until TEXT
        )
        """
    )
    db.execute(
        "CREATE UNIQUE INDEX remediations_one_active_per_resource "
        "ON remediations (resource_type, resource_id) WHERE state IN "
        "('planned', 'awaiting_approval', 'approved', 'executing', 'waiting_operations')"
    )
    db.execute("CREATE INDEX remediations_by_state ON remediations (state)")
    db.execute(
        """
        CREATE TABLE finding_notices (
            finding_id INTEGER PRIMARY KEY REFERENCES findings(id),
            noticed_at TEXT NOT NULL,
            via TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE switches (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            reason TEXT,
            set_by TEXT NOT NULL,
            set_at TEXT NOT NULL
        )
        """
    )


@migrations(name="0007_slack")
def slack(db: Database) -> None:
    """Slack's outbox, the approval messages and votes, and exemptions (snoozes).

    ``slack_outbox`` rows are sent in id order per channel; ``uncertain`` marks a send that
    started and was not recorded as done (a crash in between), so the sender looks for the
    message before posting it again. An approval's ``token`` is the opaque button value.
    """
    db.execute(
        """
        CREATE TABLE slack_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('post', 'update', 'file', 'ephemeral')),
            channel TEXT NOT NULL,
            payload TEXT NOT NULL,
            parent_id INTEGER REFERENCES slack_outbox(id),
            ref TEXT,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
            attempts INTEGER NOT NULL DEFAULT 0,
            uncertain INTEGER NOT NULL DEFAULT 0 CHECK (uncertain IN (0, 1)),
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            sent_ts TEXT,
            sent_channel TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX slack_outbox_pending ON slack_outbox (state, channel, id)")
    db.execute(
        """
        CREATE TABLE slack_approvals (
            remediation_id INTEGER PRIMARY KEY REFERENCES remediations(id),
            token TEXT NOT NULL UNIQUE,
            outbox_id INTEGER NOT NULL REFERENCES slack_outbox(id),
            owner TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE approval_votes (
            remediation_id INTEGER NOT NULL REFERENCES remediations(id),
            user_id TEXT NOT NULL,
            voted_at TEXT NOT NULL,
            PRIMARY KEY (remediation_id, user_id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE exemptions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            resource_type TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            until TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            ended_noticed_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX exemptions_by_resource ON exemptions (resource_type, resource_id)")


@migrations(name="0008_remediation_owners")
def remediation_owners(db: Database) -> None:
    """Who holds a remediation under way, and until when its request may still land.

    ``owner``: the process (host, boot id, pid, start time) and executor that claimed the
    row (governor.remediate.ownership); crash reconcile takes over only a row whose owner
    is provably dead, by compare-and-set on it. ``send_deadline``: journaled with the
    intent; until then a killed process's request may still reach Neon, so reconcile
    waits for it before it looks for operations and re-reads.
    """
    db.execute("ALTER TABLE remediations ADD COLUMN owner TEXT")
    db.execute("ALTER TABLE remediations ADD COLUMN send_deadline TEXT")


@migrations(name="0009_saved_plans")
def saved_plans(db: Database) -> None:
    """The plans this store wrote (``plan --out``), by the sha256 of their content.

    Why in the store: a hash inside the file it covers proves nothing (an edited file can
    be re-hashed); ``apply --plan`` runs only a plan whose hash is here, and its lifetime
    is ``expires_at`` here, not the file's. ``run_id`` is the run the plan was made from.
    """
    db.execute(
        """
        CREATE TABLE saved_plans (
            sha256 TEXT PRIMARY KEY,
            run_id INTEGER REFERENCES runs(id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            item_count INTEGER NOT NULL CHECK (item_count >= 0)
        )
        """
    )


@migrations(name="0012_run_cancelled")
def run_cancelled(db: Database) -> None:
    """A run may end ``cancelled``: SIGTERM abandoned its sweep while it was only reading.

    Why the schema text is edited and the table not rebuilt: SQLite cannot alter a CHECK,
    and a rebuild of ``runs`` needs foreign keys off, which cannot change inside the
    migration's transaction (five tables reference it). Widening a CHECK is the case
    SQLite documents for ``writable_schema`` (lang_altertable.html, "other kinds of table
    schema changes"): every existing row satisfies the new constraint.
    """
    old = "CHECK (status IN ('running', 'finished', 'failed', 'abandoned'))"
    new = "CHECK (status IN ('running', 'finished', 'failed', 'abandoned', 'cancelled'))"
    (sql,) = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'"
    ).fetchone()
    if sql.count(old) != 1:
        raise ValueError("runs.status has an unexpected CHECK; cannot add 'cancelled'")
    (version,) = db.execute("PRAGMA schema_version").fetchone()
    db.execute("PRAGMA writable_schema = ON")
    try:
        db.execute(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'runs'",
            [sql.replace(old, new)],
        )
        db.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        db.execute("PRAGMA writable_schema = OFF")


@migrations(name="0013_resource_accounts")
def resource_accounts(db: Database) -> None:
    """Which ``[[accounts]]`` entry's sweep read each resource (NULL: one account, or read
    before this column): a person's own change (a Slack Keep) goes out with that key."""
    db.execute("ALTER TABLE resources ADD COLUMN account TEXT")


@migrations(name="0014_estimate_kinds")
def estimate_kinds(db: Database) -> None:
    """Estimates say how they were priced, and which costs they would save.

    ``estimate_kind`` becomes measured / estimated / quota / risk (a stored ``money`` was a
    bound from object fields: ``estimated``); ``estimate_parts`` holds the estimate's cost
    parts as JSON (``[[key, monthly USD], ...]``) so totals count a cost two
    findings share once. The CHECK is rewritten in the schema text as 0012 does (SQLite
    cannot alter a CHECK; a rebuild of ``findings`` needs foreign keys off); the rows are
    renamed after it, so each satisfies the new CHECK.
    """
    old = "CHECK (estimate_kind IN ('money', 'risk'))"
    new = "CHECK (estimate_kind IN ('measured', 'estimated', 'quota', 'risk'))"
    (sql,) = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'findings'"
    ).fetchone()
    if sql.count(old) != 1:
        raise ValueError("findings.estimate_kind has an unexpected CHECK; cannot widen it")
    (version,) = db.execute("PRAGMA schema_version").fetchone()
    db.execute("PRAGMA writable_schema = ON")
    try:
        db.execute(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'findings'",
            [sql.replace(old, new)],
        )
        db.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        db.execute("PRAGMA writable_schema = OFF")
    db.execute("UPDATE findings SET estimate_kind = 'estimated' WHERE estimate_kind = 'money'")
    db.execute("ALTER TABLE findings ADD COLUMN estimate_parts TEXT NOT NULL DEFAULT '[]'")


@migrations(name="0015_consumption")
def consumption(db: Database) -> None:
    """Neon's consumption meters and every read of them.

    Why keep the series: they age out of Neon's lookback (hourly 7 days, daily 60), and the
    bill and realized savings need the whole period and a baseline. Why the reads: a row
    Neon omitted is 0 only where a read succeeded; ``consumption_reads`` tells "not read"
    (failed, refused by the plan) from "zero". ``branch_id`` and ``period_id`` are '' for
    a project's rows and for no period, so the key stays unique (NULLs never collide).
    """
    db.execute(
        """
        CREATE TABLE consumption_buckets (
            org_id TEXT NOT NULL,
            project_id TEXT NOT NULL,
            branch_id TEXT NOT NULL DEFAULT '',
            granularity TEXT NOT NULL CHECK (granularity IN ('hourly', 'daily', 'monthly')),
            start_at TEXT NOT NULL,
            end_at TEXT NOT NULL,
            period_id TEXT NOT NULL DEFAULT '',
            period_plan TEXT,
            metric TEXT NOT NULL,
            value REAL NOT NULL CHECK (value >= 0),
            read_at TEXT NOT NULL,
            PRIMARY KEY (org_id, project_id, branch_id, granularity, start_at, period_id, metric)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        "CREATE INDEX consumption_buckets_by_time "
        "ON consumption_buckets (org_id, granularity, start_at)"
    )
    db.execute(
        """
        CREATE TABLE consumption_reads (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            org_id TEXT NOT NULL,
            scope TEXT NOT NULL CHECK (scope IN ('projects', 'branches')),
            granularity TEXT NOT NULL CHECK (granularity IN ('hourly', 'daily', 'monthly')),
            start_at TEXT NOT NULL,
            end_at TEXT NOT NULL,
            read_at TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
            message TEXT,
            rows INTEGER NOT NULL DEFAULT 0 CHECK (rows >= 0)
        )
        """
    )
    db.execute(
        "CREATE INDEX consumption_reads_by_org ON consumption_reads (org_id, scope, read_at)"
    )


@migrations(name="0016_realized_savings")
def realized_savings(db: Database) -> None:
    """What a succeeded remediation was judged on, and what it really saved.

    One row per remediation, next to it (``remediation_id``): kept when it succeeds (the
    estimate with its kind and method, the scope Neon meters, the baseline meters a day as
    JSON when the consumption store had them), then updated by each measurement pass
    (``status`` waiting / measured / no data, the realized monthly USD, the window, drift).
    ``next_at``: when a waiting row is looked at again.
    """
    db.execute(
        """
        CREATE TABLE realized_savings (
            remediation_id INTEGER PRIMARY KEY REFERENCES remediations(id),
            scope TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            estimate_usd REAL,
            estimate_kind TEXT,
            estimate_method TEXT,
            baseline TEXT,
            status TEXT NOT NULL CHECK (status IN ('waiting', 'measured', 'no data')),
            note TEXT NOT NULL DEFAULT '',
            realized_monthly_usd REAL,
            cu_hours_monthly REAL,
            window_start TEXT,
            window_end TEXT,
            drift REAL,
            drifted INTEGER NOT NULL DEFAULT 0 CHECK (drifted IN (0, 1)),
            next_at TEXT,
            measured_at TEXT,
            kept_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX realized_savings_due ON realized_savings (status, next_at)")


@migrations(name="0017_snapshot_resources")
def snapshot_resources(db: Database) -> None:
    """Findings and resources may be about a snapshot, and findings about an organization.

    Issue 18's policies select project snapshots (delete_snapshot) and organizations (plan
    fit, spending notifications). The CHECKs are widened in the schema text as 0012 does
    (SQLite cannot alter a CHECK; a rebuild needs foreign keys off): every row satisfies the
    wider ones.
    """
    widened = {
        "findings": (
            "resource_type IN ('project', 'branch', 'endpoint', 'api_key')",
            "resource_type IN ('organization', 'project', 'branch', 'endpoint', 'api_key', "
            "'snapshot')",
        ),
        "resources": (
            "resource_type IN ('organization', 'project', 'branch', 'endpoint', 'api_key')",
            "resource_type IN ('organization', 'project', 'branch', 'endpoint', 'api_key', "
            "'snapshot')",
        ),
    }
    texts = {}
    for table, (old, new) in widened.items():
        (sql,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
        ).fetchone()
        if sql.count(old) != 1:
            raise ValueError(f"{table}.resource_type has an unexpected CHECK; cannot widen it")
        texts[table] = sql.replace(old, new)
    (version,) = db.execute("PRAGMA schema_version").fetchone()
    db.execute("PRAGMA writable_schema = ON")
    try:
        for table, sql in texts.items():
            db.execute(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", [sql, table]
            )
        db.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        db.execute("PRAGMA writable_schema = OFF")


@migrations(name="0018_finding_owners")
def finding_owners(db: Database) -> None:
    """Which owner (``[owners]`` in the config) each finding's resource belongs to.

    Stamped at every evaluation from the owner map (so a changed map re-routes at the next
    run); digests, grouped approvals and the channels read it. ``owned_by_rule``: which rule
    matched (its position, or ``default``), shown by ``neon-governor owners``.
    """
    db.execute("ALTER TABLE findings ADD COLUMN owned_by TEXT")
    db.execute("ALTER TABLE findings ADD COLUMN owned_by_rule TEXT")
    db.execute("CREATE INDEX findings_by_owner ON findings (owned_by, status)")


@migrations(name="0019_digests")
def digests(db: Database) -> None:
    """One row per digest composed for an owner: what it held, so the next says what changed.

    ``fingerprints``: JSON list of the open findings' fingerprints it listed.
    """
    db.execute(
        """
        CREATE TABLE digests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            owner TEXT NOT NULL,
            created_at TEXT NOT NULL,
            fingerprints TEXT NOT NULL,
            findings INTEGER NOT NULL,
            new INTEGER NOT NULL,
            resolved INTEGER NOT NULL,
            total_usd REAL,
            channels TEXT NOT NULL DEFAULT '[]'
        )
        """
    )
    db.execute("CREATE INDEX digests_by_owner ON digests (owner, id)")


@migrations(name="0020_deliveries")
def deliveries(db: Database) -> None:
    """The outbox of every channel to people other than Slack (webhook, email, Teams).

    Same rules as ``slack_outbox``: recorded before sending, sent once in id order per
    (channel, destination), ``uncertain`` while a send is under way. ``destination`` is a
    name from the config (an owner, a webhook), never an address that carries a secret.
    """
    db.execute(
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            channel TEXT NOT NULL,
            destination TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            ref TEXT,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
            attempts INTEGER NOT NULL DEFAULT 0,
            uncertain INTEGER NOT NULL DEFAULT 0 CHECK (uncertain IN (0, 1)),
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX deliveries_pending ON deliveries (state, channel, destination, id)")


@migrations(name="0021_calm_slack")
def calm_slack(db: Database) -> None:
    """Grouped approval requests and a priority lane in the Slack outbox.

    ``priority`` 1: interactive feedback (a clicked message's update, an ephemeral reply),
    sent before any bulk post waiting. ``approval_groups``: one message per policy and
    owner per run; each remediation in it keeps its own ``slack_approvals`` row and token
    (``group_id``), and ``item_outbox_id`` is its own message in the thread once shown.
    """
    db.execute("ALTER TABLE slack_outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX slack_outbox_due ON slack_outbox (state, priority, id)")
    db.execute(
        """
        CREATE TABLE approval_groups (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            token TEXT NOT NULL UNIQUE,
            policy TEXT NOT NULL,
            owner TEXT,
            run_id INTEGER,
            outbox_id INTEGER NOT NULL REFERENCES slack_outbox(id),
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        "ALTER TABLE slack_approvals ADD COLUMN group_id INTEGER REFERENCES approval_groups(id)"
    )
    db.execute("ALTER TABLE slack_approvals ADD COLUMN item_outbox_id INTEGER")


def known_migration_names() -> list[str]:
    """Names of every migration this version ships, in order."""
    # sqlite-utils keeps the registered list private; it offers no public accessor.
    return [migration.name for migration in migrations._migrations]
