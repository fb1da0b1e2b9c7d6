"""`koepel health`: ask a node or the aggregator its standard gRPC health status.

Used by container HEALTHCHECKs, Kubernetes exec probes and people: exit 0 when the service is
SERVING, 8 when it is not or cannot be reached, 2 when the server does not know the service.
"""

from __future__ import annotations

import click
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cli.client import tls_options
from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.lang import N_, _
from wire.limits import check_loopback
from wire.tls import TlsFiles, channel_credentials

__all__ = ["health"]


@click.command()
@click.option("--address", required=True, help=N_("host:port of the node or aggregator."))
@click.option("--service", default="", show_default=True,
              help=N_("Service to ask about, e.g. koepel.v1.NodeService; empty: the whole server."))
@click.option("--timeout", type=click.FloatRange(0.1, 60), default=3.0, show_default=True)
@tls_options
@handle_errors
def health(address: str, service: str, timeout: float, tls: TlsFiles | None) -> None:
    """Check a koepel server through the standard gRPC health service.

    With --cert/--key/--ca it speaks mutual TLS; without them, plaintext to loopback only.
    """
    if tls is not None:
        channel = grpc.secure_channel(address, channel_credentials(tls))
    else:
        check_loopback(address)
        channel = grpc.insecure_channel(address)
    with channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise KoepelCliError(_("the server at {address} does not know service "
                                       "{service}").format(address=address,
                                                           service=repr(service)),
                                     EXIT["usage"]) from None
            raise
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    named = service or _("(server)")
    click.echo(f"{address} {named}: {status}")
    if response.status != health_pb2.HealthCheckResponse.SERVING:
        raise KoepelCliError(_("{address} is {status}").format(address=address, status=status),
                             EXIT["unavailable"])
