"""The node's record schema and its forward-only migrations.

The schema follows what the sector's own tools hold (DESIGN.md, "The node's records"). Every
person is stored under a pseudonymous id (an HMAC of the organisation's own id); raw ids are
never written. Migrations run in order, each in its own transaction, and ``PRAGMA user_version``
records how far a database has come.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION"]

# The SQLite header's application id for koepel databases ("KOEP"), set from version 2 on.
APPLICATION_ID = 0x4B4F4550

# A migration is frozen once released: never edit one, add the next. tests/schema_history holds
# the schema each version produced, and the tests check every older version migrates forward.

_V1 = (
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID""",
    """CREATE TABLE workers (
        pid TEXT PRIMARY KEY,
        birth_year INTEGER NOT NULL,
        gender TEXT NOT NULL,
        education_level TEXT NOT NULL,
        target_group TEXT NOT NULL,
        region TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE contracts (
        contract_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        role TEXT NOT NULL,
        contract_type TEXT NOT NULL,
        weekly_hours REAL NOT NULL,
        start_date TEXT NOT NULL,
        end_date TEXT
    )""",
    # Covering index for the period-overlap scans of every population and of FTE.
    """CREATE INDEX contracts_by_period
        ON contracts(start_date, end_date, pid, weekly_hours)""",
    """CREATE INDEX contracts_by_pid ON contracts(pid)""",
    """CREATE TABLE support_actions (
        action_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        action_date TEXT NOT NULL,
        duration_min INTEGER NOT NULL,
        action_code TEXT NOT NULL
    )""",
    """CREATE INDEX support_actions_by_date
        ON support_actions(action_date, pid, duration_min)""",
    """CREATE TABLE competence_assessments (
        assessment_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        assessment_date TEXT NOT NULL,
        competence_code TEXT NOT NULL,
        score_norm REAL NOT NULL
    )""",
    """CREATE INDEX competence_assessments_by_date
        ON competence_assessments(assessment_date, pid, competence_code, score_norm)""",
    """CREATE TABLE exits (
        exit_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        exit_date TEXT NOT NULL,
        destination TEXT NOT NULL
    )""",
    """CREATE INDEX exits_by_date ON exits(exit_date, pid, destination)""",
    # The privacy ledger: append-only, hash-chained; one row per charged answer.
    """CREATE TABLE ledger (
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
    )""",
    """CREATE INDEX ledger_by_querier ON ledger(querier, budget_period, cost_micro)""",
    """CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END""",
    """CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END""",
    # Released answers, kept so that a retried query id gets the same answer at no cost.
    """CREATE TABLE answers (
        querier TEXT NOT NULL,
        query_id TEXT NOT NULL,
        query_digest TEXT NOT NULL,
        answer TEXT NOT NULL,
        ledger_seq INTEGER NOT NULL REFERENCES ledger(seq),
        PRIMARY KEY (querier, query_id)
    ) WITHOUT ROWID""",
)

# Version 2: organisation-defined support-action kinds and competences. Each row keeps the
# organisation's own code next to the federation vocabulary code it was mapped to (node.toml
# [vocabulary]) and the version of that mapping; ``vocabulary_map`` records every mapping
# version an import used, so a figure can always be traced back to the codes it came from.
_V2 = (
    f"PRAGMA application_id = {APPLICATION_ID:d}",
    "ALTER TABLE support_actions ADD COLUMN local_code TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE support_actions ADD COLUMN mapping_version TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE competence_assessments ADD COLUMN local_code TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE competence_assessments ADD COLUMN mapping_version TEXT NOT NULL DEFAULT ''",
    # Rows imported before version 2 carried federation codes only: they are their own local
    # code, under the identity mapping.
    "UPDATE support_actions SET local_code = action_code, mapping_version = 'identity'",
    "UPDATE competence_assessments SET local_code = competence_code, "
    "mapping_version = 'identity'",
    """CREATE TABLE vocabulary_map (
        kind TEXT NOT NULL CHECK (kind IN ('support_action', 'competence')),
        local_code TEXT NOT NULL,
        fed_code TEXT NOT NULL,
        mapping_version TEXT NOT NULL,
        first_used TEXT NOT NULL,
        PRIMARY KEY (kind, local_code, mapping_version)
    ) WITHOUT ROWID""",
)

