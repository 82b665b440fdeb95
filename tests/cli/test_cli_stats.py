"""``madoguchi stats export``: the three open-data files from the installation's read model."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from madoguchi.cli import main
from madoguchi.settings import load_settings
from records.db import create_schema, make_engine
from records.milestones import CaseFacts, milestones_of
from records.statistics import MilestoneStore
from workflows.models import TimelineEntry


def test_export_writes_csv_json_and_the_dataset_description(tmp_path):
    data = tmp_path / "var"
    data.mkdir()
    engine = make_engine(load_settings(data_dir=str(data)).read_model_url)
    create_schema(engine)
    at = datetime(2026, 11, 2, 1, tzinfo=UTC)
    for n in range(12):
        facts = CaseFacts(application_id=f"wf-{n}", procedure="disaster-certificate",
                          municipality="131016", channel="online", standard_days=30)
        MilestoneStore(engine).append(milestones_of(facts, [
            TimelineEntry(at=at, event="submitted", stage="intake", actor="applicant"),
            TimelineEntry(at=at + timedelta(days=n), event="reject", stage="intake",
                          actor="cw-1")], "rejected"))
    engine.dispose()
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["stats", "export", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    csv_bytes = (out / "statistics.csv").read_bytes()
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    assert b"disaster-certificate,131016,month" in csv_bytes
    rows = json.loads((out / "statistics.json").read_text(encoding="utf-8"))["rows"]
    assert rows[0]["filed"] == 12 and rows[0]["rejected_share"] == 1.0
    description = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    assert description["dct:license"].endswith("/by/4.0/")
    assert description["dct:publisher"][0]["foaf:name"]["ja"] != "131016"  # the real name
