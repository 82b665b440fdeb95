"""The command's subcommands load on demand (``madoguchi.cli.COMMANDS``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from madoguchi.cli import COMMANDS, _Group, main
from madoguchi.settings import SettingsError

REPO = Path(__file__).resolve().parents[2]


def test_every_listed_subcommand_loads_and_is_in_the_help():
    for name in COMMANDS:
        command = main.get_command(click.Context(main), name)
        assert isinstance(command, click.Command) and command.name == name
    shown = CliRunner().invoke(main, ["--help"]).output
    assert all(f"  {name} " in shown for name in COMMANDS)
    assert main.get_command(click.Context(main), "no-such-command") is None


def test_a_subcommand_loads_only_what_it_needs():
    probe = ("import sys; from madoguchi.cli import main; sys.argv = ['madoguchi', 'verify',"
             " '--help']\ntry: main()\nexcept SystemExit: pass\n"
             "print(sorted(m for m in ('weasyprint', 'fastapi', 'temporalio.worker')"
             " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, cwd=REPO)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_an_error_a_user_can_fix_is_one_line_and_exit_code_two_others_are_not_hidden():
    @click.group(cls=_Group)
    def group() -> None:
        """A group like ``main``."""

    @group.command()
    def fixable() -> None:
        raise SettingsError("MADOGUCHI_PUBLIC_URL must be an https:// URL")

    @group.command()
    def bug() -> None:
        raise KeyError("a defect")

    runner = CliRunner()
    result = runner.invoke(group, ["fixable"])
    assert result.exit_code == 2
    assert result.output == "madoguchi: MADOGUCHI_PUBLIC_URL must be an https:// URL\n"
    assert isinstance(runner.invoke(group, ["bug"]).exception, KeyError)
