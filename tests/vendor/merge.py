#!/usr/bin/env python3
"""Judges the Merge HRIS emulator and the requests of our Merge connector against Merge's
official Python client, MergePythonClient 4.2.1 (module `merge`).

Subcommands:

  sdk        Lists employees from a running Merge emulator through the SDK the way the connector
             does (`expand`, `include_deleted_data`, cursor paging, with a page size small enough
             to need several pages), then its `check` call, the reference-employee read, an
             unknown employee and a wrong API key. Every answer must parse into the SDK's typed
             models (`PaginatedEmployeeList`, `Employee`, `Team`, `Location`, `Employment`). The
             SDK itself parses without validating (its models are "unchecked": a malformed date
             stays a string, an unknown enum value is kept), so each answer is also validated
             strictly against the same models, enum values must be members of the SDK's enums,
             fields the models do not know are reported, and expanded relations must be objects
             exactly when `expand` names them. The listing must be consistent: unique ids, the
             expected number of employees (`--employees`), managers that are listed employees,
             no deleted records while `include_deleted_data=false` (Merge leaves them out unless
             asked for). `--expand` asks for other relations than the connector's. `--mutate
             KIND` alters the answer to the second page on its way to the SDK (an httpx transport
             between the SDK and the emulator) the way a broken emulator could; the suite must
             then fail naming the altered field.

  requests   Checks a request log written by the emulator (JSON, {"requests": [...]}) against
             the SDK: each method and path must be one that a function of the SDK's HRIS client
             builds, each query parameter one that this function sends, each value one it could
             send (enum members such as the `expand` relations, integers within the maximum the
             SDK documents, booleans as the SDK writes them, ISO-8601 date-times). What the SDK
             builds is found by calling every function of `Merge().hris` through an httpx
             MockTransport that records the request, one parameter at a time. Merge authenticates
             with a static API key, so there is no token endpoint to skip: every request is
             judged.

  self-test  Proves the checks: a log with one request of every shape the connector
             (src/connectors/source/merge.rs) sends must pass, each of a set of bad requests must
             be reported, every function of the HRIS client must have been probed; the `sdk`
             suite runs against a small in-memory Merge (an httpx MockTransport, no server) and
             must pass as it is, fail on each of its faults and on every `--mutate` kind. It also
             checks that each field the connector reads is a field of the SDK's models.

  serve      `requests` for many logs at the cost of one start: a log path per line on stdin,
             one JSON line `{"problems": [...]}` per log on stdout (the tests keep one running).

Exit status 0 when everything passes; 1 with one line per problem on stderr, naming the request
(method and path) or the SDK call and the field.

Run with a Python that has MergePythonClient 4.2.1 installed, for example:

  hris-emulators merge --port 0 --employees 250      # prints the base URL and credentials
  python tests/vendor/merge.py sdk --base-url http://127.0.0.1:PORT/api/hris/v1 \\
      --api-key merge-key --account-token account-token [--mutate next-cursor-repeated]
  python tests/vendor/merge.py requests LOG.json
  python tests/vendor/merge.py self-test

`--base-url` takes the emulator's URL (the connector's form, ending in /hris/v1) or the SDK's
form (ending in /api); the SDK appends `hris/v1/<resource>` itself. Only 127.0.0.1 and localhost
are accepted: the suite never reaches another host.
"""

import argparse
import collections
import collections.abc
import copy
import dataclasses
import datetime as dt
import enum
import functools
import importlib.metadata
import inspect
import json
import os
import re
import sys
import types
import typing
import urllib.parse

# This file is named merge.py, like the SDK's package: without its own directory on the path,
# `import merge` finds the SDK rather than this script.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import httpx  # noqa: E402  (the SDK's HTTP client, installed with it)
import merge.client  # noqa: E402
import merge.resources.hris.types  # noqa: E402
import pydantic  # noqa: E402  (the SDK's model library, installed with it)
from merge.core.api_error import ApiError  # noqa: E402
from merge.core.parse_error import ParsingError  # noqa: E402
from merge.environment import MergeEnvironment  # noqa: E402
from merge.resources.hris.resources.employees.types import (  # noqa: E402
    EmployeesListRequestExpandItem,
)
from merge.resources.hris.types import Employee, PaginatedEmployeeList  # noqa: E402

SDK_DISTRIBUTION = "MergePythonClient"
SDK_VERSION = "4.2.1"

# What src/connectors/source/merge.rs sends: `expand` (EXPAND), `page_size` (PAGE_SIZE) and
# `include_deleted_data=false` on every page, `page_size=1` alone for its credential check, and
# `expand` alone when it reads the reference employee.
CONNECTOR_EXPAND = ("employments", "team", "work_location")
CONNECTOR_PAGE_SIZE = 100
# The fields it reads (`columns()` and `flatten_record`), by the SDK model that holds them.
CONNECTOR_FIELDS = {
    "Employee": (
        "id", "employee_number", "first_name", "last_name", "preferred_name", "work_email",
        "personal_email", "employment_status", "start_date", "hire_date", "termination_date",
        "manager", "team", "work_location", "employments", "custom_fields", "remote_was_deleted",
    ),
    "Team": ("id", "name"),
    "Location": ("id", "name"),
    "Employment": ("job_title",),
}

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class Problems(list):
    """Problem lines, each naming the request or the SDK call and the field."""

    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


# ---------------------------------------------------------------------------------------------
# Types of the SDK's signatures and models
# ---------------------------------------------------------------------------------------------

_SCALAR_TAGS = {"str", "int", "float", "bool", "none"}


def _is_union(annotation) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _without_none(annotation) -> list:
    """The members of a union other than None (the annotation itself when it is no union)."""
    if _is_union(annotation):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _is_enum(annotation) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, enum.Enum)


def _is_model(annotation) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, pydantic.BaseModel)


