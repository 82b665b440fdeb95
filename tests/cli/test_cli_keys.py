"""`madoguchi keys rotate`: a new active key; the old ones still decrypt."""

from __future__ import annotations

import stat

from click.testing import CliRunner

from madoguchi.cli import main
from madoguchi.datadir import DataDir


def test_rotate_adds_an_active_key_and_keeps_the_old(tmp_path):
    data = DataDir(tmp_path / "var")
    data.ensure()
    before = data.payload_keys()
    result = CliRunner().invoke(main, ["keys", "rotate", "--data", str(data.root)])
    assert result.exit_code == 0, result.output
    after = data.payload_keys()
    assert after.active != before.active
    assert after.keys[before.active] == before.keys[before.active]
    mode = stat.S_IMODE((data.keys / "payload-keys.json").stat().st_mode)
    assert mode == 0o600
    listed = CliRunner().invoke(main, ["keys", "list", "--data", str(data.root)])
    assert f"{after.active}  (active)" in listed.output


def test_rotate_without_keys_says_what_to_do(tmp_path):
    result = CliRunner().invoke(main, ["keys", "rotate", "--data", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "start madoguchi once" in result.output
    assert "Traceback" not in result.output
