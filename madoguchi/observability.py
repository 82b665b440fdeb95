"""Metrics, traces and logs of the web and worker processes.

- **Metrics** (Prometheus): the Temporal SDK's own (workflow/activity task latencies,
  poll counts, schedule-to-start...) from the SDK runtime on ``MADOGUCHI_SDK_METRICS_PORT``;
  ours on ``MADOGUCHI_METRICS_PORT``: cases by procedure and stage, overdue cases (both
  counted in Temporal visibility, so they are true for the whole installation), activity
  outcomes, notices failed, HTTP requests by route template.
- **Traces** (OpenTelemetry): one trace from the HTTP request through the workflow to its
  activities, by Temporal's ``TracingInterceptor`` on the client (which the workers built
  from it inherit) and a span per HTTP request.
- **Logs**: one JSON object per line with ``MADOGUCHI_LOG_FORMAT=json``. Log records
  carry ids (application id, notice key), never names or addresses; exception messages
  are left out of JSON logs because a library may quote its input in them.

Nothing here holds personal data: metric labels are procedure ids, stage ids, activity
names, notice event names, HTTP route *templates* (``/api/applications/{app_id}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from madoguchi.settings import Settings, SettingsError

log = logging.getLogger("madoguchi.observability")
# One line per request with the route template: no client address, path ids or query.
access = logging.getLogger("madoguchi.access")


# --- metrics ---------------------------------------------------------------------------


class Metrics:
    """Our Prometheus metrics, in their own registry (tests build one each)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.cases = Gauge(
            "madoguchi_cases",
            "Running cases by procedure and stage",
            ["procedure", "stage"],
            registry=r,
        )
        self.overdue = Gauge(
            "madoguchi_cases_overdue",
            "Running cases past their legal processing deadline (MadoDueAt)",
            ["procedure"],
            registry=r,
        )
        self.case_count_errors = Counter(
            "madoguchi_case_count_errors", "Visibility counts that failed", registry=r
        )
        self.activities = Counter(
            "madoguchi_activity_attempts",
            "Activity attempts by outcome",
            ["activity", "outcome"],
            registry=r,
        )
        self.notices_failed = Counter(
            "madoguchi_notices_failed",
            "Notice deliveries that failed (retryable=false: given up, needs a person)",
            ["event", "retryable"],
            registry=r,
        )
        self.http_requests = Counter(
            "madoguchi_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.http_seconds = Histogram(
            "madoguchi_http_request_seconds", "HTTP request time", ["method", "route"], registry=r
        )


def serve_metrics(settings: Settings, metrics: Metrics) -> int | None:
    """Expose ``metrics`` on ``MADOGUCHI_METRICS_HOST:PORT``; the port, or None when off."""
    if settings.metrics_port is None:
        return None
    try:
        server, _thread = start_http_server(
            settings.metrics_port, addr=settings.metrics_host, registry=metrics.registry
        )
    except OSError as exc:
        raise SettingsError(
            f"MADOGUCHI_METRICS_PORT: cannot listen on "
            f"{settings.metrics_host}:{settings.metrics_port}: {exc.strerror or exc}"
        ) from None
    return server.server_port


def temporal_runtime(settings: Settings) -> Runtime | None:
    """A Temporal SDK runtime exporting its metrics to Prometheus, or None (SDK default).

    Pass it to ``Client.connect(runtime=...)``; workers use their client's runtime.
    """
    if settings.sdk_metrics_port is None:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"{settings.metrics_host}:{settings.sdk_metrics_port}",
                durations_as_seconds=True,
            ),
            global_tags={"service": settings.service_name},
        )
    )


class _MetricsActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, metrics: Metrics) -> None:
        super().__init__(next)
        self._metrics = metrics

    def execute_activity(self, input: ExecuteActivityInput) -> Any:
        # Called in the activity's thread for sync activities, awaited for async ones.
        name = activity.info().activity_type
        try:
            result = self.next.execute_activity(input)
        except Exception as exc:
            self._failed(name, input, exc)
            raise
        if inspect.isawaitable(result):
            return self._awaited(name, input, result)
        self._metrics.activities.labels(name, "completed").inc()
        return result

    async def _awaited(self, name: str, input: ExecuteActivityInput, result: Awaitable[Any]) -> Any:
        try:
            value = await result
        except Exception as exc:
            self._failed(name, input, exc)
            raise
        self._metrics.activities.labels(name, "completed").inc()
        return value

    def _failed(self, name: str, input: ExecuteActivityInput, exc: Exception) -> None:
        self._metrics.activities.labels(name, "failed").inc()
        if name == "deliver_notice":
            event = getattr(input.args[0], "event", "unknown") if input.args else "unknown"
            final = isinstance(exc, ApplicationError) and exc.non_retryable
            self._metrics.notices_failed.labels(event, "false" if final else "true").inc()


