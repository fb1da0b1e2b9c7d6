"""Exports are sealed to their recipients (age), or written in plaintext only when asked.

Real subprocesses of `koepel` against a real node folder; the sealed files are opened both by
`koepel decrypt` and by the age library directly (any age tool can open them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyrage
import pytest
from clirun import koepel
from conftest import FIXTURES, create_node

from node import import_files, load_node_config, open_node
from node.store.sealing import SealingError, read_identity_file


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = create_node(tmp_path / "n", queriers={"federation": "3"})
    runtime = open_node(load_node_config(path))
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    runtime.close()
    return path


def keypair(tmp_path: Path, name: str) -> tuple[Path, str]:
    key = tmp_path / f"{name}.key"
    made = koepel("keygen", "--out", key)
    assert made.returncode == 0, made.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    recipient = made.stdout.split()[-1]
    assert recipient.startswith("age1") and recipient not in key.read_text().splitlines()[-1]
    return key, recipient


def audit_rows(config: Path) -> list[dict[str, object]]:
    done = koepel("node", "audit-log", "--config", config, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_an_export_nobody_asked_to_encrypt_is_refused_and_costs_nothing(
        config: Path, tmp_path: Path) -> None:
    out = tmp_path / "p2.json"
    refused = koepel("node", "transfer", "--config", config, "P2", "--out", out)
    assert refused.returncode == 2
    assert "--encrypt-to" in refused.stderr and "--plaintext" in refused.stderr
    assert not out.exists() and not out.with_name("p2.json.age").exists()
    assert audit_rows(config) == []
    for args in (("node", "forms", "--config", config, "--period", "2025", "--out",
                  tmp_path / "forms"),
                 ("node", "report", "--config", config, "--period", "2025", "--html",
                  tmp_path / "r.html"),
                 ("node", "ledger", "export", "--config", config, "--out", tmp_path / "l.json")):
        done = koepel(*args)
        assert done.returncode == 2 and "--encrypt-to" in done.stderr, args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n"]


def test_transfer_sealed_to_a_recipient_opens_with_its_identity_only(
        config: Path, tmp_path: Path) -> None:
    key, recipient = keypair(tmp_path, "forem")
    other_key, _ = keypair(tmp_path, "other")
    done = koepel("node", "transfer", "--config", config, "P2", "--out", tmp_path / "p2.json",
                  "--encrypt-to", recipient, "--recipient", "FOREM Charleroi")
    assert done.returncode == 0, done.stderr
    assert "sealed to 1 recipient" in done.stdout
    sealed = tmp_path / "p2.json.age"
    assert not (tmp_path / "p2.json").exists()
    data = sealed.read_bytes()
    assert data.startswith(b"age-encryption.org/v1\n") and b"koepel-transfer" not in data
    assert sealed.stat().st_mode & 0o777 == 0o600
    document = json.loads(pyrage.decrypt(data, [read_identity_file(key)]))  # any age tool
    assert document["person"]["organisation_reference"] == "P2"
    wrong = koepel("decrypt", sealed, "--identity", other_key, "--out", tmp_path / "x.json")
    assert wrong.returncode == 2 and "cannot open" in wrong.stderr
    assert not (tmp_path / "x.json").exists()
    opened = koepel("decrypt", sealed, "--identity", key, "--out", tmp_path / "p2.json")
    assert opened.returncode == 0, opened.stderr
    assert json.loads((tmp_path / "p2.json").read_text()) == document
    [entry] = audit_rows(config)
    assert entry["detail"]["encryption"] == "age"  # type: ignore[index]


def test_node_toml_recipients_seal_by_default_and_plaintext_is_warned_and_logged(
        config: Path, tmp_path: Path) -> None:
    key, recipient = keypair(tmp_path, "manager")
    config.write_text(config.read_text() + f'\n[exports]\nrecipients = ["{recipient}"]\n')
    done = koepel("node", "forms", "--config", config, "--period", "2025", "--out",
                  tmp_path / "forms")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "forms").iterdir())
    assert names == ["annexe1-2025.csv.age", "annexe2-2025.csv.age", "maintien-2025.csv.age"]
    annex2 = pyrage.decrypt((tmp_path / "forms" / names[1]).read_bytes(),
                            [read_identity_file(key)]).decode("utf-8-sig")
    assert annex2.startswith("quarter,")
    plain = koepel("node", "transfer", "--config", config, "P2", "--out",
                   tmp_path / "p2.json", "--plaintext")
    assert plain.returncode == 0, plain.stderr
    assert "unencrypted" in plain.stderr
    assert json.loads((tmp_path / "p2.json").read_text())["format"] == "koepel-transfer/1"
    modes = [row["detail"]["encryption"] for row in audit_rows(config)]  # type: ignore[index]
    assert modes == ["age", "plaintext"]
    both = koepel("node", "transfer", "--config", config, "P2", "--out", tmp_path / "b.json",
                  "--plaintext", "--encrypt-to", recipient)
    assert both.returncode == 2 and "not both" in both.stderr


def test_sealed_ledger_export_is_refused_by_audit_until_opened(
        config: Path, tmp_path: Path) -> None:
    key, recipient = keypair(tmp_path, "auditor")
    done = koepel("node", "ledger", "export", "--config", config, "--out",
                  tmp_path / "ledger.json", "--encrypt-to", recipient)
    assert done.returncode == 0, done.stderr
    sealed = tmp_path / "ledger.json.age"
    refused = koepel("audit", "verify", sealed)
    assert refused.returncode == 2 and "koepel decrypt" in refused.stderr
    opened = koepel("decrypt", sealed, "--identity", key, "--out", tmp_path / "ledger.json")
    assert opened.returncode == 0, opened.stderr
    verified = koepel("audit", "verify", tmp_path / "ledger.json")
    assert verified.returncode == 0, verified.stderr
    assert "no problems" in verified.stdout


def test_bad_recipients_and_loose_identity_files_get_clear_errors(
        config: Path, tmp_path: Path) -> None:
    bad = koepel("node", "transfer", "--config", config, "P2", "--out", tmp_path / "p.json",
                 "--encrypt-to", "age1notakey")
    assert bad.returncode == 2 and "not an age public key" in bad.stderr
    config.write_text(config.read_text() + '\n[exports]\nrecipients = ["ssh-ed25519 AAAA"]\n')
    broken = koepel("node", "transfer", "--config", config, "P2", "--out", tmp_path / "p.json")
    assert broken.returncode == 2 and "[exports] recipients" in broken.stderr
    key, _ = keypair(tmp_path, "loose")
    key.chmod(0o644)
    with pytest.raises(SealingError, match="readable by others"):
        read_identity_file(key)
    again = koepel("keygen", "--out", key)
    assert again.returncode == 2 and "never overwritten" in again.stderr