def _is_sequence(annotation) -> bool:
    return typing.get_origin(annotation) in (list, tuple, collections.abc.Sequence)


def _element(annotation):
    """(the type of one value, whether a sequence of such values is accepted)."""
    members = _without_none(annotation)
    sequences = [m for m in members if _is_sequence(m)]
    if sequences:
        return typing.get_args(sequences[0])[0], True
    return members[0] if len(members) == 1 else annotation, False


def _sample(annotation, text: str, second: bool = False):
    """A value of `annotation` for a probing call; `text` for strings (a recognisable marker)."""
    members = _without_none(annotation)
    annotation = members[0]
    if _is_sequence(annotation):
        item = typing.get_args(annotation)[0]
        return [_sample(item, text + "a"), _sample(item, text + "b", second=True)]
    if annotation is bool:
        return True
    if annotation is int:
        return 7
    if annotation is float:
        return 7.5
    if annotation is dt.datetime:
        return dt.datetime(2021, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
    if annotation is dt.date:
        return dt.date(2021, 2, 3)
    if _is_enum(annotation):
        values = list(annotation)
        return values[1 if second and len(values) > 1 else 0]
    if _is_model(annotation):
        return annotation.model_construct()
    if typing.get_origin(annotation) is dict:
        return {}
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)[0]
    return text


def _documented_maximum(function, name: str):
    """The maximum the function's docstring states for a parameter ("The maximum limit is 100")."""
    doc = inspect.getdoc(function) or ""
    section = re.search(rf"^{re.escape(name)} : .*\n((?:[ \t]+.*\n?)+)", doc, re.MULTILINE)
    if section is None:
        return None
    limit = re.search(r"maximum limit is (\d+)", section.group(1))
    return int(limit.group(1)) if limit else None


# ---------------------------------------------------------------------------------------------
# What the SDK's HRIS client sends
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class QueryParameter:
    """A query parameter as one SDK function sends it."""

    name: str
    annotation: typing.Any
    joined: bool = False  # a sequence goes as one comma-separated value (else one per value)
    booleans: frozenset = frozenset()  # how the SDK writes True and False
    maximum: typing.Optional[int] = None  # as stated in the function's docstring


@dataclasses.dataclass
class Endpoint:
    """A request one function of the SDK's HRIS client builds."""

    function: str  # e.g. hris.employees.list
    method: str
    template: str  # e.g. /api/hris/v1/employees/{id}
    query: dict
    body: bool

    @functools.cached_property
    def pattern(self) -> "re.Pattern":
        parts = re.split(r"(\{[^}]+\})", self.template)
        return re.compile(
            "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p)
        )

    @property
    def placeholders(self) -> int:
        return self.template.count("{")


class _Probe:
    """The SDK's client over an httpx MockTransport that records each request and answers `{}`."""

    def __init__(self):
        self.requests = []
        transport = httpx.MockTransport(self._answer)
        self.client = merge.client.Merge(
            api_key="probe",
            account_token="probe",
            httpx_client=httpx.Client(transport=transport),
        )

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={})

    def send(self, function, arguments: dict) -> typing.Optional[httpx.Request]:
        """The request `function(**arguments)` sends, or None when it sends none."""
        self.requests.clear()
        try:
            function(**arguments)
        except (ApiError, ParsingError, pydantic.ValidationError, TypeError, ValueError):
            # The recorded request is what counts; `{}` need not be a valid answer.
            pass
        return self.requests[0] if self.requests else None


def _marker(name: str) -> str:
    return f"zz{name}zz"


def _derive_endpoint(probe: _Probe, function_name: str, function) -> typing.Optional[Endpoint]:
    signature = inspect.signature(function)
    required = {}
    optional = []
    for parameter in signature.parameters.values():
        if parameter.name == "request_options":
            continue
        if parameter.default is inspect.Parameter.empty:
            required[parameter.name] = parameter.annotation
        else:
            optional.append(parameter)
    arguments = {name: _sample(ann, _marker(name)) for name, ann in required.items()}
    baseline = probe.send(function, arguments)
    if baseline is None:
        return None
    template = baseline.url.path
    for name in required:
        template = template.replace(_marker(name), "{" + name + "}")
    query = {}
    for key, value in baseline.url.params.multi_items():
        owner = next((n for n in required if _marker(n) in value), None)
        query[key] = QueryParameter(key, required[owner] if owner else typing.Any)
    baseline_names = set(query)
    for parameter in optional:
        value = _sample(parameter.annotation, _marker(parameter.name))
        request = probe.send(function, {**arguments, parameter.name: value})
        if request is None:
            continue
        added = {k for k, _ in request.url.params.multi_items()} - baseline_names
        for key in added:
            query[key] = _describe_parameter(probe, function, arguments, parameter, key)
    return Endpoint(
        function=function_name,
        method=baseline.method,
        template=template,
        query=query,
        body=bool(baseline.content),
    )


def _describe_parameter(probe, function, arguments, parameter, key) -> QueryParameter:
    described = QueryParameter(
        key, parameter.annotation, maximum=_documented_maximum(function, parameter.name)
    )
    element, many = _element(parameter.annotation)
    if many:
        two = [_sample(element, "zza"), _sample(element, "zzb", second=True)]
        request = probe.send(function, {**arguments, parameter.name: two})
        sent = request.url.params.get_list(key) if request else []
        described.joined = len(sent) == 1 and "," in sent[0]
    if element is bool:
        written = set()
        for flag in (True, False):
            request = probe.send(function, {**arguments, parameter.name: flag})
            if request is not None:
                written.update(request.url.params.get_list(key))
        described.booleans = frozenset(written)
    return described


def sdk_endpoints() -> list:
    """Every request a function of the SDK's HRIS client builds, most specific path first."""
    return _derive_endpoints()[0]


