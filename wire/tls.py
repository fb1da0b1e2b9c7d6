"""The federation's certificates, and the TLS credentials both ends of the wire load from them.

Every node and aggregator port speaks mutual TLS by default. Identities live in certificates a
federation CA signs: the subject's common name is the identity's name and a SAN URI
``koepel://<role>/<name>`` states its role, so a node can tell the federation's aggregator
(``koepel://aggregator/federation``) from another node, an operator or an auditor without
trusting anything the caller says about itself. Servers also carry DNS/IP SANs for the address
clients dial, which gRPC's hostname check verifies.

Keys are ECDSA P-256 with SHA-256 signatures: gRPC's TLS stack (BoringSSL) refuses Ed25519
certificates (``NO_COMMON_SIGNATURE_ALGORITHMS``), and P-256 is what every TLS peer accepts.
Private keys are written once (never overwritten) with mode 0600, and are refused when anyone
but their owner can read them. This module lives in ``protos/`` because node and aggregator
both need it and may only meet here; it knows grpc and cryptography, nothing of koepel's
other packages.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_CERT",
    "CA_KEY",
    "ROLES",
    "CertError",
    "CertInfo",
    "PeerIdentity",
    "TlsFiles",
    "channel_credentials",
    "describe_certificate",
    "identity_host",
    "identity_of",
    "init_ca",
    "issue",
    "peer_identity",
    "server_credentials",
]

ROLES = ("node", "aggregator", "operator", "auditor")
CA_CERT = "ca.crt"
CA_KEY = "ca.key"
URI_SCHEME = "koepel"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_DNS = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9*]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*$")
# Which TLS roles a role's certificate may play (extended key usage).
_USAGE = {
    "node": (ExtendedKeyUsageOID.SERVER_AUTH,),
    "aggregator": (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
    "operator": (ExtendedKeyUsageOID.CLIENT_AUTH,),
    "auditor": (ExtendedKeyUsageOID.CLIENT_AUTH,),
}
MAX_DAYS = 3660


class CertError(Exception):
    """A certificate or key is missing, invalid, expired, too open, or would be overwritten."""

    def __init__(self, message: str, *, exit_code: int = 4) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class PeerIdentity:
    """Who a certificate speaks for: a role (node, aggregator, operator, auditor) and a name."""

    role: str
    name: str

    @property
    def uri(self) -> str:
        return f"{URI_SCHEME}://{self.role}/{self.name}"

    @classmethod
    def from_uri(cls, uri: str) -> PeerIdentity | None:
        prefix = f"{URI_SCHEME}://"
        if not uri.startswith(prefix):
            return None
        role, sep, name = uri[len(prefix):].partition("/")
        if not sep or role not in ROLES or not _NAME.match(name):
            return None
        return cls(role, name)

    def __str__(self) -> str:
        return self.uri


@dataclass(frozen=True)
class TlsFiles:
    """Where one party's certificate, private key and federation CA certificate are."""

    cert: Path
    key: Path
    ca: Path


@dataclass(frozen=True)
class CertInfo:
    """What a certificate says, for people (``koepel certs show``) and for checks."""

    path: Path
    identity: PeerIdentity | None
    common_name: str
    issuer: str
    not_before: datetime
    not_after: datetime
    dns: tuple[str, ...]
    ips: tuple[str, ...]
    is_ca: bool
    sha256: str


# ------------------------------------------------------------------------- files on disk


def _check_name(name: str, what: str = "name") -> None:
    if not _NAME.match(name):
        raise CertError(f"{what} must be 1–63 letters, digits, '.', '_' or '-' (starting with "
                        "a letter or digit)", exit_code=2)


def _check_days(days: int) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise CertError(f"validity must be between 1 and {MAX_DAYS} days", exit_code=2)


