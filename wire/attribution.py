"""Who asked: an operator's own signature over its query, checked by the aggregator and by
every node against the federation CA.

Nodes see one querier per federation (the aggregator's certificate), so without more a node's
ledger cannot say which person asked, and two operators share one cap. The operator therefore
signs its own request — ``koepel-operator-request/1``: its name, the query id, the query's
digest and the time — with the key of its operator certificate, the one it already holds for
mutual TLS. The aggregator checks that the signer is the operator on the TLS connection (the
certificate it forwards is the TLS peer's, never a request field) and forwards the signature
untouched to every node in ``QueryRequest.attribution`` (``SecureMaskRequest`` too).

Why the operator signs rather than the aggregator: a node then checks who asked against the CA
itself. An aggregator signing "alice asked" would be believed because it is the aggregator; a
compromised aggregator could charge any query to any operator, or to none to escape a cap.
With the operator's signature it can only omit the attribution (a node that gives operators
their own caps refuses that) or replay one: the signature names the query id, which the ledger
keeps once per operator (a second charge under another id is refused), and it is only accepted
for :data:`MAX_AGE` after signing.

This module knows cryptography, the wire contract and the canonical JSON of ``privacy``; it
decides nothing about budgets (node policy does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from privacy import KoepelError
from privacy.receipts import canonical_json
from protos import pb2
from wire.tls import (
    PeerIdentity,
    TlsFiles,
    _parse_cert,
    _parse_key,
    _read,
    _read_private,
    identity_of,
)

__all__ = ["FORMAT", "MAX_AGE", "Attributed", "OperatorAttributionError", "OperatorRequest",
           "sign_request", "verify_attribution"]

FORMAT = "koepel-operator-request/1"
MAX_AGE = timedelta(minutes=15)  # a signed request older than this is refused (replay window)
MAX_SKEW = timedelta(minutes=5)  # clocks may differ this much (signed "in the future")
MAX_PAYLOAD = 1024
MAX_SIGNATURE = 128  # a DER ECDSA P-256 signature is at most 72 bytes
MAX_CERTIFICATE = 8192
_QUERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # what nodes accept as a query id


class OperatorAttributionError(KoepelError):
    """The operator attribution is forged, malformed, stale, or not the caller's (refused at
    no cost: ``UNAUTHENTICATED``)."""

    code = "OPERATOR_ATTRIBUTION_INVALID"


@dataclass(frozen=True)
class OperatorRequest:
    """What an operator signs: who, which query id, which query, when."""

    operator: str
    query_id: str
    spec_digest: str
    signed_at: str  # ISO 8601, UTC, seconds

    def to_payload(self) -> bytes:
        return canonical_json({"format": FORMAT, **asdict(self)})

    @classmethod
    def from_payload(cls, payload: bytes) -> OperatorRequest:
        try:
            raw = json.loads(payload.decode("utf-8"))
            if not isinstance(raw, dict) or raw.get("format") != FORMAT:
                raise ValueError
            fields = {k: raw[k] for k in ("operator", "query_id", "spec_digest", "signed_at")}
        except (UnicodeDecodeError, ValueError, KeyError):
            raise OperatorAttributionError(
                f"the operator attribution is not a {FORMAT} payload") from None
        if not all(isinstance(v, str) for v in fields.values()):
            raise OperatorAttributionError("the operator attribution has a malformed field")
        return cls(**fields)


@dataclass(frozen=True)
class Attributed:
    """A verified attribution: the operator's name and the query id it signed."""

    operator: str
    request_id: str
    signed_at: str


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).replace(microsecond=0)


