"""The koepel v1 wire contract: generated messages (``pb2``) and service stubs (``pb2_grpc``).

Beside the contract, what both ends of the wire share (imported from their modules, so that
importing the contract stays light): ``protos.wire`` (transport limits, loopback check),
``protos.tls`` (federation CA, certificates, TLS credentials, peer identity),
``protos.checks`` (structural request checks), ``protos.guard`` (the server gate),
``protos.ratelimit`` (per-caller token buckets) and ``protos.drain`` (draining on SIGTERM).
"""

from protos.koepel.v1 import koepel_pb2 as pb2
from protos.koepel.v1 import koepel_pb2_grpc as pb2_grpc

__all__ = ["pb2", "pb2_grpc"]
