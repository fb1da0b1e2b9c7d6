"""The fixed SQL fragments the catalogue's names compile to (node/engine/compiler.py).

Populations, per-person values, shared per-person CTEs and dimension sources: only the ones
here exist, and SQL text is assembled from these fragments alone (every code, bound and date is
a bound parameter). Kept apart from the compiler so that adding a measure is adding a fragment
here, and the assembly logic stays one short module.
"""

from __future__ import annotations

__all__ = ["ACTIVE_DURING", "CTE_NEEDS", "CTE_SOURCES", "DIMENSION_SOURCES", "FOLLOWUP_COLUMNS",
           "PER_PERSON", "POPULATIONS", "SHARED_CTES", "SOURCE_POPULATION", "VALUES",
           "WORKER_COLUMNS", "YEAR_ONLY", "pairs_cte"]

ACTIVE_DURING = "start_date < :end AND (end_date IS NULL OR end_date > :start)"

POPULATIONS: dict[str, str] = {
    "active_at_end": (
        "SELECT DISTINCT pid FROM contracts "
        "WHERE start_date <= :last_day AND (end_date IS NULL OR end_date > :last_day)"
    ),
    "active_during": f"SELECT DISTINCT pid FROM contracts WHERE {ACTIVE_DURING}",
    "exited_during": "SELECT pid FROM last_exit",
    "assessed_twice": "SELECT DISTINCT pid FROM competence_pairs",
    # People under contract on the first day of the period (retention's t0).
    "active_at_start": (
        "SELECT DISTINCT pid FROM contracts "
        "WHERE start_date <= :start AND (end_date IS NULL OR end_date > :start)"
    ),
    # People with a support plan active at some time in the period.
    "planned_during": f"SELECT DISTINCT pid FROM support_plans WHERE {ACTIVE_DURING}",
    "self_evaluated_twice": "SELECT DISTINCT pid FROM self_evaluation_pairs",
    # Catalogue 2027.1 (issue 15). People hired in the period (hires.hire_date).
    "hired_during": "SELECT DISTINCT pid FROM hires WHERE hire_date >= :start AND hire_date < :end",
    # Coaches: staff members (people of the organisation outside the target groups) who are the
    # main coach of at least one target worker in the period (``main_coach``). A coach and a
    # coached person are never the same person (the one is NON_TARGET, the other not), so
    # removing anyone moves the count by at most 1 and the sum by at most one coach's bound.
    "coaching_staff": (
        "SELECT DISTINCT m.staff_pid AS pid FROM main_coach m "
        "JOIN workers s ON s.pid = m.staff_pid WHERE s.target_group = 'NON_TARGET'"
    ),
    "coach_evaluated_twice": "SELECT DISTINCT pid FROM coach_evaluation_pairs",
}

# Values computed on each population row (``pop.pid``), aggregating that person's rows only;
# NULL (no rows) counts as 0.
PER_PERSON: dict[str, str] = {
    "one": "1.0",
    "fte": (
        "(SELECT SUM(MIN(c.weekly_hours, 38.0) / 38.0 * "
        "(julianday(MIN(COALESCE(c.end_date, :end), :end)) - julianday(MAX(c.start_date, :start)))"
        " / :period_days) FROM contracts c WHERE c.pid = pop.pid "
        "AND c.start_date < :end AND (c.end_date IS NULL OR c.end_date > :start))"
    ),
    "support_hours": (
        "(SELECT SUM(s.duration_min) FROM support_actions s WHERE s.pid = pop.pid "
        "AND s.action_date >= :start AND s.action_date < :end) / 60.0"
    ),
    "training_hours": (
        "(SELECT SUM(t.hours) FROM training_sessions t WHERE t.pid = pop.pid "
        "AND t.session_date >= :start AND t.session_date < :end)"
    ),
}