# Version 3: the ledger states each entry's unit (ε or ρ: the catalogue's accounting) and the
# noise of each released vector; the node-wide cap sums a period's charges through an index.
_V3_LEDGER = (
    """ALTER TABLE ledger ADD COLUMN unit TEXT NOT NULL DEFAULT ''""",
    """ALTER TABLE ledger ADD COLUMN noise TEXT NOT NULL DEFAULT ''""",
    """CREATE INDEX ledger_by_period ON ledger(budget_period, cost_micro)""",
)

# Version 4: the accompaniment records (DOMAIN.md §1.2): support plans with their goals and
# reviews, self-evaluation questionnaires, who assessed a competence and when in the trajectory,
# the subsidy scheme of a contract (for the Walloon EI forms), and the node-local audit log of
# identity-level exports (a person's transfer record, the regional forms): who, when, what —
# never a record value.
_V4_ACCOMPANIMENT = (
    """CREATE TABLE support_plans (
        plan_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        start_date TEXT NOT NULL,
        end_date TEXT
    )""",
    # Covering index for the plan populations (a plan active in the period, per person).
    """CREATE INDEX support_plans_by_period ON support_plans(start_date, end_date, pid)""",
    """CREATE INDEX support_plans_by_pid ON support_plans(pid)""",
    """CREATE TABLE plan_goals (
        goal_key TEXT PRIMARY KEY,
        plan_key TEXT NOT NULL REFERENCES support_plans(plan_key),
        domain TEXT NOT NULL,
        status TEXT NOT NULL
    )""",
    """CREATE INDEX plan_goals_by_plan ON plan_goals(plan_key, domain, status)""",
    """CREATE TABLE plan_reviews (
        review_key TEXT PRIMARY KEY,
        plan_key TEXT NOT NULL REFERENCES support_plans(plan_key),
        review_date TEXT NOT NULL
    )""",
    """CREATE INDEX plan_reviews_by_date ON plan_reviews(review_date, plan_key)""",
    """CREATE INDEX plan_reviews_by_plan ON plan_reviews(plan_key)""",
    """CREATE TABLE self_evaluations (
        evaluation_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        evaluation_date TEXT NOT NULL,
        item_code TEXT NOT NULL,
        score_norm REAL NOT NULL
    )""",
    """CREATE INDEX self_evaluations_by_date
        ON self_evaluations(evaluation_date, pid, item_code, score_norm)""",
    # One person's record (`koepel node person`, transfers) reads by person, not by date.
    """CREATE INDEX support_actions_by_pid ON support_actions(pid)""",
    """CREATE INDEX competence_assessments_by_pid ON competence_assessments(pid)""",
    "ALTER TABLE competence_assessments ADD COLUMN assessor TEXT NOT NULL DEFAULT 'UNKNOWN'",
    "ALTER TABLE competence_assessments ADD COLUMN context TEXT NOT NULL DEFAULT 'UNKNOWN'",
    "ALTER TABLE contracts ADD COLUMN subsidy_scheme TEXT",
    """CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail TEXT NOT NULL
    )""",
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
)

# Version 5: per-person covering indexes. The compiled SQL walks each person's contracts and
# support actions by pid (node/engine/compiler.py); these make that walk an index range read with no
# table lookups and no temporary B-tree (measured in bench/). They also serve what the pid-only
# indexes served (foreign-key checks, one person's record), which they replace.
_V5_INDEXES = (
    """CREATE INDEX contracts_by_pid_period
        ON contracts(pid, start_date, end_date, weekly_hours)""",
    """DROP INDEX contracts_by_pid""",
    """DROP INDEX support_actions_by_pid""",
    """CREATE INDEX support_actions_by_pid
        ON support_actions(pid, action_date, duration_min)""",
)

