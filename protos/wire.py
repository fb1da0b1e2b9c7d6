"""Wire-level conventions shared by both ends, beside the generated contract."""

from __future__ import annotations

import ipaddress

__all__ = ["QUERIER_HEADER", "check_loopback"]

# Demo/test mode only (plaintext on loopback): the caller names itself in this metadata header.
# With mutual TLS the identity comes from the verified client certificate instead.
QUERIER_HEADER = "x-koepel-querier"


def check_loopback(address: str) -> None:
    """Refuse a plaintext listener or target anywhere but loopback."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"--insecure serves plaintext and is allowed on loopback only, not {host}")
