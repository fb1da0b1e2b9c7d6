"""What mutual TLS and the gate cost one node call: plaintext against mutual TLS, warm and cold.

Part of ``python -m bench`` (``--only tls``). One node of the bench federation (a real encrypted
store) is served twice at the same time by real ``node.create_server`` servers on loopback: in
plaintext (``--insecure``, the caller names itself in a header) and with mutual TLS, with
certificates from a throw-away federation CA (``wire.tls.init_ca`` / ``issue``) in the run's
scratch folder. Calls alternate between the two (``bench.measure.interleaved``), so both see the
same machine:

* **warm Describe** — a call on an open channel that touches no records;
* **warm Query** — the bench's DP count (charged, noised and signed: a fresh query id each
  time), with the reply quantum set to 0 so that the padding (``node.service.pacing``) does not hide
  what TLS adds;
* **cold Describe** — a new channel for every call: TCP and, for TLS, the handshake;
* **signed Query** — the warm Query over mutual TLS carrying an operator's signature
  (``wire.attribution``, signed beforehand as the CLI does), which the node checks against the
  CA and records; its floor is the same Query over mutual TLS without one.

The floor of each line is the same call in plaintext; the federation benchmark runs plaintext
(``bench.federation``), and these ratios say what a deployment over mutual TLS adds per call.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import grpc

from bench.federation import query_spec
from bench.measure import Row, interleaved, median
from bench.stores import BENCH_QUERIER, NodeFolder
from node import NodeRuntime, QueryEngine, create_server, load_node_config, open_node
from protos import pb2, pb2_grpc
from wire.attribution import sign_request
from wire.limits import QUERIER_HEADER
from wire.spec import spec_from_proto
from wire.tls import TlsFiles, channel_credentials, init_ca, issue

__all__ = ["run_tls"]

_QUERY_EPSILON = "0.01"


@dataclasses.dataclass(frozen=True)
class _Pki:
    node: TlsFiles
    client: TlsFiles  # role aggregator, named after the querier node.toml knows
    operator: TlsFiles  # role operator: signs the queries of the "signed" line


def _pki(directory: Path, node_id: str) -> _Pki:
    """A fresh federation CA, the node's certificate, the querier's client certificate and an
    operator's."""
    init_ca(directory / "ca")
    return _Pki(
        node=issue(directory / "ca", role="node", name=node_id, out=directory / "node",
                   dns=("localhost",), ips=("127.0.0.1",)),
        client=issue(directory / "ca", role="aggregator", name=BENCH_QUERIER,
                     out=directory / "client", dns=("localhost",), ips=("127.0.0.1",)),
        operator=issue(directory / "ca", role="operator", name="bench-operator",
                       out=directory / "operator"),
    )


def _signed_queries(operator: TlsFiles, count: int) -> Iterator[pb2.QueryRequest]:
    """``count`` Query requests, each signed by ``operator`` over its own fresh query id."""
    certificate = operator.cert.read_bytes()
    digest = spec_from_proto(query_spec(_QUERY_EPSILON)).digest()
    for _ in range(count):
        query_id = f"signed-{uuid.uuid4().hex}"
        attribution = sign_request(operator, query_id=query_id, spec_digest=digest)
        assert attribution is not None
        attribution.certificate = certificate
        yield pb2.QueryRequest(query_id=query_id, spec=query_spec(_QUERY_EPSILON),
                               attribution=attribution)


@contextmanager
def _serving(runtime: NodeRuntime, *, insecure: bool) -> Iterator[int]:
    server, port = create_server(runtime, "127.0.0.1:0", insecure=insecure)
    server.start()
    try:
        yield port
    finally:
        server.stop(None).wait()


def _query(query_id: str) -> pb2.QueryRequest:
    """The federation benchmark's DP count, as sent on the wire."""
    return pb2.QueryRequest(query_id=query_id, spec=query_spec(_QUERY_EPSILON))


