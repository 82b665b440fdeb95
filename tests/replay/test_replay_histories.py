"""Histories recorded from real runs replay against today's workflow code.

A change to ``ProcedureWorkflow`` that would break cases in progress (non-determinism)
fails here. Refresh the recordings with
``MADOGUCHI_RECORD_HISTORIES=1 pytest tests/e2e -k recorded_history`` — only for changes
made behind ``workflow.patched`` or a new worker version, never to silence this test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.campaign import CampaignWorkflow
from workflows.client import data_converter
from workflows.codec import KeyRing
from workflows.life_event import LifeEventWorkflow
from workflows.procedure import ProcedureWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("**/*.json"))


def test_there_are_recorded_histories():
    assert HISTORIES, "tests/replay/histories/ must hold at least one recorded history"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path, test_keys: KeyRing):
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    replayer = Replayer(workflows=[ProcedureWorkflow, CampaignWorkflow, LifeEventWorkflow],
                        data_converter=data_converter(test_keys))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
