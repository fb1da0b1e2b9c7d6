"""Who is asking: the querier identity of an incoming call.

With mutual TLS (the default) the identity is the verified client certificate's: its SAN URI
``koepel://ROLE/NAME`` and matching common name, read from gRPC's auth context, which is filled only
after the handshake checked the certificate against the federation CA. Nothing the caller sends
(message fields, metadata) can change it. The querier identity that node.toml's policy names is
NAME; the role decides which methods the certificate may call (``node.service.server``'s gate).

Without TLS — allowed only behind the explicit ``--insecure`` flag on loopback, for demos and
tests — the caller names itself in the ``x-koepel-querier`` metadata header and counts as an
aggregator, which is exactly as trustworthy as a loopback-only demo needs and no more.

Behind the querier, the operator who asked signs the query itself (``wire.attribution``);
:class:`OperatorCheck` verifies that signature against the node's own federation CA and its
revocation list, so the ledger names that operator on the node's own authority.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from privacy import KoepelError
from protos import pb2
from wire.attribution import Attributed, OperatorAttributionError, verify_attribution
from wire.lifecycle import Revocations
from wire.limits import QUERIER_HEADER
from wire.tls import PeerIdentity, peer_identity

__all__ = ["QUERIER_HEADER", "OperatorCheck", "UnauthenticatedError", "insecure_identity",
           "querier_of"]


class UnauthenticatedError(KoepelError):
    """The call carries no verified identity (UNAUTHENTICATED)."""

    code = "UNAUTHENTICATED"


def insecure_identity(metadata: Sequence[tuple[str, Any]]) -> PeerIdentity | None:
    """The identity a plaintext loopback caller claims in its header (demo and test mode)."""
    for key, value in metadata:
        if key == QUERIER_HEADER and isinstance(value, str):
            return PeerIdentity.from_uri(f"koepel://aggregator/{value}")
    return None


def querier_of(context: Any, *, insecure: bool) -> str:
    """The caller's querier identity; raise :class:`UnauthenticatedError` when it has none."""
    if insecure:
        identity = insecure_identity(tuple(context.invocation_metadata() or ()))
        if identity is None:
            raise UnauthenticatedError(
                f"no querier identity: set the {QUERIER_HEADER} header to a name of 1–63 "
                "letters, digits, '.', '_' or '-'")
        return identity.name
    identity = peer_identity(context.auth_context())
    if identity is None:
        raise UnauthenticatedError("no verified client certificate identity")
    return identity.name


class OperatorCheck:
    """Verifies operator attributions against the federation CA whose certificate is
    ``ca_path`` (and the revocation list beside it); ``None`` stands for no CA (plaintext
    demo nodes), where any attribution is refused rather than believed."""

    def __init__(self, ca_path: Path | None) -> None:
        self._ca_pem = ca_path.read_bytes() if ca_path is not None else None
        self._revocations = Revocations.beside(ca_path) if ca_path is not None else None

    def operator(self, request: pb2.QueryRequest | pb2.SecureRoundSpec, *, spec_digest: str,
                 query_id: str | None) -> Attributed | None:
        """The verified operator of ``request``; None when it carries no attribution."""
        if not request.HasField("attribution"):
            return None
        if self._ca_pem is None or self._revocations is None:
            raise OperatorAttributionError("this node has no federation CA to check an "
                                           "operator attribution against (plaintext mode)")
        return verify_attribution(request.attribution, self._ca_pem, spec_digest=spec_digest,
                                  query_id=query_id, revoked=self._revocations.is_revoked)
