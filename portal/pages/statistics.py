"""The public statistics (見える化): the page, and its CSV, JSON and dataset description.

No sign-in. The numbers are the statistics service's published (suppressed) table; the
page groups and draws them (``portal.web.statistics_view``) and the downloads are the
service's own bytes, so page and files say the same. Statuses and HTTP caching live here:
every answer carries an ETag of the read model's version and the filter, so a reader (or
a cache in front) that already has this version gets 304 without the table being built.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from portal.deps import application_of
from portal.web import i18n, session
from portal.web.render import base_context, environment, html_response, page, render
from portal.web.statistics_source import CachedStatistics, StatsQuery, statistics_of
from portal.web.statistics_view import Group, Measure, group_titles, groups
from portal.web.stattexts import stat_text

router = APIRouter(include_in_schema=False)

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: What a procedure id and a municipality code look like; anything else filters nothing.
_PROCEDURE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_MUNICIPALITY = re.compile(r"^\d{6}$")
#: Published once a day or so; a reader may keep an answer five minutes, then asks again
#: with its ETag (a 304 costs next to nothing).
_CACHE = "public, max-age=300, must-revalidate"
_TYPES = {
    "csv": "text/csv; charset=utf-8; header=present",
    "json": "application/json",
    "dataset": "application/ld+json",
}


def _month(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if _MONTH.match(value) else None


def _query(request: Request) -> tuple[StatsQuery, bool]:
    """The filter the GET form sent, and whether a month it gave could not be read."""
    params = request.query_params
    start, end = params.get("from"), params.get("to")
    bad = bool((start and not _month(start)) or (end and not _month(end)))
    procedure, municipality = params.get("procedure", ""), params.get("municipality", "")
    query = StatsQuery(
        procedure=procedure if _PROCEDURE.match(procedure) else None,
        municipality=municipality if _MUNICIPALITY.match(municipality) else None,
        start=_month(start), end=_month(end),
    )
    return query, bad


def _etag(stats: CachedStatistics, kind: str, query: StatsQuery, lang: str = "") -> str:
    version = stats.version()
    digest = hashlib.sha256(
        f"{version}|{kind}|{lang}|{query.model_dump_json()}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def _not_modified(request: Request, etag: str, cache: str = _CACHE) -> Response | None:
    asked = request.headers.get("if-none-match", "")
    if etag in {t.strip() for t in asked.split(",")} or asked.strip() == "*":
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": cache})
    return None


async def _download(request: Request, stats: CachedStatistics, kind: str, name: str,
                    build: Callable[[], bytes | str], query: StatsQuery) -> Response:
    etag = _etag(stats, kind, query)
    cached = _not_modified(request, etag)
    if cached is not None:
        return cached
    # Computing a new version's table takes seconds at 100,000 cases: in a thread, so
    # the process goes on answering everything else (filings among them) meanwhile.
    body = await run_in_threadpool(build)
    return Response(body, media_type=_TYPES[kind], headers={
        "ETag": etag, "Cache-Control": _CACHE,
        "Content-Disposition": f'attachment; filename="{name}"',
        "Access-Control-Allow-Origin": "*",  # open data: any site's script may read it
    })


@router.get("/statistics/data.csv")
async def statistics_csv(request: Request) -> Response:
    """The published statistics as CSV (UTF-8, one row per cell of the table): the whole
    dataset, as open data is published (a reader filters it in their spreadsheet)."""
    stats, query = statistics_of(request), StatsQuery()
    return await _download(request, stats, "csv", "madoguchi-statistics.csv",
                     lambda: stats.csv(query), query)


@router.get("/statistics/data.json")
async def statistics_json(request: Request) -> Response:
    """The published statistics as JSON (the CSV's rows), the whole dataset."""
    stats, query = statistics_of(request), StatsQuery()
    return await _download(request, stats, "json", "madoguchi-statistics.json",
                     lambda: stats.json(query), query)


@router.get("/statistics/dataset.json")
async def statistics_dataset(request: Request) -> Response:
    """The dataset's description (DCAT-style JSON: publisher, licence, columns, units)."""
    stats = statistics_of(request)
    return await _download(request, stats, "dataset", "madoguchi-dataset.json",
                     stats.dataset, StatsQuery())


@router.get("/statistics")
@page
async def statistics_page(request: Request) -> Response:
    """The published statistics, per procedure and municipality, month by month."""
    app = application_of(request)
    lang = i18n.request_lang(request)
    query, bad = _query(request)
    # A signed-in reader's page carries their name and CSRF token: never cached.
    anonymous = session.current_principal(request) is None
    stats = statistics_of(request)
    etag = _etag(stats, "page", query,
                 f"{lang}|{request.cookies.get('madoguchi_text', '')}") if anonymous else ""
    cached = _not_modified(request, etag, "no-cache") if anonymous else None
    if cached is not None:
        return cached
    titles = {p.definition.id: p.definition.title.model_dump() for p in app.catalogue.latest()}
    names = {m.code: m.name.model_dump() for m in app.catalogue.municipalities()}

    def build() -> list[Group]:
        table = stats.published(query)
        measures = [Measure(c.name, dict(c.title), c.unit) for c in table.columns]
        return groups(table.rows, measures, lang=lang,
                      title_of=group_titles(app.catalogue, lang))

    values = dict(
        s=lambda key, **values: stat_text(key, lang, **values),
        chosen=query,
        refusal={"ja": stat_text("bad_month", "ja"), "en": stat_text("bad_month", "en")}
        if bad else None,
        procedure_options=sorted((k, i18n.pick(v, lang)) for k, v in titles.items()),
        municipality_options=[(k, i18n.pick(v, lang)) for k, v in sorted(names.items())],
    )
    if not anonymous or bad:
        shown = await run_in_threadpool(stats.cached, "groups", (query, lang), build)
        return render(request, "statistics.html", groups=shown, **values)

    def html() -> str:
        context = {**base_context(request), **values, "groups": build()}
        return environment().get_template("statistics.html").render(context)

    # An anonymous reader's page is the same for everyone who asks with this address,
    # language and text size: rendered once per version (the header's links carry the
    # address, so it is part of the key).
    key = (request.url.path, request.url.query, lang, request.cookies.get("madoguchi_text"))
    response = html_response(request, await run_in_threadpool(stats.cached, "html", key, html),
                             lang)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-cache"  # revalidate: a 304 is cheap
    response.headers["Vary"] = "Cookie"  # language, text size, signed in or not
    return response