# Values that need a shared CTE: a CTE ``val(pid, v)``; persons absent from it have value 0.
VALUES: dict[str, str] = {
    "competence_gain": "SELECT pid, AVG(gain) AS v FROM competence_pairs GROUP BY pid",
    "last_exit_in": "SELECT pid, CASE WHEN destination IN ({codes}) THEN 1.0 ELSE 0.0 END AS v "
    "FROM last_exit",
    "plan_active": (
        f"SELECT pid, 1.0 AS v FROM support_plans WHERE {ACTIVE_DURING} GROUP BY pid"
    ),
    # A review dated in the period, of any of the person's plans.
    "plan_review_in": (
        "SELECT p.pid AS pid, 1.0 AS v FROM plan_reviews r "
        "JOIN support_plans p ON p.plan_key = r.plan_key "
        "WHERE r.review_date >= :start AND r.review_date < :end GROUP BY p.pid"
    ),
    # Still under contract on the last day of the (calendar-year) period, i.e. 12 months after
    # its first day: reads contracts on that day only, never beyond the period.
    "active_12_months_later": (
        "SELECT pid, 1.0 AS v FROM contracts "
        "WHERE start_date <= :last_day AND (end_date IS NULL OR end_date > :last_day) "
        "GROUP BY pid"
    ),
    "self_evaluation_change": (
        "SELECT pid, AVG(change) AS v FROM self_evaluation_pairs GROUP BY pid"
    ),
    # 1 for everyone with an exit in the period (a turnover numerator over people active).
    "exited_in": "SELECT pid, 1.0 AS v FROM last_exit",
    # The situation observed about 6 or 12 months after the last exit (``exit_situation``).
    "followup_in": "SELECT pid, CASE WHEN {column} IN ({codes}) THEN 1.0 ELSE 0.0 END AS v "
    "FROM exit_situation",
    # A coach's caseload: the people they are the main coach of in the period (``main_coach``),
    # so that each supported person counts towards one coach only.
    "coach_caseload": "SELECT staff_pid AS pid, COUNT(*) * 1.0 AS v FROM main_coach "
    "GROUP BY staff_pid",
    "coach_evaluation_change": (
        "SELECT pid, AVG(change) AS v FROM coach_evaluation_pairs GROUP BY pid"
    ),
}

# The observation windows of the follow-up after an exit (days after the exit date): "about 6
# months" is an observation from 3 to 9 months on, "about 12 months" one from 9 to 18 months on;
# the latest observation in the window is the person's situation (DOMAIN.md §1.2 status_6m).
FOLLOWUP_COLUMNS = {"6": "s6", "12": "s12"}

# Values defined over a whole calendar year only (the period must span their 12 months).
YEAR_ONLY = frozenset({"active_12_months_later"})

SHARED_CTES = {
    "last_exit": (
        "last_exit AS (SELECT pid, destination, exit_reason, exit_key, exit_date FROM ("
        "SELECT pid, destination, exit_reason, exit_key, exit_date, ROW_NUMBER() OVER "
        "(PARTITION BY pid ORDER BY exit_date DESC, exit_key DESC) AS rn "
        "FROM exits WHERE exit_date >= :start AND exit_date < :end) WHERE rn = 1)"
    ),
    "competence_pairs": (
        "competence_pairs AS (SELECT pid, competence_code, "
        "MAX(CASE WHEN rn_last = 1 THEN score_norm END) "
        "- MAX(CASE WHEN rn_first = 1 THEN score_norm END) AS gain FROM ("
        "SELECT pid, competence_code, score_norm, "
        "ROW_NUMBER() OVER (PARTITION BY pid, competence_code "
        "ORDER BY assessment_date, assessment_key) AS rn_first, "
        "ROW_NUMBER() OVER (PARTITION BY pid, competence_code "
        "ORDER BY assessment_date DESC, assessment_key DESC) AS rn_last, "
        "COUNT(*) OVER (PARTITION BY pid, competence_code) AS n "
        "FROM competence_assessments WHERE assessment_date >= :start AND assessment_date < :end)"
        " WHERE n >= 2 GROUP BY pid, competence_code)"
    ),
}

def pairs_cte(name: str, table: str) -> str:
    """Per person and questionnaire item with >= 2 answers in the period: last minus first."""
    return (
        f"{name} AS (SELECT pid, item_code, "
        "MAX(CASE WHEN rn_last = 1 THEN score_norm END) "
        "- MAX(CASE WHEN rn_first = 1 THEN score_norm END) AS change FROM ("
        "SELECT pid, item_code, score_norm, "
        "ROW_NUMBER() OVER (PARTITION BY pid, item_code "
        "ORDER BY evaluation_date, evaluation_key) AS rn_first, "
        "ROW_NUMBER() OVER (PARTITION BY pid, item_code "
        "ORDER BY evaluation_date DESC, evaluation_key DESC) AS rn_last, "
        "COUNT(*) OVER (PARTITION BY pid, item_code) AS n "
        f"FROM {table} WHERE evaluation_date >= :start AND evaluation_date < :end)"
        " WHERE n >= 2 GROUP BY pid, item_code)"
    )


