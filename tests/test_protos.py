"""The committed stubs are exactly what the pinned grpcio-tools generates from the .proto."""

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


def test_regenerating_the_stubs_is_a_no_op(tmp_path: Path) -> None:
    generate(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*_pb2*.py*"))
    assert generated, "protoc produced nothing"
    for relative in generated:
        committed = ROOT / relative
        assert committed.exists(), f"{relative} is generated but not committed"
        assert committed.read_text() == (tmp_path / relative).read_text(), (
            f"{relative} differs from regeneration: run `make protos` and commit"
        )
