"""Expressions in procedure definitions: CEL, compiled at catalogue load, evaluated in cases.

A procedure computes amounts and grades, and refuses ineligible filings, with expressions
in the Common Expression Language (``cel-python``): non-Turing-complete, no I/O, no clock.
Every expression sees one fixed environment:

``data``      the application form
``steps``     caseworker and applicant step inputs by action id (the action being taken
              included)
``computed``  values computed by earlier actions (and earlier keys of the same ``values``)
``params``    the procedure's ``params`` (a municipality's overlay may change them)
``today``     the date in Japan as ``"YYYY-MM-DD"``, passed in (``workflow.now()`` inside a
              workflow); nothing here reads a clock

and, in eligibility rules only (they run at filing, where the sign-in and the
municipality are at hand):

``events``    the municipality's declared disaster events by id: ``{"date", "name"}``
``applicant`` the verified sign-in: ``kind`` and, where the issuer gives them,
              ``birthdate``, ``address``, ``name_kana``

and, in life events (:mod:`forms.lifeevents`; :attr:`Scope.life_event`), instead of
``steps`` and ``computed``: ``household``, ``account`` and, in a dependent procedure's
``after.when`` and ``form`` only, ``case`` (the upstream case as reported).

and these reviewed functions (:data:`FUNCTIONS`): ``floor1000(n)`` (千円未満切捨て),
``share(amount, rate)`` (the exact share of an amount, rounded down to ¥1), ``sum(list)``,
``min(a, b, ...)``, ``max(a, b, ...)``, ``band(value, table)`` (the result of the band
whose lower bound is the highest one not above ``value``; ``table`` is a list of
``[lower, result]``), ``age_at(birth_date, date)`` (full years, 年齢計算ニ関スル法律),
``school_age(birth_date, date)`` (the age by the 31 March before the 年度 of ``date``:
学年の年齢),
``wareki(date)`` (和暦 year, e.g. ``"令和8年"``) and ``day_after(date)`` (the next day, as
``"YYYY-MM-DD"``: the 資格喪失日 after a death).

:func:`check` finds what is wrong with an expression before any case runs it: a syntax
error (with the column), a name that is neither in the environment nor a function, a
field the form or step schema does not declare, a parameter the procedure does not
declare, a reviewed function called with the wrong number of arguments or with a field
whose declared type cannot fit. :func:`evaluate` returns plain JSON values and raises
:class:`ExpressionError` (a ``ValueError``) for anything that goes wrong, so the workflow
refuses the action instead of failing its task.

This module is imported by workflow code (through ``imports_passed_through``): it must
stay deterministic. Compiled programs are cached by their text.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, CELUnsupportedError

__all__ = [
    "ENVIRONMENT",
    "FILING_ONLY",
    "FUNCTIONS",
    "Bindings",
    "ExpressionError",
    "Scope",
    "check",
    "evaluate",
    "evaluate_with",
    "to_json",
]

#: The names every expression may read.
ENVIRONMENT = ("data", "steps", "computed", "params", "today", "events", "applicant")
#: Names only eligibility rules read (filing, outside the workflow).
FILING_ONLY = frozenset({"events", "applicant"})
#: The names a life event's expressions may read (``case``: dependents only).
LIFE_EVENT_ENVIRONMENT = ("data", "applicant", "household", "account", "events", "params",
                          "today", "case")
#: Every name some expression may read: what a compiled program binds.
_ALL_NAMES = frozenset(ENVIRONMENT) | frozenset(LIFE_EVENT_ENVIRONMENT)

#: CEL's own functions and macros an expression may call (no timestamps or durations: a
#: case's dates are ISO strings, and time arithmetic goes through reviewed functions).
_CEL_FUNCTIONS = frozenset({"size", "int", "double", "string", "bool", "has", "type"})
_CEL_METHODS = frozenset(
    {"size", "contains", "startsWith", "endsWith", "matches", "filter", "map", "all",
     "exists", "exists_one"}
)
_MACROS = frozenset({"filter", "map", "all", "exists", "exists_one"})

# cel-python logs every evaluation's whole activation at DEBUG: the application data, with
# names and addresses. Never let those records out, whatever level a process logs at.
logging.getLogger("celpy").setLevel(logging.WARNING)


class ExpressionError(ValueError):
    """An expression could not be compiled or evaluated; ``str()`` says why in English."""


# ---- conversions ----------------------------------------------------------------------


def to_json(value: object) -> Any:
    """A CEL value as a plain JSON value (bool, int, float, str, None, list, dict).

    :raises ExpressionError: for values JSON cannot carry (bytes, timestamps, ...) and for
        a non-finite number.
    """
    if isinstance(value, CELEvalError):
        raise ExpressionError(_eval_message(value))
    if value is None:
        return None
    if isinstance(value, celtypes.BoolType | bool):
        return bool(value)
    if isinstance(value, celtypes.IntType | celtypes.UintType | int):
        return int(value)
    if isinstance(value, celtypes.DoubleType | float):
        number = float(value)
        if not math.isfinite(number):
            raise ExpressionError(f"the result {number} is not a finite number")
        return number
    if isinstance(value, celtypes.StringType | str):
        return str(value)
    if isinstance(value, celtypes.MapType | dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, celtypes.ListType | list | tuple):
        return [to_json(v) for v in value]
    raise ExpressionError(f"a {type(value).__name__} result is not a JSON value")


def _number(value: object, function: str) -> int | Fraction:
    plain = to_json(value)
    if isinstance(plain, bool) or not isinstance(plain, int | float):
        raise ExpressionError(f"{function}() needs a number, not {_kind(plain)}")
    return plain if isinstance(plain, int) else Fraction(str(plain))


def _date(value: object, function: str) -> dt.date:
    plain = to_json(value)
    if not isinstance(plain, str):
        raise ExpressionError(f"{function}() needs a date \"YYYY-MM-DD\", not {_kind(plain)}")
    try:
        return dt.date.fromisoformat(plain[:10])
    except ValueError:
        raise ExpressionError(f"{function}(): {plain!r} is not a date \"YYYY-MM-DD\"") from None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a text",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _cel_number(value: int | Fraction) -> celtypes.Value:
    if isinstance(value, Fraction):
        return celtypes.DoubleType(float(value)) if value.denominator != 1 else celtypes.IntType(
            int(value)
        )
    return celtypes.IntType(value)


# ---- the reviewed functions -----------------------------------------------------------


def _floor1000(value: object) -> celtypes.Value:
    # 千円未満切捨て on exact values: a double is read through its shortest repr, so
    # 1999.5 stays 1999.5 and never becomes 2000.
    number = _number(value, "floor1000")
    if number < 0:
        raise ExpressionError("floor1000() needs a number of at least 0")
    return celtypes.IntType(math.floor(number) // 1000 * 1000)


def _share(amount: object, rate: object) -> celtypes.Value:
    total, exact_rate = _number(amount, "share"), _number(rate, "share")
    if not 0 <= exact_rate <= 1:
        raise ExpressionError("share() needs a rate between 0 and 1")
    return celtypes.IntType(math.floor(Fraction(total) * exact_rate))


def _sum(values: object) -> celtypes.Value:
    plain = to_json(values)
    if not isinstance(plain, list):
        raise ExpressionError(f"sum() needs a list of numbers, not {_kind(plain)}")
    return _cel_number(sum((_number(v, "sum") for v in plain), start=0))


def _extreme(pick: Callable[..., Any], name: str) -> Callable[..., celtypes.Value]:
    def fn(*values: object) -> celtypes.Value:
        if not values:
            raise ExpressionError(f"{name}() needs at least one number")
        return _cel_number(pick(_number(v, name) for v in values))

    return fn


def _band(value: object, table: object) -> celtypes.Value:
    number = _number(value, "band")
    rows = to_json(table)
    if not isinstance(rows, list) or not rows:
        raise ExpressionError("band() needs a table: a list of [lower bound, result]")
    bounds = []
    for row in rows:
        if not isinstance(row, list) or len(row) != 2:
            raise ExpressionError("each row of a band() table is [lower bound, result]")
        bounds.append((_number(row[0], "band"), row[1]))
    chosen = [(lower, result) for lower, result in bounds if lower <= number]
    if not chosen:
        lowest = min(lower for lower, _ in bounds)
        raise ExpressionError(f"band(): {to_json(value)} is below the lowest band ({lowest})")
    return json_to_cel(max(chosen, key=lambda row: row[0])[1])


def _age_at(birth: object, at: object) -> celtypes.Value:
    # 年齢計算ニ関スル法律: one becomes a year older at the end of the day before the
    # birthday, so someone born on 29 February is a year older on 28 February.
    born, on = _date(birth, "age_at"), _date(at, "age_at")
    if on < born:
        raise ExpressionError("age_at(): the date is before the birth date")
    # Counting birthdays up to the next day counts the eve as the day the year is full.
    day_after = on + dt.timedelta(days=1)
    age = day_after.year - born.year
    if (day_after.month, day_after.day) < (born.month, born.day):
        age -= 1
    return celtypes.IntType(age)


def _school_age(birth: object, at: object) -> celtypes.Value:
    # 学年の年齢: the age reached by the 31 March before the fiscal year (年度, from 1
    # April) containing the date: a child born on 1 April is in the grade above one born
    # on 2 April. 高校生年代 is a school age of at most 17.
    on = _date(at, "school_age")
    year = on.year if on.month >= 4 else on.year - 1
    return _age_at(birth, celtypes.StringType(dt.date(year, 3, 31).isoformat()))


def _day_after(value: object) -> celtypes.Value:
    # 資格喪失日: insurance (国民健康保険法第8条, 介護保険法第11条) ends the day after death.
    return celtypes.StringType((_date(value, "day_after") + dt.timedelta(days=1)).isoformat())


_ERAS: tuple[tuple[dt.date, str], ...] = (
    (dt.date(2019, 5, 1), "令和"),
    (dt.date(1989, 1, 8), "平成"),
    (dt.date(1926, 12, 25), "昭和"),
    (dt.date(1912, 7, 30), "大正"),
    (dt.date(1873, 1, 1), "明治"),  # from the solar calendar on
)


def _wareki(value: object) -> celtypes.Value:
    day = _date(value, "wareki")
    for start, era in _ERAS:
        if day >= start:
            year = day.year - start.year + 1
            return celtypes.StringType(f"{era}{'元' if year == 1 else year}年")
    raise ExpressionError("wareki(): dates before 1873 are not supported")


@dataclass(frozen=True)
class _Function:
    fn: Callable[..., celtypes.Value]
    arity: tuple[int, int | None]
    """(least, most) arguments; most ``None``: any number."""
    argument: str
    """What each argument must be: ``number``, ``date``, ``list`` or ``any``."""


#: The reviewed functions by name.
FUNCTIONS: Mapping[str, _Function] = {
    "floor1000": _Function(_floor1000, (1, 1), "number"),
    "share": _Function(_share, (2, 2), "number"),
    "sum": _Function(_sum, (1, 1), "list"),
    "min": _Function(_extreme(min, "min"), (1, None), "number"),
    "max": _Function(_extreme(max, "max"), (1, None), "number"),
    "band": _Function(_band, (2, 2), "any"),
    "age_at": _Function(_age_at, (2, 2), "date"),
    "school_age": _Function(_school_age, (2, 2), "date"),
    "wareki": _Function(_wareki, (1, 1), "date"),
    "day_after": _Function(_day_after, (1, 1), "date"),
}


# ---- compiling and checking -----------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _environment() -> celpy.Environment:
    return celpy.Environment()


@functools.lru_cache(maxsize=1024)
def _compiled(text: str) -> tuple[lark.Tree, celpy.Runner, frozenset[str]]:
    # Same text, same program: caching changes no result, it only saves the parse.
    environment = _environment()
    try:
        tree = environment.compile(text)
    except CELParseError as exc:
        raise ExpressionError(_syntax_message(text, exc)) from None
    program = environment.program(tree, functions={k: f.fn for k, f in FUNCTIONS.items()})
    # The environment names it reads: only those are converted to CEL values.
    roots = frozenset(
        str(node.children[0]) for node in tree.iter_subtrees()
        if node.data == "ident" and str(node.children[0]) in _ALL_NAMES
    )
    return tree, program, roots


def _syntax_message(text: str, exc: CELParseError) -> str:
    column = getattr(exc, "column", None)
    where = f" at column {column}" if column else ""
    snippet = text if len(text) <= 80 else text[:77] + "..."
    return f"syntax error{where} in {snippet!r}"


@dataclass(frozen=True)
class Scope:
    """What an expression may name, for :func:`check`.

    Field maps go from a JSON pointer to the declared JSON Schema type (``None``: not
    declared), as :func:`forms.schemas.iter_fields` finds them.
    """

    data: Mapping[str, str | None] = field(default_factory=dict)
    steps: Mapping[str, Mapping[str, str | None] | None] = field(default_factory=dict)
    """Action id -> its input's fields (``None``: the action has no input schema)."""
    computed: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    """Computed name -> its keys (``None``: a named computation, keys not known)."""
    params: Mapping[str, Any] = field(default_factory=dict)
    filing: bool = False
    """An eligibility rule: ``events`` and ``applicant`` may be read too."""
    life_event: bool = False
    """A life event's expression: :data:`LIFE_EVENT_ENVIRONMENT` (``data`` is the
    questionnaire)."""
    case: bool = False
    """In a life event: a dependent procedure's ``after.when`` or ``form`` (``case``)."""


