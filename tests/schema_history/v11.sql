-- koepel schema version 11, frozen: the exact schema a database at version 11 holds.
-- Never edit; add tests/schema_history/v12.sql with the next migration.

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
    , subsidy_scheme TEXT, fulltime_ref_hours REAL);

CREATE INDEX contracts_by_period
        ON contracts(start_date, end_date, pid, weekly_hours);

CREATE TABLE support_actions (
        action_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        action_date TEXT NOT NULL,
        duration_min INTEGER NOT NULL,
        action_code TEXT NOT NULL
    , local_code TEXT NOT NULL DEFAULT '', mapping_version TEXT NOT NULL DEFAULT '', staff_pid TEXT);

CREATE INDEX support_actions_by_date
        ON support_actions(action_date, pid, duration_min);

CREATE TABLE competence_assessments (
        assessment_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        assessment_date TEXT NOT NULL,
        competence_code TEXT NOT NULL,
        score_norm REAL NOT NULL
    , local_code TEXT NOT NULL DEFAULT '', mapping_version TEXT NOT NULL DEFAULT '', assessor TEXT NOT NULL DEFAULT 'UNKNOWN', context TEXT NOT NULL DEFAULT 'UNKNOWN');

CREATE INDEX competence_assessments_by_date
        ON competence_assessments(assessment_date, pid, competence_code, score_norm);

CREATE TABLE exits (
        exit_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        exit_date TEXT NOT NULL,
        destination TEXT NOT NULL
    , exit_reason TEXT NOT NULL DEFAULT 'UNKNOWN');

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
    , unit TEXT NOT NULL DEFAULT '', noise TEXT NOT NULL DEFAULT '', operator TEXT NOT NULL DEFAULT '', operator_request TEXT NOT NULL DEFAULT '');

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

CREATE TABLE vocabulary_map (
        kind TEXT NOT NULL CHECK (kind IN ('support_action', 'competence')),
        local_code TEXT NOT NULL,
        fed_code TEXT NOT NULL,
        mapping_version TEXT NOT NULL,
        first_used TEXT NOT NULL,
        PRIMARY KEY (kind, local_code, mapping_version)
    ) WITHOUT ROWID;

CREATE INDEX ledger_by_period ON ledger(budget_period, cost_micro);

CREATE TABLE support_plans (
        plan_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        start_date TEXT NOT NULL,
        end_date TEXT
    );

CREATE INDEX support_plans_by_period ON support_plans(start_date, end_date, pid);

CREATE INDEX support_plans_by_pid ON support_plans(pid);

CREATE TABLE plan_goals (
        goal_key TEXT PRIMARY KEY,
        plan_key TEXT NOT NULL REFERENCES support_plans(plan_key),
        domain TEXT NOT NULL,
        status TEXT NOT NULL
    );

CREATE INDEX plan_goals_by_plan ON plan_goals(plan_key, domain, status);

CREATE TABLE plan_reviews (
        review_key TEXT PRIMARY KEY,
        plan_key TEXT NOT NULL REFERENCES support_plans(plan_key),
        review_date TEXT NOT NULL
    );

CREATE INDEX plan_reviews_by_date ON plan_reviews(review_date, plan_key);

CREATE INDEX plan_reviews_by_plan ON plan_reviews(plan_key);

CREATE TABLE self_evaluations (
        evaluation_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        evaluation_date TEXT NOT NULL,
        item_code TEXT NOT NULL,
        score_norm REAL NOT NULL
    );

CREATE INDEX self_evaluations_by_date
        ON self_evaluations(evaluation_date, pid, item_code, score_norm);

CREATE INDEX competence_assessments_by_pid ON competence_assessments(pid);

CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail TEXT NOT NULL
    );

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE INDEX contracts_by_pid_period
        ON contracts(pid, start_date, end_date, weekly_hours);

CREATE INDEX support_actions_by_pid
        ON support_actions(pid, action_date, duration_min);

CREATE TABLE secagg_unmask (
        round_id TEXT PRIMARY KEY,
        claimed_at TEXT NOT NULL
    ) WITHOUT ROWID;

CREATE TRIGGER secagg_unmask_no_update BEFORE UPDATE ON secagg_unmask
        BEGIN SELECT RAISE(ABORT, 'unmask claims are append-only'); END;

CREATE TRIGGER secagg_unmask_no_delete BEFORE DELETE ON secagg_unmask
        BEGIN SELECT RAISE(ABORT, 'unmask claims are append-only'); END;

CREATE TABLE web_users (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('job_coach', 'manager', 'admin')),
        language TEXT NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'nl', 'en')),
        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        created_at TEXT NOT NULL,
        password_changed_at TEXT NOT NULL
    ) WITHOUT ROWID;

CREATE TABLE vocabulary_labels (
        kind TEXT NOT NULL CHECK (kind IN ('support_action', 'competence')),
        local_code TEXT NOT NULL,
        language TEXT NOT NULL CHECK (language IN ('fr', 'nl', 'en')),
        label TEXT NOT NULL,
        PRIMARY KEY (kind, local_code, language)
    ) WITHOUT ROWID;

CREATE TABLE facts_periods (
        period TEXT PRIMARY KEY,
        start_date TEXT NOT NULL,
        end_date TEXT NOT NULL,
        last_day TEXT NOT NULL,
        days REAL NOT NULL
    ) WITHOUT ROWID;

CREATE TABLE person_periods (
        period TEXT NOT NULL,
        pid TEXT NOT NULL,
        active_start INTEGER NOT NULL,
        active_end INTEGER NOT NULL,
        fte REAL NOT NULL,
        support_min INTEGER NOT NULL,
        birth_year INTEGER NOT NULL,
        gender TEXT NOT NULL,
        education_level TEXT NOT NULL,
        target_group TEXT NOT NULL,
        region TEXT NOT NULL,
        PRIMARY KEY (period, pid)
    ) WITHOUT ROWID;

