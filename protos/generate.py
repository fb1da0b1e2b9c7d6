"""Regenerate the committed gRPC stubs from `protos/koepel/v1/*.proto`.

Run through `make protos`. The stubs are committed so that a user never needs grpcio-tools;
`tests/test_protos.py` regenerates into a temporary directory and fails if the result differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
PROTO_FILES = ("protos/koepel/v1/koepel.proto",)


def generate(out_dir: Path) -> None:
    """Write `*_pb2.py`, `*_pb2.pyi` and `*_pb2_grpc.py` for every proto file under `out_dir`."""
    include = str(Path(protoc.__file__).resolve().parent / "_proto")
    for proto in PROTO_FILES:
        args = [
            "protoc",
            f"-I{ROOT}",
            f"-I{include}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            proto,
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed on {proto}")


if __name__ == "__main__":
    generate(ROOT)
    sys.exit(0)
