"""Payload encryption: AES-GCM with key ids; rotation mid-case keeps every case readable."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from workflows.client import data_converter
from workflows.codec import (
    REFUSED,
    EncryptionCodec,
    KeyRing,
    KeyRingError,
    PayloadRefused,
    refused_marker,
)


async def test_round_trip_and_the_key_id_travels_with_the_payload():
    ring = KeyRing.generate("k1")
    codec = EncryptionCodec(ring)
    plain = Payload(metadata={"encoding": b"json/plain"}, data="山田 太郎".encode())
    (sealed,) = await codec.encode([plain])
    assert sealed.metadata["encryption-key-id"] == b"k1"
    assert "山田".encode() not in sealed.data
    assert await codec.decode([sealed]) == [plain]


async def test_tampering_and_unknown_keys_are_refused():
    codec = EncryptionCodec(KeyRing.generate("k1"))
    (sealed,) = await codec.encode([Payload(metadata={}, data=b"x" * 40)])
    tampered = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    flipped = Payload(metadata=sealed.metadata, data=tampered)
    with pytest.raises(PayloadRefused) as refused:
        codec.open(flipped)
    assert refused.value.reason == "bad_ciphertext"
    assert isinstance(refused.value.__cause__, InvalidTag)
    relabelled = Payload(metadata={**sealed.metadata, "encryption-key-id": b"k9"}, data=sealed.data)
    with pytest.raises(KeyRingError):
        codec.open(relabelled)
    assert await codec.decode([flipped, relabelled]) == [refused_marker("bad_ciphertext"),
                                                        refused_marker("unknown_key")]


@pytest.mark.parametrize("metadata", [{"encoding": b"json/plain"}, {"encoding": b"binary/null"},
                                      {}, {"encoding": REFUSED}])
async def test_plain_payloads_are_refused_without_their_content_in_the_log(metadata, caplog):
    """Issue #15: plain JSON used to pass through decode, so anyone who reached the Temporal
    frontend could send Updates the worker believed. Only sealed payloads are ours."""
    codec = EncryptionCodec(KeyRing.generate("k1"))
    plain = Payload(metadata=metadata, data='{"subject": "山田 太郎"}'.encode())
    with pytest.raises(PayloadRefused) as refused:
        codec.open(plain)
    assert refused.value.reason == "not_encrypted"
    (marker,) = await codec.decode([plain])
    assert marker == refused_marker("not_encrypted") and not marker.data
    assert "not_encrypted" in caplog.text and "山田" not in caplog.text
    # Whatever uses the value fails there (an Update is rejected, a Signal dropped).
    with pytest.raises(KeyError, match="Unknown payload encoding"):
        data_converter(KeyRing.generate("k1")).payload_converter.from_payloads([marker])


async def test_large_payloads_are_deflated_and_the_flag_is_bound_to_the_ciphertext():
    ring = KeyRing.generate("k1")
    codec = EncryptionCodec(ring)
    view = json.dumps({"timeline": [{"event": "submitted", "actor": "applicant"}] * 40}).encode()
    plain = Payload(metadata={"encoding": b"json/plain"}, data=view)
    (sealed,) = await codec.encode([plain])
    assert sealed.metadata["encryption-compression"] == b"zlib"
    assert len(sealed.data) < len(view) / 4
    assert await codec.decode([sealed]) == [plain]
    # Dropping or changing the flag does not yield a readable (or wrongly inflated) payload.
    unflagged = Payload(metadata={k: v for k, v in sealed.metadata.items()
                                  if k != "encryption-compression"}, data=sealed.data)
    with pytest.raises(PayloadRefused, match="bad_ciphertext"):
        codec.open(unflagged)
    other = Payload(metadata={**sealed.metadata, "encryption-compression": b"lz4"},
                    data=sealed.data)
    with pytest.raises(KeyRingError):
        codec.open(other)
    # Small payloads are sealed as before: no flag, the key id alone is associated data.
    (small,) = await codec.encode([Payload(metadata={}, data=b"x" * 40)])
    assert "encryption-compression" not in small.metadata
    # During an upgrade from a release without compression, it can be switched off; the
    # codec still reads what a compressing process wrote.
    old_style = EncryptionCodec(ring, compress=False)
    (plain_sealed,) = await old_style.encode([plain])
    assert "encryption-compression" not in plain_sealed.metadata
    assert await old_style.decode([sealed, plain_sealed]) == [plain, plain]


def test_rotation_keeps_old_keys_and_refuses_reuse():
    ring = KeyRing.generate("k1")
    rotated = ring.rotated("k2")
    assert rotated.active == "k2" and set(rotated.keys) == {"k1", "k2"}
    assert rotated.keys["k1"] == ring.keys["k1"]
    with pytest.raises(KeyRingError):
        rotated.rotated("k1")
    assert KeyRing.from_json(rotated.to_json()) == rotated
    with pytest.raises(KeyRingError):
        KeyRing.from_json(json.dumps({"active": "k3", "keys": {}}))


async def test_a_case_survives_key_rotation_mid_way(dev_env: WorkflowEnvironment, stack_on,
                                                    catalog):
    """Start a case under key k1; rotate to k2 (new clients and workers); finish it."""
    old_ring = KeyRing.generate("k1")
    new_ring = old_ring.rotated("k2")
    target = dev_env.client.service_client.config.target_host
    examples = catalog.get("disaster-certificate").directory / "examples"
    data = json.loads((examples / "valid-basic.json").read_text(encoding="utf-8"))
    shared = {"task_queue": f"rotation-{uuid.uuid4().hex[:8]}", "id_secret": os.urandom(32)}

    old_client = await Client.connect(target, data_converter=data_converter(old_ring))
    async with stack_on(old_client, **shared) as stack:
        created = await stack.http.post("/api/applications", headers=stack.resident(), json={
            "procedure": "disaster-certificate", "municipality": "131016", "data": data})
        assert created.status_code == 201, created.text
        app_id = created.json()["id"]
        accepted = await stack.http.post(f"/api/applications/{app_id}/actions",
                                         json={"action": "accept"},
                                         headers=stack.caseworker("cw-1"))
        assert accepted.status_code == 200

    new_client = await Client.connect(target, data_converter=data_converter(new_ring))
    async with stack_on(new_client, **shared) as stack:
        surveyed = await stack.http.post(
            f"/api/applications/{app_id}/actions", headers=stack.caseworker("cw-1"),
            json={"action": "survey", "data": {"damage_ratio": 30, "surveyed_on": "2026-10-01"}})
        assert surveyed.status_code == 200, surveyed.text
        assert surveyed.json()["data"]["applicant"]["phone"] == data["applicant"]["phone"]

    history = await dev_env.client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(namespace=dev_env.client.namespace,
                                           execution=WorkflowExecution(workflow_id=app_id)))
    key_ids = {p.metadata["encryption-key-id"] for e in history.history.events
               for p in _payloads(e)}
    assert key_ids == {b"k1", b"k2"}, "old events keep k1, new ones use k2"


def _payloads(event) -> list[Payload]:
    attrs = event.workflow_execution_started_event_attributes
    update = event.workflow_execution_update_accepted_event_attributes
    found = list(attrs.input.payloads) + list(update.accepted_request.input.args.payloads)
    return [p for p in found if "encryption-key-id" in p.metadata]
