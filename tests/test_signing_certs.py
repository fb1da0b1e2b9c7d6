"""Node signing keys certified by the federation CA, and checked by the auditor against it.

Before: an auditor could only check a ledger export against the key it carried itself (trust
on first use), so a node that swapped its signing key and rewrote its history was believed.
Real node folders, `koepel` as a subprocess, real certificates.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import koepel
from conftest import create_node

from wire.signing_certs import certified_signing_key, certify_signing_key
from wire.tls import CA_CERT, CertError, init_ca


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    init_ca(tmp_path / "ca")
    return tmp_path / "ca"


def _public_key(config: Path) -> str:
    shown = koepel("node", "signing-key", "--config", config, "--show")
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip()


def _export(config: Path, out: Path) -> Path:
    done = koepel("node", "ledger", "export", "--config", config, "--out", out, "--plaintext")
    assert done.returncode == 0, done.stderr
    return out


def _verify(export: Path, ca: Path) -> tuple[int, dict[str, str]]:
    done = koepel("audit", "verify", export, "--federation-ca", ca / CA_CERT, "--json")
    [result] = json.loads(done.stdout)
    return done.returncode, {f["kind"]: f["detail"] for f in result["findings"]}


def test_a_certified_key_verifies_and_a_swapped_key_is_caught(tmp_path: Path, ca: Path) -> None:
    config = create_node(tmp_path / "n", queriers={"federation": "3"})
    public = _public_key(config)
    assert len(bytes.fromhex(public)) == 32
    done = koepel("certs", "certify-signing-key", "--ca", ca, "--name", "org-test",
                  "--public", public, "--out", tmp_path / "n" / "tls" / "signing.crt")
    assert done.returncode == 0, done.stderr
    export = _export(config, tmp_path / "ledger.json")
    assert "BEGIN CERTIFICATE" in json.loads(export.read_text())["signing_certificate"]
    code, findings = _verify(export, ca)
    assert code == 0 and findings == {}
    plain = koepel("audit", "verify", export)
    assert plain.returncode == 0 and "not checked against the federation CA" in plain.stdout
    # The node's key is replaced (say, by someone rewriting its history): the CA vouches for
    # the old one only.
    key = tmp_path / "n" / "keys" / "signing.key"
    key.unlink()
    assert koepel("node", "signing-key", "--config", config).returncode == 0
    code, findings = _verify(_export(config, tmp_path / "swapped.json"), ca)
    assert code == 11 and "another key" in findings["KEY_NOT_CERTIFIED"]


def test_certificates_from_another_ca_or_for_another_node_do_not_certify(
        tmp_path: Path, ca: Path) -> None:
    config = create_node(tmp_path / "n", queriers={"federation": "3"})
    public = bytes.fromhex(_public_key(config))
    init_ca(tmp_path / "other")
    for issuer, name in ((tmp_path / "other", "org-test"), (ca, "org-elsewhere")):
        certificate = tmp_path / "n" / "tls" / "signing.crt"
        certificate.unlink(missing_ok=True)
        certify_signing_key(issuer, name=name, public_key=public, out=certificate)
        code, findings = _verify(_export(config, tmp_path / f"{name}-{issuer.name}.json"), ca)
        assert code == 11 and "KEY_NOT_CERTIFIED" in findings, findings
    with pytest.raises(CertError, match="not issued by the federation CA"):
        certified_signing_key((tmp_path / "n" / "tls" / "signing.crt").read_bytes(),
                              (tmp_path / "other" / CA_CERT).read_bytes(), node_id="org-test")


def test_an_uncertified_key_is_a_warning_and_bad_input_is_refused(
        tmp_path: Path, ca: Path) -> None:
    config = create_node(tmp_path / "n", queriers={"federation": "3"})
    code, findings = _verify(_export(config, tmp_path / "ledger.json"), ca)
    assert code == 0 and "certify-signing-key" in findings["KEY_UNCERTIFIED"]
    bad = koepel("certs", "certify-signing-key", "--ca", ca, "--name", "org-test",
                 "--public", "abcd", "--out", tmp_path / "x.crt")
    assert bad.returncode == 2 and "32 bytes" in bad.stderr and not (tmp_path / "x.crt").exists()
