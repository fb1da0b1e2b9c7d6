"""Secure aggregation against per-node noise and one trusted curator, in one run.

**Accuracy.** For K nodes and t = K − 2 honest shares, the RMSE of a summed count cell released
three ways at the same ρ (ε at the catalogue's δ): every node adding its own discrete Gaussian
(per-node noise), K shares calibrated for t (secure aggregation, ``privacy.distributed``), and
one discrete Gaussian at the full budget (a trusted curator: the floor). Every draw is OpenDP's.

**Cost.** The critical path of one secure round's work at K nodes, in process (no network):
per phase, the slowest node's work (share keys, share draw and round 1, consistency, round 2,
run one node after the other here but in parallel in a federation) plus the aggregator's own
checks and unmasking; against the slowest node's per-node OpenDP release of the same vector. A
real round adds four fan-outs to a per-node query's one (the federation benchmark measures a
fan-out: 3 / 14 / 26 ms to 10 / 50 / 100 warm servers); the SQL both run is the same.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bench.measure import Row, median
from privacy import Accounting, LossRule
from privacy.catalogue import Statistic
from privacy.distributed import SharePlan, draw_share, plan_shares
from privacy.mechanisms import ReleasePlan, VectorPlan, VectorRole, release_vector
from wire.secagg import (
    KeyShares,
    MaskedInput,
    Roster,
    RoundParams,
    SecAggClient,
    SecAggServer,
    UnmaskReply,
    decode_adverts,
    encode_adverts,
    make_entry,
)
from wire.tls import CA_CERT, init_ca, issue

__all__ = ["run_secure"]

EPSILON_MICRO = 1_000_000
DELTA = "1e-6"
CELLS = 6


def _rho_micro() -> int:
    from decimal import Decimal
    return LossRule(Accounting.ZCDP, Decimal(DELTA)).budget_from_epsilon(EPSILON_MICRO)


def _count_plan(rho: int) -> ReleasePlan:
    return ReleasePlan(Statistic.COUNT, Accounting.ZCDP, (VectorPlan(VectorRole.COUNT, 1, rho),),
                       1)


def _rmse(errors: np.ndarray) -> float:
    return float(math.sqrt(np.mean(errors.astype(float) ** 2)))


def _accuracy(nodes: int, samples: int, log: Callable[[str], None]) -> list[Row]:
    rho = _rho_micro()
    honest = nodes - 2
    [share] = plan_shares(_count_plan(rho), honest_shares=honest, dimensions=[CELLS])
    zeros = [0] * samples
    secure = np.zeros(samples)
    per_node = np.zeros(samples)
    for _ in range(nodes):
        secure += np.array(draw_share(zeros, share), dtype=float)
        per_node += np.array(release_vector(zeros, sensitivity=1, budget_micro=rho,
                                            accounting=Accounting.ZCDP).values, dtype=float)
    secure /= share.refinement
    central = np.array(release_vector(zeros, sensitivity=1, budget_micro=rho,
                                      accounting=Accounting.ZCDP).values, dtype=float)
    rmse = {"secure": _rmse(secure), "per_node": _rmse(per_node), "central": _rmse(central)}
    rel = 1 / math.sqrt(2 * samples)  # relative SE of an RMSE from `samples` Gaussian errors
    ratio = rmse["secure"] / rmse["central"]
    log(f"  K={nodes}, t={honest}: RMSE secure {rmse['secure']:.3f}, per-node "
        f"{rmse['per_node']:.3f}, central {rmse['central']:.3f} → secure/central {ratio:.3f}, "
        f"per-node/central {rmse['per_node'] / rmse['central']:.2f}")
    rows = []
    for mode in ("secure", "per_node"):
        rows.append(Row(
            "secure aggregation", f"count RMSE, {mode.replace('_', '-')} noise", f"{nodes} nodes, "
            f"ε=1 (zCDP, δ={DELTA}), t={honest}", rmse[mode], "people",
            floor=rmse["central"], floor_name="one trusted curator's RMSE, same ρ, same run",
            target="≤ 1.15× central" if mode == "secure" else "",
            meets=(ratio <= 1.15 + 3 * rel * ratio) if mode == "secure" else None,
            extra={"samples": samples, "relative_se_of_rmse": rel, "nodes": nodes,
                   "honest_shares": honest, "refinement": share.refinement,
                   "share_scale": share.share_scale}))
    return rows


def _ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # koepel issues ECDSA P-256 keys
    return key


def _round_cost(nodes: int, share: SharePlan, runs: int, scratch: Path
                ) -> tuple[list[float], list[float]]:
    """Seconds of work for one secure round and for one per-node release, K nodes each."""
    init_ca(scratch / "ca")  # the federation CA and node certificates koepel itself issues
    ca_pem = (scratch / "ca" / CA_CERT).read_bytes()
    ids = [f"org-{i:03d}" for i in range(nodes)]
    files = {n: issue(scratch / "ca", role="node", name=n, out=scratch / n, ips=("127.0.0.1",))
             for n in ids}
    keys = {n: _ec_key(files[n].key) for n in ids}
    xkeys = {n: X25519PrivateKey.generate() for n in ids}
    roster = Roster.build(make_entry(n, files[n].cert.read_bytes(), xkeys[n], keys[n])
                          for n in ids)
    vector = [5] * CELLS
    rho = share.rho_micro
    secure_times, per_node_times = [], []
    for _ in range(runs):
        params = RoundParams.new(roster_hash=roster.roster_hash, u1=roster.node_ids,
                                 shamir_threshold=nodes // 2 + 1, min_survivors=nodes - 1,
                                 vector_length=CELLS, bound=1 << 40)
        server = SecAggServer(params, roster, ca_pem)
        clients = {n: SecAggClient(n, xkeys[n], keys[n], roster, params, ca_pem) for n in ids}
        # Nodes work in parallel between the aggregator's barriers: a phase lasts as long as
        # its slowest node, plus the aggregator's own work on what came back.
        critical = 0.0
        slowest, shared = 0.0, {}
        for n in ids:
            started = time.perf_counter()
            shared[n] = clients[n].share_keys().to_bytes()
            slowest = max(slowest, time.perf_counter() - started)
        started = time.perf_counter()
        for n in ids:
            server.receive_keys(n, KeyShares.from_bytes(shared[n]))
        key_holders = encode_adverts(server.key_holders())
        critical += slowest + time.perf_counter() - started
        slowest, messages = 0.0, {}
        for n in ids:
            started = time.perf_counter()
            adverts = decode_adverts(key_holders)
            messages[n] = clients[n].round1(draw_share(vector, share), adverts).to_bytes()
            slowest = max(slowest, time.perf_counter() - started)
        started = time.perf_counter()
        for n in ids:
            server.receive_masked(n, MaskedInput.from_bytes(messages[n]))
        u1p, u2 = server.u1_prime, server.survivors()
        critical += slowest + time.perf_counter() - started
        slowest, signatures_of = 0.0, {}
        for n in ids:
            started = time.perf_counter()
            signatures_of[n] = clients[n].consistency(u1p, u2)
            slowest = max(slowest, time.perf_counter() - started)
        started = time.perf_counter()
        for n in ids:
            server.receive_consistency(n, signatures_of[n])
        signatures = server.consistency_signatures()
        critical += slowest + time.perf_counter() - started
        slowest, replies = 0.0, {}
        for n in ids:
            shares = server.shares_for(n)
            started = time.perf_counter()
            replies[n] = clients[n].round2(u1p, u2, signatures, shares,
                                           lambda _: True).to_bytes()
            slowest = max(slowest, time.perf_counter() - started)
        started = time.perf_counter()
        for n in ids:
            server.receive_unmask(n, UnmaskReply.from_bytes(replies[n]))
        server.finish()
        critical += slowest + time.perf_counter() - started
        secure_times.append(critical)
        slowest = 0.0
        for _ in ids:
            started = time.perf_counter()
            release_vector(vector, sensitivity=1, budget_micro=rho, accounting=Accounting.ZCDP)
            slowest = max(slowest, time.perf_counter() - started)
        per_node_times.append(slowest)
    return secure_times, per_node_times


def run_secure(tiers: Sequence[int], samples: int, cost_runs: int, scratch: Path,
               log: Callable[[str], None]) -> list[Row]:
    """Accuracy at each K in ``tiers``, and the work of a round at the largest K."""
    rows: list[Row] = []
    for nodes in tiers:
        rows += _accuracy(nodes, samples, log)
    nodes = max(tiers)
    [share] = plan_shares(_count_plan(_rho_micro()), honest_shares=nodes - 2,
                          dimensions=[CELLS])
    scratch.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="secure-", dir=scratch))
    try:
        secure, per_node = _round_cost(nodes, share, cost_runs, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # its keys are of no further use
    ratio = median(secure) / median(per_node)
    log(f"  critical path of one round's work at K={nodes} (nodes in parallel): secure "
        f"{median(secure) * 1e3:.0f} ms, a per-node release {median(per_node) * 1e3:.1f} ms "
        f"(×{ratio:.1f}); no network")
    rows.append(Row("secure aggregation", "critical path of a round's work (no network)",
                    f"{nodes} nodes, {CELLS} cells", median(secure) * 1e3, "ms",
                    floor=median(per_node) * 1e3,
                    floor_name="the slowest node's per-node OpenDP release, same run",
                    samples=[s * 1e3 for s in secure],
                    extra={"nodes": nodes, "runs": cost_runs}))
    return rows
