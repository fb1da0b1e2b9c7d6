"""The words staff read for the federation's codes, marked for the catalogues.

The records hold codes (TG_DISADV, SA02, C01, …); a person reads them in their language. Each
table here covers every code of the matching list in node/imports/records.py or the federation
vocabulary (tests/test_web_i18n.py checks that none is missing); a code with no label is shown
as itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from node.organisation.web.i18n import N_

__all__ = ["LABELS", "label"]

LABELS: Mapping[str, Mapping[str, str]] = {
    "gender": {"F": N_("woman"), "M": N_("man"), "X": N_("other (X)"),
               "UNKNOWN": N_("not known")},
    "education_level": {
        "NONE_OR_PRIMARY": N_("none or primary school"),
        "LOWER_SEC": N_("lower secondary"),
        "UPPER_SEC": N_("upper secondary"),
        "POST_SEC_NON_TERTIARY": N_("post-secondary, not higher education"),
        "TERTIARY": N_("higher education"),
        "FOREIGN_UNRECOGNISED": N_("foreign diploma, not recognised"),
        "UNKNOWN": N_("not known"),
    },
    "target_group": {
        "TG_DISABILITY": N_("work disability"),
        "TG_PSYCHOSOCIAL": N_("psychosocial problems"),
        "TG_SEVERELY_DISADV": N_("severely disadvantaged"),
        "TG_DISADV": N_("disadvantaged"),
        "TG_SOCIAL_ASSIST": N_("social assistance (article 60)"),
        "TG_TRAINEE": N_("trainee"),
        "NON_TARGET": N_("not in a target group (staff)"),
    },
    "region": {"BE-VLG": N_("Flanders"), "BE-WAL": N_("Wallonia"), "BE-BRU": N_("Brussels")},
    "role": {
        "TARGET_WORKER": N_("target-group worker"),
        "SUPERVISORY_STAFF": N_("supervisory staff"),
        "TRAINEE": N_("trainee"),
        "PARTICIPANT": N_("participant"),
    },
    "contract_type": {
        "OPEN_ENDED": N_("open-ended"),
        "FIXED_TERM": N_("fixed-term"),
        "SPECIFIC_TASK": N_("specific task"),
        "REPLACEMENT": N_("replacement"),
        "ART60_7": N_("article 60 §7"),
        "TITRES_SERVICES": N_("service vouchers"),
        "TRANSITION_CONTRACT": N_("transition contract"),
        "TRAINING_CONTRACT_CISP": N_("training contract (CISP)"),
        "NO_CONTRACT_ACTIVITY": N_("activity without a contract"),
        "INTERNSHIP": N_("internship"),
        "STUDENT_FLEXI": N_("student or flexi job"),
        "OTHER": N_("other"),
    },
    "assessor": {"SELF": N_("the person themself"), "COACH": N_("job coach"),
                 "SUPERVISOR": N_("supervisor"), "EXTERNAL": N_("external assessor"),
                 "UNKNOWN": N_("not known")},
    "context": {"INTAKE": N_("at intake"), "PERIODIC": N_("periodic"),
                "EXIT": N_("at exit"), "UNKNOWN": N_("not known")},
    "goal_domain": {
        "WORK_SKILLS": N_("work skills"), "ATTITUDE": N_("attitude"), "HEALTH": N_("health"),
        "HOUSING": N_("housing"), "FINANCE_DEBT": N_("money and debts"),
        "MOBILITY": N_("mobility"), "FAMILY_CHILDCARE": N_("family and childcare"),
        "ADMIN_RIGHTS": N_("paperwork and rights"), "LANGUAGE": N_("language"),
        "JUSTICE": N_("justice"), "TRANSITION": N_("move to a regular job"),
    },
    "goal_status": {"OPEN": N_("open"), "ACHIEVED": N_("achieved"), "DROPPED": N_("dropped")},
    "support_action": {
        "SA01": N_("intake / onboarding"),
        "SA02": N_("individual coaching conversation"),
        "SA03": N_("on-the-job instruction / coaching"),
        "SA04": N_("evaluation / appraisal interview"),
        "SA05": N_("psychosocial support on non-work barriers"),
        "SA06": N_("administrative / social-rights support"),
        "SA07": N_("job search / transition preparation"),
        "SA08": N_("external placement / internship / detachment follow-up"),
        "SA09": N_("referral to an external service"),
        "SA10": N_("group workshop"),
        "SA11": N_("workplace adaptation / reasonable accommodation"),
        "SA12": N_("post-exit follow-up"),
        "SA13": N_("multidisciplinary case meeting with partners"),
        "SA99": N_("other"),
    },
    "competence": {
        "C01": N_("punctuality / attendance"),
        "C02": N_("reliability / following instructions"),
        "C03": N_("cooperation / teamwork"),
        "C04": N_("communication"),
        "C05": N_("autonomy / initiative"),
        "C06": N_("work pace / productivity"),
        "C07": N_("quality / precision"),
        "C08": N_("safety & hygiene"),
        "C09": N_("flexibility"),
        "C10": N_("handling stress / emotions"),
        "C11": N_("customer orientation"),
        "B01": N_("language of work"),
        "B02": N_("literacy"),
        "B03": N_("numeracy"),
        "B04": N_("digital"),
    },
    "self_evaluation": {
        "SE01": N_("self-confidence"),
        "SE02": N_("social participation / social network"),
        "SE03": N_("well-being / perceived health"),
        "SE04": N_("autonomy in daily life"),
        "SE05": N_("motivation and readiness for work"),
        "SE06": N_("managing money and paperwork"),
        "SE07": N_("getting around (mobility)"),
        "SE08": N_("confidence in the language of work"),
    },
    "destination": {
        "REGULAR_EMPLOYEE": N_("regular job, employee"),
        "REGULAR_SELF_EMPLOYED": N_("regular job, self-employed"),
        "REGULAR_INTERIM": N_("regular job, temporary agency"),
        "SUPPORTED_REGULAR": N_("regular job with support"),
        "OTHER_SOCIAL_ECONOMY": N_("other social-economy job"),
        "INTERNAL_TO_STAFF": N_("joined the staff"),
        "TRAINING_EDUCATION": N_("training or education"),
        "JOB_SEEKER": N_("job seeker"),
        "CARE_OR_DAY_ACTIVITY": N_("care or day activity"),
        "ILLNESS_INVALIDITY": N_("illness or invalidity"),
        "RETIREMENT": N_("retirement"),
        "DECEASED": N_("deceased"),
        "MOVED_OR_LOST": N_("moved away or lost touch"),
        "UNKNOWN": N_("not known"),
    },
    "measure": {
        "headcount": N_("number of people under contract"),
        "reached": N_("number of people reached"),
        "fte": N_("full-time equivalents"),
        "support_hours": N_("hours of support per person"),
        "competence_gain": N_("competence progression"),
        "exited_to_regular_job": N_("moves to a regular job"),
        "plan_coverage": N_("people with a support plan"),
        "plan_reviewed": N_("plans reviewed"),
        "retention_12m": N_("still under contract after 12 months"),
        "self_evaluation_change": N_("change in self-evaluation"),
    },
    "dimension": {
        "target_group": N_("target group"), "gender": N_("gender"),
        "age_band": N_("age band"), "education": N_("education"), "region": N_("region"),
        "exit_destination": N_("destination after leaving"),
    },
}


def label(kind: str, code: str | None) -> str:
    """The English msgid for ``code`` of ``kind`` (translate it where it is shown)."""
    if code is None:
        return ""
    return LABELS.get(kind, {}).get(code, code)
