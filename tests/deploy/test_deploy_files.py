"""The deployment files, checked offline: Compose specification schema, Kubernetes schemas,
yamllint, and a Dockerfile lint.

hadolint is not installable here (not on PyPI or Debian bookworm), so the Dockerfile rules
that matter to us are checked below: a pinned base image, a non-root USER, no build tools
or compilers in the final stage, a HEALTHCHECK, no secret-looking ENV/ARG, apt lists
removed in the same layer as the install, --no-install-recommends, exec-form ENTRYPOINT.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent
COMPOSE = DEPLOY / "compose" / "compose.yaml"
K8S = sorted((DEPLOY / "helm" / "madoguchi").glob("*.yaml"))
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]], capture_output=True, text=True, cwd=REPO, timeout=120
    )


def test_compose_file_validates_against_the_compose_specification():
    done = _run("check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE))
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_runs_every_entry_point_and_reads_secrets_from_files():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    commands = {name: s.get("command") for name, s in services.items()}
    assert commands["web"] == ["web"]
    for queue in ("cases", "documents", "notices"):
        assert commands[f"worker-{queue}"] == ["worker", "--queue", queue]
    for name in ("web", "worker-cases", "worker-documents", "worker-notices"):
        env = services[name]["environment"]
        assert env["MADOGUCHI_MODE"] == "production"
        assert env["MADOGUCHI_BLOB_STORE"] == "s3"
        # No secret values in the file: only *_FILE pointers.
        for key, value in env.items():
            if re.search(r"PASSWORD|SECRET|DATABASE_URL|ACCESS_KEY", key):
                assert key.endswith("_FILE"), key
                assert str(value).startswith("/run/secrets/"), key
        targets = {s["target"] if isinstance(s, dict) else s for s in services[name]["secrets"]}
        assert "/var/lib/madoguchi/keys/payload-keys.json" in targets
    assert all("file" in s for s in compose["secrets"].values())
    published = {n for n, s in services.items() if s.get("ports")}
    assert published == {"caddy"}, "only the TLS proxy is reachable from outside"
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal"]["environment"]["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] == "true"
    assert services["temporal"]["environment"]["ENABLE_ES"] == "true"
    assert services["temporal-schema"]["image"].startswith("temporalio/admin-tools:")


def test_kubernetes_manifests_validate_against_the_kubernetes_schemas():
    done = _run("kubernetes-validate", "--strict", *map(str, K8S))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") >= 4 * 3 + 2


def test_one_deployment_and_autoscaler_per_task_queue():
    docs = [d for f in K8S for d in yaml.safe_load_all(f.read_text()) if d]
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    hpas = {
        d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert set(deployments) == {"web", "worker-cases", "worker-documents", "worker-notices"}
    assert hpas == set(deployments)
    for name, d in deployments.items():
        spec = d["spec"]
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        pod = spec["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        if name != "web":
            assert container["args"] == ["worker", "--queue", name.removeprefix("worker-")]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert not any(
            "value" in e and re.search(r"PASSWORD|SECRET", e["name"])
            for e in container.get("env", [])
        )


def test_temporal_chart_values_use_postgresql_and_elasticsearch():
    values = yaml.safe_load((DEPLOY / "helm" / "temporal-values.yaml").read_text())
    stores = values["server"]["config"]["persistence"]["datastores"]
    assert stores["default"]["sql"]["pluginName"] == "postgres12"
    assert "password" not in stores["default"]["sql"]  # from an existing Secret
    assert stores["visibility"]["elasticsearch"]["version"] == "v7"
    # No call to the frontend without a client certificate (test_deploy_temporal_tls.py).
    assert values["server"]["config"]["tls"]["frontend"]["server"]["requireClientAuth"] is True


def test_yamllint_is_clean():
    done = _run("yamllint", "--strict", "-c", str(REPO / ".yamllint"), "deploy", ".yamllint")
    assert done.returncode == 0, done.stdout + done.stderr


# --- Dockerfile lint ------------------------------------------------------------------

BUILD_TOOLS = re.compile(
    r"\b(build-essential|gcc|g\+\+|make|cmake|clang|cargo|rustc|"
    r"python3?-dev|libpq-dev|git)\b"
)


def dockerfile_stages(text: str) -> list[list[tuple[str, str]]]:
    """Instructions (keyword, arguments) per stage, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    stages: list[list[tuple[str, str]]] = [[]]
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stages.append([])
        stages[-1].append((keyword, args.strip()))
    return stages