def _path(node: object) -> list[str] | None:
    """``["data", "a", "b"]`` for the tree of ``data.a.b``, else ``None``."""
    if not isinstance(node, lark.Tree):
        return None
    if node.data == "member" and len(node.children) == 1:
        return _path(node.children[0])
    if node.data == "primary" and len(node.children) == 1:
        child = node.children[0]
        if isinstance(child, lark.Tree) and child.data == "ident":
            return [str(child.children[0])]
        return None
    if node.data == "member_dot" and len(node.children) == 2:
        head = _path(node.children[0])
        return None if head is None else [*head, str(node.children[1])]
    return None


def _unwrap(node: object) -> object:
    """The innermost node of a chain of single-child wrappers (expr, relation, ...)."""
    while (
        isinstance(node, lark.Tree)
        and len(node.children) == 1
        and node.data not in {"primary", "member"}
    ):
        node = node.children[0]
    return node


def _arguments(node: lark.Tree) -> list[object]:
    for child in node.children:
        if isinstance(child, lark.Tree) and child.data == "exprlist":
            return list(child.children)
    return []


def _field_type(fields: Mapping[str, str | None], segments: list[str]) -> tuple[bool, str | None]:
    """Is the field at ``segments`` declared, and its type; deeper than an array or an
    object without declared properties everything is accepted."""
    pointer = ""
    declared_type: str | None = "object"
    for segment in segments:
        if declared_type not in (None, "object") or not any(
            key.startswith(pointer + "/") for key in fields
        ):
            return True, None
        pointer = f"{pointer}/{segment}"
        if pointer not in fields:
            return False, None
        declared_type = fields[pointer]
    return True, declared_type


