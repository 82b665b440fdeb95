"""The surge benchmark at a tiny size: every filing answered, none lost, backlogs read."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # benchmarks/ is not an installed package

from benchmarks import surge  # noqa: E402


def test_a_small_surge_is_answered_and_accounted_for(tmp_path: Path) -> None:
    result = asyncio.run(surge.run(seconds=2, rate=3, probe=2, nice=10, out=tmp_path,
                                   quiet=True))
    assert result["sent"] == 6 and result["document_nice"] == "10"
    assert result["only_201_or_503"], result["answers_by_status"]
    assert result["lost"] == 0 and result["duplicated"] == 0
    # Every case Temporal holds is one the benchmark filed (warm-up and probe included).
    assert result["unexpected_cases"] <= result["answers_outcome_unknown"]
    assert set(result["peak_backlog"]) >= {"cases (workflow tasks)", "documents", "notices"}
    assert "failed looks" not in result["peak_backlog"]
    assert json.loads((tmp_path / "surge.json").read_text())["sent"] == 6