def lint_dockerfile(text: str) -> list[str]:
    """The problems of a Dockerfile under our rules (see the module docstring)."""
    problems = []
    stages = dockerfile_stages(text)
    preamble, build_stages = stages[0], stages[1:]
    args = dict(re.match(r"(\w+)=?(.*)", a).groups() for k, a in preamble if k == "ARG")
    if len(build_stages) < 2:
        problems.append("not multi-stage")
    for stage in build_stages:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), image)
        pinned = "@sha256:" in image or re.search(r":\d+\.\d+\.\d+", image)
        if not pinned:
            problems.append(f"base image not pinned to a full version or digest: {image}")
    final = build_stages[-1] if build_stages else []
    users = [a for k, a in final if k == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("final stage runs as root")
    if not any(k == "HEALTHCHECK" for k, _ in final):
        problems.append("no HEALTHCHECK")
    for k, a in final:
        if k == "RUN" and BUILD_TOOLS.search(a):
            problems.append(f"build tools in the final stage: {BUILD_TOOLS.search(a).group()}")
    for stage in build_stages:
        for k, a in stage:
            if k in ("ENV", "ARG") and re.search(
                r"(PASSWORD|SECRET|TOKEN|PRIVATE_KEY)\w*=", a, re.I
            ):
                problems.append(f"secret-looking {k}: {a.split('=')[0]}")
            if k == "RUN" and "apt-get install" in a:
                if "--no-install-recommends" not in a:
                    problems.append("apt-get install without --no-install-recommends")
                if "rm -rf /var/lib/apt/lists/*" not in a:
                    problems.append("apt lists not removed in the install layer")
            if k == "ADD" and re.match(r"https?://", a):
                problems.append("ADD of a URL")
    entry = [a for k, a in final if k == "ENTRYPOINT"]
    if not entry or not entry[-1].startswith("["):
        problems.append("ENTRYPOINT not in exec form")
    return problems


def test_dockerfile_passes_our_lint():
    assert lint_dockerfile(DOCKERFILE.read_text()) == []


def test_dockerfile_includes_fonts_and_weasyprint_libraries():
    text = DOCKERFILE.read_text()
    final = " ".join(a for _, a in dockerfile_stages(text)[-1])
    for package in (
        "libpango-1.0-0",
        "libpangoft2-1.0-0",
        "libharfbuzz-subset0",
        "fonts-ipaexfont",
        "fontconfig",
    ):
        assert package in final
    assert "poppler" not in final


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        ("USER 10001:10001", "final stage runs as root"),
        ("HEALTHCHECK", "no HEALTHCHECK"),
        ("python:3.11.13-slim-bookworm", "not pinned"),
        (" && rm -rf /var/lib/apt/lists/*", "apt lists not removed"),
        ("tini \\", "build tools in the final stage"),
    ],
)
def test_the_lint_catches_what_it_claims_to(broken, problem):
    text = DOCKERFILE.read_text()
    assert broken in text
    replacement = {
        "python:3.11.13-slim-bookworm": "python:3.11-slim",
        "tini \\": "tini gcc \\",
        "HEALTHCHECK": "# HEALTHCHECK",
        "USER 10001:10001": "USER root",
    }.get(broken, "")
    if broken == "HEALTHCHECK":
        text = re.sub(r"HEALTHCHECK.*\n.*\n", "", text)
    else:
        text = text.replace(broken, replacement)
    assert any(problem in p for p in lint_dockerfile(text)), lint_dockerfile(text)


def test_web_processes_share_rate_limits_and_trust_only_the_proxy():
    """Issue #15: limits in each web process's memory multiply with the processes, and
    X-Forwarded-For was believed from any loopback peer."""
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    web = compose["web"]["environment"]
    assert web["MADOGUCHI_RATE_LIMIT_STORAGE"] == "redis://redis:6379" and "redis" in compose
    caddy_ip = compose["caddy"]["networks"]["internal"]["ipv4_address"]
    assert web["MADOGUCHI_FORWARDED_ALLOW_IPS"] == caddy_ip
    docs = [d for f in K8S for d in yaml.safe_load_all(f.read_text()) if d]
    (config,) = [d["data"] for d in docs if d["kind"] == "ConfigMap"]
    assert config["MADOGUCHI_RATE_LIMIT_STORAGE"].startswith("redis://")
    assert config["MADOGUCHI_FORWARDED_ALLOW_IPS"]
    # The e-mail channel's own settings (MADOGUCHI_SMTP_SECURITY, not a STARTTLS flag).
    assert "MADOGUCHI_SMTP_STARTTLS" not in web and "MADOGUCHI_SMTP_SECURITY" in web


def _commented_settings(text: str) -> dict[str, str]:
    """``# MADOGUCHI_X: value`` lines: settings shipped switched off, to be uncommented."""
    return dict(re.findall(r"^\s*#\s*(MADOGUCHI_[A-Z0-9_]+):\s*(\S+)\s*$", text, re.M))


def test_every_setting_in_the_deploy_files_is_one_madoguchi_reads():
    """Settings ignore unknown MADOGUCHI_* variables, so a misspelt one in a deploy file
    would be silently dropped; the adapters' lines, shipped commented out, must work as
    soon as they are uncommented (a URL with its token file, as Settings requires)."""
    from madoguchi.settings import ENV_PREFIX, Settings
    from notices.dispatch import NoticeSettings

    known = {ENV_PREFIX + name.upper()
             for model in (Settings, NoticeSettings) for name in model.model_fields}
    compose_text = COMPOSE.read_text()
    services = yaml.safe_load(compose_text)["services"]
    config_text = (DEPLOY / "helm" / "madoguchi" / "configmap.yaml").read_text()
    (config,) = [d["data"] for d in yaml.safe_load_all(config_text) if d]
    shipped = {
        # madoguchi's own processes (Caddy's MADOGUCHI_HOST is the Caddyfile's variable)
        "compose": {k for s in services.values() if "MADOGUCHI_MODE" in (s.get("environment")
                                                                          or {})
                    for k in s["environment"] if k.startswith(ENV_PREFIX)},
        "configmap": set(config),
    }
    for name, text in (("compose", compose_text), ("configmap", config_text)):
        off = _commented_settings(text)
        assert {"MADOGUCHI_REGISTRY_URL", "MADOGUCHI_REGISTRY_TOKEN_FILE",
                "MADOGUCHI_PUBLIC_FUNDS_URL", "MADOGUCHI_PUBLIC_FUNDS_TOKEN_FILE"} <= set(off)
        assert not (shipped[name] | set(off)) - known, (name, (shipped[name] | set(off)) - known)
        adapters = {k.removeprefix(ENV_PREFIX).lower(): v for k, v in off.items()
                    if "REGISTRY" in k or "PUBLIC_FUNDS" in k}
        settings = Settings(**adapters)
        assert settings.registry_url and settings.public_funds_url
