"""`koepel certs …`: the federation CA and the certificates of nodes, aggregator and people."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.lang import N_, _, locale
from wire.tls import ROLES, describe_certificate, init_ca, issue

__all__ = ["certs"]


@click.group()
def certs() -> None:
    """Create the federation CA and issue certificates (mutual TLS identities)."""


@certs.command(name="init-ca")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--name", default="koepel federation CA", show_default=True,
              help=N_("The CA's common name."))
@click.option("--days", default=3650, show_default=True, type=int, help=N_("Validity in days."))
@handle_errors
def init_ca_(directory: Path, name: str, days: int) -> None:
    """Create a federation CA in DIRECTORY (ca.crt, and ca.key with mode 0600).

    Keep ca.key offline or at least off the servers: whoever holds it can mint identities.
    """
    cert, key = init_ca(directory, name=name, days=days)
    click.echo(_("created CA {name}: {cert} (share with every node and operator) and {key} "
                 "(private, mode 0600)").format(name=repr(name), cert=cert, key=key))


@certs.command(name="issue")
@click.option("--ca", "ca_dir", required=True, type=click.Path(path_type=Path),
              help=N_("The CA folder (holding ca.crt and ca.key)."))
@click.option("--role", required=True, type=click.Choice(ROLES),
              help=N_("node, aggregator, operator or auditor."))
@click.option("--name", required=True,
              help=N_("The identity: a node id, the federation's querier identity, a person."))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help=N_("Folder to write ROLE.crt, ROLE.key (0600) and ca.crt into."))
@click.option("--dns", multiple=True, help=N_("DNS name clients dial (servers). Repeatable."))
@click.option("--ip", "ips", multiple=True,
              help=N_("IP address clients dial (servers). Repeatable."))
@click.option("--days", default=90, show_default=True, type=int,
              help=N_("Validity in days (short by default: renew with `koepel certs renew`)."))
@handle_errors
def issue_(ca_dir: Path, role: str, name: str, out: Path, dns: tuple[str, ...],
           ips: tuple[str, ...], days: int) -> None:
    """Issue a certificate for koepel://ROLE/NAME, signed by the federation CA."""
    files = issue(ca_dir, role=role, name=name, out=out, dns=dns, ips=ips, days=days)
    click.echo(_("issued {identity}: {cert}, {key} (mode 0600), {ca}").format(
        identity=f"koepel://{role}/{name}", cert=files.cert, key=files.key, ca=files.ca))


@certs.command(name="show")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help=N_("Machine-readable output."))
@handle_errors
def show(path: Path, as_json: bool) -> None:
    """What a certificate says: identity, addresses, validity, fingerprint."""
    info = describe_certificate(path)
    expired = datetime.now(UTC) > info.not_after
    fields = {
        "identity": info.identity.uri if info.identity else None,
        "common_name": info.common_name, "issuer": info.issuer, "ca": info.is_ca,
        "dns": list(info.dns), "ips": list(info.ips),
        "not_before": info.not_before.isoformat(), "not_after": info.not_after.isoformat(),
        "expired": expired, "sha256": info.sha256,
    }
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    for key, value in fields.items():
        click.echo(f"{key:12} {value}")


@certs.command()
@click.option("--ca", "ca_dir", required=True, type=click.Path(path_type=Path),
              help=N_("The CA folder (holding ca.crt and ca.key)."))
@click.argument("cert_path", metavar="CERT", type=click.Path(exists=True, dir_okay=False,
                                                             path_type=Path))
@handle_errors
def revoke(ca_dir: Path, cert_path: Path) -> None:
    """Revoke CERT: add it to the CA's revocation list (CA/ca.crl).

    Copy ca.crl beside ca.crt on every node and on the aggregator: each re-reads it within a
    second and refuses the revoked certificate on its next call, without a restart.
    """
    from wire.lifecycle import revoke as revoke_certificate

    path = revoke_certificate(ca_dir, cert_path)
    click.echo(_("revoked {cert}; the revocation list is {path}: copy it beside ca.crt on "
                 "every node and on the aggregator").format(cert=cert_path, path=path))


@certs.command()
@click.option("--ca", "ca_dir", required=True, type=click.Path(path_type=Path),
              help=N_("The CA folder (holding ca.crt and ca.key)."))
@click.argument("cert_path", metavar="CERT", type=click.Path(exists=True, dir_okay=False,
                                                             path_type=Path))
@click.option("--days", default=90, show_default=True, type=int, help=N_("New validity in days."))
@handle_errors
def renew(ca_dir: Path, cert_path: Path, days: int) -> None:
    """Re-sign CERT for another period: same key, identity and addresses (old kept as .old)."""
    from wire.lifecycle import renew as renew_certificate

    fresh = renew_certificate(ca_dir, cert_path, days=days)
    click.echo(_("renewed {cert} until {date}; restart the service that uses it (the previous "
                 "one is kept as {old})").format(
        cert=cert_path, date=locale().date(fresh.not_valid_after_utc.date()),
        old=f"{cert_path.name}.old"))


@certs.command(name="certify-signing-key")
@click.option("--ca", "ca_dir", required=True, type=click.Path(path_type=Path),
              help=N_("The CA folder (holding ca.crt and ca.key)."))
@click.option("--name", required=True, help=N_("The node id the key belongs to."))
@click.option("--public", "public_hex", required=True, metavar="HEX",
              help=N_("The node's Ed25519 public key, as `koepel node signing-key --show` prints."))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help=N_("The certificate file to write (tls/signing.crt in the node's folder)."))
@click.option("--days", default=365, show_default=True, type=int, help=N_("Validity in days."))
@handle_errors
def certify_signing_key_(ca_dir: Path, name: str, public_hex: str, out_path: Path,
                         days: int) -> None:
    """Certify a node's answer-signing key, so that auditors check it against the CA."""
    from wire.signing_certs import certify_signing_key

    try:
        public = bytes.fromhex(public_hex.strip())
    except ValueError:
        raise KoepelCliError(_("--public takes the key in hexadecimal (64 digits)"),
                             EXIT["usage"]) from None
    certify_signing_key(ca_dir, name=name, public_key=public, out=out_path, days=days)
    click.echo(_("certified the signing key of {name}: {path} (put it in the node's tls/ "
                 "folder; ledger exports carry it to auditors)").format(name=name,
                                                                       path=out_path))
