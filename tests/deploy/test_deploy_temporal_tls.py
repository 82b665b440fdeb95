"""Mutual TLS to the Temporal frontend (issue #15): the certificates make-secrets.sh makes,
the files compose and Helm hand to each container, and a real handshake with them.

The deployed frontend is Temporal's own server (not runnable here); what we can and do
check for real is our side: the CA and certificates the script makes, that madoguchi's
settings turn them into a client that connects through a frontend demanding a client
certificate (a TLS terminator in front of the dev server, configured like the Temporal
server: our CA, ``requireClientAuth``), and that a client without one, or with a
certificate of another CA, does not get through.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
import yaml
from temporalio.client import Client
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from madoguchi.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy" / "compose" / "compose.yaml"
SCRIPT = REPO / "deploy" / "compose" / "make-secrets.sh"
VALUES = REPO / "deploy" / "helm" / "temporal-values.yaml"
K8S = sorted((REPO / "deploy" / "helm" / "madoguchi").glob("*.yaml"))
CALLERS = ("web", "worker-cases", "worker-documents", "worker-notices")


def _make_secrets(where: Path) -> Path:
    """Run the real script in a copy of its directory; the secrets folder it made."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copy(SCRIPT, where / SCRIPT.name)
    done = subprocess.run(["bash", str(where / SCRIPT.name)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return where / "secrets"


@pytest.fixture(scope="module")
def secrets(tmp_path_factory) -> Path:
    return _make_secrets(tmp_path_factory.mktemp("compose"))


def test_the_script_makes_every_file_compose_mounts_and_keeps_them(secrets):
    compose = yaml.safe_load(COMPOSE.read_text())
    for name, secret in compose["secrets"].items():
        assert (secrets.parent / secret["file"]).is_file(), name
    before = {p.name: p.read_bytes() for p in secrets.iterdir()}
    _make_secrets(secrets.parent)  # a second run never replaces a key or certificate
    assert {p.name: p.read_bytes() for p in secrets.iterdir()} == before
    for key in secrets.glob("*.key"):
        assert key.stat().st_mode & 0o077 == 0, key.name


def _verify(secrets: Path, name: str, purpose: str) -> str:
    done = subprocess.run(["openssl", "verify", "-CAfile", str(secrets / "temporal-ca.crt"),
                           "-purpose", purpose, str(secrets / f"{name}.crt")],
                          capture_output=True, text=True)
    return done.stdout + done.stderr


def test_certificates_chain_to_the_installation_ca_with_the_right_purposes(secrets):
    assert ": OK" in _verify(secrets, "temporal-server", "sslserver")
    for client in ("madoguchi-temporal", "temporal-ui", "temporal-admin", "temporal-server"):
        assert ": OK" in _verify(secrets, client, "sslclient"), client
    # A client certificate cannot pose as the server.
    assert ": OK" not in _verify(secrets, "madoguchi-temporal", "sslserver")


def test_compose_requires_client_certificates_and_every_caller_has_one():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    server = services["temporal"]["environment"]
    assert server["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] == "true"
    mounted = set(services["temporal"]["secrets"])
    for variable in ("TEMPORAL_TLS_FRONTEND_CERT", "TEMPORAL_TLS_FRONTEND_KEY",
                     "TEMPORAL_TLS_CLIENT1_CA_CERT", "TEMPORAL_TLS_SERVER_CERT"):
        assert server[variable].removeprefix("/run/secrets/") in mounted, variable
    assert "--tls-cert-path" in services["temporal"]["healthcheck"]["test"]
    for name in CALLERS:
        env, mounted = services[name]["environment"], {
            s if isinstance(s, str) else s["source"] for s in services[name]["secrets"]}
        for variable in ("MADOGUCHI_TEMPORAL_TLS_CA_FILE", "MADOGUCHI_TEMPORAL_TLS_CERT_FILE",
                         "MADOGUCHI_TEMPORAL_TLS_KEY_FILE"):
            assert env[variable].removeprefix("/run/secrets/") in mounted, (name, variable)
        assert env["MADOGUCHI_TEMPORAL_TLS_SERVER_NAME"] == "temporal"
    ui = services["temporal-ui"]["environment"]
    assert ui["TEMPORAL_TLS_CERT"].removeprefix("/run/secrets/") in services["temporal-ui"][
        "secrets"]
    assert ui["TEMPORAL_TLS_ENABLE_HOST_VERIFICATION"] == "true"
    job = services["temporal-namespace"]["command"][0]
    assert "--tls-cert-path /run/secrets/temporal-admin-cert" in job
    assert "temporal-ca-key" not in str(services), "the CA key is mounted nowhere"


def test_helm_requires_client_certificates_and_madoguchi_presents_one():
    values = yaml.safe_load(VALUES.read_text())
    tls = values["server"]["config"]["tls"]
    for side in ("frontend", "internode"):
        assert tls[side]["server"]["requireClientAuth"] is True, side
        assert tls[side]["server"]["clientCaFiles"], side
    mounts = {m["mountPath"] for m in values["server"]["additionalVolumeMounts"]}
    assert all(Path(tls["frontend"]["server"][f]).parent.as_posix() in mounts
               for f in ("certFile", "keyFile"))
    ui_env = {e["name"]: e["value"] for e in values["web"]["additionalEnv"]}
    assert ui_env["TEMPORAL_TLS_CERT"].startswith("/etc/temporal/tls/")
    admin_env = {e["name"]: e["value"] for e in values["admintools"]["additionalEnv"]}
    assert admin_env["TEMPORAL_TLS_CLIENT_CERT_PATH"].startswith("/etc/temporal/tls/")
    docs = [d for f in K8S for d in yaml.safe_load_all(f.read_text()) if d]
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    cert_dir = Path(config["MADOGUCHI_TEMPORAL_TLS_CERT_FILE"]).parent.as_posix()
    for d in (d for d in docs if d["kind"] == "Deployment"):
        pod = d["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == cert_dir)
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert volume["secret"]["secretName"] == "madoguchi-temporal-client-tls", d["metadata"]


# --- a real handshake ------------------------------------------------------------------

@contextlib.asynccontextmanager
async def mtls_frontend(secrets: Path, upstream: str):
    """A frontend that, like Temporal with ``requireClientAuth``, accepts only clients
    with a certificate of our CA, and forwards their gRPC to the dev server."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(secrets / "temporal-server.crt", secrets / "temporal-server.key")
    context.load_verify_locations(secrets / "temporal-ca.crt")
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    host, port = upstream.rsplit(":", 1)

    async def pipe(reader, writer):
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(client_reader, server_writer),
                             pipe(server_reader, client_writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


async def _connects(address: str, tls: TLSConfig) -> bool:
    try:
        client = await asyncio.wait_for(Client.connect(address, tls=tls), 20)
    except (TimeoutError, RuntimeError):
        return False
    await client.count_workflows()
    return True


async def test_madoguchi_connects_with_its_certificate_and_others_are_refused(
        secrets, dev_env: WorkflowEnvironment, tmp_path):
    settings = load_settings(
        data_dir=str(tmp_path), temporal_tls_ca_file=secrets / "temporal-ca.crt",
        temporal_tls_cert_file=secrets / "madoguchi-temporal.crt",
        temporal_tls_key_file=secrets / "madoguchi-temporal.key",
        temporal_tls_server_name="temporal")
    tls = settings.temporal_tls_config()
    assert isinstance(tls, TLSConfig)
    foreign = _make_secrets(tmp_path / "elsewhere")  # another installation's CA
    upstream = dev_env.client.service_client.config.target_host
    async with mtls_frontend(secrets, upstream) as frontend:
        assert await _connects(frontend, tls)
        no_certificate = TLSConfig(server_root_ca_cert=tls.server_root_ca_cert,
                                   domain="temporal")
        assert not await _connects(frontend, no_certificate)
        wrong_ca = TLSConfig(server_root_ca_cert=tls.server_root_ca_cert, domain="temporal",
                             client_cert=(foreign / "madoguchi-temporal.crt").read_bytes(),
                             client_private_key=(foreign / "madoguchi-temporal.key").read_bytes())
        assert not await _connects(frontend, wrong_ca)
        # And the client checks the server: another CA's server certificate is refused.
        impostor = TLSConfig(server_root_ca_cert=(foreign / "temporal-ca.crt").read_bytes(),
                             domain="temporal", client_cert=tls.client_cert,
                             client_private_key=tls.client_private_key)
        assert not await _connects(frontend, impostor)
