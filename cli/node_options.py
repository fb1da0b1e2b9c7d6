"""What every `koepel node …` command shares: the --config option and the secret prompts.

Its own module so that the command modules (node, import, store, budget, organisation) all
build on it and none imports another to borrow a helper.
"""

from __future__ import annotations

from pathlib import Path

import click

from node.store.dbkey import check_passphrase

__all__ = ["CONFIG_OPTION", "ask_new_passphrase", "ask_secret"]

CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=Path("node.toml"),
    show_default=True, help="The node's configuration file.",
)


def ask_secret(label: str) -> str:
    """Ask for a passphrase on the terminal (hidden), never from the command line."""
    return str(click.prompt(label, hide_input=True, err=True))


def ask_new_passphrase(label: str = "New database passphrase") -> str:
    """Ask twice for a new passphrase and refuse it if it is too weak."""
    text = str(click.prompt(label, hide_input=True, confirmation_prompt=True, err=True))
    check_passphrase(text)
    return text
