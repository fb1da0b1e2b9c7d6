"""Running `koepel` as a real subprocess (``python -m cli``), the way operators run it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def koepel(*args: str | Path, input: str | None = None, cwd: Path | None = None,
           env: Mapping[str, str] | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``koepel ARGS`` and return the finished process (stdout, stderr, returncode)."""
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("KOEPEL_DB_KEY", "KOEPEL_DB_PASSPHRASE")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cli", *map(str, args)],
        input=input if input is not None else "", capture_output=True, text=True, cwd=cwd,
        env=full_env, timeout=timeout, check=False,
    )
