"""Who takes part, and which X25519 key speaks for whom: the roster, checked by every node.

Enrolment binds a node's long-term X25519 key to its federation certificate: the node signs
``b"koepel-secagg-x25519-v1" || node_id || x25519_public`` with its certificate's private key
(ECDSA P-256). The binding is signed by the node's certified identity rather than by the CA,
so the CA key stays offline and is never needed to enrol or rotate an X25519 key, while a
verifier still needs nothing but the CA certificate: the certificate chains to the CA, names
the node (SAN ``koepel://node/NAME`` and CN NAME), and its key signed the binding.

The aggregator assembles the roster and signs its hash, but a node never trusts that
signature alone: it verifies every entry it uses against the CA itself, so an aggregator
cannot slip in an X25519 key of its own under a real node's name (which would let it open the
shares other nodes seal to that node).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from wire.secagg.codec import MAX_NODES, Reader, Writer, check_node_id
from wire.secagg.errors import MessageError, RosterError, SignatureError
from wire.secagg.primitives import sha256, sign, verify
from wire.tls import PeerIdentity, identity_of

__all__ = [
    "BINDING_LABEL",
    "Roster",
    "RosterEntry",
    "certified_key",
    "make_entry",
    "sign_roster",
    "verify_entry",
    "verify_roster",
]

BINDING_LABEL = b"koepel-secagg-x25519-v1"
_ROSTER_TAG = b"koepel-secagg-roster-v1"
_ROSTER_SIGNATURE = b"koepel-secagg-roster-signature-v1"
_X25519_BYTES = 32


def binding_message(node_id: str, x25519_public: bytes) -> bytes:
    return BINDING_LABEL + node_id.encode("utf-8") + x25519_public


@dataclass(frozen=True)
class RosterEntry:
    """One node's certificate, its long-term X25519 public key, and the binding signature."""

    node_id: str
    certificate_pem: bytes
    x25519_public: bytes
    binding_signature: bytes


def make_entry(node_id: str, certificate_pem: bytes, x25519_private_key: X25519PrivateKey,
               signing_key: ec.EllipticCurvePrivateKey) -> RosterEntry:
    """Enrol: bind this node's X25519 key to its certificate with the certificate's key."""
    check_node_id(node_id)
    public = x25519_private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return RosterEntry(node_id, certificate_pem, public,
                       sign(signing_key, binding_message(node_id, public)))


