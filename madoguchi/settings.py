"""Settings from the environment (``MADOGUCHI_*``) with development defaults.

One installation = one Temporal namespace. Deployed, every secret comes from a file (a
Docker/Kubernetes secret mounted read-only), never from the image or a plain variable:
``MADOGUCHI_*_FILE`` settings name those files. The payload keys and the id secret are
read from ``<data_dir>/keys/`` (``payload-keys.json``, ``id-secret``): mount them there.

A setting that is wrong (a missing file, TLS half configured, S3 without a bucket) stops
the process at start with :class:`SettingsError`, whose message names the variable.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url
from temporalio.service import TLSConfig

from notices.dispatch import NoticeSettings
from services.admission import DEFAULT_IN_FLIGHT

ENV_PREFIX = "MADOGUCHI_"


class SettingsError(ValueError):
    """The settings cannot work; the message names the ``MADOGUCHI_*`` variable to fix."""


def read_secret(path: Path, *, variable: str) -> str:
    """The text of a secret file, without its trailing newline.

    :raises SettingsError: if the file is missing, unreadable or empty.
    """
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{variable}: cannot read {path}: {exc.strerror or exc}") from None
    if not text:
        raise SettingsError(f"{variable}: {path} is empty")
    return text


def _read_bytes(path: Path, *, variable: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SettingsError(f"{variable}: cannot read {path}: {exc.strerror or exc}") from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    mode: Literal["development", "production"] = "development"
    data_dir: Path = Field(default=Path("var"), description="Keys, blobs, SQLite files")
    catalog_dir: Path | None = Field(default=None, description="Default: the packaged catalogue")
    public_url: str = "http://127.0.0.1:8000"

    # Temporal: one namespace per installation (a prefecture runs one per municipality
    # group on a shared cluster).
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "madoguchi-cases"
    temporal_tls: bool = Field(
        default=False, description="TLS to the frontend (implied by any TLS file below)"
    )
    temporal_tls_ca_file: Path | None = Field(
        default=None, description="PEM of the CA that signed the frontend (default: system CAs)"
    )
    temporal_tls_cert_file: Path | None = Field(default=None, description="Client cert (mTLS)")
    temporal_tls_key_file: Path | None = Field(default=None, description="Client key (mTLS)")
    temporal_tls_server_name: str | None = Field(
        default=None, description="Name to verify in the frontend's certificate"
    )
    temporal_api_key_file: Path | None = Field(default=None, description="API key (Cloud)")
    payload_compression: bool = Field(
        default=True,
        description="Deflate payloads before encrypting them. Set false while upgrading from "
        "a release without compression, until every process (workers, web, codec endpoint) "
        "runs this one: older processes cannot read deflated payloads.",
    )

    # Read models (inbox, register of issued documents): shared by web and workers.
    database_url: str | None = Field(
        default=None, description="Read models; default: SQLite file under data_dir"
    )
    database_url_file: Path | None = Field(
        default=None, description="File holding the database URL (it contains a password)"
    )

    # Blobs (issued PDFs, attachments).
    blob_store: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = Field(default=None, description="MinIO etc.; None: AWS")
    s3_region: str = "ap-northeast-1"
    s3_prefix: str = Field(default="", description="Key prefix inside the bucket")
    s3_access_key_id_file: Path | None = None
    s3_secret_access_key_file: Path | None = None
    s3_ca_file: Path | None = Field(default=None, description="CA bundle of a private endpoint")

    # Notices: every channel's settings (MADOGUCHI_SMTP_*, MADOGUCHI_WEBHOOKS, ...), read
    # with the rest, once (see notices.dispatch.NoticeSettings).
    notices: NoticeSettings = Field(default_factory=NoticeSettings, exclude=True)
    smtp_password_file: Path | None = Field(
        default=None, description="File holding the SMTP password (deployed: a secret)")

    # The codec endpoint (``/codec/decode``) for the Temporal UI; serve it only where
    # operators alone can reach it (see deploy/compose/Caddyfile).
    codec_endpoint: bool = False
    temporal_ui_origin: str | None = Field(
        default=None, description="The Temporal UI's origin: the only site allowed to call it")

    # Documents: e-seals and timestamps. Development makes its own PKI and TSA.
    tsa_url: str | None = Field(default=None, description="RFC 3161 TSA (production)")
    seals_file: Path | None = Field(
        default=None, description="JSON: 地方公共団体コード -> e-seal source (key files)")
    trust_roots_file: Path | None = Field(
        default=None, description="PEM roots of the seal and TSA chains (B-LTA, verify page)")

    # Identity: the trusted issuers (JSON, see docs/identity.md), and where a real
    # deployment's sign-in page sends residents.
    issuers_file: Path | None = Field(default=None, description="Trusted token issuers")
    identity_provider_url: str | None = None

    counter_session_minutes: int = Field(
        default=30, ge=1, le=24 * 60,
        description="Idle minutes after which a counter (窓口) session ends")

    # The municipality's systems (docs/adapters/): the resident registry (住民基本台帳) and
    # the public-funds account registry (公金受取口座). Unset: not used (the resident types
    # the data, and the case records it as not verified). `madoguchi up` sets them to its
    # development registry.
    registry_url: str | None = Field(
        default=None, description="Resident registry interface (paths below it start /v1)")
    registry_token_file: Path | None = Field(
        default=None, description="File holding madoguchi's bearer token for the registry")
    public_funds_url: str | None = Field(
        default=None, description="Public-funds account interface (paths start /v1)")
    public_funds_token_file: Path | None = Field(
        default=None, description="File holding madoguchi's bearer token for it")
    adapter_connect_timeout: float = Field(
        default=2.0, gt=0, le=30, description="Seconds to connect to either (each attempt)")
    adapter_read_timeout: float = Field(
        default=3.0, gt=0, le=60, description="Seconds to wait for an answer (each attempt)")
    adapter_attempts: int = Field(
        default=3, ge=1, le=10, description="Tries per call (connect errors, timeouts, 5xx, 429)")
    adapter_deadline: float = Field(
        default=10.0, gt=0, le=120, description="Seconds for one call, retries included")

    # Admission control of filings (services/admission.py), per web process.
    intake_max_in_flight: int = Field(
        default=DEFAULT_IN_FLIGHT, ge=1, le=10_000,
        description="Filings one web process starts at once; beyond, 503 + Retry-After")
    intake_admission_wait: float = Field(
        default=0.25, ge=0, le=5, description="Seconds a filing waits for a free slot")
    intake_answer_within: float = Field(
        default=1.5, gt=0, le=600,
        description="Seconds from a filing's request to its answer; the start gets what is left")

    # The web processes: where rate limits count, which proxies name the client.
    rate_limit_storage: str = Field(
        default="memory://",
        description="Rate limit counters: memory:// (this process only, `madoguchi up`) or "
        "redis://host:6379 (shared by every web process; required with more than one)")
    rate_limit_storage_file: Path | None = Field(
        default=None,
        description="File holding the rate limit storage URL (when it contains a password)")
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses or networks of the reverse proxies whose "
        "X-Forwarded-For / X-Forwarded-Proto are believed; empty: none (the peer is the client)")

    # Workers.
    document_slots: int = Field(default=2, ge=1, description="Documents rendered at once")
    document_processes: int = Field(
        default=1, ge=0, le=64,
        description="Processes that render and seal (0: in the worker's threads)")
    document_nice: int = Field(
        default=10, ge=0, le=19,
        description="Niceness added to the render processes: on a busy machine the web, "
        "the workflow service and the workers (what a person waits for) get the CPU first, "
        "and documents (copies, receipts: background) the rest; 0: same priority")
    activity_threads: int = Field(default=8, ge=1)

    # Observability.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="Our Prometheus metrics; None: off"
    )
    sdk_metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="Temporal SDK Prometheus metrics; None: off"
    )
    case_metrics_interval: float = Field(
        default=60.0, ge=0, description="Seconds between visibility counts; 0: off"
    )
    tracing: Literal["off", "console", "otlp"] = "off"
    otlp_endpoint: str | None = Field(default=None, description="OTLP/gRPC collector")
    service_name: str = "madoguchi"

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if bool(self.temporal_tls_cert_file) != bool(self.temporal_tls_key_file):
            raise ValueError(
                "MADOGUCHI_TEMPORAL_TLS_CERT_FILE and MADOGUCHI_TEMPORAL_TLS_KEY_FILE "
                "go together (mutual TLS needs both)"
            )
        if self.blob_store == "s3":
            if not self.s3_bucket:
                raise ValueError("MADOGUCHI_BLOB_STORE=s3 needs MADOGUCHI_S3_BUCKET")
            if bool(self.s3_access_key_id_file) != bool(self.s3_secret_access_key_file):
                raise ValueError(
                    "MADOGUCHI_S3_ACCESS_KEY_ID_FILE and MADOGUCHI_S3_SECRET_ACCESS_KEY_FILE "
                    "go together"
                )
        if self.database_url and self.database_url_file:
            raise ValueError("set MADOGUCHI_DATABASE_URL or MADOGUCHI_DATABASE_URL_FILE, not both")
        if self.tracing == "otlp" and not self.otlp_endpoint:
            raise ValueError("MADOGUCHI_TRACING=otlp needs MADOGUCHI_OTLP_ENDPOINT")
        if self.rate_limit_storage_file and self.rate_limit_storage != "memory://":
            raise ValueError(
                "set MADOGUCHI_RATE_LIMIT_STORAGE or MADOGUCHI_RATE_LIMIT_STORAGE_FILE, not both")
        if not self.rate_limit_storage.removeprefix("async+").startswith(
            ("memory://", "redis://", "rediss://", "redis+sentinel://", "redis+cluster://")
        ):
            raise ValueError("MADOGUCHI_RATE_LIMIT_STORAGE must be memory:// or redis://host:port")
        for entry in filter(None, (e.strip() for e in self.forwarded_allow_ips.split(","))):
            try:
                if entry != "*":
                    ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"MADOGUCHI_FORWARDED_ALLOW_IPS: {entry!r} is not an address or network"
                ) from None
        for url, token, name in ((self.registry_url, self.registry_token_file, "REGISTRY"),
                                 (self.public_funds_url, self.public_funds_token_file,
                                  "PUBLIC_FUNDS")):
            if url and not url.startswith(("http://", "https://")):
                raise ValueError(f"MADOGUCHI_{name}_URL must be an http:// or https:// URL")
            if bool(url) != bool(token):
                raise ValueError(f"MADOGUCHI_{name}_URL and MADOGUCHI_{name}_TOKEN_FILE go "
                                 "together (the interface needs a bearer token)")
        if self.metrics_port is not None and self.metrics_port == self.sdk_metrics_port:
            raise ValueError("MADOGUCHI_METRICS_PORT and MADOGUCHI_SDK_METRICS_PORT must differ")
        return self

    @property
    def development(self) -> bool:
        return self.mode == "development"

    @property
    def read_model_url(self) -> str:
        if self.database_url_file:
            return read_secret(self.database_url_file, variable="MADOGUCHI_DATABASE_URL_FILE")
        return self.database_url or f"sqlite:///{self.data_dir / 'madoguchi.db'}"

    @property
    def rate_limit_storage_url(self) -> str:
        """Where the web processes count rate limits (the URL file's content, if set).

        :raises SettingsError: if the file cannot be read or names no supported storage.
        """
        if self.rate_limit_storage_file is None:
            return self.rate_limit_storage
        url = read_secret(self.rate_limit_storage_file,
                          variable="MADOGUCHI_RATE_LIMIT_STORAGE_FILE")
        if not url.startswith(("redis://", "rediss://", "redis+sentinel://", "redis+cluster://")):
            raise SettingsError("MADOGUCHI_RATE_LIMIT_STORAGE_FILE: not a redis:// URL")
        return url

    @property
    def temporal_uses_tls(self) -> bool:
        return self.temporal_tls or any(
            (self.temporal_tls_ca_file, self.temporal_tls_cert_file, self.temporal_tls_server_name)
        )

    def temporal_tls_config(self) -> TLSConfig | bool:
        """What ``Client.connect(tls=...)`` takes: False, or a TLSConfig read from the files.

        :raises SettingsError: if a named file cannot be read.
        """
        if not self.temporal_uses_tls:
            return False
        ca = cert = key = None
        if self.temporal_tls_ca_file:
            ca = _read_bytes(self.temporal_tls_ca_file, variable="MADOGUCHI_TEMPORAL_TLS_CA_FILE")
        if self.temporal_tls_cert_file and self.temporal_tls_key_file:
            cert = _read_bytes(
                self.temporal_tls_cert_file, variable="MADOGUCHI_TEMPORAL_TLS_CERT_FILE"
            )
            key = _read_bytes(
                self.temporal_tls_key_file, variable="MADOGUCHI_TEMPORAL_TLS_KEY_FILE"
            )
        return TLSConfig(
            server_root_ca_cert=ca,
            client_cert=cert,
            client_private_key=key,
            domain=self.temporal_tls_server_name,
        )

    def temporal_api_key(self) -> str | None:
        if self.temporal_api_key_file is None:
            return None
        return read_secret(self.temporal_api_key_file, variable="MADOGUCHI_TEMPORAL_API_KEY_FILE")

    def s3_credentials(self) -> tuple[str, str] | None:
        """(access key id, secret) from the files, or None to use the default AWS chain."""
        if not (self.s3_access_key_id_file and self.s3_secret_access_key_file):
            return None
        return (
            read_secret(self.s3_access_key_id_file, variable="MADOGUCHI_S3_ACCESS_KEY_ID_FILE"),
            read_secret(
                self.s3_secret_access_key_file, variable="MADOGUCHI_S3_SECRET_ACCESS_KEY_FILE"
            ),
        )

    def adapter_tokens(self) -> tuple[str | None, str | None]:
        """The bearer tokens of the resident registry and the public-funds registry (None
        where the interface is not configured).

        :raises SettingsError: if a token file cannot be read.
        """
        registry = accounts = None
        if self.registry_token_file:
            registry = read_secret(self.registry_token_file,
                                   variable="MADOGUCHI_REGISTRY_TOKEN_FILE")
        if self.public_funds_token_file:
            accounts = read_secret(self.public_funds_token_file,
                                   variable="MADOGUCHI_PUBLIC_FUNDS_TOKEN_FILE")
        return registry, accounts

    def notice_settings(self) -> NoticeSettings:
        """The channels' settings, with the SMTP password read from its file if one is set.

        :raises SettingsError: if the password file cannot be read.
        """
        if self.smtp_password_file is None or self.notices.smtp_password is not None:
            return self.notices
        password = read_secret(self.smtp_password_file, variable="MADOGUCHI_SMTP_PASSWORD_FILE")
        return self.notices.model_copy(update={"smtp_password": SecretStr(password)})

    def check_startable(self, process: Literal["web", "worker", "any"] = "any") -> None:
        """Fail now, with the variable's name, on what would otherwise fail mid-case.

        Production refuses to invent keys: every process of an installation must share
        the same payload keys and id secret, so they must exist before any process starts.

        :param process: which process starts: a worker counts no rate limits.
        :raises SettingsError: on the first problem found; in production, naming every
            development stand-in found (see :meth:`production_problems`).
        """
        self.temporal_tls_config()
        self.temporal_api_key()
        self.s3_credentials()
        self.read_model_url  # noqa: B018 - reads the URL file
        self.adapter_tokens()
        self.rate_limit_storage_url  # noqa: B018 - reads the URL file
        if not self.development:
            problems = self.production_problems(process)
            if problems:
                raise SettingsError("\n".join(problems))

    def production_problems(self, process: Literal["web", "worker", "any"] = "any"
                            ) -> list[str]:
        """What a production start refuses, one message per problem (all of them at once,
        a line each, so an operator fixes them in one go): development stand-ins that work on one
        machine and fail, or open a door, when deployed."""
        problems = []
        if make_url(self.read_model_url).get_backend_name() == "sqlite":
            problems.append(
                "MADOGUCHI_DATABASE_URL: production keeps the read models in PostgreSQL "
                "(postgresql+psycopg://...); a SQLite file belongs to one machine and the web "
                "and worker processes cannot share it")
        if process != "worker" and \
                self.rate_limit_storage_url.removeprefix("async+").startswith("memory://"):
            problems.append(
                "MADOGUCHI_RATE_LIMIT_STORAGE: production counts rate limits in Redis "
                "(redis://host:6379); memory:// counts in each web process alone, so every "
                "added process multiplies the limits")
        if self.issuers_file is not None:
            from identity.config import IssuerConfigError, load_trusted_issuers

            try:
                trusted = load_trusted_issuers(self.issuers_file)
            except IssuerConfigError as exc:
                problems.append(f"MADOGUCHI_ISSUERS_FILE: {exc}")
            else:
                dev = [i.issuer for i in trusted if _is_development_issuer(i.issuer)]
                if dev:
                    problems.append(
                        f"MADOGUCHI_ISSUERS_FILE: trusts the development issuer ({dev[0]}); "
                        "its signing key lies in a data directory and it signs anyone in as "
                        "anyone: remove it")
        keys = self.data_dir / "keys"
        for name in ("payload-keys.json", "id-secret"):
            if not (keys / name).is_file():
                problems.append(
                    f"MADOGUCHI_DATA_DIR: {keys / name} is missing; in production every "
                    "process shares the installation's keys (see docs/deploying.md)")
        return problems


def _is_development_issuer(issuer: str) -> bool:
    from identity.devissuer import DEV_BUSINESS_ISSUER, DEV_RESIDENT_ISSUER, DEV_STAFF_ISSUER

    host = issuer.split("://", 1)[-1].split("/", 1)[0].lower()
    return issuer in (DEV_RESIDENT_ISSUER, DEV_STAFF_ISSUER, DEV_BUSINESS_ISSUER) or \
        host.endswith(".madoguchi.invalid")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (plus ``overrides``), problems as :class:`SettingsError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            where = f"{ENV_PREFIX}{field.upper()}: " if field else ""
            problems.append(f"{where}{error['msg']}")
        raise SettingsError("; ".join(problems)) from None