def sign_request(files: TlsFiles, *, query_id: str, spec_digest: str,
                 now: datetime | None = None) -> pb2.OperatorAttribution | None:
    """The operator's signature over one query, with the key of its TLS certificate.

    None when ``files`` are not an operator's (an auditor cannot submit queries anyway): the
    aggregator then forwards no attribution.
    """
    cert = _parse_cert(_read(files.cert, "certificate"), files.cert)
    identity = identity_of(cert)
    if identity is None or identity.role != "operator":
        return None
    key = _parse_key(_read_private(files.key, "private key"), files.key)
    request = OperatorRequest(identity.name, query_id, spec_digest,
                              _now(now).isoformat(timespec="seconds"))
    payload = request.to_payload()
    return pb2.OperatorAttribution(payload=payload,
                                   signature=key.sign(payload, ec.ECDSA(hashes.SHA256())),
                                   certificate=b"")


def _when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise OperatorAttributionError("the operator attribution's time is malformed") from None
    if moment.tzinfo is None:
        raise OperatorAttributionError("the operator attribution's time has no time zone")
    return moment


def verify_attribution(attribution: pb2.OperatorAttribution, ca_pem: bytes, *,
                       spec_digest: str, query_id: str | None,
                       revoked: Callable[[int], bool] | None = None,
                       now: datetime | None = None) -> Attributed:
    """Check an attribution against the federation CA; :class:`OperatorAttributionError` says
    why not.

    ``query_id`` is the id the request is charged under (None on a secure round, whose ledger
    id is the round's: the signed id is then kept in the ledger once per operator).
    """
    if (len(attribution.payload) > MAX_PAYLOAD or len(attribution.signature) > MAX_SIGNATURE
            or len(attribution.certificate) > MAX_CERTIFICATE):
        raise OperatorAttributionError("the operator attribution is too large")
    try:
        cert = x509.load_pem_x509_certificate(attribution.certificate)
        ca = x509.load_pem_x509_certificate(ca_pem)
    except ValueError:
        raise OperatorAttributionError("the operator attribution carries no PEM certificate"
                                       ) from None
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise OperatorAttributionError("the operator's certificate was not issued by the "
                                       "federation CA") from None
    identity = identity_of(cert)
    if identity is None or identity.role != "operator":
        raise OperatorAttributionError("the attribution's certificate is not an operator's")
    if revoked is not None and revoked(cert.serial_number):
        raise OperatorAttributionError(f"the certificate of operator {identity.name!r} is "
                                       "revoked")
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise OperatorAttributionError("the operator's certificate holds no ECDSA key")
    try:
        key.verify(attribution.signature, attribution.payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise OperatorAttributionError("the operator attribution's signature does not verify "
                                       f"with the certificate of {identity.name!r}") from None
    request = OperatorRequest.from_payload(attribution.payload)
    return _check_claim(request, identity, cert, spec_digest=spec_digest, query_id=query_id,
                        now=_now(now))


def _check_claim(request: OperatorRequest, identity: PeerIdentity, cert: x509.Certificate, *,
                 spec_digest: str, query_id: str | None, now: datetime) -> Attributed:
    if request.operator != identity.name:
        raise OperatorAttributionError("the attribution names another operator than its "
                                       "certificate")
    if request.spec_digest != spec_digest:
        raise OperatorAttributionError(f"operator {identity.name!r} signed another query")
    if not _QUERY_ID.fullmatch(request.query_id):
        raise OperatorAttributionError("the signed query id must be 1–64 characters of "
                                       "letters, digits, . _ : -")
    if query_id is not None and request.query_id != query_id:
        raise OperatorAttributionError(f"operator {identity.name!r} signed another query id")
    signed = _when(request.signed_at)
    if signed > now + MAX_SKEW or signed < now - MAX_AGE:
        raise OperatorAttributionError(
            f"operator {identity.name!r} signed this request at {request.signed_at}, outside "
            f"the {int(MAX_AGE.total_seconds() // 60)} minutes a signature is accepted; ask "
            "again (check the clocks)")
    if not cert.not_valid_before_utc <= signed <= cert.not_valid_after_utc:
        raise OperatorAttributionError(f"the certificate of operator {identity.name!r} was not "
                                       "valid when it signed")
    return Attributed(identity.name, request.query_id, request.signed_at)
