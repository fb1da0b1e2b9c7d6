"""A certificate's life after issue: revocation lists, checked on every call, and renewal.

A stolen operator laptop or aggregator key must stop working before its certificate expires.
The federation CA signs a certificate revocation list (X.509 CRL, ``ca.crl`` beside
``ca.crt``); `koepel certs revoke` adds a certificate to it. Every server that checks clients
(each node, the aggregator's operator service) loads the CRL at start, refuses to start on one
the CA did not sign, and re-reads it when the file changes, so a revocation copied into place
applies to the next call without a restart. gRPC's Python API cannot check a CRL inside the
TLS handshake, so the check runs in the gate, right after the handshake and before anything
else: the revoked caller gets ``UNAUTHENTICATED`` (``CERTIFICATE_REVOKED``) and costs nothing.

Short lifetimes do the rest: leaf certificates default to 90 days, and `koepel certs renew`
re-signs a certificate (same key, identity and addresses) for another period.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from wire.tls import (
    CA_CERT,
    CertError,
    _cert_pem,
    _check_days,
    _load_ca,
    _now,
    _parse_cert,
    _read,
    _write_new,
)

__all__ = ["CA_CRL", "Revocations", "renew", "revocation_check", "revoke"]

log = logging.getLogger("koepel.tls")

CA_CRL = "ca.crl"
_CRL_DAYS = 3650  # a CRL here is a deny-list, not a freshness proof: see docs/security.md
_RELOAD_SECONDS = 1.0


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except Exception:
        return False
    return True


def _current_crl(ca_dir: Path, ca: x509.Certificate) -> x509.CertificateRevocationList | None:
    path = ca_dir / CA_CRL
    if not path.exists():
        return None
    crl = x509.load_pem_x509_crl(path.read_bytes())
    if not crl.is_signature_valid(ca.public_key()):  # type: ignore[arg-type]
        raise CertError(f"{path} is not signed by the CA in {ca_dir}; move it away first")
    return crl


def revoke(ca_dir: Path, cert_path: Path, *, now: datetime | None = None) -> Path:
    """Add ``cert_path`` to the CA's revocation list (``ca_dir/ca.crl``); return its path.

    The list is re-signed whole and replaced atomically; revoking twice changes nothing.
    """
    ca, key = _load_ca(ca_dir)
    cert = _parse_cert(_read(cert_path, "certificate"), cert_path)
    if not _issued_by(cert, ca):
        raise CertError(f"{cert_path} was not issued by the CA in {ca_dir}", exit_code=2)
    start = _now(now)
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(ca.subject)
               .last_update(start - timedelta(minutes=5))
               .next_update(min(start + timedelta(days=_CRL_DAYS), ca.not_valid_after_utc)))
    previous = _current_crl(ca_dir, ca)
    serials = set()
    for entry in previous or ():
        serials.add(entry.serial_number)
        builder = builder.add_revoked_certificate(entry)
    if cert.serial_number not in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
            .revocation_date(start).build())
    crl = builder.sign(key, hashes.SHA256())
    path = ca_dir / CA_CRL
    tmp = path.with_name(f".{CA_CRL}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    _write_new(tmp, crl.public_bytes(serialization.Encoding.PEM), 0o644)
    os.replace(tmp, path)
    return path


def renew(ca_dir: Path, cert_path: Path, *, days: int = 90,
          now: datetime | None = None) -> x509.Certificate:
    """Re-sign ``cert_path`` for ``days`` more: same key, identity, addresses and usages.

    The old certificate is kept as ``<name>.old`` (a new file; an existing one is refused) and
    the new one takes its place atomically, so a server restarted at any moment finds a valid
    pair.
    """
    _check_days(days)
    ca, key = _load_ca(ca_dir)
    old = _parse_cert(_read(cert_path, "certificate"), cert_path)
    if not _issued_by(old, ca):
        raise CertError(f"{cert_path} was not issued by the CA in {ca_dir}", exit_code=2)
    crl = _current_crl(ca_dir, ca)
    if crl is not None and crl.get_revoked_certificate_by_serial_number(old.serial_number):
        raise CertError(f"{cert_path} was revoked; issue a new certificate instead", exit_code=2)
    start = _now(now)
    builder = (x509.CertificateBuilder()
               .subject_name(old.subject).issuer_name(ca.subject).public_key(old.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(start - timedelta(minutes=5))
               .not_valid_after(min(start + timedelta(days=days), ca.not_valid_after_utc)))
    for extension in old.extensions:
        if isinstance(extension.value, x509.AuthorityKeyIdentifier):
            continue
        builder = builder.add_extension(extension.value, extension.critical)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),  # type: ignore[arg-type]
        critical=False)
    fresh = builder.sign(key, hashes.SHA256())
    _write_new(cert_path.with_name(cert_path.name + ".old"), _cert_pem(old), 0o644)
    tmp = cert_path.with_name(f".{cert_path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    _write_new(tmp, _cert_pem(fresh), 0o644)
    os.replace(tmp, cert_path)
    return fresh


class Revocations:
    """The serial numbers a CA has revoked, re-read when the CRL file changes.

    Built from the CRL beside the party's CA certificate (``ca.crl``). No file means nothing is
    revoked yet; a file the CA did not sign is refused at start, and a later bad replacement is
    ignored (the last good list stays in force) with a warning in the log.
    """

    def __init__(self, crl_path: Path, ca_path: Path) -> None:
        self._path = crl_path
        self._ca = _parse_cert(_read(ca_path, "CA certificate"), ca_path)
        self._lock = threading.Lock()
        self._serials: frozenset[int] = frozenset()
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._by_pem: dict[bytes, int] = {}
        if crl_path.exists():
            self._serials = self._read()
            self._stamp = self._stat()

    @classmethod
    def beside(cls, ca_path: Path) -> Revocations:
        """The revocations of the CA whose certificate is ``ca_path`` (``ca.crl`` beside it)."""
        name = CA_CRL if ca_path.name == CA_CERT else ca_path.stem + ".crl"
        return cls(ca_path.with_name(name), ca_path)

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = self._path.stat()
        except FileNotFoundError:
            return None
        return (info.st_mtime_ns, info.st_size)

    def _read(self) -> frozenset[int]:
        try:
            crl = x509.load_pem_x509_crl(self._path.read_bytes())
        except ValueError:
            raise CertError(f"{self._path} is not a PEM certificate revocation list") from None
        if not crl.is_signature_valid(self._ca.public_key()):  # type: ignore[arg-type]
            raise CertError(f"{self._path} is not signed by the federation CA")
        return frozenset(entry.serial_number for entry in crl)

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < _RELOAD_SECONDS:
            return
        self._checked = now
        stamp = self._stat()
        if stamp == self._stamp or stamp is None:
            return
        try:
            self._serials = self._read()
        except (CertError, OSError) as error:
            log.warning("revocation list not reloaded", extra={"error_type": type(error).__name__})
        self._stamp = stamp

    def is_revoked(self, serial: int) -> bool:
        with self._lock:
            self._refresh()
            return serial in self._serials

    def peer_revoked(self, auth_context: Mapping[str, Sequence[bytes]] | Any) -> bool:
        """Whether the TLS peer of a call presented a revoked certificate."""
        pems = (auth_context or {}).get("x509_pem_cert") or ()
        if len(pems) != 1:
            return False  # no certificate: the gate refuses it as unauthenticated anyway
        pem = bytes(pems[0])
        serial = self._by_pem.get(pem)
        if serial is None:
            serial = x509.load_pem_x509_certificate(pem).serial_number
            if len(self._by_pem) > 1024:
                self._by_pem.clear()
            self._by_pem[pem] = serial
        return self.is_revoked(serial)


def revocation_check(ca_path: Path) -> Callable[[Any], bool]:
    """The gate's revocation test for a server whose federation CA is ``ca_path``."""
    return Revocations.beside(ca_path).peer_revoked
