"""The ``madoguchi`` command."""

from __future__ import annotations

import sys

import click

from identity.config import IssuerConfigError
from madoguchi import catalog, db, devregistry, devtoken, keys, serve, stats, up
from madoguchi import verify as verify_command
from madoguchi.settings import SettingsError


class _Group(click.Group):
    """Turns the errors a user can fix into one line and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except (up.UpError, IssuerConfigError, SettingsError) as exc:
            click.echo(f"madoguchi: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="madoguchi")
def main() -> None:
    """madoguchi (窓口): one-stop online procedures for municipalities."""


main.add_command(up.up)
main.add_command(serve.worker)
main.add_command(serve.web)
main.add_command(devtoken.dev_token)
main.add_command(keys.keys)
main.add_command(catalog.catalog)
main.add_command(db.db)
main.add_command(verify_command.verify)
main.add_command(devregistry.dev_registry)
main.add_command(stats.stats)