# Version 6: secure aggregation. A node reveals its unmasking secrets for a round at most once
# (a second unmask would let an aggregator see one node's vector): the claim is a row here,
# written before the reply leaves, so it holds across restarts. Append-only, like the ledger.
_V6_SECURE_AGGREGATION = (
    """CREATE TABLE secagg_unmask (
        round_id TEXT PRIMARY KEY,
        claimed_at TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TRIGGER secagg_unmask_no_update BEFORE UPDATE ON secagg_unmask
        BEGIN SELECT RAISE(ABORT, 'unmask claims are append-only'); END""",
    """CREATE TRIGGER secagg_unmask_no_delete BEFORE DELETE ON secagg_unmask
        BEGIN SELECT RAISE(ABORT, 'unmask claims are append-only'); END""",
)

# Version 7: the staff accounts of the organisation's web app (`koepel node web`), and the
# organisation's own labels for its vocabulary codes. A password
# is kept only as its Argon2id hash (with its own salt and cost parameters in the PHC string);
# a role decides what an account may see (a job coach never reaches the manager's pages); an
# account is disabled, never deleted, so that the audit log's "who" keeps meaning someone.
_V7_WEB_ACCOUNTS = (
    """CREATE TABLE web_users (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('job_coach', 'manager', 'admin')),
        language TEXT NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'nl', 'en')),
        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        created_at TEXT NOT NULL,
        password_changed_at TEXT NOT NULL
    ) WITHOUT ROWID""",
    # The organisation's own words for its kinds of support and competences, per language
    # (the codes and their federation mapping stay in node.toml [vocabulary]).
    """CREATE TABLE vocabulary_labels (
        kind TEXT NOT NULL CHECK (kind IN ('support_action', 'competence')),
        local_code TEXT NOT NULL,
        language TEXT NOT NULL CHECK (language IN ('fr', 'nl', 'en')),
        label TEXT NOT NULL,
        PRIMARY KEY (kind, local_code, language)
    ) WITHOUT ROWID""",
)

