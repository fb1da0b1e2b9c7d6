"""Synthetic stores for the benchmarks, built fast and cached between runs.

Every benchmark needs the same data twice: in the node's encrypted SQLCipher file and in a plain
SQLite file (the floor). Going through ``node.import_files`` for millions of rows would take
minutes, so stores are bulk-loaded: synthetic organisations (``node.synthetic.generator``) are
generated in worker processes, their rows converted to exactly the values and types the importer
stores (pseudonymous 32-hex keys, integer birth years and minutes, real hours and scores, NULL open
end dates), inserted into a plain SQLite file created from the node's own migrations, and the
encrypted copy is made with ``sqlcipher_export`` under a fresh raw key. Both files therefore hold
the same rows, the same schema and the same indexes.

Stores above ``TILE_BASE`` people are tiled from the ``TILE_BASE`` store (each tile a copy
under fresh pseudonyms) rather than generated, and keep one in ``tiles`` of the support actions
and competence assessments of each person: the full per-person volume at one million people
would be ~85 million rows and ~17 GB per copy, beyond this machine's time budget. Table row
counts are recorded with every store so results always say what was measured.

The cache lives under ``bench/.cache`` (git-ignored), keyed by a fingerprint of the schema
migrations, the generator's source and this builder, so a schema change rebuilds it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3

import node.synthetic.generator as synthetic
from node import create_key_file, create_signing_key, read_key_file, render_node_config
from node.store import facts
from node.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from node.synthetic.generator import OrgProfile, generate_organisation, sample_federation
from privacy import default_catalogue

__all__ = [
    "BENCH_QUERIER",
    "COLUMNS",
    "REFERENCE_YEAR",
    "TABLE_ORDER",
    "TILE_BASE",
    "BenchStore",
    "NodeFolder",
    "cache_root",
    "ensure_federation",
    "ensure_store",
    "org_rows",
    "pooled_profiles",
]

REFERENCE_YEAR = 2025
TILE_BASE = 100_000
BENCH_QUERIER = "bench"
BUILDER_VERSION = "2"
TABLE_ORDER = ("workers", "contracts", "support_actions", "competence_assessments", "exits")
# The stored columns each row tuple fills, by name (later migrations may add columns).
COLUMNS: dict[str, tuple[str, ...]] = {
    "workers": ("pid", "birth_year", "gender", "education_level", "target_group", "region"),
    "contracts": ("contract_key", "pid", "role", "contract_type", "weekly_hours", "start_date",
                  "end_date"),
    "support_actions": ("action_key", "pid", "action_date", "duration_min", "action_code",
                        "local_code", "mapping_version"),
    "competence_assessments": ("assessment_key", "pid", "assessment_date", "competence_code",
                               "score_norm", "local_code", "mapping_version"),
    "exits": ("exit_key", "pid", "exit_date", "destination"),
}
# What an import without a [vocabulary] stores: federation codes are their own local code.
IDENTITY_MAPPING = "identity"
# Caps of bench node folders (ε). The querier's own cap per period is the most node.toml allows;
# the node-wide and lifetime caps are far above what any number of bench runs spends, because
# cached stores keep their ledgers from run to run (each run charges a budget period of its own,
# see bench.clock).
QUERIER_CAP = "20"
# The benchmarks query each node far faster than an aggregator would (dozens of queries a
# minute); the per-querier rate limit (default 120 a minute, bursts of 30) is raised so that it
# does not refuse the timed queries. The limiter itself still runs on every call.
_BENCH_LIMITS = "\n[limits]\nrequests_per_minute = 1000000\nburst = 1000000\n"
NODE_CAP = "1000"
LIFETIME_CAP = "1000000000"
_KEY_COLUMN = {
    "workers": "pid", "contracts": "contract_key", "support_actions": "action_key",
    "competence_assessments": "assessment_key", "exits": "exit_key",
}
_THINNED = ("support_actions", "competence_assessments")

Rows = dict[str, list[tuple[Any, ...]]]


def _fingerprint() -> str:
    digest = hashlib.sha256(BUILDER_VERSION.encode())
    for migration in MIGRATIONS:
        for statement in migration:
            digest.update(statement.encode())
    for source in sorted(Path(synthetic.__file__).parent.glob("*.py")):  # the whole room
        digest.update(source.read_bytes())
    digest.update(f"{facts._FILL} {facts.FACTS_YEARS_BACK}".encode())  # how facts are built
    return digest.hexdigest()[:12]


def cache_root(base: Path) -> Path:
    """The cache folder for the current schema and generator (older ones are left alone)."""
    return base / f"v{SCHEMA_VERSION}-{_fingerprint()}"


def _key(*parts: str) -> str:
    """A 32-hex pseudonymous key, shaped like the node's HMAC pseudonyms."""
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


