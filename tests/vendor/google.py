"""Google's own artifacts judge the Google Workspace emulator and the Google Workspace connector.

The judge is google-api-python-client: its Admin SDK Directory API client and the discovery
document it bundles (googleapiclient/discovery_cache/documents/admin.directory_v1.json, read
offline through ``static_discovery=True``), with google-auth signing the service account's
JWT assertions. Nothing here is contacted but 127.0.0.1.

Subcommands:

``sdk --api-url URL --token-uri URL --key-file FILE --admin-email E [--group G] [--mutate [KIND]]``
    Runs Google's client against an emulator started with
    ``hris-emulators google --port 0 --service-account-key FILE``. ``--api-url`` is the
    Directory API base as the connector's ``apiUrl`` takes it (``http://HOST:PORT/admin/
    directory/v1``) or the API root (``http://HOST:PORT/``); ``--token-uri`` is the emulator's
    token endpoint. google-auth trades the key's signed assertion (subject: the admin) for an
    access token at the emulator (an assertion for another subject must be refused with
    ``unauthorized_client``; when the emulator refuses the audience google-auth signs, that is
    reported and the suite goes on signing the token URI as audience), then the suite inserts three users carrying every field the
    connector sends, refuses a duplicate, lists them with ``customer=my_customer``,
    ``projection=full`` and small pages followed with ``list_next``, gets one by id and one by
    primary email, reads them the way the source does (``query=orgUnitPath='/'`` paged; an
    organizational unit the account lacks: a 400 ``HttpError`` with reason ``invalid``; with
    ``--group``, a group whose one member is the customer, its members with
    ``includeDerivedMembership`` paged with ``list_next``: the customer entry and every user;
    a group the account lacks: 404 ``notFound``), updates (PUT) one the way the target does,
    patches (PATCH) another, deletes one and reads it again: a 404 ``HttpError`` carrying
    Google's error shape. Every
    answer is checked against the method's response schema of the document, and every value
    read must equal the value written (type included: ``False`` is not ``"false"``).
    ``--mutate`` alters the emulator's answers the way a broken emulator could (KIND:
    ``suspended-string``, the default; ``page-token-renamed``; ``error-shape``) and the suite
    must then fail naming what changed.

``requests LOG.json``
    Checks every request of an emulator's request log (``{"requests": [{"method", "path",
    "query", "body", "status", "items"}]}``) against the discovery document: the method and
    path must be a method's ``httpMethod`` and ``path``/``flatPath`` under the document's
    ``servicePath``; each query parameter must be a parameter of that method or a global one,
    with a value of its type, enum and range; a JSON body must conform to the method's request
    schema (every field known, of the right JSON type and format, none read-only, the fields the
    method requires present). The document types the User's list fields (``organizations``,
    ``relations``, ``externalIds``, ``languages``, ``emails`` ...) ``any``; their entries are
    held to the document's entry schemas (``UserOrganization``, ``UserRelation`` ...). Requests to the OAuth token endpoint are skipped: google-auth
    judges that endpoint in ``sdk``.

``self-test``
    Checks a built-in log holding one request of every shape the connector sends (it must
    pass) and built-in bad requests (each must be reported).

``serve``
    ``requests`` for many logs at the cost of one start: a log path per line on stdin, one JSON
    line ``{"problems": [...]}`` per log on stdout (the tests keep one running).

Every subcommand exits 0 when all is well and 1 with one line per problem on stderr, naming the
request (method and path) or the SDK call, and the field.

Run with the virtualenv that holds google-api-python-client, from the repository root:
    python tests/vendor/google.py self-test
    python tests/vendor/google.py requests /path/to/google-requests.json
    python tests/vendor/google.py sdk --api-url http://127.0.0.1:PORT/admin/directory/v1 \\
        --token-uri http://127.0.0.1:PORT/token \\
        --key-file config/samples/secrets/google/serviceAccountKey.json \\
        --admin-email admin@acme.example
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import datetime
import json
import os
import re
import secrets
import sys
import urllib.parse

# This file shares its name with Google's `google` package (google.auth, google.oauth2): its
# own folder, first on the path when it runs as a script, would hide that package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _HERE]

# The OAuth scopes the connectors ask for: the target's (src/connectors/target/google.rs,
# SCOPE) and the source's for a group scope (src/connectors/source/google.rs, USER_SCOPE and
# GROUP_SCOPE).
SCOPES = [
    "https://www.googleapis.com/auth/admin.directory.user",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
]
API_NAME, API_VERSION = "admin", "directory_v1"
DOCUMENT_FILE = f"googleapiclient/discovery_cache/documents/{API_NAME}.{API_VERSION}.json"

# Paths at which Google serves its OAuth 2.0 token endpoint (oauth2.googleapis.com/token, the
# older www.googleapis.com/oauth2/v4/token and accounts.google.com/o/oauth2/token); the
# emulator serves /token.
TOKEN_PATHS = {"/token", "/oauth2/v4/token", "/o/oauth2/token"}
# The audience google-auth signs into every service-account assertion, whatever the key's
# token_uri (google/oauth2/service_account.py, _GOOGLE_OAUTH2_TOKEN_ENDPOINT).
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"

# The document types these User fields `any` (the API accepts them as lists of entries, or for
# `gender` and `notes` one object), yet describes each entry in a schema of its own that no
# property refers to. The Directory API reference documents each field as that entry schema;
# the checker holds entries to it, so that a misspelt entry field is reported too.
ENTRY_SCHEMAS = {
    "User": {
        "addresses": ("UserAddress", "list"),
        "emails": ("UserEmail", "list"),
        "externalIds": ("UserExternalId", "list"),
        "gender": ("UserGender", "one"),
        "ims": ("UserIm", "list"),
        "keywords": ("UserKeyword", "list"),
        "languages": ("UserLanguage", "list"),
        "locations": ("UserLocation", "list"),
        "notes": ("UserAbout", "one"),
        "organizations": ("UserOrganization", "list"),
        "phones": ("UserPhone", "list"),
        "posixAccounts": ("UserPosixAccount", "list"),
        "relations": ("UserRelation", "list"),
        "sshPublicKeys": ("UserSshPublicKey", "list"),
        "websites": ("UserWebsite", "list"),
    }
}

INT32 = (-(2**31), 2**31 - 1)
UINT32 = (0, 2**32 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT64 = (0, 2**64 - 1)


def load_document() -> dict:
    """The Directory API's discovery document as google-api-python-client bundles it."""
    from googleapiclient.discovery_cache import get_static_doc

    text = get_static_doc(API_NAME, API_VERSION)
    if text is None:
        raise SystemExit(f"google-api-python-client bundles no {DOCUMENT_FILE}")
    document = json.loads(text)
    for owner, fields in ENTRY_SCHEMAS.items():
        for field, (schema, _) in fields.items():
            if document["schemas"][owner]["properties"].get(field, {}).get("type") != "any":
                raise SystemExit(f"{DOCUMENT_FILE}: {owner}.{field} is no longer typed any")
            if schema not in document["schemas"]:
                raise SystemExit(f"{DOCUMENT_FILE}: no schema {schema} for {owner}.{field}")
    return document