def _derive_endpoints():
    """(the endpoints, the names of functions that sent no request when probed)."""
    probe = _Probe()
    hris = probe.client.hris
    endpoints, underived = [], []
    for resource_name, attribute in sorted(vars(type(hris)).items()):
        if not isinstance(attribute, property) or resource_name == "with_raw_response":
            continue
        resource = getattr(hris, resource_name)
        for function_name, function in inspect.getmembers(resource, inspect.ismethod):
            if function_name.startswith("_"):
                continue
            name = f"hris.{resource_name}.{function_name}"
            endpoint = _derive_endpoint(probe, name, function)
            if endpoint is None:
                underived.append(name)
            else:
                endpoints.append(endpoint)
    endpoints.sort(key=lambda e: (e.placeholders, e.template, e.method))
    return endpoints, underived


# ---------------------------------------------------------------------------------------------
# requests: a request log judged against the SDK
# ---------------------------------------------------------------------------------------------


def _value_problem(parameter: QueryParameter, raw: str) -> typing.Optional[str]:
    """Why `raw` is not a value the SDK could send for `parameter`, or None."""
    element, _ = _element(parameter.annotation)
    pieces = raw.split(",") if parameter.joined else [raw]
    for piece in pieces:
        problem = _scalar_problem(parameter, element, piece)
        if problem:
            return problem
    return None


# What the SDK's serialize_datetime writes: a date-time with `Z` or an offset.
_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def _scalar_problem(parameter: QueryParameter, element, value: str) -> typing.Optional[str]:
    name = parameter.name
    members = _without_none(element)
    enums = [m for m in members if _is_enum(m)]
    if enums:
        allowed = [m.value for e in enums for m in e]
        if value not in allowed:
            return (
                f"{name}={value!r} is not one of the SDK's {enums[0].__name__} values "
                f"({', '.join(allowed)})"
            )
        return None
    kind = members[0]
    if kind is bool:
        if value not in parameter.booleans:
            written = ", ".join(sorted(parameter.booleans))
            return f"{name}={value!r} is not a boolean as the SDK writes one ({written})"
    elif kind is int:
        if not re.fullmatch(r"-?[0-9]+", value):
            return f"{name}={value!r} is not an integer"
        if parameter.maximum is not None and int(value) > parameter.maximum:
            return f"{name}={value} is above the SDK's documented maximum {parameter.maximum}"
    elif kind is float:
        try:
            float(value)
        except ValueError:
            return f"{name}={value!r} is not a number"
    elif kind is dt.datetime:
        if not _ISO_DATE_TIME.fullmatch(value):
            return (
                f"{name}={value!r} is not an ISO-8601 date-time with a UTC offset "
                "(the SDK sends e.g. 2021-02-03T04:05:06Z)"
            )
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            return f"{name}={value!r} is not a valid date-time"
    elif kind is dt.date:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return f"{name}={value!r} is not an ISO-8601 date"
    return None


def judge_request(entry: dict, endpoints: list, problems: Problems) -> None:
    method, path = entry["method"], entry["path"]
    where = f"{method} {path}"
    matching = [e for e in endpoints if e.pattern.fullmatch(path)]
    if not matching:
        problems.add(where, "no function of the SDK's HRIS client requests this path")
        return
    endpoint = next((e for e in matching if e.method == method), None)
    if endpoint is None:
        methods = ", ".join(sorted({e.method for e in matching}))
        problems.add(where, f"the SDK requests this path only with {methods}")
        return
    values = collections.defaultdict(list)
    for name, value in urllib.parse.parse_qsl(entry["query"], keep_blank_values=True):
        values[name].append(value)
    for name, given in values.items():
        parameter = endpoint.query.get(name)
        if parameter is None:
            problems.add(where, f"unknown query parameter {name!r}")
            continue
        _, many = _element(parameter.annotation)
        if len(given) > 1 and (parameter.joined or not many):
            problems.add(
                where,
                f"query parameter {name!r} given {len(given)} times; {endpoint.function} "
                "sends it once",
            )
        for value in given:
            problem = _value_problem(parameter, value)
            if problem:
                problems.add(where, problem)
    body = entry.get("body")
    if body not in (None, "") and not endpoint.body:
        problems.add(where, f"a body, but {endpoint.function} sends none")
    if body in (None, "") and endpoint.body:
        problems.add(where, f"no body, but {endpoint.function} sends one")
    if entry.get("items"):
        problems.add(where, "batch items, but Merge's API has no batch requests")


_ENTRY_FIELDS = {"method": str, "path": str, "query": str, "items": list}


def judge_log(log, endpoints: list) -> Problems:
    problems = Problems()
    requests = log.get("requests") if isinstance(log, dict) else None
    if not isinstance(requests, list):
        problems.add("log", 'not a JSON object with a "requests" list')
        return problems
    for number, entry in enumerate(requests, start=1):
        if not isinstance(entry, dict):
            problems.add(f"request #{number}", "not a JSON object")
            continue
        wrong = [k for k, t in _ENTRY_FIELDS.items() if not isinstance(entry.get(k), t)]
        if wrong:
            problems.add(f"request #{number}", f"missing or mistyped {', '.join(wrong)}")
            continue
        judge_request(entry, endpoints, problems)
    return problems


# ---------------------------------------------------------------------------------------------
# sdk: the emulator judged through the SDK
# ---------------------------------------------------------------------------------------------


def _asks_for_a_later_page(request: httpx.Request) -> bool:
    """Whether a request asks for a later page of the employee listing (it carries a cursor)."""
    return request.url.path.endswith("/employees") and "cursor" in request.url.params


@dataclasses.dataclass(frozen=True)
class Mutation:
    """A way a broken emulator could answer the second page of the listing (the first page
    asked for by cursor), and what a line of the failing suite must then contain."""

    alter: typing.Callable[[dict, httpx.Request], None]
    named: str


def _first_record(change):
    def alter(body, request):
        change(body["results"][0])

    return alter


