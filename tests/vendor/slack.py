#!/usr/bin/env python3
"""Slack judged by Slack's official Python SDK, slack_sdk 3.48.0.

Five commands, every judgement made with the SDK's own code, never with a schema of ours:

``blocks FILE...``
    Judges the Slack messages of our notifications against the SDK's Block Kit models
    (module ``slack_sdk.models.blocks``), which check each block against Slack's documented
    limits. Each FILE holds the JSON body an incoming webhook received. Its ``blocks`` must
    parse into the SDK's block classes (a type the SDK does not know parses to nothing, which
    is a problem), each block must pass the SDK's own validation (``validate_json``: required
    fields, at most 10 fields of a section, texts within 3,000 characters, element counts), and
    parse back to the JSON that was sent, with nothing the SDK dropped; the ``text`` fallback
    must be a non-empty string.

``sdk``
    Runs the SDK's ``WebClient(base_url=…)`` against a Web API endpoint (our emulator,
    ``hris-emulators slack --port 0``), reading what the ``slack`` source reads: ``users_list``
    and ``conversations_members`` paged by the SDK's own cursor pagination (iterating a
    ``SlackResponse`` follows ``response_metadata.next_cursor`` until it is empty), and
    ``users_info``; with the SDK's ``RateLimitErrorRetryHandler`` riding out a 429 and its
    ``Retry-After``. Every page must be ``ok`` with its list and a string ``next_cursor``, the
    pages must hold exactly the members (and channel members) expected, each once, and each
    member must have the documented types (``id`` a member id, ``deleted`` and the ``is_*``
    flags booleans, ``profile`` an object). Refusals must reach the SDK as ``SlackApiError``
    with Slack's codes: ``invalid_auth`` for a wrong token, ``missing_scope`` with ``needed``
    and ``provided`` for a token without a scope, ``channel_not_found``, ``user_not_found``,
    ``invalid_limit``. ``--mutate next-cursor-dropped`` drops ``response_metadata`` from the
    first ``users.list`` answer; the run must then fail.

``requests LOG.json [LOG.json ...]``
    Checks a request log (what a client sent, as the emulators record it) against the SDK's
    ``WebClient``: the path must be ``/api/<method>`` of a method the client has (``users.list``
    is ``WebClient.users_list``); the HTTP method the one the SDK method declares (or POST,
    which the SDK's transport sends every call with); every argument (query, and a form body)
    one the SDK method takes, with a value of its annotated type (an ``int`` as digits, a
    ``bool`` as ``true``/``false``/``1``/``0``), and every argument it requires present; the
    token never in the query or body (the SDK sends it in the ``Authorization`` header). Which
    HTTP method a method declares, and that its name is the logged one, is learnt by calling
    the SDK method itself with its ``api_call`` captured.

``self-test``
    Runs the request checker on built-in logs: one holding every request the ``slack`` source
    sends (which must pass), and bad ones that each must be reported.

``serve``
    ``requests`` for many logs at the cost of one start: reads a log path per line on stdin
    and answers each with one JSON line ``{"problems": [...]}``.

Run with a Python that has slack_sdk 3.48.0 installed, for example::

    hris-emulators slack --port 0      # prints the apiUrl and the bot token
    python tests/vendor/slack.py sdk --api-url http://127.0.0.1:PORT/api \\
        --token xoxb-emulator-bot-token --members 31 --channel C0ENGINEER1 --channel-members 15
    python tests/vendor/slack.py requests requests.json
    python tests/vendor/slack.py self-test

Exit status 0 when every check passes; 1 with one line per problem on stderr. Only loopback
addresses are contacted.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import typing
from typing import Any, Optional
from urllib.parse import parse_qsl, urlsplit

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
MEMBER_ID = re.compile(r"^[UW][A-Z0-9]+$")
FLAGS = (
    "deleted",
    "is_admin",
    "is_owner",
    "is_primary_owner",
    "is_restricted",
    "is_ultra_restricted",
    "is_bot",
    "is_app_user",
    "is_workflow_bot",
    "is_email_confirmed",
)


# ----------------------------------------------------------------------------------------------
# blocks: the notifications' Block Kit messages.


def block_problems(name, payload):
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    problems = []
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append(f"{name}: text: the plain-text fallback is missing or empty")
    blocks = payload.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return problems + [f"{name}: blocks: missing or empty"]
    if len(blocks) > 50:
        problems.append(f"{name}: blocks: {len(blocks)} blocks, Slack takes at most 50")
    for index, sent in enumerate(blocks):
        where = f"{name}: blocks[{index}] ({sent.get('type')})"
        block = Block.parse(sent)
        if block is None:
            problems.append(f"{where}: a block type slack_sdk does not know")
            continue
        try:
            block.validate_json()
        except SlackObjectFormationError as error:
            problems.append(f"{where}: {error}")
            continue
        if block.to_dict() != sent:
            problems.append(
                f"{where}: slack_sdk reads it as {json.dumps(block.to_dict(), sort_keys=True)}"
            )
    return problems


def run_blocks(files):
    problems = []
    for name in files:
        with open(name, encoding="utf-8") as file:
            problems += block_problems(name, json.load(file))
    return problems


# ----------------------------------------------------------------------------------------------
# sdk: the SDK's WebClient against an endpoint.


def loopback_only(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise SystemExit(f"refusing to contact {host}: only loopback addresses are judged")


def judged_client(api_url: str, token: str, mutate: Optional[str], answers: list):
    """A WebClient whose every answer is recorded in ``answers`` (method, status, headers,
    body) and, with ``mutate``, altered once as a broken endpoint could."""
    from urllib.error import HTTPError

    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    class JudgedClient(WebClient):
        mutated = None

        def _perform_urllib_http_request_internal(self, url, req):
            method = urlsplit(url).path.rsplit("/", 1)[-1]
            try:
                response = super()._perform_urllib_http_request_internal(url, req)
            except HTTPError as error:
                answers.append((method, error.code, dict(error.headers.items())))
                raise
            body = response.get("body")
            if (
                mutate == "next-cursor-dropped"
                and JudgedClient.mutated is None
                and method == "users.list"
                and isinstance(body, str)
            ):
                document = json.loads(body)
                if document.pop("response_metadata", None) is not None:
                    response["body"] = json.dumps(document)
                    JudgedClient.mutated = "users.list: response_metadata dropped"
            answers.append((method, response.get("status"), dict(response.get("headers", {}))))
            return response

    client = JudgedClient(token=token, base_url=api_url.rstrip("/") + "/", timeout=30)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def member_problems(where: str, member: Any) -> list[str]:
    if not isinstance(member, dict):
        return [f"{where}: a member is {type(member).__name__}, not an object"]
    problems = []
    if not isinstance(member.get("id"), str) or not MEMBER_ID.match(member["id"]):
        problems.append(f"{where}: id {member.get('id')!r} is not a member id")
    who = f"{where} {member.get('id')}"
    for flag in FLAGS:
        if flag in member and not isinstance(member[flag], bool):
            problems.append(f"{who}: {flag} is {type(member[flag]).__name__}, not a boolean")
    if "deleted" not in member:
        problems.append(f"{who}: no deleted")
    profile = member.get("profile")
    if not isinstance(profile, dict):
        problems.append(f"{who}: profile is {type(profile).__name__}, not an object")
    else:
        for key in ("first_name", "last_name", "real_name", "email", "title"):
            if key in profile and not isinstance(profile[key], str):
                problems.append(f"{who}: profile.{key} is not a string")
    for key in ("name", "real_name", "locale", "tz"):
        if key in member and not isinstance(member[key], str):
            problems.append(f"{who}: {key} is not a string")
    return problems


def paged(where: str, pages, key: str, problems: list[str]) -> list:
    """Every entry of ``key`` over the pages the SDK's pagination reads."""
    entries = []
    count = 0
    for page in pages:
        count += 1
        data = page.data
        if data.get("ok") is not True:
            problems.append(f"{where}: page {count} is not ok")
        if not isinstance(data.get(key), list):
            problems.append(f"{where}: page {count}: {key} is not a list")
            continue
        cursor = (data.get("response_metadata") or {}).get("next_cursor")
        if not isinstance(cursor, str):
            problems.append(f"{where}: page {count}: response_metadata.next_cursor is missing")
        entries.extend(data[key])
        if count > 10_000:
            problems.append(f"{where}: more than 10,000 pages: the pagination does not end")
            break
    return entries