# --- The document's methods and routes -------------------------------------------------------


def document_methods(document: dict):
    """Every method of the document (resources nested to any depth)."""

    def walk(resources):
        for resource in resources.values():
            yield from resource.get("methods", {}).values()
            yield from walk(resource.get("resources", {}))

    yield from document.get("methods", {}).values()
    yield from walk(document.get("resources", {}))


class Route:
    """One method's path template as a pattern over request paths."""

    def __init__(self, document: dict, method: dict, template: str):
        self.method = method
        self.template = "/" + document.get("servicePath", "") + template
        self.names: list[str] = []
        pattern, literal = "", 0
        for piece in re.split(r"(\{[^}]*\})", self.template):
            if piece.startswith("{"):
                name = piece[1:-1]
                if name.startswith("+"):
                    self.names.append(name[1:])
                    pattern += "(.+)"
                else:
                    self.names.append(name)
                    pattern += "([^/]+)"
            else:
                pattern += re.escape(piece)
                literal += len(piece)
        self.pattern = re.compile(pattern)
        self.literal = literal

    def match(self, path: str) -> dict | None:
        """The path parameters' values, or None when the path is not this route's.

        A reserved expansion such as `admin/directory/v1/{+name}` matches any path; the
        parameter's `pattern` says which paths are the method's."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        values = {
            name: urllib.parse.unquote(value) for name, value in zip(self.names, found.groups())
        }
        parameters = self.method.get("parameters", {})
        for name, value in values.items():
            pattern = parameters.get(name, {}).get("pattern")
            if pattern and not re.search(pattern, value):
                return None
        return values


def routes(document: dict) -> list[Route]:
    result = []
    for method in document_methods(document):
        templates = {method["path"], method.get("flatPath", method["path"])}
        result.extend(Route(document, method, template) for template in sorted(templates))
    return result


def find_method(document_routes: list[Route], http_method: str, path: str):
    """(method, path parameters) for a request, or (None, the methods the path has)."""
    matches = [(route, route.match(path)) for route in document_routes]
    matches = [(route, values) for route, values in matches if values is not None]
    same_verb = [(r, v) for r, v in matches if r.method["httpMethod"] == http_method]
    if same_verb:
        route, values = max(same_verb, key=lambda rv: rv[0].literal)
        return route.method, values
    return None, sorted({r.method["httpMethod"] + " " + r.method["id"] for r, _ in matches})


# --- Values against the document's schemas ---------------------------------------------------


def describe(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def format_problem(text: str, schema_format: str | None) -> str | None:
    """Why a string does not have the document's `format`, or None when it does."""
    ranges = {"int64": INT64, "uint64": UINT64, "int32": INT32, "uint32": UINT32}
    if schema_format in ranges:
        if not re.fullmatch(r"-?[0-9]+", text):
            return f"is {describe(text)}, not a decimal {schema_format} string"
        low, high = ranges[schema_format]
        if not low <= int(text) <= high:
            return f"is {text}, outside the {schema_format} range"
    elif schema_format == "date-time":
        try:
            datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return f"is {describe(text)}, not an RFC 3339 date-time"
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", text):
            return f"is {describe(text)}, not an RFC 3339 date-time"
    elif schema_format == "date":
        if not re.fullmatch(r"\d{4}-\d\d-\d\d", text):
            return f"is {describe(text)}, not a date (YYYY-MM-DD)"
    elif schema_format == "byte":
        try:
            base64.b64decode(text.replace("-", "+").replace("_", "/") + "==", validate=True)
        except (binascii.Error, ValueError):
            return f"is {describe(text)}, not base64 (format byte)"
    return None


class SchemaCheck:
    """Checks a JSON value against a schema of the document.

    `direction` is "request" (a body sent to the API: read-only fields are reported, null
    clears a field as the update method's description says) or "response" (an answer read from
    the API: read-only fields are expected, null is not). `method_id` names the method whose
    `annotations.required` fields must be present in a request body.
    """

    def __init__(self, document: dict, direction: str, method_id: str | None = None):
        self.schemas = document["schemas"]
        self.direction = direction
        self.method_id = method_id
        self.problems: list[str] = []

    def check(self, value, ref: str, where: str = ""):
        self.value(value, {"$ref": ref}, where, ref)
        return self.problems

    def report(self, where: str, message: str):
        self.problems.append(f"field '{where}' {message}" if where else message)

    def value(self, value, schema: dict, where: str, owner: str):
        if "$ref" in schema:
            name = schema["$ref"]
            self.value(value, self.schemas[name], where, name)
            return
        if value is None:
            if self.direction == "response":
                self.report(where, "is null (Google leaves out a field it has no value for)")
            return
        kind = schema.get("type")
        if kind == "any":
            return
        if kind == "object" or "properties" in schema or "additionalProperties" in schema:
            self.object(value, schema, where, owner)
        elif kind == "array":
            if not isinstance(value, list):
                self.report(where, f"is {json_type(value)} {describe(value)}, not an array")
                return
            for index, item in enumerate(value):
                self.value(item, schema.get("items", {}), f"{where}[{index}]", owner)
        elif kind == "string":
            if not isinstance(value, str):
                self.report(where, f"is {json_type(value)} {describe(value)}, not a string")
                return
            problem = format_problem(value, schema.get("format"))
            if problem:
                self.report(where, problem)
            elif "enum" in schema and value not in schema["enum"]:
                self.report(where, f"is {describe(value)}, not one of {schema['enum']}")
            elif "pattern" in schema and not re.search(schema["pattern"], value):
                self.report(where, f"is {describe(value)}, not matching {schema['pattern']}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.report(where, f"is {json_type(value)} {describe(value)}, not a boolean")
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                self.report(where, f"is {json_type(value)} {describe(value)}, not an integer")
                return
            low, high = {"int32": INT32, "uint32": UINT32}.get(schema.get("format"), INT64)
            low = int(schema.get("minimum", low))
            high = int(schema.get("maximum", high))
            if not low <= value <= high:
                self.report(where, f"is {value}, outside {low}..{high}")
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.report(where, f"is {json_type(value)} {describe(value)}, not a number")

    def object(self, value, schema: dict, where: str, owner: str):
        if not isinstance(value, dict):
            self.report(where, f"is {json_type(value)} {describe(value)}, not an object")
            return
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        entries = ENTRY_SCHEMAS.get(owner, {})
        prefix = f"{where}." if where else ""
        for key, item in value.items():
            field = f"{prefix}{key}"
            if key in properties:
                prop = properties[key]
                if self.direction == "request" and prop.get("readOnly"):
                    self.report(field, f"is read-only in schema {owner} (output only)")
                if key in entries and item is not None:
                    self.entry_field(item, entries[key], field)
                else:
                    self.value(item, prop, field, owner)
            elif extra is not None:
                self.value(item, extra, field, owner)
            else:
                self.report(field, f"unknown in schema {owner}")
        if self.direction == "request" and self.method_id:
            for key, prop in properties.items():
                required = prop.get("annotations", {}).get("required", [])
                if self.method_id in required and key not in value:
                    self.report(f"{prefix}{key}", f"missing: {self.method_id} requires it")

    def entry_field(self, value, entry: tuple[str, str], where: str):
        schema, shape = entry
        if shape == "one":
            self.value(value, {"$ref": schema}, where, schema)
        elif not isinstance(value, list):
            self.report(where, f"is {json_type(value)} {describe(value)}, not a list of {schema}")
        else:
            for index, item in enumerate(value):
                self.value(item, {"$ref": schema}, f"{where}[{index}]", schema)


def described_maximum(spec: dict) -> int | None:
    """A maximum the document gives in a parameter's description only, such as members.list's
    maxResults: "Max allowed value is 200."."""
    found = re.search(r"Max allowed value is ([0-9]+)", spec.get("description", ""))
    return int(found.group(1)) if found else None


def parameter_problem(name: str, spec: dict, text: str) -> str | None:
    """Why a query or path parameter's text is not valid for its spec, or None."""
    kind = spec.get("type", "string")
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]+", text):
            return f"parameter '{name}' is {describe(text)}, not an integer"
        number = int(text)
        low = int(spec["minimum"]) if "minimum" in spec else None
        high = int(spec["maximum"]) if "maximum" in spec else described_maximum(spec)
        if (low is not None and number < low) or (high is not None and number > high):
            return f"parameter '{name}' is {number}, outside {low}..{high}"
    elif kind == "boolean":
        if text not in ("true", "false"):
            return f"parameter '{name}' is {describe(text)}, not true or false"
    elif kind == "number":
        try:
            float(text)
        except ValueError:
            return f"parameter '{name}' is {describe(text)}, not a number"
    else:
        problem = format_problem(text, spec.get("format"))
        if problem:
            return f"parameter '{name}' {problem}"
    if "enum" in spec and text not in spec["enum"]:
        return f"parameter '{name}' is {describe(text)}, not one of {spec['enum']}"
    if "pattern" in spec and not re.fullmatch(spec["pattern"], text):
        return f"parameter '{name}' is {describe(text)}, not matching {spec['pattern']}"
    return None