# Version 8: per-person facts kept at write time (node/store/facts.py; DESIGN.md, Performance).
# ``person_periods`` holds, for every person under contract at some time in a covered period
# (every calendar year and quarter of ``facts_periods``), whether they were under contract on
# its first and on its last day, their FTE over it and their support minutes in it (exactly the
# per-person values the compiled SQL used to recompute from raw rows on every query), and their
# worker attributes (the dimensions), so a query reads this one table. Triggers mark a person
# whose worker row, contracts or support actions change in ``facts_dirty``; every write
# transaction recomputes those people's facts before it commits (``Store.transaction``), so the
# facts never disagree with the rows they come from. Here every existing person is marked: the
# store builds their facts right after migrating. ``ledger_totals`` keeps what each querier has
# spent per period, in the same transaction as each charge (a trigger on the append-only
# ledger), so that the budget checks read a handful of rows instead of the whole ledger. (The
# triggers use an upsert clause, not ``INSERT OR IGNORE``, whose conflict handling an importer's
# own upsert would override. Only people with a contract have facts, so a worker row or a
# support action of someone without one marks nobody: their first contract marks them.)
_V8_FACTS = (
    """CREATE TABLE facts_periods (
        period TEXT PRIMARY KEY,
        start_date TEXT NOT NULL,
        end_date TEXT NOT NULL,
        last_day TEXT NOT NULL,
        days REAL NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE person_periods (
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
    ) WITHOUT ROWID""",
    """CREATE INDEX person_periods_by_pid ON person_periods(pid)""",
    """CREATE TABLE facts_dirty (pid TEXT PRIMARY KEY) WITHOUT ROWID""",
    """CREATE TRIGGER contracts_facts_insert AFTER INSERT ON contracts
        BEGIN INSERT INTO facts_dirty SELECT NEW.pid WHERE true
            ON CONFLICT DO NOTHING; END""",
    """CREATE TRIGGER contracts_facts_update AFTER UPDATE ON contracts
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid WHERE true
            ON CONFLICT DO NOTHING;
            INSERT INTO facts_dirty SELECT NEW.pid WHERE true
            ON CONFLICT DO NOTHING; END""",
    """CREATE TRIGGER contracts_facts_delete AFTER DELETE ON contracts
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid WHERE true
            ON CONFLICT DO NOTHING; END""",
    """CREATE TRIGGER support_actions_facts_insert AFTER INSERT ON support_actions
        BEGIN INSERT INTO facts_dirty SELECT NEW.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = NEW.pid)
            ON CONFLICT DO NOTHING; END""",
    """CREATE TRIGGER support_actions_facts_update AFTER UPDATE ON support_actions
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = OLD.pid)
            ON CONFLICT DO NOTHING;
            INSERT INTO facts_dirty SELECT NEW.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = NEW.pid)
            ON CONFLICT DO NOTHING; END""",
    """CREATE TRIGGER support_actions_facts_delete AFTER DELETE ON support_actions
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = OLD.pid)
            ON CONFLICT DO NOTHING; END""",
    """CREATE TRIGGER workers_facts_insert AFTER INSERT ON workers
        BEGIN INSERT INTO facts_dirty SELECT NEW.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = NEW.pid)
            ON CONFLICT DO NOTHING; END""",
    """CREATE TRIGGER workers_facts_update AFTER UPDATE ON workers
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = OLD.pid)
            ON CONFLICT DO NOTHING;
            INSERT INTO facts_dirty SELECT NEW.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = NEW.pid)
            ON CONFLICT DO NOTHING; END""",
    """CREATE TRIGGER workers_facts_delete AFTER DELETE ON workers
        BEGIN INSERT INTO facts_dirty SELECT OLD.pid
            WHERE EXISTS (SELECT 1 FROM contracts WHERE pid = OLD.pid)
            ON CONFLICT DO NOTHING; END""",
    """INSERT INTO facts_dirty SELECT DISTINCT pid FROM contracts""",
    """CREATE TABLE ledger_totals (
        querier TEXT NOT NULL,
        budget_period TEXT NOT NULL,
        unit TEXT NOT NULL,
        spent_micro INTEGER NOT NULL,
        PRIMARY KEY (querier, budget_period, unit)
    ) WITHOUT ROWID""",
    """INSERT INTO ledger_totals (querier, budget_period, unit, spent_micro)
        SELECT querier, budget_period, COALESCE(NULLIF(unit, ''), 'epsilon'), SUM(cost_micro)
        FROM ledger GROUP BY 1, 2, 3""",
    """CREATE TRIGGER ledger_totals_add AFTER INSERT ON ledger
        BEGIN INSERT INTO ledger_totals (querier, budget_period, unit, spent_micro)
            VALUES (NEW.querier, NEW.budget_period, COALESCE(NULLIF(NEW.unit, ''), 'epsilon'),
                    NEW.cost_micro)
            ON CONFLICT (querier, budget_period, unit)
            DO UPDATE SET spent_micro = spent_micro + excluded.spent_micro; END""",
)

# Version 9: each charge names the operator who signed the query (wire.attribution) and the
# query id that operator signed; operators' own caps sum their charges through an index, and a
# signed request is charged at most once (a replay under another query id is refused).
_V9_OPERATOR = (
    """ALTER TABLE ledger ADD COLUMN operator TEXT NOT NULL DEFAULT ''""",
    """ALTER TABLE ledger ADD COLUMN operator_request TEXT NOT NULL DEFAULT ''""",
    """CREATE INDEX ledger_by_operator
        ON ledger(querier, operator, budget_period, cost_micro)""",
    """CREATE UNIQUE INDEX ledger_operator_requests
        ON ledger(operator, operator_request) WHERE operator_request != ''""",
)

# Version 10: what the organisation's web app keeps for its own staff. ``person_names``: the name
# a job coach knows a person by, in its own table of the encrypted store (with a search key:
# the name folded to lower case without accents), read only by the web app's people list and
# person page: never by the query engine, the reports, the exports, the audit log or the
# federation (docs/organisation.md, "Names on screen"). ``vocabulary_terms``: the kinds of
# support and competences a manager defines in the app, each mapped to a federation code (or
# to none yet: NULL), next to the ones node.toml [vocabulary] maps.
_V10_WEB_NAMES = (
    """CREATE TABLE person_names (
        pid TEXT PRIMARY KEY REFERENCES workers(pid),
        display_name TEXT NOT NULL,
        search_key TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE vocabulary_terms (
        kind TEXT NOT NULL CHECK (kind IN ('support_action', 'competence')),
        local_code TEXT NOT NULL,
        fed_code TEXT,
        PRIMARY KEY (kind, local_code)
    ) WITHOUT ROWID""",
)