def org_rows(profile: OrgProfile, seed: int) -> Rows:
    """One synthetic organisation as stored rows (the importer's values and types)."""
    org = generate_organisation(profile, seed, REFERENCE_YEAR)
    t = org.tables
    o = profile.org_id
    pid = {r["person_id"]: _key(o, "person", r["person_id"]) for r in t["workers"]}
    return {
        "workers": [
            (pid[r["person_id"]], int(r["birth_year"]), r["gender"], r["education_level"],
             r["target_group"], r["region"]) for r in t["workers"]
        ],
        "contracts": [
            (_key(o, "contract", r["contract_id"]), pid[r["person_id"]], r["role"],
             r["contract_type"], float(r["weekly_hours"]), r["start_date"], r["end_date"] or None)
            for r in t["contracts"]
        ],
        "support_actions": [
            (_key(o, "action", r["action_id"]), pid[r["person_id"]], r["action_date"],
             int(r["duration_min"]), r["action_code"], r["action_code"], IDENTITY_MAPPING)
            for r in t["support_actions"]
        ],
        "competence_assessments": [
            (_key(o, "assessment", r["assessment_id"]), pid[r["person_id"]],
             r["assessment_date"], r["competence_code"], float(r["score_norm"]),
             r["competence_code"], IDENTITY_MAPPING)
            for r in t["competence_assessments"]
        ],
        "exits": [
            (_key(o, "exit", r["exit_id"]), pid[r["person_id"]], r["exit_date"],
             r["destination"]) for r in t["exits"]
        ],
    }


def _org_rows_job(job: tuple[OrgProfile, int]) -> Rows:
    return org_rows(*job)


def pooled_profiles(people: int, seed: int) -> list[OrgProfile]:
    """Organisations (the sector's mix of types and sizes) adding up to exactly ``people``."""
    profiles: list[OrgProfile] = []
    total = 0
    batch = 0
    while total < people:
        for profile in sample_federation(400, seed * 1000 + batch):
            if total >= people:
                break
            size = min(profile.n_people, people - total)
            profiles.append(dataclasses.replace(
                profile, org_id=f"b{batch:03d}-{profile.org_id}", n_people=size))
            total += size
        batch += 1
    return profiles


def _schema_parts() -> tuple[list[str], list[str]]:
    """The schema the migrations end with: statements to run before the rows, and after.

    Every migration runs in order on the empty database (its ``ALTER TABLE``, ``UPDATE`` and
    pragmas cost nothing on empty tables) except its indexes: those are created after the bulk
    load (several times faster than maintaining them row by row), and only those that no later
    migration drops; so are the per-person facts' triggers (the facts are built after the
    load). ``tests/test_schema_migrations.py`` holds the migrations to producing one schema,
    and the builder checks its result against a fresh store's (:func:`_check_schema`).
    """
    early: list[str] = []
    indexes: dict[str, str] = {}
    for migration in MIGRATIONS:
        for statement in migration:
            words = statement.split()
            head = " ".join(words[:2]).upper()
            if head in ("CREATE INDEX", "CREATE UNIQUE"):
                name = words[3] if head == "CREATE UNIQUE" else words[2]
                indexes[name] = statement
            elif head == "CREATE TRIGGER" and "facts_dirty" in statement:
                # The facts' marking triggers probe contracts by pid: created after the load
                # and its indexes (the builder computes every fact afterwards anyway).
                indexes[words[2]] = statement
            elif head == "DROP INDEX":
                indexes.pop(words[2])
            else:
                early.append(statement)
    return early, list(indexes.values())


