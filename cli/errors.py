"""Exit codes scripts can rely on, and the one place that turns errors into them.

| code | meaning |
| ---- | ------- |
| 0 | success |
| 1 | unexpected error (a bug: please report it) |
| 2 | bad usage or configuration |
| 3 | database cannot be opened (missing, wrong key, newer schema; file left untouched) |
| 4 | key file problem |
| 5 | import refused (nothing was written) |
| 6 | query refused as invalid or not permitted (nothing was spent) |
| 7 | privacy budget exhausted (nothing was spent) |
| 8 | a service could not be reached |
| 9 | result incomplete: fewer nodes answered than the federation's quorum |
| 10 | database damaged: truncated, corrupted, or not a koepel database (file left untouched) |
| 11 | audit found a problem (tampering, missing entries, spending over a cap) |
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cli.lang import _

if TYPE_CHECKING:
    import grpc

__all__ = ["EXIT", "KoepelCliError", "handle_errors"]

EXIT = {
    "ok": 0, "unexpected": 1, "usage": 2, "store": 3, "key": 4, "import": 5, "refused": 6,
    "budget": 7, "unavailable": 8, "incomplete": 9, "damaged": 10, "audit": 11,
}

F = TypeVar("F", bound=Callable[..., Any])


class KoepelCliError(click.ClickException):
    """A failure with a message for the user and a documented exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]


def _for_rpc(error: grpc.RpcError) -> KoepelCliError:
    import grpc

    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else ""
    if code == grpc.StatusCode.UNAVAILABLE:
        return KoepelCliError(_("cannot reach the service; is it running, is the address "
                                "right, and do both certificates come from the federation CA "
                                "(or both ends use --insecure)?"), EXIT["unavailable"])
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return KoepelCliError(_("query refused: {details}").format(details=details),
                              EXIT["refused"])
    if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
        return KoepelCliError(_("not permitted: {details}").format(details=details),
                              EXIT["refused"])
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return KoepelCliError(_("slow down: {details}").format(details=details),
                              EXIT["unavailable"])
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return KoepelCliError(_("the service did not answer in time"), EXIT["unavailable"])
    if code == grpc.StatusCode.NOT_FOUND:
        return KoepelCliError(details or _("not found"), EXIT["usage"])
    if code in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION):
        return KoepelCliError(_("refused: {details}").format(details=details), EXIT["refused"])
    name = code.name if code else _("error")
    return KoepelCliError(f"{name}: {details}", EXIT["unexpected"])


def _loaded(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """The exception classes ``names`` of ``module`` if it is loaded: an error of a module that
    was never imported cannot have been raised, and importing it here would only slow every
    command down (``koepel --help`` loads neither grpc nor OpenDP)."""
    loaded = sys.modules.get(module)
    return tuple(getattr(loaded, n) for n in names) if loaded is not None else ()


def _translate(error: Exception) -> KoepelCliError | None:
    """koepel's exceptions as a message and an exit code, most specific first; None if not
    one of them."""
    rules: tuple[tuple[tuple[type[BaseException], ...], Callable[[Any], KoepelCliError]],
                 ...] = (
        (_loaded("node.config", "ConfigError") + _loaded("aggregator.federation", "FederationError")
         + _loaded("privacy.errors", "CatalogueError"),
         lambda e: KoepelCliError(str(e), EXIT["usage"])),
        (_loaded("node.store.database", "StoreDamagedError"),
         lambda e: KoepelCliError(str(e), EXIT["damaged"])),
        (_loaded("node.store.database", "StoreError"),
         lambda e: KoepelCliError(str(e), EXIT["store"])),
        (_loaded("node.store.keys", "KeyError_"), lambda e: KoepelCliError(str(e), EXIT["key"])),
        (_loaded("wire.tls", "CertError"), lambda e: KoepelCliError(str(e), e.exit_code)),
        (_loaded("node.imports.importer", "ImportFailed"),
         lambda e: KoepelCliError(str(e), EXIT["import"])),
        (_loaded("privacy.errors", "BudgetExhaustedError"),
         lambda e: KoepelCliError(str(e), EXIT["budget"])),
        (_loaded("privacy.errors", "KoepelError"),
         lambda e: KoepelCliError(str(e), EXIT["refused"])),
        (_loaded("grpc", "RpcError"), _for_rpc),
        ((ValueError,), lambda e: KoepelCliError(str(e), EXIT["usage"])),
    )
    for classes, make in rules:
        if classes and isinstance(error, classes):
            return make(error)
    return None


def handle_errors(func: F) -> F:
    """Map koepel's exceptions to a one-line message on stderr and a documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as error:
            translated = _translate(error)
            if translated is None:
                raise
            raise translated from None

    return wrapper  # type: ignore[return-value]