# --- The request log --------------------------------------------------------------------------


def is_token_request(request: dict) -> bool:
    return request.get("method") == "POST" and request.get("path") in TOKEN_PATHS


def check_request(document: dict, document_routes: list[Route], request: dict) -> list[str]:
    """The problems of one logged request, each as a message without the request's name."""
    method, found = find_method(document_routes, request["method"], request["path"])
    if method is None:
        if found:
            return [
                f"the document has no {request['method']} for this path (it has {', '.join(found)})"
            ]
        return ["no method of the document matches this path"]
    problems = []
    parameters = method.get("parameters", {})
    for name, value in found.items():
        problem = parameter_problem(name, parameters.get(name, {}), value)
        if problem:
            problems.append(f"path {problem}")
    seen: dict[str, int] = {}
    pairs = urllib.parse.parse_qsl(request.get("query") or "", keep_blank_values=True)
    for name, value in pairs:
        seen[name] = seen.get(name, 0) + 1
        spec = parameters.get(name)
        if spec is None or spec.get("location") != "query":
            spec = document.get("parameters", {}).get(name)
        if spec is None or spec.get("location") != "query":
            problems.append(
                f"query parameter '{name}' is neither a parameter of {method['id']} "
                f"nor a global parameter of the document"
            )
            continue
        problem = parameter_problem(name, spec, value)
        if problem:
            problems.append(f"query {problem}")
    for name, count in seen.items():
        spec = parameters.get(name) or document.get("parameters", {}).get(name) or {}
        if count > 1 and not spec.get("repeated"):
            problems.append(f"query parameter '{name}' appears {count} times; it is not repeated")
    for name, spec in parameters.items():
        if spec.get("location") == "query" and spec.get("required") and name not in seen:
            problems.append(f"query parameter '{name}' missing: {method['id']} requires it")
    problems.extend(body_problems(document, method, request.get("body")))
    return problems


def body_problems(document: dict, method: dict, body) -> list[str]:
    request_schema = method.get("request", {}).get("$ref")
    if request_schema is None:
        if body is not None and body != "":
            return [f"has a body, but {method['id']} takes none"]
        return []
    if body is None:
        return [f"has no body; {method['id']} takes a {request_schema}"]
    if not isinstance(body, dict):
        return [f"body is {json_type(body)} {describe(body)}, not a JSON {request_schema}"]
    check = SchemaCheck(document, "request", method["id"])
    return [f"body {problem}" for problem in check.check(body, request_schema)]


def check_log(document: dict, log: dict) -> list[str]:
    """One line per problem of every request in a request log."""
    document_routes = routes(document)
    problems = []
    requests = log.get("requests") if isinstance(log, dict) else None
    if not isinstance(requests, list):
        return ['the log has no "requests" list']
    for index, request in enumerate(requests):
        if not isinstance(request, dict) or not {"method", "path"} <= request.keys():
            problems.append(f"request #{index}: no method and path")
            continue
        if is_token_request(request):
            continue
        name = f"{request['method']} {request['path']}"
        problems.extend(f"{name}: {p}" for p in check_request(document, document_routes, request))
        for item in request.get("items") or []:
            item_name = f"{name} item {item.get('method')} {item.get('path')}"
            problems.extend(
                f"{item_name}: {p}" for p in check_request(document, document_routes, item)
            )
    return problems


# --- Self-test --------------------------------------------------------------------------------

USERS = "/admin/directory/v1/users"
GROUPS = "/admin/directory/v1/groups"
ADA_ID, BO_ID = "100000000000000000001", "100000000000000000002"
TOKEN_FORM = (
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
    "&assertion=eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
)


def logged(method: str, path: str, query: str = "", body=None) -> dict:
    return {
        "method": method,
        "path": path,
        "query": query,
        "body": body,
        "status": 200,
        "items": [],
    }