def _schema(conn: Any) -> set[str]:
    return {" ".join(str(r[0]).split()) for r in conn.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")}


def _check_schema(conn: Any) -> None:
    """Refuse a built store whose schema is not exactly what the migrations give a new one."""
    fresh = sqlite3.connect(":memory:")
    try:
        for migration in MIGRATIONS:
            for statement in migration:
                fresh.execute(statement)
        expected = _schema(fresh)
    finally:
        fresh.close()
    if _schema(conn) != expected:
        raise RuntimeError("the bench store's schema differs from the node's migrations; "
                           "update bench/stores.py")


def _build_facts(conn: Any) -> None:
    """The per-person facts of the loaded rows, as the node builds them after a migration
    (node/store/facts.py), for the window of the day the store is built."""
    facts.rebuild(conn, datetime.datetime.now(datetime.UTC).date())


def _insert(conn: Any, rows: Rows) -> None:
    for table in TABLE_ORDER:
        columns = COLUMNS[table]
        marks = ", ".join("?" * len(columns))
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                         rows[table])
    _record_vocabulary(conn, rows)


def _record_vocabulary(conn: Any, rows: Rows) -> None:
    """The ``vocabulary_map`` rows an identity-mapped import records for the codes it used."""
    used = {("support_action", r[4]) for r in rows["support_actions"]}
    used |= {("competence", r[3]) for r in rows["competence_assessments"]}
    conn.executemany(
        "INSERT OR IGNORE INTO vocabulary_map (kind, local_code, fed_code, mapping_version, "
        "first_used) VALUES (?, ?, ?, ?, ?)",
        [(kind, code, code, IDENTITY_MAPPING, f"{REFERENCE_YEAR + 1}-01-15")
         for kind, code in sorted(used)])


def _count_rows(conn: Any) -> dict[str, int]:
    return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in TABLE_ORDER}


def _generated_rows(profiles: list[OrgProfile], seed: int, workers: int) -> Iterator[Rows]:
    jobs = [(p, seed + i) for i, p in enumerate(profiles)]
    if workers <= 1 or len(jobs) < 8:
        yield from map(_org_rows_job, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_org_rows_job, jobs, chunksize=4)