def _resolve(path: list[str], scope: Scope, local: set[str]) -> tuple[str | None, str | None]:
    """``(problem, declared type)`` for a dotted name."""
    root, rest = path[0], path[1:]
    if root in local:
        return None, None
    if scope.life_event:
        return _resolve_life_event(path, scope)
    if root not in ENVIRONMENT:
        known = ", ".join(n for n in ENVIRONMENT if scope.filing or n not in FILING_ONLY)
        return f"unknown name {root!r} (an expression may read: {known})", None
    shown = ".".join(path)
    if root in FILING_ONLY:
        if not scope.filing:
            return (f"{shown}: {root!r} is known only to eligibility rules (at filing), "
                    "not in a case"), None
        if root == "applicant" and rest and rest[0] not in _APPLICANT_CLAIMS:
            known = ", ".join(sorted(_APPLICANT_CLAIMS))
            return f"{shown}: the sign-in gives no {rest[0]!r} (it gives: {known})", None
        return None, None
    if root == "today":
        return (f"{shown}: 'today' is a date text with no fields", None) if rest else (
            None, "string")
    if not rest:
        return None, "object"
    if root == "data":
        found, kind = _field_type(scope.data, rest)
        return (None, kind) if found else (f"{shown}: the form has no field "
                                           f"/{'/'.join(rest)}", None)
    if root == "steps":
        action, fields = rest[0], scope.steps.get(rest[0], {})
        if action not in scope.steps:
            known = ", ".join(sorted(scope.steps)) or "none"
            return f"{shown}: no action {action!r} (actions: {known})", None
        if fields is None or len(rest) == 1:
            return None, None
        found, kind = _field_type(fields, rest[1:])
        return (None, kind) if found else (f"{shown}: the input of {action!r} has no field "
                                           f"/{'/'.join(rest[1:])}", None)
    if root == "computed":
        name = rest[0]
        if name not in scope.computed:
            known = ", ".join(sorted(scope.computed)) or "none"
            return f"{shown}: nothing is computed as {name!r} (computed: {known})", None
        keys = scope.computed[name]
        if keys is not None and len(rest) > 1 and rest[1] not in keys:
            listed = ", ".join(sorted(keys)) or "none"
            return f"{shown}: {name!r} has no key {rest[1]!r} (keys: {listed})", None
        return None, None
    # params
    node: Any = scope.params
    for depth, segment in enumerate(rest):
        if not isinstance(node, dict):
            return None, None
        if segment not in node:
            where = "params" if depth == 0 else "params." + ".".join(rest[:depth])
            known = ", ".join(sorted(node)) or "none"
            return f"{shown}: {where} declares no {segment!r} (declared: {known})", None
        node = node[segment]
    return None, _json_type(node)


