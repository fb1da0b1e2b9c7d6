"""The koepel v1 wire contract: generated messages (``pb2``) and service stubs (``pb2_grpc``).

Only the contract lives here: the ``.proto`` file, its committed stubs and their regeneration
(``python -m protos.generate``). What both ends of the wire share beyond the contract (TLS
identities, the admission gate, request checks and limits, draining) lives in ``wire/``.
"""

from protos.koepel.v1 import koepel_pb2 as pb2
from protos.koepel.v1 import koepel_pb2_grpc as pb2_grpc

__all__ = ["pb2", "pb2_grpc"]