def expect_error(problems: list[str], where: str, call, error: str, **fields) -> None:
    from slack_sdk.errors import SlackApiError

    try:
        call()
    except SlackApiError as raised:
        got = raised.response.get("error")
        if got != error:
            problems.append(f"{where}: SlackApiError {got!r}, expected {error!r}")
        if raised.response.status_code != 200:
            problems.append(f"{where}: HTTP {raised.response.status_code}; Slack answers 200")
        for name, check in fields.items():
            if not check(raised.response.get(name)):
                problems.append(f"{where}: {name} is {raised.response.get(name)!r}")
        return
    problems.append(f"{where}: no SlackApiError, expected {error!r}")


def run_sdk(args) -> list[str]:
    loopback_only(args.api_url)
    problems: list[str] = []
    answers: list = []
    client = judged_client(args.api_url, args.token, args.mutate, answers)
    limit = args.page_size

    members = paged(
        "users.list",
        client.users_list(limit=limit, include_locale=True),
        "members",
        problems,
    )
    ids = [m.get("id") for m in members if isinstance(m, dict)]
    if len(members) != args.members:
        problems.append(
            f"users.list: {len(members)} members read through the SDK's pagination "
            f"(response_metadata.next_cursor), {args.members} expected"
        )
    if len(set(ids)) != len(ids):
        problems.append("users.list: a member is listed twice")
    for member in members:
        problems += member_problems("users.list", member)
    if not any(isinstance(m, dict) and "locale" in m for m in members):
        problems.append("users.list: include_locale=1 shows no member's locale")

    if args.channel:
        channel_members = paged(
            "conversations.members",
            client.conversations_members(channel=args.channel, limit=limit),
            "members",
            problems,
        )
        if len(channel_members) != args.channel_members:
            problems.append(
                f"conversations.members: {len(channel_members)} ids read through the SDK's "
                f"pagination, {args.channel_members} expected"
            )
        if len(set(channel_members)) != len(channel_members):
            problems.append("conversations.members: an id is listed twice")
        strangers = [i for i in channel_members if i not in ids]
        if strangers:
            problems.append(f"conversations.members: ids users.list does not have: {strangers}")

    if members:
        first = members[-1]
        info = client.users_info(user=first["id"], include_locale=True)
        if info.data.get("user") != first:
            problems.append(f"users.info {first['id']}: the user differs from users.list's")

    expect_error(problems, "users.info of nobody",
                 lambda: client.users_info(user="U0NOBODY00"), "user_not_found")
    expect_error(problems, "conversations.members of no channel",
                 lambda: client.conversations_members(channel="C0NOSUCH00"), "channel_not_found")
    if args.channel:
        expect_error(problems, "conversations.members limit=1000",
                     lambda: client.conversations_members(channel=args.channel, limit=1000),
                     "invalid_limit")
    wrong = judged_client(args.api_url, args.token + "-wrong", None, [])
    expect_error(problems, "users.list with a wrong token",
                 lambda: wrong.users_list(limit=1), "invalid_auth")
    if args.limited_token:
        limited = judged_client(args.api_url, args.limited_token, None, [])
        expect_error(
            problems, "users.list without users:read",
            lambda: limited.users_list(limit=1), "missing_scope",
            needed=lambda v: v == "users:read",
            provided=lambda v: isinstance(v, str) and "users:read," not in f"{v},",
        )

    throttled = [a for a in answers if a[1] == 429]
    if args.expect_throttled and not throttled:
        problems.append("no answer was 429: the rate limit was not met")
    for method, _, headers in throttled:
        retry_after = {k.lower(): v for k, v in headers.items()}.get("retry-after")
        if retry_after is None or not str(retry_after).isdigit():
            problems.append(f"{method}: a 429 without a Retry-After in seconds")
    if args.mutate and type(client).mutated is None:
        problems.append(f"--mutate {args.mutate}: no answer was altered")
    return problems


