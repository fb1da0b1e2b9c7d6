"""The peers' own virtual environments, ``bench/.peers/<name>``, from their pinned requirements.

SmartNoise SQL pins an older OpenDP (0.14) than koepel's (0.16), and OpenDP's polars context
brings polars, pyarrow and scikit-learn: neither belongs in koepel's environment, so each peer
runs in a venv of its own, in a process of its own (``bench/peer_runners/``), on the same rows.
The venvs are git-ignored and made on demand, by ``make bench-peers`` (which ``make bench``
depends on) or by the ``peers`` part of ``python -m bench`` itself: ``python -m venv``, then
``pip install -r`` the pinned requirements. A stamp holding the requirements' hash makes a
second call free and a changed requirements file reinstall.

``python bench/peer_envs.py`` makes them all (what ``make bench-peers`` runs; standard library
only, so it runs before anything else is installed).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PEERS", "PeerEnv", "ensure_all"]

HERE = Path(__file__).resolve().parent
ROOT = HERE / ".peers"


@dataclass(frozen=True)
class PeerEnv:
    """One peer: its venv, its pinned requirements and the script that answers its queries."""

    name: str  # the venv's folder and the requirements file's suffix
    label: str  # how results name it

    @property
    def directory(self) -> Path:
        return ROOT / self.name

    @property
    def python(self) -> Path:
        return self.directory / "bin" / "python"

    @property
    def requirements(self) -> Path:
        return HERE / f"peers-requirements-{self.name}.txt"

    @property
    def runner(self) -> Path:
        return HERE / "peer_runners" / f"run_{self.name}.py"

    def _digest(self) -> str:
        return hashlib.sha256(self.requirements.read_bytes()).hexdigest()

    def _stamp(self) -> Path:
        return self.directory / ".koepel-installed"

    def ready(self) -> bool:
        stamp = self._stamp()
        return self.python.exists() and stamp.exists() and stamp.read_text() == self._digest()

    def ensure(self, log: Callable[[str], None]) -> None:
        """Create the venv and install the pinned requirements unless that is already done."""
        if self.ready():
            return
        log(f"installing the {self.label} peer into {self.directory.relative_to(HERE.parent)} "
            f"from {self.requirements.name}")
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(self.directory)], check=True)
            subprocess.run([str(self.python), "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check", "-r", str(self.requirements)],
                           check=True)
        except subprocess.CalledProcessError as exc:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise RuntimeError(
                f"could not install the {self.label} peer ({exc.cmd[0]} exited with "
                f"{exc.returncode}); pip needs PyPI, see its output above, then run "
                "`make bench-peers` again") from None
        self._stamp().write_text(self._digest())


PEERS = (PeerEnv("smartnoise", "SmartNoise SQL"), PeerEnv("polars", "OpenDP polars context"))


def ensure_all(log: Callable[[str], None] = print) -> None:
    for peer in PEERS:
        peer.ensure(log)


if __name__ == "__main__":
    ensure_all(lambda message: print(message, file=sys.stderr, flush=True))
