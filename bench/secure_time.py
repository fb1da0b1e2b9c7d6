"""A secure query against a per-node query end to end, through real node processes over mTLS.

K real ``koepel node serve`` processes (small synthetic organisations, their own SQLCipher
stores, certificates from a fresh federation CA, a zCDP catalogue), and the aggregator's real
logic and gRPC transport in this process (``build_aggregator``): the same sector query
(headcount by target group, ε = 0.1) asked per-node and secure, taking turns over the same warm
channels, the first of each a warm-up. What is compared is the whole query as an operator
waits for it: the fan-outs (one for per-node; roster, key sharing, masking, consistency and
unmasking for secure), every node's work and the aggregator's unmasking.

Both run on this machine's two cores: the K nodes' cryptography (pairwise agreements, sealed
shares, signatures) adds up here instead of running in parallel on K machines, so the ratio is
the slow side of the truth. Nodes reply without the timing-padding quantum
(``reply_quantum_ms = 0``) so that per-node queries are not padded to 50 ms.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from bench.measure import Row, median
from privacy import QuerySpec, Statistic

__all__ = ["run_secure_time"]

TARGET = 3.0
EPSILON_MICRO = 100_000


def _federation(root: Path, nodes: int, log: Callable[[str], None]) -> None:
    """K node folders on the shipped zCDP catalogue, without reply padding."""
    from cli.federation_runner import setup_node
    from node.synthetic import OrgProfile
    from privacy import Accounting

    for index in range(nodes):
        profile = OrgProfile(f"org-{index:03d}", f"Atelier {index}", "MAATWERKBEDRIJF",
                             "BE-VLG", 20 + index % 30)
        folder = root / profile.org_id
        setup_node(folder, profile, seed=900 + index, year=2025, cap_epsilon="20",
                   accounting=Accounting.ZCDP)
        toml = (folder / "node.toml").read_text()
        (folder / "node.toml").write_text(
            re.sub(r"(?m)^reply_quantum_ms = \d+$", "reply_quantum_ms = 0", toml))
    log(f"  {nodes} node folders ready")


async def _time(config: object, spec: QuerySpec, runs: int) -> dict[str, list[float]]:
    from aggregator import build_aggregator

    aggregator = build_aggregator(config)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    samples: dict[str, list[float]] = {"per-node": [], "secure": []}
    try:
        for index in range(runs + 1):  # the first of each is a warm-up
            for mode in samples:
                started = loop.time()
                result = await aggregator.submit(spec, secure=mode == "secure")
                elapsed = loop.time() - started
                if not result.cells:
                    raise RuntimeError(f"the {mode} query released nothing: "
                                       f"{'; '.join(result.incomplete_reasons)}")
                if index:
                    samples[mode].append(elapsed)
    finally:
        await aggregator.close()
    return samples


def run_secure_time(tiers: tuple[int, ...], runs: int, scratch: Path,
                    log: Callable[[str], None]) -> list[Row]:
    from aggregator import load_federation
    from aggregator.federation import AggregationMode
    from cli.federation_runner import ZCDP_VERSION, LocalFederation

    rows = []
    for nodes in tiers:
        root = scratch / f"k{nodes}"
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        log(f"secure vs per-node query end to end over {nodes} node processes (mTLS)")
        _federation(root, nodes, log)
        # Many node processes start at once on two cores: give each time to listen.
        with LocalFederation(root, start_timeout=60.0 + 6.0 * nodes) as federation:
            for index in range(nodes):
                federation.add_node(f"org-{index:03d}")
            federation.start(deadline_seconds=120.0, retries=0, catalogue=ZCDP_VERSION,
                             aggregation=AggregationMode("per_node", max(1, nodes - 2), 0))
            spec = QuerySpec(ZCDP_VERSION, "headcount", Statistic.COUNT, ("target_group",),
                             (), "2025", EPSILON_MICRO)
            samples = asyncio.run(_time(load_federation(root / "federation.toml"), spec, runs))
        secure, per_node = median(samples["secure"]), median(samples["per-node"])
        rows.append(Row(
            "secure aggregation", "secure query end to end, mTLS, node processes",
            f"{nodes} nodes", secure * 1000, "ms", floor=per_node * 1000,
            floor_name="per-node query, same run", target=f"≤ {TARGET:g}×",
            meets=secure <= TARGET * per_node, samples=[s * 1000 for s in samples["secure"]],
            extra={"per_node_samples_ms": [s * 1000 for s in samples["per-node"]],
                   "note": "all node processes and the aggregator share two cores"}))
        shutil.rmtree(root, ignore_errors=True)
    return rows