# ----------------------------------------------------------------------------------------------
# requests: a request log against the SDK's WebClient.


class Capture(Exception):
    def __init__(self, api_method, http_verb, params):
        super().__init__(api_method)
        self.api_method = api_method
        self.http_verb = http_verb
        self.params = params


def probe_client():
    from slack_sdk import WebClient

    class Probe(WebClient):
        def api_call(self, api_method, *, http_verb="POST", params=None, data=None, json=None,
                     **_):
            merged = dict(params or {})
            merged.update(data or {})
            merged.update(json or {})
            raise Capture(api_method, http_verb, merged)

    return Probe(token="xoxb-probe")


def sample(annotation) -> Any:
    """A value of an annotated type, to call an SDK method with."""
    kinds = annotation_kinds(annotation)
    if "str" in kinds:
        return "X0PROBE"
    if "int" in kinds:
        return 1
    if "bool" in kinds:
        return True
    return "X0PROBE"


def annotation_kinds(annotation) -> set[str]:
    """The scalar kinds an annotation allows: ``str``, ``int``, ``bool``, ``float``, ``list``."""
    if isinstance(annotation, str):
        text = annotation
        kinds = set()
        for name in ("str", "int", "bool", "float"):
            if re.search(rf"\b{name}\b", text):
                kinds.add(name)
        if re.search(r"\b(Sequence|List|list)\b", text):
            kinds.add("list")
        return kinds or {"str"}
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        kinds = set()
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                kinds |= annotation_kinds(arg)
        return kinds
    if annotation in (str, int, bool, float):
        return {annotation.__name__}
    if origin in (list, tuple) or str(origin).endswith("Sequence"):
        return {"list"}
    return {"str"}