SHARED_CTES.update({
    "self_evaluation_pairs": pairs_cte("self_evaluation_pairs", "self_evaluations"),
    "coach_evaluation_pairs": pairs_cte("coach_evaluation_pairs", "coach_evaluations"),
    # The situation about 6 and 12 months after each person's last exit of the period (NULL:
    # no observation in the window). It reads follow-ups dated after the period by definition.
    "exit_situation": (
        "exit_situation AS (SELECT x.pid AS pid, "
        "(SELECT f.situation FROM exit_followups f WHERE f.exit_key = x.exit_key "
        "AND f.observation_date >= date(x.exit_date, '+91 days') "
        "AND f.observation_date < date(x.exit_date, '+274 days') "
        "ORDER BY f.observation_date DESC, f.followup_key DESC LIMIT 1) AS s6, "
        "(SELECT f.situation FROM exit_followups f WHERE f.exit_key = x.exit_key "
        "AND f.observation_date >= date(x.exit_date, '+274 days') "
        "AND f.observation_date < date(x.exit_date, '+548 days') "
        "ORDER BY f.observation_date DESC, f.followup_key DESC LIMIT 1) AS s12 "
        "FROM last_exit x)"
    ),
    # The referral source of each person's first hire in the period.
    "first_hire": (
        "first_hire AS (SELECT pid, referral_source FROM (SELECT pid, referral_source, "
        "ROW_NUMBER() OVER (PARTITION BY pid ORDER BY hire_date, hire_key) AS rn FROM hires "
        "WHERE hire_date >= :start AND hire_date < :end) WHERE rn = 1)"
    ),
    # Each person's main kind of support in the period: the federation code with the most
    # minutes (ties: the smallest code). One cell per person, so sensitivity is unchanged.
    "main_kind": (
        "main_kind AS (SELECT pid, kind FROM (SELECT pid, action_code AS kind, ROW_NUMBER() "
        "OVER (PARTITION BY pid ORDER BY SUM(duration_min) DESC, action_code) AS rn "
        "FROM support_actions WHERE action_date >= :start AND action_date < :end "
        "GROUP BY pid, action_code) WHERE rn = 1)"
    ),
    # Each supported target worker's main coach in the period: the staff member with the most
    # minutes (ties: the smallest pseudonym). Support given to staff is not a caseload.
    # MATERIALIZED: the population and the value both read it; computed once (measured in
    # bench/outcomes.py: 250 -> 124 ms at 2,500 people).
    "main_coach": (
        "main_coach AS MATERIALIZED (SELECT pid, staff_pid FROM (SELECT a.pid AS pid, "
        "a.staff_pid AS staff_pid, ROW_NUMBER() OVER (PARTITION BY a.pid "
        "ORDER BY SUM(a.duration_min) DESC, a.staff_pid) AS rn "
        "FROM support_actions a JOIN workers t ON t.pid = a.pid "
        "WHERE t.target_group <> 'NON_TARGET' AND a.staff_pid IS NOT NULL "
        "AND a.action_date >= :start AND a.action_date < :end GROUP BY a.pid, a.staff_pid) "
        "WHERE rn = 1)"
    ),
    # The self-evaluation item each person rated lowest at their first answer in the period
    # (ties: the smallest code): the area the accompaniment started from.
    "weakest_item": (
        "weakest_item AS (SELECT pid, item_code FROM (SELECT pid, item_code, ROW_NUMBER() "
        "OVER (PARTITION BY pid ORDER BY score_norm, item_code) AS rn FROM (SELECT pid, "
        "item_code, score_norm, ROW_NUMBER() OVER (PARTITION BY pid, item_code "
        "ORDER BY evaluation_date, evaluation_key) AS first FROM self_evaluations "
        "WHERE evaluation_date >= :start AND evaluation_date < :end) WHERE first = 1) "
        "WHERE rn = 1)"
    ),
})

# Dimension sources read from a per-person CTE: (CTE, alias, column expression).
CTE_SOURCES: dict[str, tuple[str, str, str]] = {
    "exit.destination": ("last_exit", "x", "x.destination"),
    "exit.reason": ("last_exit", "x", "x.exit_reason"),
    "exit.situation_6m": ("exit_situation", "es", "COALESCE(es.s6, 'NO_OBSERVATION')"),
    "exit.situation_12m": ("exit_situation", "es", "COALESCE(es.s12, 'NO_OBSERVATION')"),
    "hire.referral_source": ("first_hire", "h", "h.referral_source"),
    "support.main_kind": ("main_kind", "mk", "COALESCE(mk.kind, 'NONE')"),
    "self_evaluation.weakest_item": ("weakest_item", "wi", "COALESCE(wi.item_code, 'NONE')"),
}
# Sources defined on one population only (their CTE holds nobody else).
SOURCE_POPULATION = {
    "exit.destination": "exited_during", "exit.reason": "exited_during",
    "exit.situation_6m": "exited_during", "exit.situation_12m": "exited_during",
    "hire.referral_source": "hired_during",
}
# The CTEs a CTE reads.
CTE_NEEDS = {"exit_situation": ("last_exit",)}

WORKER_COLUMNS = {
    "worker.target_group": "w.target_group",
    "worker.gender": "w.gender",
    "worker.education_level": "w.education_level",
    "worker.region": "w.region",
}
DIMENSION_SOURCES = frozenset(WORKER_COLUMNS) | {"worker.age"} | frozenset(CTE_SOURCES)