class MetricsInterceptor(Interceptor):
    """Worker interceptor counting activity attempts and failed notices."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _MetricsActivityInbound(next, self.metrics)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


async def count_cases(
    client: Client,
    metrics: Metrics,
    stages: Iterable[tuple[str, Sequence[str]]],
    *,
    now: datetime | None = None,
) -> None:
    """Set the case gauges from visibility counts (search attributes only: no payloads).

    :param stages: (procedure id, its stage ids) for every procedure of the catalogue.
    """
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for procedure, stage_ids in stages:
        running = f"MadoProcedure = {_quote(procedure)} AND ExecutionStatus = 'Running'"
        for stage in stage_ids:
            found = await client.count_workflows(f"{running} AND MadoStage = {_quote(stage)}")
            metrics.cases.labels(procedure, stage).set(found.count)
        overdue = await client.count_workflows(f"{running} AND MadoDueAt < {_quote(moment)}")
        metrics.overdue.labels(procedure).set(overdue.count)


async def count_cases_forever(
    client: Client, metrics: Metrics, stages: Sequence[tuple[str, Sequence[str]]], interval: float
) -> None:
    """Run :func:`count_cases` every ``interval`` seconds until cancelled."""
    while True:
        try:
            await count_cases(client, metrics, stages)
        except Exception as exc:  # a visibility hiccup must not stop the worker
            metrics.case_count_errors.inc()
            log.warning("case count failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)


def catalog_stages(catalog: Any) -> list[tuple[str, list[str]]]:
    """(procedure id, stage ids) of the newest version of every catalogue procedure."""
    seen: dict[str, list[str]] = {}
    for procedure in catalog.procedures():
        stages = seen.setdefault(procedure.id, [])
        stages += [s.id for s in procedure.definition.stages if s.id not in stages]
    return sorted(seen.items())


# --- tracing ---------------------------------------------------------------------------


def configure_tracing(settings: Settings, *, exporter: Any = None) -> Any:
    """Install the process's OpenTelemetry tracer provider; None when tracing is off.

    :param exporter: a span exporter to use instead of the configured one (tests).
    :raises SettingsError: if OTLP is asked for and its exporter package is missing.
    """
    if settings.tracing == "off" and exporter is None:
        return None
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif settings.tracing == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise SettingsError(
                "MADOGUCHI_TRACING=otlp needs the package opentelemetry-exporter-otlp-proto-grpc"
            ) from None
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))
        )
    trace.set_tracer_provider(provider)
    return provider


def client_interceptors(settings: Settings, *, tracing: bool | None = None) -> list[Any]:
    """Interceptors for ``Client.connect``: Temporal's tracing one when tracing is on.

    Workers created from the client inherit it, so workflow and activity spans join the
    trace of the request that started or updated the case.
    """
    on = settings.tracing != "off" if tracing is None else tracing
    if not on:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def instrument_app(app: Any, metrics: Metrics | None, *, tracing: bool) -> None:
    """Count (and, with tracing, span) every HTTP request by its route template."""
    tracer = None
    if tracing:
        from opentelemetry import trace

        tracer = trace.get_tracer("madoguchi.http")
    app.add_middleware(_HttpObservability, metrics=metrics, tracer=tracer)


class _HttpObservability:
    """Pure ASGI middleware: no body buffering, the route template as the only label."""

    def __init__(
        self, app: Callable[..., Awaitable[None]], *, metrics: Metrics | None, tracer: Any
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracer

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_status(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        span_cm = (
            self.tracer.start_as_current_span(f"HTTP {scope['method']}", kind=_server())
            if self.tracer
            else contextlib.nullcontext()
        )
        with span_cm as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                if span is not None:
                    span.update_name(f"{scope['method']} {route}")
                    span.set_attribute("http.request.method", scope["method"])
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status["code"])
                elapsed = time.perf_counter() - started
                access.info(
                    "%s %s %s",
                    scope["method"],
                    route,
                    status["code"],
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status["code"],
                        "ms": round(elapsed * 1000, 1),
                    },
                )
                if self.metrics is not None:
                    self.metrics.http_requests.labels(
                        scope["method"], route, str(status["code"])
                    ).inc()
                    self.metrics.http_seconds.labels(scope["method"], route).observe(elapsed)


def _server() -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind.SERVER


# --- logs ------------------------------------------------------------------------------

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, process role, event, extras.

    Extras passed with ``extra={...}`` are kept when they are plain scalars. Exceptions
    give their type and frame locations only, not their message or source lines.
    """

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "role": self.role,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and isinstance(value, str | int | float | bool):
                event[key] = value
        trace_ids = _current_trace_ids()
        if trace_ids:
            event["trace_id"], event["span_id"] = trace_ids
        if record.exc_info and record.exc_info[0] is not None:
            event["exc_type"] = record.exc_info[0].__name__
            # Where, not what: file, line and function of each frame, no source text.
            event["stack"] = [
                f"{f.filename}:{f.lineno} {f.name}"
                for f in traceback.extract_tb(record.exc_info[2])
            ]
        return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def _current_trace_ids() -> tuple[str, str] | None:
    if "opentelemetry.trace" not in sys.modules:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def configure_logging(settings: Settings, role: str) -> None:
    """Root logging for a process: JSON lines or readable text, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(role))
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {role} %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # WeasyPrint logs each rendering step at INFO: noise, once per document.
    logging.getLogger("weasyprint").setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers would print a second, differently shaped line.
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
