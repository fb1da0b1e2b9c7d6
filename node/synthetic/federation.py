"""A synthetic federation: which organisations, of which type and size, under which names.

The public data types of the generator (an organisation's profile and its generated tables) and
the sampling of a whole federation's profiles from the sector's mix of organisation types.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from node.synthetic.calibration import (
    _FEDERATION_MIX,
    _FL_NOUNS,
    _FR_NOUNS,
    _SEGMENTS,
    _TOWNS,
    _Size,
)
from node.synthetic.vocabulary import (
    MAX_ORG_PEOPLE,
    MIN_ORG_PEOPLE,
    ORG_TYPES,
    REGION_OF_ORG_TYPE,
    TABLE_COLUMNS,
)

__all__ = ["OrgProfile", "SyntheticOrg", "sample_federation", "write_tables"]

# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgProfile:
    """Who an organisation is, before any person is generated.

    Kept separate from the tables so a federation can be sampled (and shown, or split over
    nodes) cheaply, and each node then generates only its own records.
    """

    org_id: str
    name: str
    org_type: str
    region: str
    n_people: int

    def __post_init__(self) -> None:
        # An inconsistent profile would silently produce a Walloon ETA in Flanders; fail early.
        if self.org_type not in ORG_TYPES:
            raise ValueError(f"unknown org_type {self.org_type!r}; expected one of {ORG_TYPES}")
        if self.region != REGION_OF_ORG_TYPE[self.org_type]:
            raise ValueError(
                f"region {self.region!r} does not match org_type {self.org_type!r} "
                f"(expected {REGION_OF_ORG_TYPE[self.org_type]!r})"
            )
        if self.n_people < 1:
            raise ValueError("n_people must be at least 1")
        if not self.org_id:
            raise ValueError("org_id must not be empty")


@dataclass
class SyntheticOrg:
    """One organisation's records, as the CSV files a node would import.

    Every value is already a string so the rows can be written, diffed and compared exactly;
    parsing belongs to the importer, which is what the synthetic data is meant to exercise.
    """

    profile: OrgProfile
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def write_csvs(self, directory: Path) -> dict[str, Path]:
        """Write one ``<table>.csv`` per table (header row first, UTF-8) into ``directory``.

        The directory is created if needed. Tables without rows still get their header, so an
        importer sees the same files for every organisation. Returns table name -> path.
        """
        return write_tables(directory, TABLE_COLUMNS, self.tables)


def write_tables(directory: Path, columns: Mapping[str, Sequence[str]],
                 tables: Mapping[str, Sequence[Mapping[str, str]]]) -> dict[str, Path]:
    """Write ``<table>.csv`` for every table of ``columns`` (header first, UTF-8, a table
    without rows still gets its header) into ``directory``; returns table name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for table, names in columns.items():
        path = directory / f"{table}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(names), extrasaction="raise")
            writer.writeheader()
            writer.writerows(tables.get(table, []))
        paths[table] = path
    return paths


# --------------------------------------------------------------------------------------------
# Federation sampling
# --------------------------------------------------------------------------------------------


def _truncated_lognormal(
    rng: random.Random, median: float, sigma: float, lo: float, hi: float
) -> float:
    """A lognormal draw conditioned on ``[lo, hi]`` by rejection (DOMAIN.md §3.1 truncations)."""
    mu = math.log(median)
    for _ in range(100_000):
        x = rng.lognormvariate(mu, sigma)
        if lo <= x <= hi:
            return x
    return rng.uniform(lo, hi)  # unreachable for the calibrated segments; keeps this total


def _org_size(rng: random.Random, size: _Size, min_people: float = MIN_ORG_PEOPLE) -> int:
    """People active in a year: the §3.1 lognormal of target workers, conditioned so that the
    organisation has at least ``min_people`` and at most ``MAX_ORG_PEOPLE`` people."""
    lo = max(size.lo, min_people / size.uplift)
    hi = min(size.hi, MAX_ORG_PEOPLE / size.uplift)
    target = _truncated_lognormal(rng, size.median, size.sigma, lo, hi)
    return max(1, min(MAX_ORG_PEOPLE, round(target * size.uplift)))


def _allocate_types(n_orgs: int) -> list[str]:
    """Largest-remainder allocation of the federation mix, so a small federation still gets the
    proportions (and the segments) a demo needs instead of whatever i.i.d. draws give."""
    total = sum(w for _, w in _FEDERATION_MIX)
    quotas = [(t, n_orgs * w / total) for t, w in _FEDERATION_MIX]
    counts = {t: math.floor(q) for t, q in quotas}
    remaining = n_orgs - sum(counts.values())
    by_remainder = sorted(
        range(len(quotas)), key=lambda i: (-(quotas[i][1] - math.floor(quotas[i][1])), i)
    )
    for i in by_remainder[:remaining]:
        counts[quotas[i][0]] += 1
    return [t for t, _ in _FEDERATION_MIX for _ in range(counts[t])]


def _org_name(rng: random.Random, org_type: str, used: set[str]) -> str:
    seg = _SEGMENTS[org_type]
    nouns = _FL_NOUNS if seg.dutch else _FR_NOUNS
    towns = _TOWNS[REGION_OF_ORG_TYPE[org_type]]
    for attempt in range(200):
        name = f"{rng.choice(seg.name_prefixes)} {rng.choice(nouns)}"
        if attempt >= 20:  # common names are taken: qualify with the town, as the sector does
            name = f"{name} {rng.choice(towns)}"
        if name not in used:
            used.add(name)
            return name
    name = f"{seg.name_prefixes[0]} {len(used) + 1}"
    used.add(name)
    return name


def sample_federation(n_orgs: int, seed: int) -> list[OrgProfile]:
    """Sample the organisations of a demo federation: a mix of types, sizes from §3.1.

    Sizes follow DOMAIN.md §3.1's lognormals (of target workers or trainees per year), scaled to
    people active in a year (supervisory staff and the year's turnover on top), with at least
    ``MIN_ORG_PEOPLE``. Most organisations then have 15–300 people. A federation of 10 or more
    always contains at least one organisation above 1,000 people, because the heavy tail (large
    maatwerkbedrijven) is what makes per-node contribution bounds and small-cell suppression
    interesting; the largest stays at most ``MAX_ORG_PEOPLE`` so a demo stays fast.
    """
    if n_orgs < 1:
        raise ValueError("n_orgs must be at least 1")
    rng = random.Random(f"koepel-federation:{seed}:{n_orgs}")
    types = _allocate_types(n_orgs)
    rng.shuffle(types)
    sizes = [_org_size(rng, _SEGMENTS[t].size) for t in types]
    if n_orgs >= 10 and max(sizes) <= 1000:
        # Promote one maatwerkbedrijf into the tail (there are always >= 2 for n_orgs >= 10;
        # if the mix ever changes, the largest organisation becomes one).
        maatwerk = [i for i, t in enumerate(types) if t == "MAATWERKBEDRIJF"]
        idx = max(maatwerk or range(n_orgs), key=lambda i: sizes[i])
        types[idx] = "MAATWERKBEDRIJF"
        sizes[idx] = _org_size(rng, _SEGMENTS["MAATWERKBEDRIJF"].size, min_people=1001.0)
    width = max(2, len(str(n_orgs)))
    used: set[str] = set()
    return [
        OrgProfile(
            org_id=f"org-{i + 1:0{width}d}",
            name=_org_name(rng, t, used),
            org_type=t,
            region=REGION_OF_ORG_TYPE[t],
            n_people=n,
        )
        for i, (t, n) in enumerate(zip(types, sizes, strict=True))
    ]