#: What ``applicant`` holds of a verified sign-in (each only where the issuer gives it).
_APPLICANT_CLAIMS = frozenset({"kind", "birthdate", "address", "name_kana"})
#: A life event's ``applicant`` also holds the rest of the card's four facts.
_LIFE_EVENT_CLAIMS = _APPLICANT_CLAIMS | {"name", "gender"}
#: The keys of a life event's ``household`` and of a dependent's ``case``.
_HOUSEHOLD_KEYS = frozenset({"verified", "size", "members", "deceased"})
_CASE_KEYS = frozenset({"status", "data", "steps", "computed", "documents"})


def _resolve_life_event(path: list[str], scope: Scope) -> tuple[str | None, str | None]:
    root, rest = path[0], path[1:]
    shown = ".".join(path)
    names = [n for n in LIFE_EVENT_ENVIRONMENT if scope.case or n != "case"]
    if root not in LIFE_EVENT_ENVIRONMENT:
        return f"unknown name {root!r} (a life event's expression may read: " \
               f"{', '.join(names)})", None
    if root == "case" and not scope.case:
        return (f"{shown}: 'case' is known only to a dependent procedure's after.when and "
                "form"), None
    keys = {"applicant": _LIFE_EVENT_CLAIMS, "household": _HOUSEHOLD_KEYS,
            "case": _CASE_KEYS}.get(root)
    if keys is not None and rest and rest[0] not in keys:
        return f"{shown}: {root!r} has no {rest[0]!r} (it has: {', '.join(sorted(keys))})", None
    if root in ("data", "params", "today"):
        return _resolve(path, replace(scope, life_event=False), set())
    return None, None


