"""Options shared by the long-running `serve` commands: logs, metrics, graceful shutdown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cli.lang import N_
from cli.logs import LOG_FORMATS

__all__ = ["metrics_address", "service_options"]

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option("--log-format", type=click.Choice(LOG_FORMATS), default="auto",
                 show_default=True,
                 help=N_("json: one object a line (for journald, Loki, …); human: for a terminal; "
                         "auto: human on a terminal, json otherwise.")),
    click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
                 default="info", show_default=True),
    click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
                 help=N_("Serve Prometheus metrics on this port (0: any free port, logged and "
                         "written to --metrics-port-file). Off when not given.")),
    click.option("--metrics-host", default="127.0.0.1", show_default=True,
                 help=N_("Address the metrics endpoint listens on (0.0.0.0 in a container).")),
    click.option("--metrics-port-file", type=click.Path(path_type=Path), default=None,
                 help=N_("Write the metrics port here once listening.")),
    click.option("--grace-seconds", type=click.FloatRange(0, 600), default=10.0,
                 show_default=True,
                 help=N_("On SIGTERM, how long in-flight queries may take to finish.")),
)


def service_options(func: F) -> F:
    """Add the logging, metrics and shutdown options to a serve command."""
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


def metrics_address(host: str, port: int | None) -> tuple[str, int] | None:
    """The (host, port) to serve metrics on, or None when metrics are off."""
    return None if port is None else (host, port)
