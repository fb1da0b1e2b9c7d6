"""The aggregator's own work per query kept off the wait for the slowest node.

Receipts are verified as each answer arrives (``fan_out``'s ``on_reply``), and a query's
result and its nodes' contact times are stored in one durable write (``HistoryStore.save``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aggregator import (
    HistoryConflictError,
    HistoryStore,
    MemoryHistory,
    NodeEntry,
    NodeReply,
    SqliteHistory,
    fan_out,
)
from protos import pb2
from tests.fake_nodes import sample_result
from tests.test_fanout import ScriptedTransport


def test_on_reply_sees_each_reply_once_as_it_arrives() -> None:
    nodes = [NodeEntry(f"n{i}", f"127.0.0.1:{5000 + i}", f"org {i}") for i in range(4)]
    transport = ScriptedTransport({"n0": ["ok"], "n1": ["broke"], "n2": ["ok"], "n3": ["ok"]})
    seen: list[NodeReply] = []
    replies = asyncio.run(fan_out(transport, nodes, pb2.QueryRequest(query_id="q"),
                                  deadlines={n.node_id: 5.0 for n in nodes},
                                  on_reply=seen.append))
    assert sorted(r.node.node_id for r in seen) == ["n0", "n1", "n2", "n3"]
    assert {id(r) for r in seen} == {id(r) for r in replies}  # the very replies returned


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_save_keeps_the_contacts_in_the_same_write(tmp_path: Path, kind: str) -> None:
    store: HistoryStore = (MemoryHistory() if kind == "memory"
                           else SqliteHistory(tmp_path / "history.db"))
    try:
        result = sample_result("r1")
        store.save(result, contacts=["n0", "n2"])
        assert store.last_contacts() == {"n0": result.created_at, "n2": result.created_at}
        with pytest.raises(HistoryConflictError):
            store.save(sample_result("r1", created_at="2031-01-01T00:00:00+00:00"),
                       contacts=["n1"])
        assert "n1" not in store.last_contacts()  # nothing of a refused save is stored
    finally:
        store.close()