CREATE INDEX person_periods_by_pid ON person_periods(pid);

CREATE TABLE facts_dirty (pid TEXT PRIMARY KEY) WITHOUT ROWID;

CREATE TRIGGER contracts_facts_insert AFTER INSERT ON contracts
        BEGIN INSERT INTO facts_dirty SELECT NEW.pid WHERE true
            ON CONFLICT DO NOTHING; END;

CREATE TRIGGER contracts_facts_update AFTER UPDATE ON contracts
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid WHERE true
            ON CONFLICT DO NOTHING;
            INSERT INTO facts_dirty SELECT NEW.pid WHERE true
            ON CONFLICT DO NOTHING; END;

CREATE TRIGGER contracts_facts_delete AFTER DELETE ON contracts
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid WHERE true
            ON CONFLICT DO NOTHING; END;

CREATE TRIGGER support_actions_facts_insert AFTER INSERT ON support_actions
        BEGIN INSERT INTO facts_dirty SELECT NEW.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = NEW.pid)
            ON CONFLICT DO NOTHING; END;

CREATE TRIGGER support_actions_facts_update AFTER UPDATE ON support_actions
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = OLD.pid)
            ON CONFLICT DO NOTHING;
            INSERT INTO facts_dirty SELECT NEW.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = NEW.pid)
            ON CONFLICT DO NOTHING; END;

CREATE TRIGGER support_actions_facts_delete AFTER DELETE ON support_actions
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = OLD.pid)
            ON CONFLICT DO NOTHING; END;

CREATE TRIGGER workers_facts_insert AFTER INSERT ON workers
        BEGIN INSERT INTO facts_dirty SELECT NEW.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = NEW.pid)
            ON CONFLICT DO NOTHING; END;

CREATE TRIGGER workers_facts_update AFTER UPDATE ON workers
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = OLD.pid)
            ON CONFLICT DO NOTHING;
            INSERT INTO facts_dirty SELECT NEW.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = NEW.pid)
            ON CONFLICT DO NOTHING; END;

CREATE TRIGGER workers_facts_delete AFTER DELETE ON workers
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = OLD.pid)
            ON CONFLICT DO NOTHING; END;

CREATE TABLE ledger_totals (
        querier TEXT NOT NULL,
        budget_period TEXT NOT NULL,
        unit TEXT NOT NULL,
        spent_micro INTEGER NOT NULL,
        PRIMARY KEY (querier, budget_period, unit)
    ) WITHOUT ROWID;

CREATE TRIGGER ledger_totals_add AFTER INSERT ON ledger
        BEGIN INSERT INTO ledger_totals (querier, budget_period, unit, spent_micro)
            VALUES (NEW.querier, NEW.budget_period, COALESCE(NULLIF(NEW.unit, ''), 'epsilon'),
                    NEW.cost_micro)
            ON CONFLICT (querier, budget_period, unit)
            DO UPDATE SET spent_micro = spent_micro + excluded.spent_micro; END;

CREATE INDEX ledger_by_operator
        ON ledger(querier, operator, budget_period, cost_micro);

CREATE UNIQUE INDEX ledger_operator_requests
        ON ledger(operator, operator_request) WHERE operator_request != '';

CREATE TABLE person_names (
        pid TEXT PRIMARY KEY REFERENCES workers(pid),
        display_name TEXT NOT NULL,
        search_key TEXT NOT NULL
    ) WITHOUT ROWID;

CREATE TABLE vocabulary_terms (
        kind TEXT NOT NULL CHECK (kind IN ('support_action', 'competence')),
        local_code TEXT NOT NULL,
        fed_code TEXT,
        PRIMARY KEY (kind, local_code)
    ) WITHOUT ROWID;

CREATE INDEX support_actions_by_date_kind
        ON support_actions(action_date, pid, action_code, staff_pid, duration_min);

CREATE TABLE training_sessions (
        session_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        session_date TEXT NOT NULL,
        hours REAL NOT NULL,
        training_type TEXT NOT NULL,
        qualifying INTEGER NOT NULL CHECK (qualifying IN (0, 1))
    );

CREATE INDEX training_sessions_by_pid ON training_sessions(pid, session_date, hours);

CREATE TABLE hires (
        hire_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        hire_date TEXT NOT NULL,
        referral_source TEXT NOT NULL
    );

CREATE INDEX hires_by_date ON hires(hire_date, pid, referral_source);

CREATE TABLE exit_followups (
        followup_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        exit_key TEXT NOT NULL REFERENCES exits(exit_key),
        observation_date TEXT NOT NULL,
        situation TEXT NOT NULL
    );

CREATE INDEX exit_followups_by_exit ON exit_followups(exit_key, observation_date);

CREATE TABLE coach_evaluations (
        evaluation_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        staff_pid TEXT,
        evaluation_date TEXT NOT NULL,
        item_code TEXT NOT NULL,
        score_norm REAL NOT NULL
    );

CREATE INDEX coach_evaluations_by_date
        ON coach_evaluations(evaluation_date, pid, item_code, score_norm);

CREATE TABLE hiring_eligibility (
        eligibility_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        attestation_date TEXT NOT NULL,
        scheme TEXT NOT NULL,
        criteria TEXT NOT NULL
    );

CREATE INDEX hiring_eligibility_by_pid ON hiring_eligibility(pid, attestation_date);

PRAGMA application_id = 1263486288;

PRAGMA user_version = 11;
