"""The koepel v1 wire contract: generated messages (``pb2``) and service stubs (``pb2_grpc``)."""

from protos.koepel.v1 import koepel_pb2 as pb2
from protos.koepel.v1 import koepel_pb2_grpc as pb2_grpc

__all__ = ["pb2", "pb2_grpc"]