def _json_type(value: object) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value))


_FITS = {
    "number": {"number", "integer"},
    "date": {"string"},
    "list": {"array"},
}


def check(text: object, scope: Scope) -> list[str]:
    """Every problem of one expression, as messages; an empty list means it compiles and
    names only what ``scope`` declares."""
    if not isinstance(text, str) or not text.strip():
        return ["an expression must be a non-empty text"]
    try:
        tree, _, _ = _compiled(text)
    except ExpressionError as exc:
        return [str(exc)]
    local: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data == "member_dot_arg" and str(node.children[1]) in _MACROS:
            bound = _path(_unwrap(_arguments(node)[0])) if _arguments(node) else None
            if bound and len(bound) == 1:
                local.add(bound[0])
    problems: list[str] = []
    seen: set[str] = set()

    def add(message: str) -> None:
        if message not in seen:
            seen.add(message)
            problems.append(message)

    for node in tree.iter_subtrees_topdown():
        if node.data == "ident_arg":
            name = str(node.children[0])
            args = _arguments(node)
            if name in FUNCTIONS:
                spec = FUNCTIONS[name]
                least, most = spec.arity
                if len(args) < least or (most is not None and len(args) > most):
                    wanted = str(least) if least == most else f"at least {least}"
                    add(f"{name}() takes {wanted} argument(s), not {len(args)}")
                for arg in args:
                    path = _path(_unwrap(arg))
                    if path is None or spec.argument == "any":
                        continue
                    problem, kind = _resolve(path, scope, local)
                    if problem is None and kind is not None and kind not in _FITS[spec.argument]:
                        add(f"{name}() needs {_FITS_TEXT[spec.argument]}; {'.'.join(path)} is "
                            f"declared as {kind}")
            elif name not in _CEL_FUNCTIONS:
                known = ", ".join(sorted([*FUNCTIONS, *_CEL_FUNCTIONS]))
                add(f"unknown function {name!r} (functions: {known})")
        elif node.data == "member_dot_arg":
            method = str(node.children[1])
            if method not in _CEL_METHODS:
                add(f"unknown method {method!r} (methods: {', '.join(sorted(_CEL_METHODS))})")
        elif node.data in {"member_dot", "primary"}:
            path = _path(node)
            if path is None:
                continue
            problem, _ = _resolve(path, scope, local)
            if problem is not None:
                add(problem)
    # A problem on a.b.c is also found on a.b: keep the shortest.
    return [p for p in problems if not any(q != p and p.startswith(q.split(":")[0] + ".")
                                            for q in problems)]


