"""What mutual TLS and the gate cost a node query: plaintext vs mutual TLS, warm and cold.

Run from the repository root:
    PYTHONPATH=$PWD python bench/tls_overhead.py [--rounds 200]

A real node (SQLCipher store with the test fixture's records) serves on loopback, once in
plaintext and once with mutual TLS. "warm" is a Describe or a COUNT query on an open channel
(each with a fresh query id, so each is charged and noised); "cold" opens a new channel for
every Describe, so it includes the TCP and TLS handshakes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import FIXTURES, create_node  # noqa: E402
from security_support import make_pki, node_server, query_request, reopen  # noqa: E402

from node import NodeRuntime, import_files  # noqa: E402
from protos import pb2, pb2_grpc  # noqa: E402
from protos.tls import channel_credentials  # noqa: E402
from protos.wire import QUERIER_HEADER  # noqa: E402


def median_ms(rounds: int, call: Callable[[int], object]) -> float:
    times = []
    for index in range(rounds):
        start = time.perf_counter()
        call(index)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(runtime: NodeRuntime, mode: str, credentials: grpc.ChannelCredentials | None,
            rounds: int) -> tuple[float, float, float]:
    """Median ms of a warm Describe, a warm Query and a cold (new channel) Describe."""
    metadata = ((QUERIER_HEADER, "federation"),) if credentials is None else ()

    def channel(port: int) -> grpc.Channel:
        target = f"127.0.0.1:{port}"
        return (grpc.insecure_channel(target) if credentials is None
                else grpc.secure_channel(target, credentials))

    with node_server(runtime, insecure=credentials is None) as port:
        warm = channel(port)
        stub = pb2_grpc.NodeServiceStub(warm)
        stub.Describe(pb2.DescribeRequest(), metadata=metadata, timeout=10)
        describe = median_ms(rounds, lambda _: stub.Describe(
            pb2.DescribeRequest(), metadata=metadata, timeout=10))
        query = median_ms(rounds, lambda i: stub.Query(query_request(
            f"{mode[:5]}-{i}", epsilon="0.001"), metadata=metadata, timeout=10))
        warm.close()

        def cold(_: int) -> None:
            fresh = channel(port)
            pb2_grpc.NodeServiceStub(fresh).Describe(pb2.DescribeRequest(), metadata=metadata,
                                                     timeout=10)
            fresh.close()

        return describe, query, median_ms(max(20, rounds // 5), cold)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pki = make_pki(root)
        path = create_node(root / "node", queriers={"federation": "20"})
        with path.open("a") as handle:
            handle.write("\n[limits]\nrequests_per_minute = 1000000\nburst = 1000000\n")
        pki.node_files(root / "node", "org-test")
        runtime = reopen(root / "node")
        import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
        print(f"{'mode':10} {'warm Describe':>14} {'warm Query':>11} {'cold Describe':>14}  "
              f"(median ms, {rounds} rounds)")
        try:
            for mode, credentials in (("plaintext", None),
                                      ("mutual TLS", channel_credentials(pki.federation))):
                describe, query, cold = measure(runtime, mode, credentials, rounds)
                print(f"{mode:10} {describe:14.2f} {query:11.2f} {cold:14.2f}")
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
