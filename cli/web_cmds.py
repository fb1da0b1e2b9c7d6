"""`koepel node web` and `koepel node user add | reset | disable | list`: the staff's web app.

The web app serves the organisation's own staff from the node's encrypted store, on 127.0.0.1
by default; any other address needs TLS (--tls-cert/--tls-key: a certificate the staff's
browsers trust, not the federation's). Accounts are kept in the store; passwords are asked on
the terminal (hidden, twice), never taken from the command line.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.lang import N_, _
from cli.node_options import CONFIG_OPTION, ask_secret
from node import NodeRuntime, load_node_config, open_node

__all__ = ["WEB_COMMANDS"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command(name="web")
@CONFIG_OPTION
@click.option("--listen", default="127.0.0.1:7780", show_default=True,
              help=N_("Address and port; anything but loopback needs --tls-cert and --tls-key."))
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help=N_("Certificate (PEM) the staff's browsers trust."))
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help=N_("Its private key (PEM, 0600)."))
@click.option("--host-name", "host_names", multiple=True,
              help=N_("A name the app is reached by (besides the listen address), e.g. "
                      "koepel.atelier.lan; requests naming any other host are refused."))
@click.option("--idle-minutes", default=15, show_default=True, type=click.IntRange(1, 240),
              help=N_("Sign a user out after this long without a request."))
@handle_errors
def web_cmd(config_path: Path, listen: str, tls_cert: Path | None, tls_key: Path | None,
            host_names: tuple[str, ...], idle_minutes: int) -> None:
    """Serve the organisation's web app (record and follow people, reminders, report)."""
    import uvicorn

    from node.organisation.web import WebSettings, create_app

    host, _sep, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit():
        raise KoepelCliError(_("--listen takes HOST:PORT, e.g. 127.0.0.1:7780"), EXIT["usage"])
    host = host.strip("[]")
    tls = tls_cert is not None and tls_key is not None
    if (tls_cert is None) != (tls_key is None):
        raise KoepelCliError(_("--tls-cert and --tls-key go together"), EXIT["usage"])
    if not tls and not _is_loopback(host):
        raise KoepelCliError(_("refusing to serve the web app on {host} without TLS: give "
                               "--tls-cert and --tls-key, or listen on 127.0.0.1").format(
                                   host=host), EXIT["usage"])
    config = load_node_config(config_path)
    runtime = open_node(config, prompt=ask_secret)
    try:
        hosts = ("127.0.0.1", "localhost", "[::1]", host, *host_names)
        settings = WebSettings(store=runtime.store, secret=runtime.secret, config=config,
                               engine=runtime.engine, secure=tls, allowed_hosts=hosts,
                               idle_timeout=idle_minutes * 60.0)
        scheme = "https" if tls else "http"
        click.echo(_("koepel web app for {organisation} on {url} (Ctrl-C to stop)").format(
            organisation=config.organisation, url=f"{scheme}://{listen}/"), err=True)
        uvicorn.run(create_app(settings), host=host, port=int(port_text), log_level="warning",
                    access_log=False, server_header=False, proxy_headers=False,
                    ssl_certfile=str(tls_cert) if tls_cert else None,
                    ssl_keyfile=str(tls_key) if tls_key else None)
    finally:
        runtime.close()


@click.group(name="user")
def user_group() -> None:
    """Staff accounts of the web app (job coach, manager, admin)."""


def _password() -> str:
    return str(click.prompt(_("Password (12 characters or more)"), hide_input=True,
                            confirmation_prompt=True, err=True))


def _with_store(config_path: Path) -> NodeRuntime:
    return open_node(load_node_config(config_path), prompt=ask_secret)


@user_group.command(name="add")
@CONFIG_OPTION
@click.argument("username")
@click.option("--role", type=click.Choice(["job_coach", "manager", "admin"]), required=True)
@click.option("--language", type=click.Choice(["fr", "nl", "en"]), default="fr",
              show_default=True)
@handle_errors
def user_add(config_path: Path, username: str, role: str, language: str) -> None:
    """Create an account; its password is asked on the terminal."""
    from node.organisation.web import AccountError, add_account

    runtime = _with_store(config_path)
    try:
        add_account(runtime.store, username, _password(), role=role, language=language)
    except AccountError as exc:
        raise KoepelCliError(str(exc), EXIT["usage"]) from None
    finally:
        runtime.close()
    click.echo(_("account {username} created ({role}, {language})").format(
        username=username, role=role, language=language))


@user_group.command(name="reset")
@CONFIG_OPTION
@click.argument("username")
@handle_errors
def user_reset(config_path: Path, username: str) -> None:
    """Set a new password (and enable the account again); open sessions end."""
    from node.organisation.web import AccountError, reset_password

    runtime = _with_store(config_path)
    try:
        reset_password(runtime.store, username, _password())
    except AccountError as exc:
        raise KoepelCliError(str(exc), EXIT["usage"]) from None
    finally:
        runtime.close()
    click.echo(_("password of {username} reset").format(username=username))


@user_group.command(name="disable")
@CONFIG_OPTION
@click.argument("username")
@handle_errors
def user_disable(config_path: Path, username: str) -> None:
    """Disable an account (kept, so the audit log still names it); its sessions end."""
    from node.organisation.web import AccountError, set_disabled

    runtime = _with_store(config_path)
    try:
        set_disabled(runtime.store, username)
    except AccountError as exc:
        raise KoepelCliError(str(exc), EXIT["usage"]) from None
    finally:
        runtime.close()
    click.echo(_("account {username} disabled").format(username=username))


@user_group.command(name="list")
@CONFIG_OPTION
@handle_errors
def user_list(config_path: Path) -> None:
    """The accounts, their role, language and whether they are disabled."""
    from node.organisation.web import list_accounts

    runtime = _with_store(config_path)
    try:
        accounts = list_accounts(runtime.store)
    finally:
        runtime.close()
    for a in accounts:
        state = _("disabled") if a.disabled else _("active")
        click.echo(f"{a.username}\t{a.role}\t{a.language}\t{state}")


WEB_COMMANDS = (web_cmd, user_group)