_FITS_TEXT = {"number": "a number", "date": "a date text", "list": "a list"}


# ---- evaluating -----------------------------------------------------------------------


def _eval_message(error: CELEvalError) -> str:
    args = error.args
    text = str(args[0]) if args else "evaluation failed"
    if len(args) > 2 and isinstance(args[1], type) and issubclass(args[1], ExpressionError):
        return str(args[2][0]) if args[2] else text  # a reviewed function's own refusal
    if args and len(args) > 1 and args[1] is KeyError and text.startswith("no such member"):
        return text.replace("no such member in mapping", "no such field")
    if "no matching overload" in text:
        return "the values do not fit the operator (e.g. a text added to a number)"
    return text


class Bindings:
    """The values an expression sees, converted to CEL once and only when read: a
    computation evaluating several expressions on one case converts the form once."""

    def __init__(
        self,
        *,
        data: Mapping[str, Any] | None = None,
        steps: Mapping[str, Any] | None = None,
        computed: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        today: dt.date | str,
        events: Mapping[str, Any] | None = None,
        applicant: Mapping[str, Any] | None = None,
        household: Mapping[str, Any] | None = None,
        account: Mapping[str, Any] | None = None,
        case: Mapping[str, Any] | None = None,
    ) -> None:
        self._plain: dict[str, Any] = {
            "data": dict(data or {}),
            "steps": dict(steps or {}),
            "computed": dict(computed or {}),
            "params": dict(params or {}),
            "events": dict(events or {}),
            "applicant": dict(applicant or {}),
            "household": dict(household or {}),
            "account": dict(account) if account is not None else None,
            "case": dict(case or {}),
        }
        self._today = today if isinstance(today, str) else today.isoformat()
        self._converted: dict[str, Any] = {"today": celtypes.StringType(self._today)}

    def with_computed(self, computed: Mapping[str, Any]) -> Bindings:
        """The same bindings with other ``computed`` values (the rest stays converted)."""
        other = Bindings.__new__(Bindings)
        other._plain = {**self._plain, "computed": dict(computed)}
        other._today = self._today
        other._converted = {k: v for k, v in self._converted.items() if k != "computed"}
        return other

    def activation(self, names: frozenset[str]) -> dict[str, Any]:
        for name in names:
            if name not in self._converted:
                self._converted[name] = json_to_cel(self._plain[name])
        return {name: self._converted[name] for name in names}


def evaluate(
    text: str,
    *,
    data: Mapping[str, Any] | None = None,
    steps: Mapping[str, Any] | None = None,
    computed: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    today: dt.date | str,
    events: Mapping[str, Any] | None = None,
    applicant: Mapping[str, Any] | None = None,
) -> Any:
    """The value of ``text`` as a plain JSON value.

    :param today: the date in Japan (a ``date`` or ``"YYYY-MM-DD"``); in a workflow, from
        ``workflow.now()``.
    :raises ExpressionError: if it does not compile or cannot be evaluated on these
        values (a missing field, a type that does not fit, a reviewed function's refusal).
    """
    bindings = Bindings(data=data, steps=steps, computed=computed, params=params, today=today,
                        events=events, applicant=applicant)
    return evaluate_with(text, bindings)


def evaluate_with(text: str, bindings: Bindings) -> Any:
    """:func:`evaluate` with prepared :class:`Bindings`.

    :raises ExpressionError: as :func:`evaluate`.
    """
    _, program, roots = _compiled(text)
    activation = bindings.activation(roots)
    try:
        result = program.evaluate(activation)
    except CELEvalError as exc:
        raise ExpressionError(_eval_message(exc)) from None
    except CELUnsupportedError as exc:
        raise ExpressionError(f"not supported: {exc}") from None
    except ExpressionError:
        raise
    except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        raise ExpressionError(f"evaluation failed: {exc}") from None
    return to_json(result)
