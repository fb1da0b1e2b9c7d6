"""Probing the nodes between queries, so that metrics see a dead node before anyone asks.

Its own module: it drives the aggregator (``federated``) and reports to its metrics
(``metrics``), which therefore need not know each other.
"""

from __future__ import annotations

import asyncio
import logging

from aggregator.federated import Aggregator

__all__ = ["watch_nodes"]

log = logging.getLogger("koepel.aggregator")


async def watch_nodes(aggregator: Aggregator, interval: float) -> None:
    """Probe every node now and then every ``interval`` seconds, until cancelled.

    Query traffic alone would notice a dead node only when someone asks a question; the
    probe (Describe and Budget, both free of privacy cost) keeps ``node_up`` and the nodes'
    reported budgets current for alerts.
    """
    while True:
        try:
            states = await aggregator.node_states(timeout=min(interval, 5.0))
        except Exception as error:  # a probe must never take the aggregator down
            log.warning("node probe failed", extra={"error_type": type(error).__name__})
        else:
            for state in states:
                aggregator.metrics.node_probed(state.node, state.reachable, state.budget)
        await asyncio.sleep(interval)
