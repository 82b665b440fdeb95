"""``free_port``: servers that tests and benchmarks start get ports outside the kernel's
ephemeral range, which outgoing connections take their local ports from (a full test run
once saw a web process's metrics port taken before it could bind it)."""

from __future__ import annotations

import socket
from pathlib import Path

from madoguchi import up


def test_ports_are_free_below_the_ephemeral_range_and_never_handed_out_twice():
    low = up._ephemeral_low()
    ports = [up.free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(1024 <= p < low for p in ports), (low, sorted(ports)[-3:])
    with socket.socket() as sock:  # each one can be bound as the server would
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", ports[-1]))


def test_a_range_starting_low_leaves_the_choice_to_the_kernel(tmp_path: Path, monkeypatch):
    ranges = tmp_path / "ip_local_port_range"
    ranges.write_text("1024\t60999\n")
    assert up._ephemeral_low(ranges) == 1024
    assert up._ephemeral_low(tmp_path / "missing") == 32768
    monkeypatch.setattr(up, "_ephemeral_low", lambda: 1024)
    port = up.free_port()
    assert 0 < port < 65536
