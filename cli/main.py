"""The `koepel` command: one group per role.

Each command's module is imported only when that command runs (or shows its own help):
``koepel --help`` lists the commands from the table below without loading any of them, so that
starting the CLI costs little more than starting Python (tests/test_cli_startup.py; measured in
bench/). A new command is added to ``_COMMANDS`` with its one-line help.

``--lang fr|nl|en`` (else ``KOEPEL_LANG``, else the locale) is read before anything else, so
that even ``koepel --help --lang fr`` answers in French (cli/lang.py).
"""

from __future__ import annotations

import importlib

import click

from cli.lang import LANGUAGES, N_, _, choose, localise

__all__ = ["cli", "main"]

# name: (module, attribute, the one line ``koepel --help`` shows)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "aggregator": ("cli.aggregator_cmds", "aggregator", N_("Run the federation's aggregator.")),
    "audit": ("cli.audit_cmds", "audit",
              N_("Verify nodes' privacy ledgers and report what was spent.")),
    "certs": ("cli.certs_cmds", "certs",
              N_("Create the federation CA and issue certificates (mutual TLS).")),
    "decrypt": ("cli.seal_cmds", "decrypt",
                N_("Open a sealed export (an .age file) with your identity.")),
    "demo": ("cli.demo", "demo",
             N_("Start a local federation of synthetic organisations and run sector figures.")),
    "health": ("cli.health_cmds", "health",
               N_("Check a koepel server through the standard gRPC health service.")),
    "keygen": ("cli.seal_cmds", "keygen",
               N_("Make an age key pair for receiving sealed exports.")),
    "history": ("cli.query_cmds", "history",
                N_("List past results, or re-show one (costs no budget).")),
    "node": ("cli.node_cmds", "node",
             N_("Run an organisation's node: its encrypted records and its budget.")),
    "nodes": ("cli.query_cmds", "nodes",
              N_("Each registered node: status, catalogue versions, ε left, last contact.")),
    "publish": ("cli.report_cmds", "publish",
                N_("Send a stored sector result to the nodes (each organisation beside it).")),
    "query": ("cli.query_cmds", "query",
              N_("Ask the federation for a DP sector figure of MEASURE.")),
    "report": ("cli.report_cmds", "report",
               N_("Write the sector report (fr/nl/en; HTML, PDF or XLSX), trends and splits.")),
}


def _lang_from(args: list[str]) -> str | None:
    """``--lang``'s value, read before click parses: an eager ``--help`` earlier on the line
    would otherwise answer before the language is known. Only the group's own options, up to
    the command's name, are looked at."""
    for index, arg in enumerate(args):
        if arg == "--lang" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
        if not arg.startswith("-"):
            return None
    return None


def _node_group() -> click.Group:
    """The node group with the commands other modules contribute to it."""
    from cli.node_budget_cmds import dry_run, ledger, node_budget, signing_key
    from cli.node_cmds import node
    from cli.org_cmds import ORG_COMMANDS
    from cli.web_cmds import WEB_COMMANDS

    for command in (node_budget, dry_run, ledger, signing_key, *ORG_COMMANDS, *WEB_COMMANDS):
        if command.name not in node.commands:
            node.add_command(command)
    return node


class _LazyGroup(click.Group):
    """A group whose commands are imported when first asked for by name, in the language of
    the run."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: object) -> click.Context:
        choose(_lang_from(args))
        localise(self)
        return super().make_context(info_name, args, parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS and cmd_name not in self.commands:
            module, attribute, _help = _COMMANDS[cmd_name]
            command = (_node_group() if cmd_name == "node"
                       else getattr(importlib.import_module(module), attribute))
            self.add_command(command, cmd_name)
        found = super().get_command(ctx, cmd_name)
        return localise(found) if found is not None else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _(_COMMANDS[name][2]) if name in _COMMANDS and name not in self.commands
                 else (self.commands[name].get_short_help_str(formatter.width)))
                for name in self.list_commands(ctx)]
        if rows:
            with formatter.section(_("Commands")):
                formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="koepel")
@click.option("--lang", type=click.Choice(LANGUAGES), expose_value=False, is_eager=True,
              help=N_("Language of messages and tables: fr, nl or en (default: KOEPEL_LANG, "
                      "then the locale, then English)."))
def cli() -> None:
    """koepel: differentially private sector statistics for social-economy federations."""


def main() -> None:
    cli()