def _refuse_existing(paths: Iterable[Path]) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise CertError(f"{', '.join(existing)} already exist(s); nothing was written (koepel "
                        "never overwrites a key or certificate: move it away first)", exit_code=2)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the start (no window where a key is readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _read_private(path: Path, what: str) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CertError(f"{what} {path} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CertError(f"{what} {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
                        f"run `chmod 600 {path}`")
    return path.read_bytes()


def _read(path: Path, what: str, hint: str = "") -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CertError(f"{what} {path} does not exist{hint}") from None


def _parse_cert(data: bytes, path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise CertError(f"{path} is not a PEM certificate") from None


def _parse_key(data: bytes, path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise CertError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertError(f"{path} is not an ECDSA key (koepel uses P-256)")
    return key


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).replace(microsecond=0)


# ------------------------------------------------------------------------- issuing


def init_ca(directory: Path, *, name: str = "koepel federation CA", days: int = 3650,
            now: datetime | None = None) -> tuple[Path, Path]:
    """Create a federation CA in ``directory``: ``ca.crt`` (public) and ``ca.key`` (0600).

    Returns both paths. Refuses to touch a directory that already holds either file.
    """
    _check_days(days)
    if not name.strip() or len(name) > 64:
        raise CertError("the CA name must be 1–64 characters", exit_code=2)
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    _refuse_existing((cert_path, key_path))
    start = _now(now)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - timedelta(minutes=5))
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_new(key_path, _key_pem(key), 0o600)
    try:
        _write_new(cert_path, _cert_pem(cert), 0o644)
    except BaseException:
        key_path.unlink(missing_ok=True)
        raise
    return cert_path, key_path


def _load_ca(ca_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = ca_dir / CA_CERT, ca_dir / CA_KEY
    hint = "; create a CA with `koepel certs init-ca DIR`"
    cert = _parse_cert(_read(cert_path, "CA certificate", hint), cert_path)
    key = _parse_key(_read_private(key_path, "CA key"), key_path)
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise CertError(f"{key_path} is not the key of {cert_path}")
    return cert, key


IDENTITY_DOMAIN = "koepel.invalid"  # RFC 2606: never resolves, so it names, never routes


def identity_host(identity: PeerIdentity) -> str:
    """The DNS name a certificate carries for its identity: ``NAME.ROLE.koepel.invalid``.

    gRPC checks a server certificate's DNS names against the name the client expects
    (``grpc.ssl_target_name_override``), not its koepel URI. Giving every server certificate
    this name lets the aggregator demand, in the handshake itself, the identity registered in
    federation.toml for the node it dials, rather than anyone the CA ever certified.
    """
    return f"{identity.name}.{identity.role}.{IDENTITY_DOMAIN}".lower()


def issue(ca_dir: Path, *, role: str, name: str, out: Path, dns: Sequence[str] = (),
          ips: Sequence[str] = (), days: int = 90, now: datetime | None = None) -> TlsFiles:
    """Issue a certificate for ``koepel://role/name`` signed by the CA in ``ca_dir``.

    Writes ``out/<role>.crt``, ``out/<role>.key`` (0600) and a copy of the CA certificate as
    ``out/ca.crt``, the three files a node.toml or federation.toml names. Refuses to overwrite a
    certificate or key, and refuses an ``out/ca.crt`` from another CA.
    """
    if role not in ROLES:
        raise CertError(f"role must be one of {', '.join(ROLES)}", exit_code=2)
    _check_name(name)
    _check_days(days)
    for host in dns:
        if not _DNS.match(host):
            raise CertError(f"--dns {host!r} is not a DNS name", exit_code=2)
    try:
        addresses = [ipaddress.ip_address(ip) for ip in ips]
    except ValueError as exc:
        raise CertError(f"--ip: {exc}", exit_code=2) from None
    if role in ("node", "aggregator") and not dns and not ips:
        raise CertError(f"a {role} certificate needs the address clients dial: give --dns "
                        "and/or --ip (e.g. --ip 127.0.0.1 for loopback)", exit_code=2)
    ca_cert, ca_key = _load_ca(ca_dir)
    files = TlsFiles(out / f"{role}.crt", out / f"{role}.key", out / CA_CERT)
    _refuse_existing((files.cert, files.key))
    ca_pem = _cert_pem(ca_cert)
    if files.ca.exists() and files.ca.read_bytes() != ca_pem:
        raise CertError(f"{files.ca} belongs to another CA; use a separate folder", exit_code=2)
    start = _now(now)
    end = min(start + timedelta(days=days), ca_cert.not_valid_after_utc)
    identity = PeerIdentity(role, name)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(identity.uri)]
    if role in ("node", "aggregator"):  # the servers: clients may demand their identity
        sans.append(x509.DNSName(identity_host(identity)))
    sans += [x509.DNSName(host) for host in dns]
    sans += [x509.IPAddress(address) for address in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - timedelta(minutes=5))
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=False, crl_sign=False,
            content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(_USAGE[role])), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_new(files.key, _key_pem(key), 0o600)
    try:
        _write_new(files.cert, _cert_pem(cert), 0o644)
        if not files.ca.exists():
            _write_new(files.ca, ca_pem, 0o644)
    except BaseException:
        files.key.unlink(missing_ok=True)
        files.cert.unlink(missing_ok=True)
        raise
    return files


# ------------------------------------------------------------------------- reading back


def identity_of(cert: x509.Certificate) -> PeerIdentity | None:
    """The koepel identity a certificate names (SAN URI matching its CN), or None."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    found = [PeerIdentity.from_uri(u) for u in sans.get_values_for_type(
        x509.UniformResourceIdentifier)]
    identities = [i for i in found if i is not None]
    if len(identities) != 1:
        return None
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(common) != 1 or common[0].value != identities[0].name:
        return None
    return identities[0]


def describe_certificate(path: Path) -> CertInfo:
    cert = _parse_cert(_read(path, "certificate"), path)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = tuple(d for d in sans.get_values_for_type(x509.DNSName)  # addresses only
                    if not d.endswith(f".{IDENTITY_DOMAIN}"))
        ips = tuple(str(ip) for ip in sans.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        dns, ips = (), ()
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    issuer = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return CertInfo(
        path=path, identity=identity_of(cert),
        common_name=str(common[0].value) if common else "",
        issuer=str(issuer[0].value) if issuer else "",
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        dns=dns, ips=ips, is_ca=is_ca,
        sha256=hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
    )


def _load(files: TlsFiles, expect: PeerIdentity | None,
          now: datetime | None) -> tuple[bytes, bytes, bytes]:
    """Read and check one party's TLS files; fail now with a clear message, not at handshake."""
    hint = ("; issue one with `koepel certs issue --ca CA_DIR --role ROLE --name NAME "
            f"--out {files.cert.parent}`")
    ca_pem = _read(files.ca, "CA certificate", hint)
    cert_pem = _read(files.cert, "certificate", hint)
    key_pem = _read_private(files.key, "private key")
    ca = _parse_cert(ca_pem, files.ca)
    cert = _parse_cert(cert_pem, files.cert)
    key = _parse_key(key_pem, files.key)
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise CertError(f"{files.cert} was not issued by the CA in {files.ca}") from None
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise CertError(f"{files.key} is not the key of {files.cert}")
    moment = now or datetime.now(UTC)
    for what, path, c in (("certificate", files.cert, cert), ("CA certificate", files.ca, ca)):
        if moment < c.not_valid_before_utc:
            raise CertError(f"{what} {path} is not valid before {c.not_valid_before_utc:%Y-%m-%d}")
        if moment > c.not_valid_after_utc:
            raise CertError(f"{what} {path} expired on {c.not_valid_after_utc:%Y-%m-%d}; "
                            "issue a new one")
    identity = identity_of(cert)
    if identity is None:
        raise CertError(f"{files.cert} carries no koepel identity (a SAN URI koepel://ROLE/NAME "
                        "matching its common name)")
    if expect is not None and identity != expect:
        raise CertError(f"{files.cert} is the certificate of {identity}, not of {expect}")
    return ca_pem, cert_pem, key_pem


def server_credentials(files: TlsFiles, *, expect: PeerIdentity | None = None,
                       now: datetime | None = None) -> grpc.ServerCredentials:
    """Mutual-TLS server credentials: a client without a certificate from our CA is refused."""
    ca_pem, cert_pem, key_pem = _load(files, expect, now)
    return grpc.ssl_server_credentials([(key_pem, cert_pem)], root_certificates=ca_pem,
                                       require_client_auth=True)


def channel_credentials(files: TlsFiles, *, expect: PeerIdentity | None = None,
                        now: datetime | None = None) -> grpc.ChannelCredentials:
    """Client credentials presenting our certificate and trusting only the federation CA."""
    ca_pem, cert_pem, key_pem = _load(files, expect, now)
    return grpc.ssl_channel_credentials(root_certificates=ca_pem, private_key=key_pem,
                                        certificate_chain=cert_pem)


def peer_identity(auth_context: Mapping[str, Sequence[bytes]] | Any) -> PeerIdentity | None:
    """The verified identity of a TLS peer, from gRPC's auth context; None when it has none.

    gRPC fills the context only after the handshake verified the peer's chain against our CA,
    so the certificate's SAN URI and common name can be trusted. A peer with no koepel URI,
    several of them, or a common name that disagrees with the URI, has no identity.
    """
    context = auth_context or {}
    if context.get("transport_security_type") != [b"ssl"]:
        return None
    uris = [PeerIdentity.from_uri(bytes(u).decode("utf-8", "replace"))
            for u in context.get("peer_uri", ())]
    identities = [i for i in uris if i is not None]
    names = context.get("x509_common_name") or []
    if len(identities) != 1 or len(names) != 1:
        return None
    if bytes(names[0]).decode("utf-8", "replace") != identities[0].name:
        return None
    return identities[0]