def _certificate(pem: bytes, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except (ValueError, TypeError):
        raise RosterError(f"{what} is not a PEM certificate") from None


def _check_certificate(certificate_pem: bytes, ca_pem: bytes, role: str, name: str | None,
                       moment: datetime) -> tuple[PeerIdentity, ec.EllipticCurvePublicKey,
                                                  datetime, datetime]:
    ca = _certificate(ca_pem, "the CA certificate")
    cert = _certificate(certificate_pem, f"the certificate of {name or role}")
    try:
        is_ca = ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise RosterError("the CA certificate is not a CA")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise RosterError(f"the certificate of {name or role} was not issued by the federation "
                          "CA") from None
    for what, c in (("certificate", cert), ("CA certificate", ca)):
        if not c.not_valid_before_utc <= moment <= c.not_valid_after_utc:
            raise RosterError(f"the {what} of {name or role} is not valid now")
    identity = identity_of(cert)
    if identity is None or identity.role != role or (name is not None and identity.name != name):
        raise RosterError(f"the certificate is that of {identity or 'nobody'}, not of "
                          f"koepel://{role}/{name or '*'}")
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise RosterError(f"the certificate of {identity} does not hold an ECDSA key")
    return (identity, public, max(cert.not_valid_before_utc, ca.not_valid_before_utc),
            min(cert.not_valid_after_utc, ca.not_valid_after_utc))


def certified_key(certificate_pem: bytes, ca_pem: bytes, *, role: str, name: str | None,
                  now: datetime | None = None) -> tuple[PeerIdentity, ec.EllipticCurvePublicKey]:
    """Check a certificate against the federation CA and return its identity and P-256 key.

    The certificate must be signed by the CA's key, be valid now (as must the CA), carry a
    koepel identity of ``role`` (and ``name`` when given), and hold an ECDSA key.
    """
    identity, public, _, _ = _check_certificate(certificate_pem, ca_pem, role, name,
                                                now or datetime.now(UTC))
    return identity, public


# Entries already verified, by digest of (entry, CA), with the window in which they stay valid:
# a node checks a 100-node roster once, not on every query. Bounded; a miss re-verifies.
_VERIFIED: dict[bytes, tuple[ec.EllipticCurvePublicKey, datetime, datetime]] = {}
_CACHE_LIMIT = 4096


def verify_entry(entry: RosterEntry, ca_certificate_pem: bytes, *,
                 now: datetime | None = None) -> ec.EllipticCurvePublicKey:
    """Refuse an entry whose certificate, identity or binding does not check out.

    Returns the node's certified signing key (the caller needs it to verify the node's
    messages); raises ``RosterError`` otherwise.
    """
    moment = now or datetime.now(UTC)
    digest = sha256(Roster((entry,)).to_bytes() + sha256(ca_certificate_pem))
    hit = _VERIFIED.get(digest)
    if hit is not None and hit[1] <= moment <= hit[2]:
        return hit[0]
    check_node_id(entry.node_id)
    _, public, start, end = _check_certificate(entry.certificate_pem, ca_certificate_pem,
                                               "node", entry.node_id, moment)
    if len(entry.x25519_public) != _X25519_BYTES:
        raise RosterError(f"the X25519 key of {entry.node_id} is not 32 bytes")
    try:
        verify(public, entry.binding_signature,
               binding_message(entry.node_id, entry.x25519_public), "the binding")
    except SignatureError:
        raise RosterError(f"the X25519 key of {entry.node_id} is not bound to its certificate "
                          "(bad binding signature)") from None
    if len(_VERIFIED) >= _CACHE_LIMIT:
        _VERIFIED.clear()
    _VERIFIED[digest] = (public, start, end)
    return public


@dataclass(frozen=True)
class Roster:
    """The entries sorted by node id (one per node) and the hash every round refers to."""

    entries: tuple[RosterEntry, ...]

    def __post_init__(self) -> None:
        ids = [e.node_id for e in self.entries]
        if ids != sorted(set(ids)):
            raise RosterError("roster entries must be sorted by node id, one per node")
        if len(ids) > MAX_NODES:
            raise RosterError(f"a roster holds at most {MAX_NODES} nodes")
        for node_id in ids:
            check_node_id(node_id)

    @classmethod
    def build(cls, entries: Iterable[RosterEntry]) -> Roster:
        return cls(tuple(sorted(entries, key=lambda e: e.node_id)))

    def entry(self, node_id: str) -> RosterEntry:
        for candidate in self.entries:
            if candidate.node_id == node_id:
                return candidate
        raise RosterError(f"{node_id} is not in the roster")

    @property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(e.node_id for e in self.entries)

    def to_bytes(self) -> bytes:
        writer = Writer(_ROSTER_TAG).u32(len(self.entries))
        for e in self.entries:
            writer.text(e.node_id).blob(e.certificate_pem).blob(e.x25519_public)
            writer.blob(e.binding_signature)
        return writer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Roster:
        reader = Reader(data, _ROSTER_TAG)
        entries = [RosterEntry(reader.text(), reader.blob(), reader.blob(), reader.blob())
                   for _ in range(reader.count(MAX_NODES))]
        reader.end()
        try:
            return cls(tuple(entries))
        except RosterError as exc:
            raise MessageError(str(exc)) from None

    @property
    def roster_hash(self) -> bytes:
        """SHA-256 of the canonical encoding: the same roster has one hash everywhere."""
        return sha256(self.to_bytes())


def sign_roster(roster: Roster, aggregator_key: ec.EllipticCurvePrivateKey) -> bytes:
    return sign(aggregator_key, _ROSTER_SIGNATURE + roster.roster_hash)


def verify_roster(roster: Roster, signature: bytes, aggregator_certificate_pem: bytes,
                  ca_certificate_pem: bytes, *, now: datetime | None = None) -> None:
    """The roster was signed by a federation aggregator (its certificate chains to the CA).

    This says who vouches for the roster; it does not replace ``verify_entry`` on each entry.
    """
    identity, public = certified_key(aggregator_certificate_pem, ca_certificate_pem,
                                     role="aggregator", name=None, now=now)
    verify(public, signature, _ROSTER_SIGNATURE + roster.roster_hash, f"the roster by {identity}")
