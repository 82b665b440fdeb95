"""``madoguchi dev-token``: tokens from the local development issuer."""

from __future__ import annotations

from datetime import timedelta

import click

from forms.checkdigits import is_valid_corporate_number
from identity.demo import DEMO_ROSTER, issue_demo_token
from identity.devissuer import DevIssuer
from madoguchi.datadir import DataDir
from madoguchi.settings import Settings

_data_option = click.option(
    "--data", "data_dir", type=click.Path(file_okay=False), default=None,
    help="Data directory (default: $MADOGUCHI_DATA_DIR or ./var)",
)
_hours_option = click.option("--hours", type=click.IntRange(1, 24), default=8,
                             show_default=True, help="Validity")


def _issuer(data_dir: str | None) -> DevIssuer:
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    if not settings.development:
        raise click.ClickException("the development issuer is off outside development mode")
    data = DataDir(settings.data_dir)
    data.ensure()
    return DevIssuer.load_or_create(data.keys)


@click.group("dev-token")
def dev_token() -> None:
    """Print a signed token from the development issuer (development mode only)."""


@dev_token.command("resident")
@click.option("--sub", required=True, help="Pseudonymous subject id, e.g. demo-1")
@click.option("--name", required=True, help='Name, e.g. "山田 太郎"')
@_data_option
@_hours_option
def resident(sub: str, name: str, data_dir: str | None, hours: int) -> None:
    """A resident's token."""
    click.echo(_issuer(data_dir).issue_resident(sub, name, ttl=timedelta(hours=hours)))


@dev_token.command("caseworker")
@click.option("--sub", required=True, help="Staff id, e.g. cw-1")
@click.option("--municipality", "municipalities", required=True,
              help="Municipality code(s), comma-separated, e.g. 131016")
@click.option("--roles", required=True, help="Comma-separated: reviewer,surveyor,approver")
@click.option("--name", default=None)
@_data_option
@_hours_option
def caseworker(sub: str, municipalities: str, roles: str, name: str | None,
               data_dir: str | None, hours: int) -> None:
    """A caseworker's token."""
    codes = [c.strip() for c in municipalities.split(",") if c.strip()]
    role_list = [r.strip() for r in roles.split(",") if r.strip()]
    if not codes or not role_list:
        raise click.BadParameter("give at least one municipality and one role")
    click.echo(_issuer(data_dir).issue_caseworker(sub, codes, role_list, name=name,
                                                   ttl=timedelta(hours=hours)))


@dev_token.command("demo")
@click.argument("person_id", required=False)
@_data_option
@_hours_option
def demo(person_id: str | None, data_dir: str | None, hours: int) -> None:
    """List the demo people, or print the token of one (e.g. demo-elderly)."""
    if person_id is None:
        for person in DEMO_ROSTER:
            click.echo(f"{person.id:24} {person.kind:10} {person.label['ja']} / "
                       f"{person.label['en']}")
        return
    try:
        click.echo(issue_demo_token(_issuer(data_dir), person_id, ttl=timedelta(hours=hours)))
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0])) from None


@dev_token.command("business")
@click.option("--sub", required=True, help="Business account id, e.g. gbiz-1")
@click.option("--corporate-number", required=True, help="法人番号 (13 digits, check digit)")
@click.option("--name", required=True, help='Corporate name, e.g. "株式会社まどぐち商店"')
@_data_option
@_hours_option
def business(sub: str, corporate_number: str, name: str, data_dir: str | None,
             hours: int) -> None:
    """A business's token (gBizID-like)."""
    if not is_valid_corporate_number(corporate_number):
        raise click.BadParameter("not a 法人番号 with a valid check digit",
                                 param_hint="--corporate-number")
    try:
        token = _issuer(data_dir).issue_business(sub, corporate_number, name,
                                                  ttl=timedelta(hours=hours))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(token)
