"""A node's Ed25519 signing key, certified by the federation CA: no trust on first use.

Every answer's receipt and every ledger export is signed with the node's Ed25519 key. Until a
key is certified, whoever checks a signature can only pin the first key it sees. Here the CA
signs an X.509 certificate for that public key, naming the node (``koepel://node/NAME``), usable
only for signing (no TLS purpose: gRPC would refuse an Ed25519 certificate anyway, and this one
must never open a channel). The node hands it out with its ledger exports; an auditor checks it
against the CA the federation published, so a swapped key is caught without any history.

The node's private key never leaves it: the CA operator certifies the public key the node's
staff read with `koepel node signing-key --show`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from wire.tls import (
    CertError,
    PeerIdentity,
    _cert_pem,
    _check_days,
    _check_name,
    _load_ca,
    _now,
    _refuse_existing,
    _write_new,
    identity_of,
)

__all__ = ["certified_signing_key", "certify_signing_key"]


def certify_signing_key(ca_dir: Path, *, name: str, public_key: bytes, out: Path,
                        days: int = 365, now: datetime | None = None) -> Path:
    """Write a CA-signed certificate for node ``name``'s Ed25519 ``public_key`` to ``out``."""
    _check_name(name)
    _check_days(days)
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise CertError("the public key must be 32 bytes (64 hex digits) of an Ed25519 key, "
                        "as `koepel node signing-key --show` prints it", exit_code=2) from None
    _refuse_existing((out,))
    ca, ca_key = _load_ca(ca_dir)
    start = _now(now)
    identity = PeerIdentity("node", name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.subject)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - timedelta(minutes=5))
        .not_valid_after(min(start + timedelta(days=days), ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_cert_sign=False,
            crl_sign=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier(identity.uri)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_new(out, _cert_pem(cert), 0o644)
    return out


def certified_signing_key(certificate_pem: bytes, ca_pem: bytes, *, node_id: str,
                          at: datetime | None = None) -> bytes:
    """The raw Ed25519 key the CA certified for ``node_id``; :class:`CertError` saying why not.

    ``at`` is when the key was used (a ledger export's time): a certificate that has expired
    since still vouches for what was signed while it was valid.
    """
    try:
        cert = x509.load_pem_x509_certificate(certificate_pem)
        ca = x509.load_pem_x509_certificate(ca_pem)
    except ValueError:
        raise CertError("the signing certificate or the CA certificate is not PEM") from None
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise CertError("the signing certificate was not issued by the federation CA") from None
    if identity_of(cert) != PeerIdentity("node", node_id):
        raise CertError(f"the signing certificate is not {node_id}'s")
    key = cert.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise CertError("the signing certificate does not certify an Ed25519 key")
    moment = _now(at)
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise CertError(f"the signing certificate was not valid at {moment:%Y-%m-%d %H:%M}")
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