def good_log() -> dict:
    """One request of every shape src/connectors/target/google.rs sends."""
    ours = {"type": "custom", "customType": "hris-operator", "value": "acme-hris:2"}
    insert = {
        "primaryEmail": "bo@acme.example",
        "name": {"givenName": "Bo", "familyName": "Berg"},
        "password": "s3cret-Passw0rd-not-logged",
        "changePasswordAtNextLogin": True,
        "suspended": False,
        "orgUnitPath": "/Staff",
        "externalIds": [ours],
        "languages": [{"languageCode": "sv", "preference": "preferred"}],
        "relations": [{"type": "manager", "value": "ada@acme.example"}],
        "organizations": [
            {
                "title": "Engineer",
                "department": "Engineering",
                "costCenter": "CC-7",
                "description": "Platform team",
                "location": "Stockholm",
                "name": "Acme",
                "primary": True,
            }
        ],
    }
    # An update sends only what changed; lists go whole, with entries of others kept as listed.
    update = {
        "externalIds": [
            {"type": "organization", "value": "E-17"},
            dict(ours, value="acme-hris:22"),
        ],
        "primaryEmail": "bo.berg@acme.example",
        "name": {"givenName": "Bo-Erik", "familyName": "Berg"},
        "languages": [],
        "suspended": True,
        "relations": [{"type": "assistant", "value": "cy@acme.example"}],
        "organizations": [
            {"title": "Staff Engineer", "department": "Engineering", "primary": True}
        ],
        "orgUnitPath": "/Staff/Engineering",
    }
    # A cleared mapped attribute is sent as null, which the update method reads as "clear".
    clear = {
        "languages": [{"languageCode": "en", "preference": "preferred"}],
        "relations": [],
        "name": {"displayName": None},
        "recoveryEmail": None,
    }
    return {
        "requests": [
            logged("POST", "/token", body=TOKEN_FORM),
            # check(): one user proves the credentials.
            logged("GET", USERS, "customer=my_customer&maxResults=1"),
            # list(): every user, 500 a page, followed by pageToken.
            logged("GET", USERS, "customer=my_customer&projection=full&maxResults=500"),
            logged(
                "GET",
                USERS,
                "customer=my_customer&projection=full&maxResults=500&pageToken=page-500",
            ),
            logged("GET", USERS, "customer=C03az79cb&projection=full&maxResults=500"),
            # email_of(): a manager's primary email by id.
            logged("GET", f"{USERS}/{ADA_ID}"),
            # own_user(): the user holding a primary email, after a duplicate insert.
            logged("GET", f"{USERS}/bo@acme.example"),
            logged("GET", f"{USERS}/bo%2Bhr@acme.example"),
            logged("POST", USERS, body=insert),
            logged("PUT", f"{USERS}/{BO_ID}", body=update),
            logged("PUT", f"{USERS}/{BO_ID}", body=clear),
            logged("DELETE", f"{USERS}/{BO_ID}"),
        ]
        + source_requests()
    }


def source_requests() -> list:
    """One request of every shape src/connectors/source/google.rs sends."""
    full = "customer=my_customer&maxResults=500&projection=full"
    members = f"{GROUPS}/all-staff@acme.example/members"
    return [
        # check() and fields(): one user of the scope.
        logged("GET", USERS, "customer=my_customer&maxResults=1&projection=full"),
        # allUsers, then every page by pageToken.
        logged("GET", USERS, full),
        logged("GET", USERS, f"{full}&pageToken=page-500"),
        # orgUnits: Google's search, the path quoted.
        logged("GET", USERS, f"{full}&query=orgUnitPath%3D%27%2FSales+Team%2FEMEA%27"),
        logged("GET", USERS, f"{full}&query=orgUnitPath%3D%27%2FSales%27&pageToken=page-500"),
        # groups: the members with derived membership, 200 a page.
        logged("GET", members, "includeDerivedMembership=true&maxResults=200"),
        logged(
            "GET", members, "includeDerivedMembership=true&maxResults=200&pageToken=page-200"
        ),
        # fields(): the reference user, by id or primary email.
        logged("GET", f"{USERS}/{ADA_ID}", "projection=full"),
        logged("GET", f"{USERS}/ada@acme.example", "projection=full"),
    ]


# (what is wrong, the request, a text the report must contain)
BAD_REQUESTS = [
    ("unknown path", logged("GET", "/admin/directory/v1/userz"), "no method of the document"),
    ("unknown verb", logged("PATCH", USERS, body={}), "has no PATCH for this path"),
    ("outside the API", logged("GET", "/v1.0/users"), "no method of the document"),
    ("token-like path elsewhere", logged("POST", "/oauth2/token", body=TOKEN_FORM), "no method"),
    (
        "unknown parameter",
        logged("GET", USERS, "customer=my_customer&$top=5"),
        "query parameter '$top' is neither",
    ),
    (
        "parameter of another method",
        logged("GET", f"{USERS}/{ADA_ID}", "customer=my_customer"),
        "query parameter 'customer' is neither a parameter of directory.users.get",
    ),
    (
        "bad enum",
        logged("GET", USERS, "customer=my_customer&projection=everything"),
        "'projection'",
    ),
    ("bad orderBy", logged("GET", USERS, "customer=my_customer&orderBy=id"), "'orderBy'"),
    (
        "over the maximum",
        logged("GET", USERS, "customer=my_customer&maxResults=501"),
        "outside 1..500",
    ),
    (
        "not an integer",
        logged("GET", USERS, "customer=my_customer&maxResults=all"),
        "not an integer",
    ),
    (
        "not a boolean",
        logged("GET", USERS, "customer=my_customer&prettyPrint=yes"),
        "not true or false",
    ),
    ("global enum", logged("GET", USERS, "customer=my_customer&alt=xml"), "'alt'"),
    ("repeated", logged("GET", USERS, "customer=a&customer=b"), "appears 2 times"),
    (
        "unknown body field",
        logged(
            "POST",
            USERS,
            body={
                "primaryEmail": "a@x",
                "name": {"givenName": "A", "familyName": "B"},
                "password": "p4ssword!",
                "active": True,
            },
        ),
        "body field 'active' unknown in schema User",
    ),
    (
        "unknown nested field",
        logged("PUT", f"{USERS}/{BO_ID}", body={"organizations": [{"titel": "CTO"}]}),
        "body field 'organizations[0].titel' unknown in schema UserOrganization",
    ),
    (
        "unknown name field",
        logged("PUT", f"{USERS}/{BO_ID}", body={"name": {"first": "Bo"}}),
        "body field 'name.first' unknown in schema UserName",
    ),
    (
        "wrong type",
        logged("PUT", f"{USERS}/{BO_ID}", body={"suspended": "false"}),
        "body field 'suspended' is string \"false\", not a boolean",
    ),
    (
        "wrong nested type",
        logged("PUT", f"{USERS}/{BO_ID}", body={"organizations": [{"primary": "true"}]}),
        "body field 'organizations[0].primary' is string",
    ),
    (
        "entry not a list",
        logged("PUT", f"{USERS}/{BO_ID}", body={"relations": {"type": "manager", "value": "a@x"}}),
        "body field 'relations' is object",
    ),
    (
        "integer format",
        logged(
            "PUT", f"{USERS}/{BO_ID}", body={"organizations": [{"fullTimeEquivalent": "100000"}]}
        ),
        "'organizations[0].fullTimeEquivalent' is string",
    ),
    (
        "int64 string format",
        logged(
            "PUT",
            f"{USERS}/{BO_ID}",
            body={"sshPublicKeys": [{"key": "k", "expirationTimeUsec": 5}]},
        ),
        "'sshPublicKeys[0].expirationTimeUsec' is integer",
    ),
    (
        "read-only field",
        logged("PUT", f"{USERS}/{BO_ID}", body={"isAdmin": True}),
        "body field 'isAdmin' is read-only in schema User",
    ),
    (
        "missing required field",
        logged("POST", USERS, body={"primaryEmail": "a@x", "name": {"givenName": "A"}}),
        "body field 'name.familyName' missing: directory.users.insert requires it",
    ),
    (
        "custom schema not an object",
        logged("PUT", f"{USERS}/{BO_ID}", body={"customSchemas": {"HR": "x"}}),
        "body field 'customSchemas.HR' is string",
    ),
    ("body on a GET", logged("GET", f"{USERS}/{BO_ID}", body={"x": 1}), "takes none"),
    (
        "form body to the API",
        logged("PUT", f"{USERS}/{BO_ID}", body="suspended=true"),
        "not a JSON User",
    ),
    ("no body on an insert", logged("POST", USERS), "has no body"),
    (
        "derived membership not a boolean",
        logged("GET", f"{GROUPS}/g@acme.example/members", "includeDerivedMembership=yes"),
        "not true or false",
    ),
    (
        "users' parameter on members",
        logged("GET", f"{GROUPS}/g@acme.example/members", "customer=my_customer"),
        "query parameter 'customer' is neither a parameter of directory.members.list",
    ),
    (
        "members' parameter on users",
        logged("GET", USERS, "customer=my_customer&includeDerivedMembership=true"),
        "query parameter 'includeDerivedMembership' is neither",
    ),
    (
        "members over the described maximum",
        logged("GET", f"{GROUPS}/g@acme.example/members", "maxResults=201"),
        "parameter 'maxResults' is 201, outside 1..200",
    ),
    (
        "no members at all",
        logged("GET", f"{GROUPS}/g@acme.example/members", "maxResults=0"),
        "'maxResults'",
    ),
]