class SdkMethod:
    """What the SDK's WebClient method of a Web API method takes and declares."""

    def __init__(self, name: str, function) -> None:
        self.name = name
        signature = inspect.signature(function)
        self.parameters = {}
        self.required = set()
        for parameter in signature.parameters.values():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD or parameter.name == "self":
                continue
            self.parameters[parameter.name] = annotation_kinds(parameter.annotation)
            if parameter.default is inspect.Parameter.empty:
                self.required.add(parameter.name)
        arguments = {name: sample(self.parameters_annotation(function, name))
                     for name in self.required}
        try:
            function(probe_client(), **arguments)
            raise SystemExit(f"WebClient.{function.__name__} made no api_call")
        except Capture as captured:
            self.api_method = captured.api_method
            self.http_verb = captured.http_verb

    @staticmethod
    def parameters_annotation(function, name):
        return inspect.signature(function).parameters[name].annotation


_METHODS: dict[str, Optional[SdkMethod]] = {}


def sdk_method(api_method: str) -> Optional[SdkMethod]:
    """The SDK's method for a Web API method (``users.list`` → ``users_list``), or None."""
    if api_method not in _METHODS:
        from slack_sdk import WebClient

        function = getattr(WebClient, api_method.replace(".", "_"), None)
        found = None
        if callable(function) and re.fullmatch(r"[a-zA-Z]+(\.[a-zA-Z]+)+", api_method):
            method = SdkMethod(api_method, function)
            if method.api_method == api_method:
                found = method
        _METHODS[api_method] = found
    return _METHODS[api_method]


def value_problem(kinds: set[str], value: str) -> Optional[str]:
    if "str" in kinds or "list" in kinds:
        return None if value != "" else "is empty"
    if "int" in kinds:
        return None if re.fullmatch(r"-?\d+", value) else f"{value!r} is not an integer"
    if "bool" in kinds:
        return None if value in ("true", "false", "1", "0") else f"{value!r} is not a boolean"
    if "float" in kinds:
        try:
            float(value)
            return None
        except ValueError:
            return f"{value!r} is not a number"
    return None


def request_problems(entry: dict) -> list[str]:
    method = entry.get("method", "")
    path = entry.get("path", "")
    where = f"{method} {path}"
    if not path.startswith("/api/"):
        return [f"{where}: not a Web API method (/api/<method>)"]
    api_method = path[len("/api/"):]
    sdk = sdk_method(api_method)
    if sdk is None:
        return [f"{where}: slack_sdk's WebClient has no method {api_method}"]
    problems = []
    if method not in (sdk.http_verb, "POST"):
        problems.append(
            f"{where}: WebClient.{api_method.replace('.', '_')} declares {sdk.http_verb} "
            f"(and the SDK's transport sends POST), not {method}"
        )
    arguments = parse_qsl(entry.get("query") or "", keep_blank_values=True)
    body = entry.get("body")
    if isinstance(body, str):
        arguments += parse_qsl(body, keep_blank_values=True)
    elif isinstance(body, dict):
        arguments += [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in body.items()]
    elif body is not None:
        problems.append(f"{where}: a body that is no form and no object")
    seen = set()
    for name, value in arguments:
        if name == "token":
            problems.append(
                f"{where}: the token travels as an argument; the SDK sends it in the "
                f"Authorization header"
            )
            continue
        if name in seen:
            problems.append(f"{where}: {name} given twice")
        seen.add(name)
        if name not in sdk.parameters:
            problems.append(
                f"{where}: WebClient.{api_method.replace('.', '_')} takes no argument "
                f"{name!r} (it takes {', '.join(sorted(sdk.parameters))})"
            )
            continue
        problem = value_problem(sdk.parameters[name], value)
        if problem:
            problems.append(f"{where}: {name} {problem}")
    for name in sorted(sdk.required - seen):
        problems.append(f"{where}: the required argument {name!r} is missing")
    return problems


def check_logs(paths: list[str]) -> list[str]:
    problems = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            log = json.load(file)
        for entry in log.get("requests", []):
            problems += request_problems(entry)
    return problems


# ----------------------------------------------------------------------------------------------
# self-test


def request(method: str, path: str, query: str = "", body: Any = None) -> dict:
    return {"method": method, "path": path, "query": query, "body": body, "status": 200,
            "items": []}