def _open_build(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")  # a failed build is deleted, never resumed
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -524288")
    return conn


def _build_plain(path: Path, batches: Iterable[Rows]) -> None:
    tables, indexes = _schema_parts()
    conn = _open_build(path)
    try:
        conn.execute("BEGIN")
        for statement in tables:
            conn.execute(statement)
        for rows in batches:
            _insert(conn, rows)
        for statement in indexes:
            conn.execute(statement)
        _build_facts(conn)
        _check_schema(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    finally:
        conn.close()


def _tile_expr(column: str, tile: int) -> str:
    """``column`` with its last hex digit replaced by the tile number: fresh, unique keys."""
    return f"substr({column}, 1, 31) || '{tile:x}'"


def _build_tiled(path: Path, base: Path, tiles: int) -> None:
    """``tiles`` copies of the base store under fresh keys, thinning the large per-person logs."""
    tables, indexes = _schema_parts()
    conn = _open_build(path)
    try:
        conn.execute("ATTACH DATABASE ? AS base", (str(base),))
        conn.execute("BEGIN")
        for statement in tables:
            conn.execute(statement)
        for tile in range(tiles):
            for table in TABLE_ORDER:
                columns = [r[1] for r in conn.execute(f"PRAGMA base.table_info({table})")]
                selected = [
                    _tile_expr(c, tile) if c in ("pid", _KEY_COLUMN[table]) else c
                    for c in columns
                ]
                where = f" WHERE rowid % {tiles} = {tile}" if table in _THINNED else ""
                conn.execute(
                    f"INSERT INTO main.{table} ({', '.join(columns)}) "
                    f"SELECT {', '.join(selected)} FROM base.{table}{where}"
                )
        conn.execute("INSERT INTO main.vocabulary_map SELECT * FROM base.vocabulary_map")
        for statement in indexes:
            conn.execute(statement)
        _build_facts(conn)
        _check_schema(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    finally:
        conn.close()


def _encrypted_copy(plain: Path, target: Path, key: bytes) -> None:
    """``sqlcipher_export`` the plain file into a new SQLCipher 4 file keyed with ``key``."""
    conn = sqlcipher3.connect(str(plain), isolation_level=None)
    try:
        conn.execute(f"ATTACH DATABASE '{target}' AS enc KEY \"x'{key.hex()}'\"")
        conn.execute("PRAGMA enc.cache_size = -262144")
        conn.execute("SELECT sqlcipher_export('enc')")
        conn.execute(f"PRAGMA enc.user_version = {SCHEMA_VERSION}")
        conn.execute(f"PRAGMA enc.application_id = {APPLICATION_ID:d}")
        conn.execute("DETACH DATABASE enc")
    finally:
        conn.close()


@dataclass(frozen=True)
class NodeFolder:
    """A node folder as ``koepel node init`` makes it: node.toml, key files, encrypted database."""

    directory: Path
    node_id: str

    @property
    def config_path(self) -> Path:
        return self.directory / "node.toml"

    @property
    def database(self) -> Path:
        return self.directory / "koepel.db"

    @property
    def key(self) -> bytes:
        return read_key_file(self.directory / "keys" / "db.key")


def _new_node_folder(directory: Path, node_id: str, organisation: str) -> NodeFolder:
    """A folder as ``koepel node init`` leaves it (default reply quantum, [tls] file names)."""
    directory.mkdir(parents=True)
    (directory / "node.toml").write_text(render_node_config(
        node_id=node_id, organisation=organisation, listen="127.0.0.1:0",
        queriers={BENCH_QUERIER: QUERIER_CAP}, approved=(default_catalogue().version,),
        node_cap=NODE_CAP, lifetime_cap=LIFETIME_CAP,
    ) + _BENCH_LIMITS)
    create_key_file(directory / "keys" / "db.key")
    create_key_file(directory / "keys" / "pseudonym.key")
    create_signing_key(directory / "keys" / "signing.key")
    return NodeFolder(directory, node_id)


@dataclass(frozen=True)
class BenchStore:
    """One store size: the plain floor file and the node folder holding the encrypted copy."""

    label: str
    people: int
    plain: Path
    node: NodeFolder
    rows: dict[str, int]
    bytes_plain: int
    bytes_encrypted: int
    build_seconds: float
    note: str

    def describe(self) -> dict[str, Any]:
        return {"people": self.people, "rows": self.rows, "bytes_plain": self.bytes_plain,
                "bytes_encrypted": self.bytes_encrypted, "note": self.note}


def size_label(people: int) -> str:
    if people >= 1_000_000 and people % 1_000_000 == 0:
        return f"{people // 1_000_000}M"
    if people >= 1000 and people % 1000 == 0:
        return f"{people // 1000}k"
    return str(people)


def _ready(directory: Path) -> dict[str, Any] | None:
    marker = directory / "ready.json"
    if not marker.exists():
        return None
    result: dict[str, Any] = json.loads(marker.read_text())
    return result


def ensure_store(cache: Path, people: int, *, seed: int = 2025, workers: int = 2,
                 log: Callable[[str], None] = print) -> BenchStore:
    """The cached store of ``people`` people, building it (and its base, if tiled) when needed."""
    label = size_label(people)
    directory = cache_root(cache) / f"store-{label}"
    info = _ready(directory)
    if info is None:
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        started = time.perf_counter()
        plain = directory / "plain.db"
        tiles = people // TILE_BASE if people > TILE_BASE else 1
        if tiles > 1:
            if people % TILE_BASE:
                raise ValueError(f"stores above {TILE_BASE} people must be a multiple of it")
            base = ensure_store(cache, TILE_BASE, seed=seed, workers=workers, log=log)
            log(f"building the {label} store: {tiles} tiles of the {base.label} store")
            _build_tiled(plain, base.plain, tiles)
            note = (f"{tiles} tiles of the {base.label} store under fresh pseudonyms; support "
                    f"actions and competence assessments thinned to 1 in {tiles} per person")
        else:
            profiles = pooled_profiles(people, seed)
            log(f"building the {label} store: {len(profiles)} synthetic organisations")
            _build_plain(plain, _generated_rows(profiles, seed, workers))
            note = f"{len(profiles)} synthetic organisations pooled into one store"
        node = _new_node_folder(directory / "node", f"bench-{label}", f"bench store {label}")
        _encrypted_copy(plain, node.database, node.key)
        conn = sqlite3.connect(plain)
        try:
            rows = _count_rows(conn)
        finally:
            conn.close()
        info = {"rows": rows, "note": note, "build_seconds": time.perf_counter() - started}
        (directory / "ready.json").write_text(json.dumps(info))
        log(f"  built in {info['build_seconds']:.0f} s: {rows}")
    node = NodeFolder(directory / "node", f"bench-{label}")
    return BenchStore(
        label=label, people=people, plain=directory / "plain.db", node=node, rows=info["rows"],
        bytes_plain=(directory / "plain.db").stat().st_size,
        bytes_encrypted=node.database.stat().st_size, build_seconds=info["build_seconds"],
        note=info["note"],
    )


def _build_encrypted_node(job: tuple[Path, OrgProfile, int]) -> None:
    directory, profile, seed = job
    folder = _new_node_folder(directory, profile.org_id, profile.name)
    conn = sqlcipher3.connect(str(folder.database), isolation_level=None)
    try:
        conn.execute(f"PRAGMA key = \"x'{folder.key.hex()}'\"")
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        tables, indexes = _schema_parts()
        conn.execute("BEGIN")
        for statement in tables:
            conn.execute(statement)
        _insert(conn, org_rows(profile, seed))
        for statement in indexes:
            conn.execute(statement)
        _build_facts(conn)
        _check_schema(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()


def ensure_federation(cache: Path, n_nodes: int, *, seed: int = 2025, workers: int = 2,
                      log: Callable[[str], None] = print) -> list[NodeFolder]:
    """``n_nodes`` node folders of a sampled federation (the sector's mix of organisations)."""
    directory = cache_root(cache) / f"federation-{n_nodes}"
    profiles = sample_federation(n_nodes, seed)
    folders = [NodeFolder(directory / p.org_id, p.org_id) for p in profiles]
    if _ready(directory) is None:
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        started = time.perf_counter()
        log(f"building a federation of {n_nodes} encrypted nodes "
            f"({sum(p.n_people for p in profiles)} people)")
        jobs = [(directory / p.org_id, p, seed + i) for i, p in enumerate(profiles)]
        if workers > 1 and len(jobs) > 4:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                list(pool.map(_build_encrypted_node, jobs, chunksize=4))
        else:
            for job in jobs:
                _build_encrypted_node(job)
        seconds = time.perf_counter() - started
        (directory / "ready.json").write_text(json.dumps({"build_seconds": seconds}))
        log(f"  built in {seconds:.0f} s")
    return folders


def remove_stale(cache: Path) -> None:
    """Delete cache folders of older schemas or generators (they are never used again)."""
    current = cache_root(cache)
    if not cache.exists():
        return
    for child in cache.iterdir():
        if child.is_dir() and child != current and child.name.startswith("v"):
            shutil.rmtree(child, ignore_errors=True)