def self_test() -> list[str]:
    document = load_document()
    problems = [f"good log: {p}" for p in check_log(document, good_log())]
    for what, request, expected in BAD_REQUESTS:
        found = check_log(document, {"requests": [request]})
        if not any(expected in line for line in found):
            problems.append(
                f"bad log '{what}': expected a problem containing {expected!r}, got {found}"
            )
    with_custom = {"customSchemas": {"HR": {"level": 3, "team": ["a", "b"]}}}
    found = check_log(
        document, {"requests": [logged("PATCH", f"{USERS}/{BO_ID}", body=with_custom)]}
    )
    problems.extend(f"good log: customSchemas: {p}" for p in found)
    if check_log(document, {"requests": "none"}) != ['the log has no "requests" list']:
        problems.append("a log without a requests list is not reported")
    return problems


# --- The SDK against the emulator -------------------------------------------------------------

MUTATIONS = ("suspended-string", "page-token-renamed", "error-shape")


def mutate_answer(kind: str, uri: str, status: int, content: bytes) -> bytes:
    """An answer of the Directory API as a broken emulator could give it."""
    if "/admin/directory/v1/" not in uri or not content:
        return content
    try:
        data = json.loads(content)
    except ValueError:
        return content

    def strings(value):
        if isinstance(value, dict):
            return {
                k: (
                    ("true" if v else "false")
                    if k == "suspended" and isinstance(v, bool)
                    else strings(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [strings(v) for v in value]
        return value

    if kind == "suspended-string":
        data = strings(data)
    elif kind == "page-token-renamed" and "nextPageToken" in data:
        data["next_page_token"] = data.pop("nextPageToken")
    elif kind == "error-shape" and status >= 400 and isinstance(data.get("error"), dict):
        data = {"code": data["error"].get("code"), "message": data["error"].get("message")}
    return json.dumps(data).encode()


def loopback_http(mutation: str | None):
    """An httplib2.Http that talks to 127.0.0.1 only and, with a mutation, alters answers."""
    import httplib2

    class LoopbackHttp(httplib2.Http):
        def __init__(self):
            super().__init__(timeout=15)
            self.requests = 0

        def request(self, uri, method="GET", body=None, headers=None, *args, **kwargs):
            host = urllib.parse.urlsplit(uri).hostname
            if host not in ("127.0.0.1", "localhost", "::1"):
                raise RuntimeError(f"refused {method} {uri}: this suite talks to 127.0.0.1 only")
            self.requests += 1
            response, content = super().request(uri, method, body, headers, *args, **kwargs)
            if mutation:
                content = mutate_answer(mutation, uri, response.status, content)
            return response, content

    return LoopbackHttp()


def same(expected, actual, where: str) -> list[str]:
    """How `actual` differs from `expected`: objects are compared on the keys of `expected`,
    scalars by type and value (so that "false" is not False and 1 is not True)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"field '{where}' is {describe(actual)}, wrote the object {describe(expected)}"]
        problems = []
        for key, value in expected.items():
            field = f"{where}.{key}" if where else key
            if key not in actual:
                problems.append(f"field '{field}' is missing, wrote {describe(value)}")
            else:
                problems.extend(same(value, actual[key], field))
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"field '{where}' is {describe(actual)}, wrote {describe(expected)}"]
        problems = []
        for index, (want, got) in enumerate(zip(expected, actual)):
            problems.extend(same(want, got, f"{where}[{index}]"))
        return problems
    if type(expected) is not type(actual) or expected != actual:
        return [
            f"field '{where}' is {json_type(actual)} {describe(actual)}, "
            f"wrote {json_type(expected)} {describe(expected)}"
        ]
    return []


def empty_list_field(user: dict, field: str) -> bool:
    """A list field the client emptied: Google leaves it out, an emulator may keep []."""
    return user.get(field, []) == []


class Abort(Exception):
    """A step failed so that the steps after it have nothing to work on."""


class SdkSuite:
    """google-api-python-client and google-auth against the emulator, step by step; each
    problem names the SDK call and the field."""

    def __init__(self, args):
        self.args = args
        self.document = load_document()
        self.methods = {m["id"]: m for m in document_methods(self.document)}
        self.problems: list[str] = []
        with open(args.key_file, encoding="utf-8") as key_file:
            self.key_info = dict(json.load(key_file), token_uri=args.token_uri)
        self.http = loopback_http(args.mutate)
        self.credentials = self.service = self.users = self.members = None
        run = secrets.token_hex(4)
        self.domain = args.admin_email.split("@", 1)[1]
        self.email = lambda name: f"{name}.{run}@{self.domain}"
        self.ours = lambda value: {"type": "custom", "customType": "hris-operator", "value": value}
        self.pages = 0
        self.current = "service_account.Credentials.refresh"

    def service_account(self, subject: str, **claims):
        """google-auth's service-account credentials for the key, acting as `subject`."""
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_info(
            self.key_info, scopes=SCOPES, subject=subject, additional_claims=claims
        )

    def connect(self, credentials):
        """The Directory API client of google-api-python-client, built from its bundled
        document, with the API root pointed at the emulator."""
        from google_auth_httplib2 import AuthorizedHttp
        from googleapiclient.discovery import build

        self.credentials = credentials
        self.service = build(
            API_NAME,
            API_VERSION,
            http=AuthorizedHttp(credentials, http=self.http),
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": api_root(self.args.api_url, self.document)},
        )
        self.users = self.service.users()
        self.members = self.service.members()

    def fail(self, call: str, problems: list[str]):
        self.problems.extend(f"{call}: {p}" for p in problems)

    def answer(self, call: str, method_id: str, result):
        """Checks an answer against the method's response schema; returns it."""
        ref = self.methods[method_id].get("response", {}).get("$ref")
        if ref is None:
            if result not in ("", b"", None, {}):
                self.fail(call, [f"answered {describe(result)}; {method_id} has no response body"])
            return result
        if not isinstance(result, dict):
            self.fail(call, [f"answered {json_type(result)} {describe(result)}, not a {ref}"])
            return {}
        check = SchemaCheck(self.document, "response")
        self.fail(call, [f"answer {p}" for p in check.check(result, ref)])
        return result

    def execute(self, call: str, method_id: str, request, needed: bool = True):
        """The checked answer of a request. A refused request is a problem; when later steps
        need its answer (`needed`) the suite stops, else the answer is None."""
        from googleapiclient.errors import HttpError

        self.current = call
        try:
            return self.answer(call, method_id, request.execute(num_retries=0))
        except HttpError as error:
            self.fail(call, [f"HttpError {error.resp.status}: {error.reason}"])
            if needed:
                raise Abort() from error
            return None

    def user_body(self, name: str, given: str, family: str, **fields) -> dict:
        """An insert body of the connector's shape (src/connectors/target/google.rs,
        insert_body): `manager` (an email), `language`, `suspended` and `organization` (the
        primary one's fields) as keywords."""
        body = {
            "primaryEmail": self.email(name),
            "name": {"givenName": given, "familyName": family},
            "password": secrets.token_urlsafe(18),
            "changePasswordAtNextLogin": True,
            "suspended": fields.get("suspended", False),
            "orgUnitPath": "/",
            "externalIds": [self.ours(f"acme-hris:{name}")],
        }
        if fields.get("language"):
            body["languages"] = [{"languageCode": fields["language"], "preference": "preferred"}]
        if fields.get("manager"):
            body["relations"] = [{"type": "manager", "value": fields["manager"]}]
        body["organizations"] = [dict(fields.get("organization", {}), primary=True)]
        return body

    def check_written(self, call: str, written: dict, user: dict):
        expected = {k: v for k, v in written.items() if k != "password"}
        self.fail(call, same(expected, user, ""))
        if "password" in user:
            self.fail(call, ["field 'password' is in the answer; Google never returns it"])
        kind = self.document["schemas"]["User"]["properties"]["kind"]["default"]
        if user.get("kind", kind) != kind:
            self.fail(call, [f"field 'kind' is {describe(user['kind'])}, not {kind}"])
        if not isinstance(user.get("id"), str) or not user.get("id"):
            self.fail(call, ["field 'id' is missing or not a string"])

    def run(self) -> list[str]:
        try:
            self.run_steps()
        except Abort:
            pass
        except Exception as error:  # a transport or SDK failure ends the suite as a problem
            self.problems.append(f"{self.current}: stopped by {type(error).__name__}: {error}")
        return self.problems

    def run_steps(self):
        self.authenticate()
        bodies = self.insert_three()
        ids = {name: user["id"] for name, user in bodies.items()}
        self.refuse_duplicate(bodies["ada"])
        self.list_all(bodies, ids)
        self.get_both_ways(bodies, ids)
        self.read_like_the_source(ids)
        self.update_like_the_connector(bodies["bo"], ids["bo"])
        self.patch(bodies["cy"], ids["cy"])
        self.delete_and_miss(ids["ada"], bodies["ada"]["primaryEmail"])
        for name in ("bo", "cy"):
            self.execute(
                f"users.delete(userKey={ids[name]})",
                "directory.users.delete",
                self.users.delete(userKey=ids[name]),
            )
        call = "users.list(customer='my_customer') after the deletes"
        left = sorted(set(ids.values()) & set(self.collect(call)))
        if left:
            self.fail(call, [f"deleted users {left} are still listed"])

    def authenticate(self):
        """google-auth's JWT-bearer grant at the emulator: accepted for the admin, refused
        (RefreshError, OAuth error `unauthorized_client`) for anyone else.

        google-auth signs the audience https://oauth2.googleapis.com/token whatever the token
        URI, as Google's token endpoint takes it. When the emulator refuses that, the problem
        is reported and the remaining calls sign the token URI as audience, so that the
        Directory API is judged all the same."""
        from google.auth.exceptions import RefreshError
        from google_auth_httplib2 import Request

        call = "service_account.Credentials.refresh"
        claims = {}
        credentials = self.service_account(self.args.admin_email)
        try:
            credentials.refresh(Request(self.http))
        except RefreshError as error:
            self.fail(
                call,
                [
                    f"the token endpoint refused google-auth's assertion (aud "
                    f"{GOOGLE_TOKEN_AUDIENCE}, the audience Google's token endpoint takes): "
                    f"{error}; the calls after this one sign aud {self.args.token_uri} instead"
                ],
            )
            claims = {"aud": self.args.token_uri}
            credentials = self.service_account(self.args.admin_email, **claims)
            try:
                credentials.refresh(Request(self.http))
            except RefreshError as again:
                self.fail(call, [f"the token endpoint refused the admin's assertion: {again}"])
                raise Abort() from again
        if not credentials.valid or not credentials.token:
            self.fail(call, ["no valid access token after the refresh"])
        expiry = credentials.expiry
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        if expiry is None or not now < expiry <= now + datetime.timedelta(hours=1, minutes=1):
            self.fail(call, [f"expires_in gives an expiry of {expiry}, not within the hour"])
        self.connect(credentials)
        stranger = self.service_account(f"nobody@{self.domain}", **claims)
        call = f"{call} (subject nobody@{self.domain})"
        try:
            stranger.refresh(Request(self.http))
            self.fail(call, ["the token endpoint issued a token for a subject not delegated"])
        except RefreshError as error:
            details = error.args[1] if len(error.args) > 1 else None
            if not isinstance(details, dict) or details.get("error") != "unauthorized_client":
                self.fail(call, [f"refused without the OAuth error unauthorized_client: {error}"])

    def insert_three(self) -> dict:
        """Ada manages Bo, Bo manages Cy (suspended). Returns what was written, by name, with
        the id the API gave and without the password (which Google never returns)."""
        engineering = {"department": "Engineering", "costCenter": "CC-1", "location": "Stockholm"}
        people = {}
        people["ada"] = self.user_body(
            "ada",
            "Ada",
            "Lind",
            language="en",
            organization=dict(engineering, title="CTO", description="Founder", name="Acme"),
        )
        people["bo"] = self.user_body(
            "bo",
            "Bo",
            "Berg",
            manager=people["ada"]["primaryEmail"],
            language="sv",
            organization=dict(engineering, title="Engineer"),
        )
        people["cy"] = self.user_body(
            "cy",
            "Cy",
            "Öst",
            manager=people["bo"]["primaryEmail"],
            suspended=True,
            organization={"title": "Seller", "department": "Sales"},
        )
        written = {}
        for name, body in people.items():
            call = f"users.insert({body['primaryEmail']})"
            user = self.execute(call, "directory.users.insert", self.users.insert(body=body))
            self.check_written(call, body, user)
            if not user.get("id"):
                raise Abort()
            written[name] = dict(copy.deepcopy(body), id=user["id"])
            del written[name]["password"]
        return written

    def refuse_duplicate(self, ada: dict):
        """The connector's lost-create recovery starts from a 409 with reason `duplicate`."""
        from googleapiclient.errors import HttpError

        call = "users.insert(duplicate primaryEmail)"
        body = self.user_body("ada", "Ada", "Again")
        body["primaryEmail"] = ada["primaryEmail"].upper()
        try:
            self.users.insert(body=body).execute(num_retries=0)
            self.fail(call, ["a second user with the same primaryEmail (other case) was inserted"])
        except HttpError as error:
            self.fail(call, google_error_problems(error, 409, "duplicate"))

    def collect(self, call: str, page_size: int = 2) -> dict:
        """Every user of the customer, page by page with list_next; by id."""
        users: dict = {}
        request = self.users.list(customer="my_customer", projection="full", maxResults=page_size)
        tokens = set()
        page = 0
        while request is not None:
            page += 1
            answer = self.execute(f"{call} page {page}", "directory.users.list", request)
            listed = answer.get("users", [])
            if len(listed) > page_size:
                self.fail(
                    f"{call} page {page}",
                    [f"{len(listed)} users in a page of maxResults={page_size}"],
                )
            for user in listed:
                if user.get("id") in users:
                    self.fail(f"{call} page {page}", [f"user {user.get('id')} listed twice"])
                users[user.get("id")] = user
            token = answer.get("nextPageToken")
            if token in tokens:
                self.fail(f"{call} page {page}", [f"nextPageToken {describe(token)} repeats"])
                break
            tokens.add(token)
            request = self.users.list_next(request, answer)
            if page > 1000:
                self.fail(call, ["more than 1000 pages"])
                break
        self.pages = page
        return users

    def list_all(self, bodies: dict, ids: dict):
        probe = "users.list(customer='my_customer', maxResults=1)"
        answer = self.execute(
            probe, "directory.users.list", self.users.list(customer="my_customer", maxResults=1)
        )
        if len(answer.get("users", [])) != 1:
            self.fail(probe, [f"field 'users' holds {len(answer.get('users', []))} users, not 1"])
        call = "users.list(customer='my_customer', projection='full', maxResults=2)"
        listed = self.collect(call)
        if self.pages < 2:
            self.fail(
                call,
                [
                    f"{len(listed)} users came in {self.pages} page(s) of 2: "
                    "nextPageToken missing, so list_next stopped"
                ],
            )
        for name, body in bodies.items():
            user = listed.get(ids[name])
            if user is None:
                self.fail(call, [f"user {body['primaryEmail']} ({ids[name]}) is not listed"])
            else:
                self.check_written(f"{call} user {body['primaryEmail']}", body, user)

    def get_both_ways(self, bodies: dict, ids: dict):
        by_id = f"users.get(userKey={ids['bo']})"
        self.check_written(
            by_id,
            bodies["bo"],
            self.execute(by_id, "directory.users.get", self.users.get(userKey=ids["bo"])),
        )
        # The SDK expands {userKey} percent-encoded: the @ of an email arrives as %40.
        email = bodies["cy"]["primaryEmail"]
        by_email = f"users.get(userKey={email})"
        user = self.execute(by_email, "directory.users.get", self.users.get(userKey=email), False)
        if user is not None:
            self.check_written(by_email, bodies["cy"], user)

    def read_like_the_source(self, ids: dict):
        """The source's reads (src/connectors/source/google.rs): the users of an
        organizational unit and its sub-units, paged; with --group, a group's members with
        derived membership, paged."""
        from googleapiclient.errors import HttpError

        call = "users.list(query=\"orgUnitPath='/'\", maxResults=2)"
        request = self.users.list(
            customer="my_customer", projection="full", maxResults=2, query="orgUnitPath='/'"
        )
        listed = set()
        page = 0
        while request is not None and page < 100:
            page += 1
            answer = self.execute(f"{call} page {page}", "directory.users.list", request)
            listed.update(user.get("id") for user in answer.get("users", []))
            request = self.users.list_next(request, answer)
        missing = sorted(set(ids.values()) - listed)
        if missing or page < 2:
            self.fail(call, [f"{page} page(s); users of / not listed: {missing}"])
        call = "users.list(query=\"orgUnitPath='/No such unit'\")"
        try:
            self.users.list(customer="my_customer", query="orgUnitPath='/No such unit'").execute(
                num_retries=0
            )
            self.fail(call, ["an organizational unit the account lacks was listed"])
        except HttpError as error:
            self.fail(call, google_error_problems(error, 400, "invalid"))
        group = self.args.group
        if not group:
            return
        call = f"members.list(groupKey={group}, includeDerivedMembership=True, maxResults=2)"
        request = self.members.list(groupKey=group, includeDerivedMembership=True, maxResults=2)
        members = []
        page = 0
        while request is not None and page < 100:
            page += 1
            answer = self.execute(f"{call} page {page}", "directory.members.list", request)
            members.extend(answer.get("members", []))
            request = self.members.list_next(request, answer)
        kinds = sorted({m.get("type") for m in members})
        users = {m.get("id") for m in members if m.get("type") == "USER"}
        if kinds != ["CUSTOMER", "USER"] or not set(ids.values()) <= users or page < 2:
            self.fail(
                call,
                [f"{page} page(s) of members of types {kinds}, users {sorted(users)}; expected "
                 f"the customer entry and every user ({sorted(ids.values())})"],
            )
        call = "members.list(groupKey=nobody@...)"
        try:
            self.members.list(groupKey=f"nobody.{secrets.token_hex(2)}@{self.domain}").execute(
                num_retries=0
            )
            self.fail(call, ["the members of a group the account lacks were listed"])
        except HttpError as error:
            self.fail(call, google_error_problems(error, 404, "notFound"))

    def update_like_the_connector(self, bo: dict, bo_id: str):
        """PUT with only the changed fields, lists whole, as the connector's update_body."""
        changes = {
            "primaryEmail": self.email("bo.berg"),
            "name": {"givenName": "Bo-Erik"},
            "suspended": True,
            "languages": [],
            "relations": [],
            "externalIds": [{"type": "organization", "value": "E-17"}, self.ours("acme-hris:bo-2")],
            "organizations": [dict(bo["organizations"][0], title="Staff Engineer")],
        }
        call = f"users.update(userKey={bo_id})"
        user = self.execute(
            call, "directory.users.update", self.users.update(userKey=bo_id, body=changes)
        )
        expected = {
            k: v for k, v in copy.deepcopy(bo).items() if k not in ("languages", "relations")
        }
        expected.update(
            {k: v for k, v in changes.items() if k not in ("languages", "relations", "name")}
        )
        expected["name"] = {"givenName": "Bo-Erik", "familyName": bo["name"]["familyName"]}
        renamed = f"users.get(userKey={bo_id}) after the update"
        again = self.execute(renamed, "directory.users.get", self.users.get(userKey=bo_id))
        for answer_call, answer in [(call, user), (renamed, again)]:
            self.fail(answer_call, same(expected, answer, ""))
            for field in ("languages", "relations"):
                if not empty_list_field(answer, field):
                    self.fail(
                        answer_call, [f"field '{field}' is {describe(answer[field])}, wrote []"]
                    )

    def patch(self, cy: dict, cy_id: str):
        changes = {"suspended": False, "name": {"familyName": "Öst-Berg"}, "orgUnitPath": "/"}
        call = f"users.patch(userKey={cy_id})"
        user = self.execute(
            call, "directory.users.patch", self.users.patch(userKey=cy_id, body=changes)
        )
        expected = copy.deepcopy(cy)
        expected["suspended"] = False
        expected["name"]["familyName"] = "Öst-Berg"
        self.fail(call, same(expected, user, ""))
        again = self.execute(
            f"users.get(userKey={cy_id}) after the patch",
            "directory.users.get",
            self.users.get(userKey=cy_id),
        )
        self.fail(f"users.get(userKey={cy_id}) after the patch", same(expected, again, ""))

    def delete_and_miss(self, ada_id: str, ada_email: str):
        call = f"users.delete(userKey={ada_id})"
        self.execute(call, "directory.users.delete", self.users.delete(userKey=ada_id))
        self.expect_missing(f"users.get(userKey={ada_id}) after the delete", ada_id)
        self.expect_missing(f"users.get(userKey={ada_email}) after the delete", ada_email)
        from googleapiclient.errors import HttpError

        again = f"users.delete(userKey={ada_id}) again"
        try:
            self.users.delete(userKey=ada_id).execute(num_retries=0)
            self.fail(again, ["a deleted user was deleted again"])
        except HttpError as error:
            self.fail(again, google_error_problems(error, 404, "notFound"))

    def expect_missing(self, call: str, key: str):
        from googleapiclient.errors import HttpError

        try:
            user = self.users.get(userKey=key).execute(num_retries=0)
            self.fail(call, [f"answered a user ({describe(user.get('primaryEmail'))}), not 404"])
        except HttpError as error:
            self.fail(call, google_error_problems(error, 404, "notFound"))


def google_error_problems(error, status: int, reason: str) -> list[str]:
    """How an HttpError differs from Google's error answer: the status, and the body
    {"error": {"code", "message", "errors": [{"message", "domain", "reason"}]}} that the SDK
    reads its `reason` and `error_details` from."""
    problems = []
    if error.resp.status != status:
        problems.append(f"HttpError status {error.resp.status}, not {status}")
    try:
        body = json.loads(error.content)
    except ValueError:
        return problems + [
            f"error body is not JSON: {describe(error.content.decode(errors='replace'))}"
        ]
    inner = body.get("error") if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        return problems + [f"error body has no 'error' object: {describe(body)}"]
    if inner.get("code") != status:
        problems.append(f"error field 'error.code' is {describe(inner.get('code'))}, not {status}")
    message = inner.get("message")
    if not isinstance(message, str) or not message:
        problems.append("error field 'error.message' is missing or empty")
    elif error.reason != message:
        problems.append(f"HttpError.reason is {describe(error.reason)}, not error.message")
    errors = inner.get("errors")
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return problems + ["error field 'error.errors' is not a list of objects"]
    if errors[0].get("reason") != reason:
        found = describe(errors[0].get("reason"))
        problems.append(f"error field 'error.errors[0].reason' is {found}, not {reason}")
    for field in ("message", "domain"):
        if not isinstance(errors[0].get(field), str):
            problems.append(f"error field 'error.errors[0].{field}' is missing")
    if error.error_details != errors:
        problems.append(
            f"HttpError.error_details is {describe(error.error_details)}, not error.errors"
        )
    return problems


def api_root(api_url: str, document: dict) -> str:
    """The root the SDK joins the document's method paths to (its rootUrl + servicePath).

    The connector's apiUrl ends with the users collection's parent path (admin/directory/v1),
    which the document's method paths already hold."""
    collection = "/" + document.get("servicePath", "") + "admin/directory/v1"
    parts = urllib.parse.urlsplit(api_url)
    path = parts.path.rstrip("/")
    if path.endswith(collection):
        path = path[: -len(collection)]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


# --- Command line -----------------------------------------------------------------------------


def serve(check) -> int:
    """`serve`: the `requests` check for many logs at the cost of one start (the SDK's imports
    take seconds). Reads one log file path per line on stdin and answers each with one JSON line
    on stdout, `{"problems": [...]}`; ends when stdin closes."""
    for line in sys.stdin:
        path = line.strip()
        if path:
            print(json.dumps({"problems": list(check(path))}), flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sdk = commands.add_parser("sdk", help="run google-api-python-client against the emulator")
    sdk.add_argument("--api-url", required=True, help="the emulator's apiUrl (or the API root)")
    sdk.add_argument("--token-uri", required=True, help="the emulator's token endpoint")
    sdk.add_argument("--key-file", required=True, help="the service account's JSON key file")
    sdk.add_argument("--admin-email", required=True, help="the administrator to act as")
    sdk.add_argument("--group", help="a group of the emulator whose one member is the customer")
    sdk.add_argument(
        "--mutate",
        nargs="?",
        const=MUTATIONS[0],
        choices=MUTATIONS,
        help="alter the emulator's answers; the suite must then fail",
    )
    log = commands.add_parser("requests", help="check an emulator's request log")
    log.add_argument("log", help="the request log, JSON")
    commands.add_parser("self-test", help="check the checker with built-in good and bad logs")
    commands.add_parser("serve", help="check the log file named on each line of stdin")
    args = parser.parse_args(argv)

    if args.command == "serve":
        document = load_document()

        def check(path):
            with open(path, encoding="utf-8") as file:
                return check_log(document, json.load(file))

        return serve(check)

    if args.command == "sdk":
        try:
            suite = SdkSuite(args)
        except (OSError, ValueError, KeyError) as error:
            print(f"sdk: the key file {args.key_file}: {error}", file=sys.stderr)
            return 1
        problems = suite.run()
        summary = (
            f"google sdk: {suite.http.requests} requests to the emulator; every answer conforms "
            f"to {DOCUMENT_FILE} and holds what was written"
        )
    elif args.command == "requests":
        try:
            with open(args.log, encoding="utf-8") as file:
                data = json.load(file)
        except (OSError, ValueError) as error:
            print(f"requests: cannot read the log {args.log}: {error}", file=sys.stderr)
            return 1
        problems = check_log(load_document(), data)
        requests = data.get("requests", []) if isinstance(data, dict) else []
        tokens = sum(1 for r in requests if isinstance(r, dict) and is_token_request(r))
        summary = (
            f"google requests: {len(requests) - tokens} requests conform to {DOCUMENT_FILE} "
            f"({tokens} to the token endpoint skipped)"
        )
    else:
        problems = self_test()
        summary = (
            f"google self-test: the good log ({len(good_log()['requests'])} requests) passes, "
            f"all {len(BAD_REQUESTS)} bad requests are reported"
        )
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