def connector_log() -> dict:
    """Every request shape the `slack` source sends."""
    return {"requests": [
        request("GET", "/api/conversations.members", "channel=C0ENGINEER1&limit=200"),
        request("GET", "/api/conversations.members",
                "channel=C0ENGINEER1&limit=200&cursor=dXNlcjpVMDEyMw%3D%3D"),
        request("GET", "/api/users.list", "limit=200&include_locale=true"),
        request("GET", "/api/users.list",
                "limit=200&include_locale=true&cursor=dXNlcjpVMDEyMw%3D%3D"),
        request("GET", "/api/users.list", "limit=1&include_locale=true"),
        request("GET", "/api/users.info", "user=U0123ABCD&include_locale=true"),
        # What the SDK itself sends: POST, the arguments form-encoded.
        request("POST", "/api/users.list", "", "limit=200&include_locale=1"),
    ]}


def bad_logs() -> list[tuple[str, dict, str]]:
    """(what, log, a word the problem must hold)."""
    one = lambda *args: {"requests": [request(*args)]}  # noqa: E731
    return [
        ("unknown method", one("GET", "/api/users.lst", "limit=1"), "users.lst"),
        ("not the Web API", one("GET", "/users.list", "limit=1"), "/api/"),
        ("unknown argument", one("GET", "/api/users.list", "limt=200"), "limt"),
        ("limit not an integer", one("GET", "/api/users.list", "limit=lots"), "limit"),
        ("boolean not a boolean", one("GET", "/api/users.list", "include_locale=yes"),
         "include_locale"),
        ("token in the query", one("GET", "/api/users.list", "token=xoxb-1&limit=1"),
         "Authorization"),
        ("required argument missing", one("GET", "/api/conversations.members", "limit=200"),
         "channel"),
        ("wrong HTTP method", one("DELETE", "/api/users.list", "limit=1"), "declares GET"),
        ("argument twice", one("GET", "/api/users.list", "limit=1&limit=2"), "twice"),
    ]


def run_self_test() -> list[str]:
    problems = [f"the connector's log: {p}" for p in check_log_document(connector_log())]
    for what, log, word in bad_logs():
        found = check_log_document(log)
        if not any(word in p for p in found):
            problems.append(f"self-test `{what}`: not reported with {word!r}: {found}")
    return problems


def check_log_document(log: dict) -> list[str]:
    problems = []
    for entry in log.get("requests", []):
        problems += request_problems(entry)
    return problems


def serve(check) -> int:
    """`serve`: the `requests` check for many logs at the cost of one start. Reads one log
    file path per line on stdin and answers each with one JSON line on stdout,
    `{"problems": [...]}`; ends when stdin closes."""
    for line in sys.stdin:
        path = line.strip()
        if path:
            print(json.dumps({"problems": list(check(path))}), flush=True)
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="slack.py",
        description="Slack judged by its official Python SDK (slack_sdk).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    blocks = commands.add_parser("blocks", help="judge Slack messages' Block Kit blocks")
    blocks.add_argument("files", nargs="+", help="JSON bodies of Slack webhook messages")
    sdk = commands.add_parser("sdk", help="run the SDK's WebClient against a Web API endpoint")
    sdk.add_argument("--api-url", required=True, help="e.g. http://127.0.0.1:PORT/api")
    sdk.add_argument("--token", required=True, help="a bot token with users:read, "
                     "users:read.email, channels:read and groups:read")
    sdk.add_argument("--limited-token", help="a bot token without users:read")
    sdk.add_argument("--members", type=int, required=True,
                     help="how many members users.list must list")
    sdk.add_argument("--channel", help="a channel whose members conversations.members lists")
    sdk.add_argument("--channel-members", type=int, default=0,
                     help="how many members the channel must have")
    sdk.add_argument("--page-size", type=int, default=7, help="the limit of each page")
    sdk.add_argument("--expect-throttled", action="store_true",
                     help="the endpoint answers at least one request 429")
    sdk.add_argument("--mutate", choices=("next-cursor-dropped",),
                     help="drop response_metadata from the first users.list answer; the run "
                          "must then fail")
    requests = commands.add_parser("requests", help="check request logs against the SDK")
    requests.add_argument("logs", nargs="+", metavar="LOG.json")
    commands.add_parser("self-test", help="check the request checker on built-in logs")
    commands.add_parser("serve", help="check the log file named on each line of stdin")
    args = parser.parse_args(argv)

    if args.command == "serve":
        return serve(lambda path: check_logs([path]))
    if args.command == "blocks":
        problems = run_blocks(args.files)
    elif args.command == "sdk":
        problems = run_sdk(args)
    elif args.command == "requests":
        problems = check_logs(args.logs)
    else:
        problems = run_self_test()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
