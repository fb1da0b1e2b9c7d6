"""How a command reaches a koepel server: the options that name it, and what they resolve to.

Light on purpose (click only): every command that dials a server declares these options, and
``koepel <command> --help`` must not load grpc or cryptography to show them
(tests/test_cli_startup.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cli.lang import N_, _

if TYPE_CHECKING:
    from wire.tls import TlsFiles

__all__ = ["Connection", "connection_options", "tls_options"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Connection:
    """How to reach the aggregator: its address, and TLS files or explicit plaintext."""

    address: str
    tls: TlsFiles | None
    insecure: bool = False


def tls_options(func: F) -> F:
    """Add --cert, --key and --ca (or KOEPEL_TLS_*); pass ``tls``: the files, or None if none.

    Shared by every command that dials a koepel server over mutual TLS.
    """

    @click.option("--cert", type=click.Path(path_type=Path), envvar="KOEPEL_TLS_CERT",
                  help=N_("Your certificate from the federation CA (or KOEPEL_TLS_CERT)."))
    @click.option("--key", type=click.Path(path_type=Path), envvar="KOEPEL_TLS_KEY",
                  help=N_("Its private key file, mode 0600 (or KOEPEL_TLS_KEY)."))
    @click.option("--ca", type=click.Path(path_type=Path), envvar="KOEPEL_TLS_CA",
                  help=N_("The federation CA certificate (or KOEPEL_TLS_CA)."))
    @wraps(func)
    def wrapper(*args: Any, cert: Path | None, key: Path | None, ca: Path | None,
                **kwargs: Any) -> Any:
        if cert and key and ca:
            from wire.tls import TlsFiles  # grpc and cryptography: only when used

            tls: TlsFiles | None = TlsFiles(cert, key, ca)
        elif cert or key or ca:
            raise click.UsageError(_("--cert, --key and --ca go together"))
        else:
            tls = None
        return func(*args, tls=tls, **kwargs)

    return wrapper  # type: ignore[return-value]


def connection_options(func: F) -> F:
    """Add --aggregator, --cert, --key, --ca and --insecure; pass one ``conn`` argument."""

    @click.option("--aggregator", "address", default="127.0.0.1:7700", show_default=True,
                  envvar="KOEPEL_AGGREGATOR", help=N_("The aggregator's address."))
    @tls_options
    @click.option("--insecure", is_flag=True,
                  help=N_("Plaintext to an aggregator on loopback (demos and tests only)."))
    @wraps(func)
    def wrapper(*args: Any, address: str, tls: TlsFiles | None, insecure: bool,
                **kwargs: Any) -> Any:
        if insecure:
            conn = Connection(address, None, insecure=True)
        elif tls is not None:
            conn = Connection(address, tls)
        else:
            raise click.UsageError(_(
                "name your operator certificate with --cert, --key and --ca (or KOEPEL_TLS_CERT,"
                " KOEPEL_TLS_KEY, KOEPEL_TLS_CA), or use --insecure for a loopback demo"))
        return func(*args, conn=conn, **kwargs)

    return wrapper  # type: ignore[return-value]