def _repeat_cursor(body, request):
    body["next"] = request.url.params["cursor"]


def _drop_first_record(body, request):
    del body["results"][0]


def _repeat_first_id(body, request):
    body["results"][1]["id"] = body["results"][0]["id"]


def _unexpand_team(record):
    team = record.get("team")
    record["team"] = team["id"] if isinstance(team, dict) else "team-id"


MUTATIONS = {
    "next-cursor-repeated": Mutation(_repeat_cursor, "page 2: next: cursor"),
    "employment-status-unknown": Mutation(
        _first_record(lambda r: r.update(employment_status="ON_LEAVE")),
        ".employment_status: 'ON_LEAVE' is not one of the SDK's EmploymentStatusEnum values",
    ),
    "date-format": Mutation(
        _first_record(lambda r: r.update(hire_date="03/01/2020")),
        ".hire_date: Input should be a valid datetime",
    ),
    "wrong-type": Mutation(
        _first_record(lambda r: r.update(remote_was_deleted="false")),
        ".remote_was_deleted: Input should be a valid boolean",
    ),
    "unknown-field": Mutation(
        _first_record(lambda r: r.update(nickname="Ada")),
        ".nickname: not a field of the SDK's Employee model",
    ),
    "relation-not-expanded": Mutation(
        _first_record(_unexpand_team), ".team: expand=team was asked for"
    ),
    "record-lost": Mutation(_drop_first_record, "employees listed, expected"),
    "id-repeated": Mutation(_repeat_first_id, "listed 2 times"),
}


class RecordingTransport(httpx.BaseTransport):
    """Passes requests on and keeps each answer's body; applies at most one mutation."""

    def __init__(self, inner: httpx.BaseTransport, mutation=None):
        self.inner = inner
        self.mutation = mutation
        self.bodies = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        try:
            content = response.read()
        finally:
            response.close()
        if self.mutation and _asks_for_a_later_page(request) and response.status_code == 200:
            body = json.loads(content)
            self.mutation.alter(body, request)
            content = json.dumps(body).encode()
            self.mutation = None
        self.bodies.append(content)
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=content, request=request
        )

    def close(self) -> None:
        self.inner.close()


