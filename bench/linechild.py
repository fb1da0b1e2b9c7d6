"""A child process spoken to in JSON lines: the federation's node hosts, the peers' runners.

The parent writes one JSON object per line to the child's standard input and reads one back
from its standard output; the child's standard error goes to a log file, named in any error.
A reply holding ``"error"`` (or no reply: the child exited) raises ``RuntimeError``.
``{"cmd": "stop"}`` asks the child to end; one that does not within 30 s is killed.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["LineProcess"]


class LineProcess:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log_path: Path,
                 name: str) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as stderr:
            self.process = subprocess.Popen(
                list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                text=True, env=dict(env))

    def send(self, message: Mapping[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            raise RuntimeError(f"{self.name} failed ({message['error']}); see {self.log_path}")
        return message

    def ask(self, message: Mapping[str, Any]) -> dict[str, Any]:
        self.send(message)
        return self.receive()

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.send({"cmd": "stop"})
                self.process.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
