"""Connecting to Temporal the one way madoguchi does: pydantic payloads, encrypted."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from workflows.codec import EncryptionCodec, KeyRing


def data_converter(ring: KeyRing, *, compress: bool = True) -> DataConverter:
    """Pydantic models in, AES-GCM ciphertext out (deflated first unless ``compress`` is
    off, see workflows/codec.py); failure messages encoded too."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(ring, compress=compress),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(address: str, namespace: str, ring: KeyRing, *, compress: bool = True) -> Client:
    return await Client.connect(
        address, namespace=namespace, data_converter=data_converter(ring, compress=compress)
    )
