"""The ``madoguchi`` command.

Subcommands are imported when they run, not when the command starts: ``madoguchi verify``
or ``dev-registry`` would otherwise load the web server, the workers and WeasyPrint
(about 1.3 CPU s) before doing anything.
"""

from __future__ import annotations

import importlib
import sys

import click

# name → "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "catalog": "madoguchi.catalog:catalog",
    "db": "madoguchi.db:db",
    "dev-registry": "madoguchi.devregistry:dev_registry",
    "dev-token": "madoguchi.devtoken:dev_token",
    "keys": "madoguchi.keys:keys",
    "stats": "madoguchi.stats:stats",
    "up": "madoguchi.up:up",
    "verify": "madoguchi.verify:verify",
    "web": "madoguchi.serve:web",
    "worker": "madoguchi.serve:worker",
}

# Errors a user can fix, by where they are defined: an exception of a module that was
# never imported cannot have been raised, so nothing is imported to recognise them.
_USER_ERRORS = (
    ("madoguchi.up", "UpError"),
    ("identity.config", "IssuerConfigError"),
    ("madoguchi.settings", "SettingsError"),
)


def _is_user_error(exc: BaseException) -> bool:
    for module_name, class_name in _USER_ERRORS:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return True
    return False


class _Group(click.Group):
    """Loads each subcommand on demand, and turns the errors a user can fix into one line
    and exit code 2, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command), target
        return command

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as exc:
            if not _is_user_error(exc):
                raise
            click.echo(f"madoguchi: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="madoguchi")
def main() -> None:
    """madoguchi (窓口): one-stop online procedures for municipalities."""
