-- koepel schema version 1, frozen: the exact schema a database at version 1 holds.
-- Never edit; add tests/schema_history/v2.sql with the next migration.

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE workers (
        pid TEXT PRIMARY KEY,
        birth_year INTEGER NOT NULL,
        gender TEXT NOT NULL,
        education_level TEXT NOT NULL,
        target_group TEXT NOT NULL,
        region TEXT NOT NULL
    ) WITHOUT ROWID;

CREATE TABLE contracts (
        contract_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        role TEXT NOT NULL,
        contract_type TEXT NOT NULL,
        weekly_hours REAL NOT NULL,
        start_date TEXT NOT NULL,
        end_date TEXT
    );

CREATE INDEX contracts_by_period
        ON contracts(start_date, end_date, pid, weekly_hours);

CREATE INDEX contracts_by_pid ON contracts(pid);

CREATE TABLE support_actions (
        action_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        action_date TEXT NOT NULL,
        duration_min INTEGER NOT NULL,
        action_code TEXT NOT NULL
    );

CREATE INDEX support_actions_by_date
        ON support_actions(action_date, pid, duration_min);

CREATE TABLE competence_assessments (
        assessment_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        assessment_date TEXT NOT NULL,
        competence_code TEXT NOT NULL,
        score_norm REAL NOT NULL
    );

CREATE INDEX competence_assessments_by_date
        ON competence_assessments(assessment_date, pid, competence_code, score_norm);

CREATE TABLE exits (
        exit_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        exit_date TEXT NOT NULL,
        destination TEXT NOT NULL
    );

CREATE INDEX exits_by_date ON exits(exit_date, pid, destination);

CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        querier TEXT NOT NULL,
        query_id TEXT NOT NULL,
        query_digest TEXT NOT NULL,
        mechanism TEXT NOT NULL,
        cost_micro INTEGER NOT NULL CHECK (cost_micro >= 0),
        budget_period TEXT NOT NULL,
        catalogue_version TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        entry_hash TEXT NOT NULL
    );

CREATE INDEX ledger_by_querier ON ledger(querier, budget_period, cost_micro);

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

CREATE TABLE answers (
        querier TEXT NOT NULL,
        query_id TEXT NOT NULL,
        query_digest TEXT NOT NULL,
        answer TEXT NOT NULL,
        ledger_seq INTEGER NOT NULL REFERENCES ledger(seq),
        PRIMARY KEY (querier, query_id)
    ) WITHOUT ROWID;

PRAGMA application_id = 0;

PRAGMA user_version = 1;