def run_tls(folder: NodeFolder, scratch: Path, clock: Callable[[], datetime], runs: int,
            log: Callable[[str], None]) -> list[Row]:
    """Median ms of each call in plaintext (the floor) and over mutual TLS."""
    scratch.mkdir(parents=True, exist_ok=True)
    pki = _pki(scratch / f"pki-{uuid.uuid4().hex[:8]}", folder.node_id)
    config = dataclasses.replace(load_node_config(folder.config_path), tls=pki.node,
                                 reply_quantum_ms=0)
    runtime = open_node(config)
    runtime.engine = QueryEngine(config, runtime.store, signer=runtime.signer, clock=clock)
    credentials = channel_credentials(pki.client)
    plain_meta = ((QUERIER_HEADER, BENCH_QUERIER),)
    try:
        with _serving(runtime, insecure=True) as plain_port, \
                _serving(runtime, insecure=False) as tls_port:
            plain_target, tls_target = f"127.0.0.1:{plain_port}", f"127.0.0.1:{tls_port}"
            plain = grpc.insecure_channel(plain_target)
            secure = grpc.secure_channel(tls_target, credentials)
            try:
                plain_stub = pb2_grpc.NodeServiceStub(plain)
                tls_stub = pb2_grpc.NodeServiceStub(secure)

                def describe(stub: pb2_grpc.NodeServiceStub,
                             metadata: tuple[tuple[str, str], ...]) -> Callable[[], object]:
                    return lambda: stub.Describe(pb2.DescribeRequest(), metadata=metadata,
                                                 timeout=10)

                def query(stub: pb2_grpc.NodeServiceStub,
                          metadata: tuple[tuple[str, str], ...]) -> Callable[[], object]:
                    return lambda: stub.Query(_query(f"tls-{uuid.uuid4().hex}"),
                                              metadata=metadata, timeout=30)

                def cold(target: str, secure_channel: bool,
                         metadata: tuple[tuple[str, str], ...]) -> Callable[[], object]:
                    def call() -> None:
                        fresh = (grpc.secure_channel(target, credentials) if secure_channel
                                 else grpc.insecure_channel(target))
                        try:
                            pb2_grpc.NodeServiceStub(fresh).Describe(
                                pb2.DescribeRequest(), metadata=metadata, timeout=10)
                        finally:
                            fresh.close()
                    return call

                # Signed before timing (the CLI's part), one per call plus the warm-up call.
                signed = iter(list(_signed_queries(pki.operator, runs + 1)))

                def signed_query() -> object:
                    return tls_stub.Query(next(signed), timeout=30)

                timed = {
                    "describe": interleaved({"plain": describe(plain_stub, plain_meta),
                                             "tls": describe(tls_stub, ())}, runs * 4),
                    "query": interleaved({"plain": query(plain_stub, plain_meta),
                                          "tls": query(tls_stub, ())}, runs),
                    "cold": interleaved({"plain": cold(plain_target, False, plain_meta),
                                         "tls": cold(tls_target, True, ())}, runs),
                    # here the floor ("plain") is the unsigned Query over mutual TLS
                    "signed": interleaved({"plain": query(tls_stub, ()),
                                           "tls": signed_query}, runs),
                }
            finally:
                plain.close()
                secure.close()
    finally:
        runtime.close()
    names = {
        "describe": "warm Describe (open channel, no records touched)",
        "query": "warm Query (the DP count, reply quantum 0)",
        "cold": "cold Describe (new channel each call: TCP + TLS handshake)",
        "signed": "warm Query signed by an operator (checked and recorded by the node)",
    }
    floors = {"signed": "same Query over mutual TLS, unsigned"}
    rows = []
    for key, samples in timed.items():
        tls_ms, plain_ms = median(samples["tls"]) * 1000, median(samples["plain"]) * 1000
        floor = floors.get(key, "same call in plaintext")
        log(f"  {key}: {tls_ms:.2f} ms; floor ({floor}) {plain_ms:.2f} ms")
        rows.append(Row("TLS", f"{names[key]}, mutual TLS", folder.node_id, tls_ms, "ms",
                        floor=plain_ms, floor_name=floor,
                        samples=[s * 1000 for s in samples["tls"]],
                        extra={"floor_samples_ms": [s * 1000 for s in samples["plain"]]}))
    return rows
