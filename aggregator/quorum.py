"""When is a sector figure whole enough to publish as the sector's?

A federated figure is the sum over the nodes that answered; nothing is imputed for the others.
The quorum policy says when that sum may stand for the sector: at least a share of the
registered nodes answered and, optionally, the answering nodes hold at least a share of the
sector's expected size (the ``expected_size`` registered per node). Below the quorum the result
is still returned, marked incomplete, with the reasons spelled out.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["QuorumPolicy", "QuorumStatus", "evaluate_quorum"]

_SLACK = 1e-9  # shares are compared with a little slack: 0.7 × 10 nodes must mean 7


class _Sized(Protocol):
    @property
    def node_id(self) -> str: ...

    @property
    def expected_size(self) -> int | None: ...


@dataclass(frozen=True)
class QuorumPolicy:
    min_node_share: float = 0.5
    min_size_share: float = 0.0

    def __post_init__(self) -> None:
        for name in ("min_node_share", "min_size_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a share between 0 and 1, got {value}")


@dataclass(frozen=True)
class QuorumStatus:
    complete: bool
    node_share: float
    size_share: float  # NaN when not every node has an expected size
    reasons: tuple[str, ...]


def evaluate_quorum(policy: QuorumPolicy, nodes: Sequence[_Sized],
                    answered: Collection[str]) -> QuorumStatus:
    """Whether the nodes in ``answered`` make a quorum of the registered ``nodes``."""
    if not nodes:
        return QuorumStatus(False, math.nan, math.nan, ("no node is registered",))
    registered = {node.node_id for node in nodes}
    counted = registered & set(answered)
    node_share = len(counted) / len(registered)
    sizes = [node.expected_size for node in nodes]
    size_share = math.nan
    if all(size is not None and size > 0 for size in sizes):
        total = sum(node.expected_size or 0 for node in nodes)
        size_share = sum(node.expected_size or 0 for node in nodes
                         if node.node_id in counted) / total
    reasons: list[str] = []
    if not counted:
        reasons.append("no node answered")
    elif node_share + _SLACK < policy.min_node_share:
        reasons.append(f"{len(counted)} of {len(registered)} nodes answered ({node_share:.0%}), "
                       f"below the quorum of {policy.min_node_share:.0%} of nodes")
    if counted and policy.min_size_share > 0 and math.isnan(size_share):
        reasons.append("the size quorum needs an expected size for every node")
    elif counted and policy.min_size_share > 0 and size_share + _SLACK < policy.min_size_share:
        reasons.append(f"the answering nodes hold {size_share:.0%} of the sector's expected "
                       f"size, below the quorum of {policy.min_size_share:.0%}")
    return QuorumStatus(not reasons, node_share, size_share, tuple(reasons))