# Version 11: the outcomes the sector is judged on (issue 15; DOMAIN.md §1.2 and §2). Training
# sessions and their hours (what a CISP counts); hires with their referral source (the bridges
# from training into insertion); the reason of an exit beside its destination; follow-up
# observations of a person's situation after an exit ("insertion durable", 6 and 12 months on);
# the (pseudonymous) staff member behind each support action (caseloads); the coach's own
# evaluation of a person's accompaniment, per questionnaire item; eligibility at hiring (the
# criteria met, the attestation date and the scheme, as the Walloon EI Annexe 1 needs them);
# and per contract the full-time reference hours of its joint committee (FTE for the forms).
# Older rows: exit reason UNKNOWN, no staff member, no full-time reference (the organisation's
# default from node.toml [forms] applies).
_V11_OUTCOMES = (
    "ALTER TABLE contracts ADD COLUMN fulltime_ref_hours REAL",
    "ALTER TABLE exits ADD COLUMN exit_reason TEXT NOT NULL DEFAULT 'UNKNOWN'",
    "ALTER TABLE support_actions ADD COLUMN staff_pid TEXT",
    # Covering index of the per-period walks by kind and by staff member (main kind of
    # support, main coach, coaching staff): one range of the period, no table lookups.
    """CREATE INDEX support_actions_by_date_kind
        ON support_actions(action_date, pid, action_code, staff_pid, duration_min)""",
    """CREATE TABLE training_sessions (
        session_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        session_date TEXT NOT NULL,
        hours REAL NOT NULL,
        training_type TEXT NOT NULL,
        qualifying INTEGER NOT NULL CHECK (qualifying IN (0, 1))
    )""",
    """CREATE INDEX training_sessions_by_pid ON training_sessions(pid, session_date, hours)""",
    """CREATE TABLE hires (
        hire_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        hire_date TEXT NOT NULL,
        referral_source TEXT NOT NULL
    )""",
    """CREATE INDEX hires_by_date ON hires(hire_date, pid, referral_source)""",
    """CREATE TABLE exit_followups (
        followup_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        exit_key TEXT NOT NULL REFERENCES exits(exit_key),
        observation_date TEXT NOT NULL,
        situation TEXT NOT NULL
    )""",
    """CREATE INDEX exit_followups_by_exit ON exit_followups(exit_key, observation_date)""",
    """CREATE TABLE coach_evaluations (
        evaluation_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        staff_pid TEXT,
        evaluation_date TEXT NOT NULL,
        item_code TEXT NOT NULL,
        score_norm REAL NOT NULL
    )""",
    """CREATE INDEX coach_evaluations_by_date
        ON coach_evaluations(evaluation_date, pid, item_code, score_norm)""",
    """CREATE TABLE hiring_eligibility (
        eligibility_key TEXT PRIMARY KEY,
        pid TEXT NOT NULL REFERENCES workers(pid),
        attestation_date TEXT NOT NULL,
        scheme TEXT NOT NULL,
        criteria TEXT NOT NULL
    )""",
    """CREATE INDEX hiring_eligibility_by_pid ON hiring_eligibility(pid, attestation_date)""",
)

MIGRATIONS: Sequence[Sequence[str]] = (_V1, _V2, _V3_LEDGER, _V4_ACCOMPANIMENT, _V5_INDEXES,
                                       _V6_SECURE_AGGREGATION, _V7_WEB_ACCOUNTS, _V8_FACTS,
                                       _V9_OPERATOR, _V10_WEB_NAMES, _V11_OUTCOMES)
SCHEMA_VERSION = len(MIGRATIONS)
