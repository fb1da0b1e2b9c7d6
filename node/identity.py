"""Who is asking: the querier identity of an incoming call.

With mutual TLS the identity is the verified client certificate's common name. Without TLS —
allowed only behind the explicit ``--insecure`` flag on loopback, for demos and tests — the
caller names itself in the ``x-koepel-querier`` metadata header, which is exactly as trustworthy
as a loopback-only demo needs and no more.
"""

from __future__ import annotations

from typing import Any

from privacy import PermissionDeniedError
from protos.wire import QUERIER_HEADER

__all__ = ["QUERIER_HEADER", "querier_of"]



def querier_of(context: Any, *, insecure: bool) -> str:
    """The caller's identity; raise :class:`PermissionDeniedError` when there is none."""
    if insecure:
        for key, value in context.invocation_metadata() or ():
            if key == QUERIER_HEADER and isinstance(value, str) and 0 < len(value) <= 128:
                return value
        raise PermissionDeniedError(f"no querier identity: set the {QUERIER_HEADER} header")
    names = (context.auth_context() or {}).get("x509_common_name") or []
    if len(names) != 1:
        raise PermissionDeniedError("no verified client certificate identity")
    return bytes(names[0]).decode("utf-8", "replace")
