"""The committed gRPC stubs are exactly what `python -m protos.generate` produces."""

from __future__ import annotations

from pathlib import Path

from protos.generate import PROTO_FILES, ROOT, generate


def test_committed_stubs_equal_a_fresh_regeneration(tmp_path: Path) -> None:
    generate(tmp_path)
    for proto in PROTO_FILES:
        stem = Path(proto).with_suffix("")
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py"):
            relative = stem.parent / (stem.name + suffix)
            fresh = (tmp_path / relative).read_text()
            committed = (ROOT / relative).read_text()
            assert fresh == committed, f"{relative} is stale: run `make protos` and commit"
