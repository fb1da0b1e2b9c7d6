"""The synthetic room: realistic fake organisations for the demo, tests and benchmarks.

``generator`` draws an organisation's personnel register, contracts, support actions,
competence assessments and exits from the sector's published figures; ``plans`` adds
accompaniment plans, goals, reviews and self-evaluations; ``outcomes`` training sessions, hires,
exit reasons and follow-ups, coaches, their evaluations and eligibility at hiring. Nothing here
reads a real store: the output is files in the formats the imports room reads.
"""

from node.synthetic.generator import (
    ORG_TYPES,
    OrgProfile,
    SyntheticOrg,
    generate_organisation,
    sample_federation,
)
from node.synthetic.outcomes import SyntheticOutcomes, generate_outcomes
from node.synthetic.plans import SyntheticAccompaniment, generate_accompaniment

__all__ = [
    "ORG_TYPES",
    "OrgProfile",
    "SyntheticAccompaniment",
    "SyntheticOrg",
    "SyntheticOutcomes",
    "generate_accompaniment",
    "generate_organisation",
    "generate_outcomes",
    "sample_federation",
]