def _path_text(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _labelled(raw, path) -> str:
    """`results[3].hire_date` as `results[3] (id 1004).hire_date` when the record has an id."""
    text = _path_text(path)
    if len(path) >= 2 and path[0] == "results" and isinstance(path[1], int):
        try:
            record_id = raw["results"][path[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            record_id = None
        if record_id is not None:
            head = _path_text(path[:2])
            return f"{head} (id {record_id})" + text[len(head) :]
    return text


def _branch_fits(tag: str, node) -> bool:
    """Whether a union member pydantic tried (its tag: `str`, `Team`, `list[...]`, ...) is the one
    a JSON value of this kind was meant for."""
    scalar = tag in _SCALAR_TAGS or "enum[" in tag
    if isinstance(node, dict):
        return not scalar and not tag.startswith("list[")
    if isinstance(node, list):
        return tag.startswith("list[") or tag == "str"
    return scalar


def strict_problems(model, content: bytes, where: str, problems: Problems) -> None:
    """Validates an answer strictly against the SDK's model: one line per wrong field.

    An error inside a union names the member it was tried against; only errors of the member
    meant for the value's JSON kind (an object for a model, a string for `str`) are reported."""
    try:
        model.model_validate_json(content, strict=True)
        return
    except pydantic.ValidationError as error:
        errors = error.errors(include_url=False)
    raw = json.loads(content)
    reported = set()
    for item in errors:
        node, path, relevant = raw, [], True
        for part in item["loc"]:
            if isinstance(node, dict) and isinstance(part, str) and part in node:
                node = node[part]
                path.append(part)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
                path.append(part)
            else:
                relevant = relevant and _branch_fits(str(part), node)
        field = _labelled(raw, path)
        if relevant and field not in reported:
            reported.add(field)
            problems.add(where, f"{field}: {item['msg']} (got {json.dumps(node)[:60]})")


def sdk_value_problems(value, annotation, path: str, where: str, problems: Problems) -> None:
    """What strict validation cannot see: enum values outside the SDK's enums (its unions also
    accept any string), fields the SDK's models do not have, objects not parsed into models."""
    if value is None:
        return
    members = _without_none(annotation)
    enums = [m for m in members if _is_enum(m)]
    if enums and isinstance(value, str):
        allowed = [m.value for e in enums for m in e]
        if value not in allowed:
            problems.add(
                where,
                f"{path}: {value!r} is not one of the SDK's {enums[0].__name__} values "
                f"({', '.join(allowed)})",
            )
        return
    if isinstance(value, list):
        sequences = [m for m in members if _is_sequence(m)]
        if sequences:
            item = typing.get_args(sequences[0])[0]
            for index, entry in enumerate(value):
                sdk_value_problems(entry, item, f"{path}[{index}]", where, problems)
        return
    models = [m for m in members if _is_model(m)]
    if isinstance(value, dict) and models:
        names = " or ".join(m.__name__ for m in models)
        problems.add(where, f"{path}: an object the SDK did not parse into {names}")
        return
    if isinstance(value, pydantic.BaseModel):
        for extra in sorted((value.model_extra or {}).keys()):
            problems.add(
                where, f"{path}.{extra}: not a field of the SDK's {type(value).__name__} model"
            )
        for name, field in type(value).model_fields.items():
            inner = getattr(value, name)
            sdk_value_problems(inner, field.annotation, f"{path}.{name}", where, problems)


EXPANDABLE = tuple(item.value for item in EmployeesListRequestExpandItem)


def expand_problems(employee, expand, path: str, where: str, problems: Problems) -> None:
    """Relations are objects when `expand` names them and ids when it does not."""
    for relation in EXPANDABLE:
        value = getattr(employee, relation, None)
        if value is None:
            continue
        models = _model_members(Employee.model_fields[relation].annotation)
        expected = " or ".join(m.__name__ for m in models)
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            at = f"{path}.{relation}" + (f"[{index}]" if isinstance(value, list) else "")
            if item is None:
                continue
            if relation in expand and not isinstance(item, pydantic.BaseModel):
                problems.add(
                    where,
                    f"{at}: expand={relation} was asked for, but the answer holds "
                    f"{json.dumps(item)[:40]} instead of {expected}",
                )
            if relation not in expand and not isinstance(item, str):
                problems.add(
                    where,
                    f"{at}: {relation} was not in expand, but the answer holds "
                    f"{type(item).__name__} instead of an id",
                )


def _model_members(annotation) -> list:
    found = []
    for member in _without_none(annotation):
        if _is_sequence(member):
            found += _model_members(typing.get_args(member)[0])
        elif _is_model(member):
            found.append(member)
    return found


def _raised(error) -> str:
    """An SDK error as its class, status and body (without the response headers)."""
    return f"{type(error).__name__} {error.status_code}: {json.dumps(error.body)[:120]}"


def _manager_id(employee):
    manager = employee.manager
    return manager.id if isinstance(manager, pydantic.BaseModel) else manager


class SdkSuite:
    """The emulator read through the SDK as the connector reads it."""

    def __init__(self, base_url, api_key, account_token, expected, page_size, expand, inner=None):
        self.base_url = base_url
        self.api_key = api_key
        self.account_token = account_token
        self.expected = expected
        self.page_size = page_size
        self.expand = tuple(expand)
        self.inner = inner or httpx.HTTPTransport()
        self.problems = Problems()
        self.pages = 0

    def client(self, transport, api_key=None):
        return merge.client.Merge(
            base_url=self.base_url,
            api_key=api_key or self.api_key,
            account_token=self.account_token,
            httpx_client=httpx.Client(transport=transport, timeout=30),
        )

    def run(self, mutation=None) -> Problems:
        transport = RecordingTransport(self.inner, mutation)
        client = self.client(transport)
        employees = self.list_all(client, transport)
        self.check_listing(employees)
        self.check_credential_check(client, transport)
        if employees:
            self.check_retrieve(client, transport, employees[0][1])
        self.check_unknown_employee(client)
        self.check_wrong_key()
        return self.problems

    def list_all(self, client, transport) -> list:
        """Every (page, employee) of the listing, following `next` until it is null."""
        employees, cursor, requested = [], None, set()
        limit = self.expected // self.page_size + 3
        while True:
            self.pages += 1
            where = f"hris.employees.list page {self.pages}"
            try:
                page = client.hris.employees.list(
                    page_size=self.page_size,
                    expand=list(self.expand),
                    include_deleted_data=False,
                    cursor=cursor,
                )
            except (ApiError, ParsingError) as error:
                self.problems.add(where, f"the SDK raised {_raised(error)}")
                return employees
            if not self.check_page(page, transport.bodies[-1], where, first=cursor is None):
                return employees
            employees += [(self.pages, e) for e in page.results]
            if page.next is None:
                return employees
            if page.next in requested:
                self.problems.add(
                    where, f"next: cursor {page.next!r} was handed out before; the listing loops"
                )
                return employees
            if self.pages >= limit:
                self.problems.add(where, f"next: still not null after {self.pages} pages")
                return employees
            requested.add(page.next)
            cursor = page.next

    def check_page(self, page, content, where, first) -> bool:
        problems = self.problems
        if not isinstance(page, PaginatedEmployeeList):
            returned = type(page).__name__
            problems.add(where, f"the SDK returned {returned}, not PaginatedEmployeeList")
            return False
        raw = json.loads(content)
        if not isinstance(raw, dict) or not isinstance(raw.get("results"), list):
            problems.add(where, "results: missing or not a list")
            return False
        strict_problems(PaginatedEmployeeList, content, where, problems)
        if page.next == "":
            problems.add(where, "next: an empty string; Merge ends a listing with null")
        if first and page.previous is not None:
            problems.add(where, f"previous: {page.previous!r} on the first page")
        if len(page.results) > self.page_size:
            count = len(page.results)
            problems.add(where, f"results: {count} records for page_size={self.page_size}")
        for index, employee in enumerate(page.results):
            path = _labelled(raw, ["results", index])
            if not isinstance(employee, Employee):
                problems.add(where, f"{path}: not parsed into the SDK's Employee model")
                continue
            sdk_value_problems(employee, Employee, path, where, problems)
            expand_problems(employee, self.expand, path, where, problems)
        return True

    def check_listing(self, employees) -> None:
        where = "hris.employees.list"
        pages_of = collections.defaultdict(list)
        for page, employee in employees:
            pages_of[employee.id].append(page)
        for record_id, pages in pages_of.items():
            if record_id is None:
                self.problems.add(where, f"records without an id on pages {pages}")
            elif len(pages) > 1:
                listed = ", ".join(map(str, pages))
                self.problems.add(
                    where, f"id {record_id} listed {len(pages)} times (pages {listed})"
                )
        deleted = [str(e.id) for _, e in employees if e.remote_was_deleted]
        if deleted:
            self.problems.add(
                where,
                f"remote_was_deleted: {len(deleted)} deleted record(s) ({', '.join(deleted[:5])}) "
                "with include_deleted_data=false; Merge leaves deleted records out unless "
                "include_deleted_data=true",
            )
        live = {e.id: e for _, e in employees if not e.remote_was_deleted}
        if len(live) != self.expected:
            self.problems.add(where, f"{len(live)} employees listed, expected {self.expected}")
        for employee in live.values():
            manager = _manager_id(employee)
            if manager is not None and manager not in live:
                self.problems.add(
                    where, f"id {employee.id}: manager {manager!r} is not a listed employee"
                )

    def check_credential_check(self, client, transport) -> None:
        """The connector's credential check: one record, no `expand`."""
        where = "hris.employees.list(page_size=1)"
        try:
            page = client.hris.employees.list(page_size=1)
        except (ApiError, ParsingError) as error:
            self.problems.add(where, f"the SDK raised {_raised(error)}")
            return
        content = transport.bodies[-1]
        strict_problems(PaginatedEmployeeList, content, where, self.problems)
        results = page.results or []
        if len(results) != 1:
            self.problems.add(where, f"results: {len(results)} records for page_size=1")
        raw = json.loads(content)
        for index, employee in enumerate(results):
            path = _labelled(raw, ["results", index])
            sdk_value_problems(employee, Employee, path, where, self.problems)
            expand_problems(employee, (), path, where, self.problems)
        if self.expected > 1 and page.next is None:
            self.problems.add(where, "next: null although more employees exist")

    def check_retrieve(self, client, transport, listed) -> None:
        """The connector's reference-employee read: the same record as listed."""
        where = f"hris.employees.retrieve({listed.id!r})"
        try:
            employee = client.hris.employees.retrieve(listed.id, expand=list(self.expand))
        except (ApiError, ParsingError) as error:
            self.problems.add(where, f"the SDK raised {_raised(error)}")
            return
        strict_problems(Employee, transport.bodies[-1], where, self.problems)
        sdk_value_problems(employee, Employee, "employee", where, self.problems)
        expand_problems(employee, self.expand, "employee", where, self.problems)
        mine, theirs = employee.model_dump(mode="json"), listed.model_dump(mode="json")
        differing = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        if differing:
            self.problems.add(where, f"differs from the listed record in {', '.join(differing)}")

    def check_unknown_employee(self, client) -> None:
        where = "hris.employees.retrieve('no-such-employee')"
        try:
            client.hris.employees.retrieve("no-such-employee")
        except ApiError as error:
            if error.status_code != 404:
                self.problems.add(where, f"ApiError status {error.status_code}, expected 404")
            return
        except ParsingError as error:
            self.problems.add(where, f"{_raised(error)}, expected ApiError 404")
            return
        self.problems.add(where, "answered a record, expected ApiError 404")

    def check_wrong_key(self) -> None:
        where = "hris.employees.list with a wrong API key"
        client = self.client(self.inner, api_key=self.api_key + "-wrong")
        try:
            client.hris.employees.list(page_size=1)
        except ApiError as error:
            if error.status_code != 401:
                self.problems.add(where, f"ApiError status {error.status_code}, expected 401")
            return
        except ParsingError as error:
            self.problems.add(where, f"{_raised(error)}, expected ApiError 401")
            return
        self.problems.add(where, "answered employees, expected ApiError 401")


def sdk_base_url(url: str) -> str:
    """The SDK's base URL (…/api) for the emulator's (…/api/hris/v1); only local hosts."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOCAL_HOSTS:
        raise SystemExit(f"--base-url {url}: only http(s) on {', '.join(LOCAL_HOSTS)} is allowed")
    path = parts.path.rstrip("/")
    category = _sdk_category_path()
    if path.endswith(category):
        path = path[: -len(category)]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _sdk_category_path() -> str:
    """What the SDK puts between its base URL and the resource: `/hris/v1`."""
    probe = _Probe()
    request = probe.send(probe.client.hris.employees.list, {})
    environment = urllib.parse.urlsplit(MergeEnvironment.PRODUCTION.value).path
    return request.url.path[len(environment) :].rsplit("/", 1)[0]


def check_sdk_version(problems: Problems) -> None:
    installed = importlib.metadata.version(SDK_DISTRIBUTION)
    if installed != SDK_VERSION:
        problems.add(
            "SDK",
            f"{SDK_DISTRIBUTION} {installed} is installed; this suite judges with {SDK_VERSION}",
        )


# ---------------------------------------------------------------------------------------------
# self-test
# ---------------------------------------------------------------------------------------------

_PREFIX = "/api/hris/v1"
_EXPAND_QUERY = "expand=employments%2Cteam%2Cwork_location"


def _entry(method: str, path: str, query: str = "", body=None) -> dict:
    return {
        "method": method,
        "path": path,
        "query": query,
        "body": body,
        "status": 200,
        "items": [],
    }


_LIST = f"{_PREFIX}/employees"
_ONE = f"{_PREFIX}/employees/1001"
_PAGE_QUERY = f"page_size={CONNECTOR_PAGE_SIZE}&{_EXPAND_QUERY}&include_deleted_data=false"

# One request of every shape src/connectors/source/merge.rs sends (reqwest percent-encodes the
# commas of `expand`): the credential check, the first and a later page of the listing, the
# reference employee.
GOOD_LOG = {
    "requests": [
        _entry("GET", _LIST, "page_size=1"),
        _entry("GET", _LIST, _PAGE_QUERY),
        _entry("GET", _LIST, f"{_PAGE_QUERY}&cursor=MTAwfGV4cGFuZD1lbXBsb3ltZW50cw"),
        _entry("GET", _ONE, _EXPAND_QUERY),
    ]
}

# (a request, what the one problem line reported for it must contain).
_UNKNOWN_PATH = "no function of the SDK's HRIS client requests this path"
_NOT_ISO = "is not an ISO-8601 date-time"
BAD_REQUESTS = [
    (_entry("GET", _LIST, "expnd=team"), f"GET {_LIST}: unknown query parameter 'expnd'"),
    (_entry("GET", _LIST, "expand=employments%2Cjob_title"), "expand='job_title' is not one of"),
    (_entry("GET", _LIST, "expand=team+work_location"), "expand='team work_location' is not"),
    (_entry("GET", _LIST, "page_size=ten"), "page_size='ten' is not an integer"),
    (_entry("GET", _LIST, "page_size"), "page_size='' is not an integer"),
    (_entry("GET", _LIST, "page_size=500"), "page_size=500 is above the SDK's documented maximum"),
    (_entry("GET", _LIST, "page_size=1&page_size=2"), "query parameter 'page_size' given 2 times"),
    (_entry("GET", _LIST, "include_deleted_data=no"), "include_deleted_data='no' is not a boolean"),
    (_entry("GET", _LIST, "modified_after=01%2F02%2F2026"), f"'01/02/2026' {_NOT_ISO}"),
    (_entry("GET", _LIST, "modified_after=2026-01-02"), f"modified_after='2026-01-02' {_NOT_ISO}"),
    (_entry("GET", _LIST, "employment_status=LEAVE"), "employment_status='LEAVE' is not one of"),
    (_entry("GET", _LIST, body={"page_size": 1}), "a body, but hris.employees.list sends none"),
    (_entry("GET", _ONE, "page_size=1"), f"GET {_ONE}: unknown query parameter 'page_size'"),
    (_entry("GET", _ONE, "expand=team,pay_group,department"), "expand='department' is not one of"),
    (_entry("DELETE", _ONE), f"DELETE {_ONE}: the SDK requests this path only with GET"),
    (_entry("POST", _LIST), "no body, but hris.employees.create sends one"),
    (_entry("GET", f"{_PREFIX}/people"), f"GET {_PREFIX}/people: {_UNKNOWN_PATH}"),
    (_entry("GET", f"{_LIST}/"), f"GET {_LIST}/: {_UNKNOWN_PATH}"),
    (_entry("GET", "/hris/v1/employees"), f"GET /hris/v1/employees: {_UNKNOWN_PATH}"),
    (
        {**_entry("GET", _LIST), "items": [_entry("GET", _ONE)]},
        "batch items, but Merge's API has no batch requests",
    ),
]


class _FakeMerge:
    """A small in-memory Merge answering the SDK as Merge documents it (no deleted records
    unless asked for, expanded relations as objects), for proving the `sdk` checks; `faults`
    names the ways it departs from that (see FAKE_FAULTS)."""

    KEY, ACCOUNT = "key", "account"

    def __init__(self, count: int, faults=()):
        self.faults = set(faults)
        self.records = []
        for number in range(count):
            identifier = str(1001 + number)
            self.records.append(
                {
                    "id": identifier,
                    "first_name": "Ada",
                    "last_name": f"Test{number}",
                    "employment_status": ["ACTIVE", "PENDING", "INACTIVE"][number % 3],
                    "hire_date": "2020-01-01T00:00:00Z",
                    "manager": None if number == 0 else "1001",
                    "team": {"id": f"team-{number % 2}", "name": ["Sales", "People"][number % 2]},
                    "work_location": {"id": "location-1", "name": "Stockholm"},
                    "employments": [{"id": f"employment-{identifier}", "job_title": "Engineer"}],
                    "remote_was_deleted": False,
                }
            )
        if "deleted-record-served" in self.faults:
            self.records.append({"id": "gone", "last_name": "Gone", "remote_was_deleted": True})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if "any-key" not in self.faults and (
            request.headers.get("authorization") != f"Bearer {self.KEY}"
            or request.headers.get("x-account-token") != self.ACCOUNT
        ):
            return httpx.Response(401, json={"detail": "Invalid token."})
        expand = set(filter(None, request.url.params.get("expand", "").split(",")))
        path = request.url.path.removeprefix(_PREFIX)
        if path.startswith("/employees/"):
            found = [r for r in self.records if r["id"] == path.removeprefix("/employees/")]
            if "unknown-id-found" in self.faults:
                found = found or self.records[:1]
            if not found:
                return httpx.Response(404, json={"detail": "Not found."})
            return httpx.Response(200, json=self._shape(found[0], expand))
        size = int(request.url.params.get("page_size", "100"))
        offset = int(request.url.params.get("cursor", "0"))
        end = offset + size
        return httpx.Response(
            200,
            json={
                "next": str(end) if end < len(self.records) else None,
                "previous": str(max(offset - size, 0)) if offset else None,
                "results": [self._shape(r, expand) for r in self.records[offset:end]],
            },
        )

    @staticmethod
    def _shape(record: dict, expand: set) -> dict:
        shaped = copy.deepcopy(record)
        for relation in ("team", "work_location"):
            if relation not in expand and isinstance(record.get(relation), dict):
                shaped[relation] = record[relation]["id"]
        if "employments" not in expand and "employments" in record:
            shaped["employments"] = [e["id"] for e in record["employments"]]
        return shaped


# Faults of the in-memory Merge, and what a line of the failing suite must then contain.
FAKE_FAULTS = {
    "deleted-record-served": "deleted record(s) (gone) with include_deleted_data=false",
    "any-key": "wrong API key: answered employees, expected ApiError 401",
    "unknown-id-found": "retrieve('no-such-employee'): answered a record, expected ApiError 404",
}


def self_test() -> Problems:
    problems = Problems()
    check_sdk_version(problems)
    endpoints, underived = _derive_endpoints()
    for name in underived:
        problems.add("self-test", f"{name}: probing it sent no request; its requests are unknown")
    for line in judge_log(GOOD_LOG, endpoints):
        problems.add("self-test good log", f"reported {line!r}")
    for entry, expected in BAD_REQUESTS:
        lines = judge_log({"requests": [entry]}, endpoints)
        if len(lines) != 1 or expected not in lines[0]:
            problems.add("self-test bad log", f"expected one line with {expected!r}, got {lines}")
    for log, expected in [
        ({"request": []}, 'log: not a JSON object with a "requests" list'),
        ({"requests": [{"method": "GET"}]}, "request #1: missing or mistyped path, query, items"),
    ]:
        lines = judge_log(log, endpoints)
        if lines != [expected]:
            problems.add("self-test bad log", f"{log}: expected [{expected!r}], got {lines}")
    for model, fields in CONNECTOR_FIELDS.items():
        known = getattr(merge.resources.hris.types, model).model_fields
        for field in fields:
            if field not in known:
                problems.add("connector", f"reads {model}.{field}, which the SDK's model lacks")
    _self_test_sdk_suite(problems)
    return problems


def _self_test_sdk_suite(problems: Problems) -> None:
    def suite(faults=()):
        return SdkSuite(
            sdk_base_url("http://127.0.0.1:9/api/hris/v1"),
            _FakeMerge.KEY,
            _FakeMerge.ACCOUNT,
            expected=12,
            page_size=5,
            expand=CONNECTOR_EXPAND,
            inner=httpx.MockTransport(_FakeMerge(12, faults)),
        )

    for line in suite().run():
        problems.add("self-test sdk suite", f"the in-memory Merge was reported: {line!r}")
    for fault, named in FAKE_FAULTS.items():
        lines = suite([fault]).run()
        if not any(named in line for line in lines):
            problems.add("self-test sdk suite", f"fault {fault}: no line has {named!r}: {lines}")
    for kind, mutation in MUTATIONS.items():
        lines = suite().run(mutation)
        if not any(mutation.named in line for line in lines):
            message = f"--mutate {kind}: no line has {mutation.named!r}: {lines}"
            problems.add("self-test sdk suite", message)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


# Lines that differ only in a page, an index, a record id or a quoted value are one problem
# seen many times; past a few, the rest are counted rather than printed.
_SAME_PROBLEM = re.compile(r"page \d+|\[\d+\]|\(id [^)]*\)|\d+|'[^']*'|\"[^\"]*\"")
_SHOWN_PER_PROBLEM = 3


def _condensed(problems: Problems) -> list:
    groups = collections.defaultdict(list)
    for line in problems:
        groups[_SAME_PROBLEM.sub("#", line)].append(line)
    lines = []
    for similar in groups.values():
        lines += similar[:_SHOWN_PER_PROBLEM]
        hidden = len(similar) - _SHOWN_PER_PROBLEM
        if hidden > 1:
            lines.append(f"{similar[-1]} (and {hidden - 1} more like it)")
        elif hidden == 1:
            lines.append(similar[-1])
    return lines


def _finish(problems: Problems, success: str) -> int:
    if problems:
        for line in _condensed(problems):
            print(line, file=sys.stderr)
        return 1
    print(success)
    return 0


def serve(check) -> int:
    """`serve`: the `requests` check for many logs at the cost of one start (the SDK's imports
    take seconds). Reads one log file path per line on stdin and answers each with one JSON line
    on stdout, `{"problems": [...]}`; ends when stdin closes."""
    for line in sys.stdin:
        path = line.strip()
        if path:
            print(json.dumps({"problems": list(check(path))}), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sdk = commands.add_parser("sdk", help="judge a running Merge emulator through the SDK")
    sdk.add_argument("--base-url", required=True, help="the emulator's base URL (127.0.0.1)")
    sdk.add_argument("--api-key", required=True, help="sent as Authorization: Bearer")
    sdk.add_argument("--account-token", required=True, help="sent as X-Account-Token")
    sdk.add_argument(
        "--employees", type=int, default=250, help="how many the emulator serves (250)"
    )
    sdk.add_argument(
        "--page-size", type=int, default=40, help="records a page (40: several pages)"
    )
    sdk.add_argument(
        "--expand",
        default=",".join(CONNECTOR_EXPAND),
        help="relations to expand (default: what the connector asks for)",
    )
    sdk.add_argument(
        "--mutate",
        nargs="?",
        const="next-cursor-repeated",
        choices=list(MUTATIONS),
        help="alter the second page's answer the way a broken emulator could (without KIND: "
        "next-cursor-repeated); the suite must fail",
    )
    log = commands.add_parser("requests", help="check a request log against the SDK")
    log.add_argument("log", help="the emulator's request log (JSON)")
    commands.add_parser("self-test", help="prove the checks on built-in good and bad input")
    commands.add_parser("serve", help="check the log file named on each line of stdin")
    args = parser.parse_args()

    if args.command == "serve":
        endpoints = sdk_endpoints()

        def check(path):
            problems = Problems()
            check_sdk_version(problems)
            with open(path, encoding="utf-8") as file:
                problems += judge_log(json.load(file), endpoints)
            return _condensed(problems)

        return serve(check)

    if args.command == "self-test":
        return _finish(self_test(), "self-test: every check passed")
    if args.command == "requests":
        problems = Problems()
        check_sdk_version(problems)
        try:
            with open(args.log, encoding="utf-8") as file:
                data = json.load(file)
        except (OSError, ValueError) as error:
            problems.add(args.log, f"unreadable: {error}")
            return _finish(problems, "")
        problems += judge_log(data, sdk_endpoints())
        count = len(data.get("requests", [])) if isinstance(data, dict) else 0
        return _finish(problems, f"{count} requests, each one the SDK builds")
    expand = tuple(filter(None, args.expand.split(",")))
    unknown = [e for e in expand if e not in EXPANDABLE]
    if unknown:
        parser.error(f"--expand takes {', '.join(EXPANDABLE)}, not {', '.join(unknown)}")
    if args.page_size < (2 if args.mutate else 1) or args.employees < 0:
        parser.error("--page-size must be at least 1 (2 with --mutate), --employees at least 0")
    problems = Problems()
    check_sdk_version(problems)
    suite = SdkSuite(
        sdk_base_url(args.base_url),
        args.api_key,
        args.account_token,
        args.employees,
        args.page_size,
        expand,
    )
    problems += suite.run(MUTATIONS[args.mutate] if args.mutate else None)
    return _finish(
        problems, f"{suite.pages} pages, {args.employees} employees: the SDK accepted every answer"
    )


if __name__ == "__main__":
    sys.exit(main())
