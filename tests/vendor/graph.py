#!/usr/bin/env python3
"""Microsoft Graph judged by Microsoft's own Python SDK.

Two judgements, both made with the official SDK (msgraph-sdk, msgraph-core, azure-identity and
the Kiota libraries they build on), never with a schema of our own:

``sdk``
    Runs the SDK against a Graph endpoint (our emulator, ``hris-emulators graph --port 0``):
    azure-identity's ``ClientSecretCredential`` fetches the token from the authority, and a
    ``GraphServiceClient`` sends, through its typed request builders, every kind of request the
    ``microsoftGraph`` target sends: creates, ``manager/$ref`` links and unlinks, a paged listing
    with ``$select``, ``$expand=manager($select=id)`` and ``$top``, reads by id and by
    userPrincipalName, updates, deletes, and JSON ``$batch`` requests holding each kind of
    write; with ``--group-id``, also what the ``microsoftGraph`` source sends: the group's
    transitive members through the cast to users (paged), and without it. Every answer is parsed into the SDK's models (``User``, ``UserCollectionResponse``,
    ``ODataError``, the batch response items) and the parsed values must equal what was
    written: Kiota reads a wrongly typed value as ``None`` and keeps a misnamed field in
    ``additional_data``, so either fails the run, naming the request and the field.
    ``--mutate`` alters one answer as a broken endpoint could; the run must then fail.

``requests LOG.json [LOG.json ...]``
    Checks a request log (what a client sent, as the emulators record it) against the SDK's own
    description of Graph: each method and path must match the URL template of a request builder
    that defines that method (``msgraph/generated/<segment>/**/*_request_builder.py``, or
    msgraph-core's ``$batch`` builder), an OData cast by its full namespace
    (``microsoft.graph.user``) matching the SDK's alias (``graph.user``); each query parameter must be one the builder's method
    takes, with ``$select``, ``$expand`` and ``$orderby`` naming properties of the model the
    method returns; each JSON body must parse into the model the method takes (``User``,
    ``ReferenceUpdate``) with no field left over and no value that reads back differently; each
    ``$batch`` item must have an id, a method and a relative url and is checked like a request
    of its own. Token requests (``POST /{tenant}/oauth2/v2.0/token``) are skipped: azure-identity
    judges the token endpoint in ``sdk``. Allowed beyond the SDK's models, because Graph
    documents them: directory extension properties (``extension_{appId}_{name}``) in
    ``$select`` and bodies, and ``$skiptoken`` on a collection GET (it comes from
    ``@odata.nextLink``, which clients follow as given). Annotations in bodies
    (``manager@odata.bind``) are not allowed: the connector sends none.
    Loading the SDK's ``User`` model imports about 1,200 model modules (2 s or so), so give
    one run every log there is rather than one run per log.

``self-test``
    Runs the request checker on built-in logs: one holding every request shape our
    ``microsoftGraph`` target sends (which must pass), and bad ones (unknown path, method, query
    parameter, ``$select`` property, body field, wrongly typed body values, malformed batch
    items) that each must be reported.

``serve``
    ``requests`` for many logs at the cost of one start: reads a log path per line on stdin and
    answers each with one JSON line ``{"problems": [...]}`` (the tests keep one running).

Run with a Python that has msgraph-sdk installed (the versions this was written against:
msgraph-sdk 1.65.0, msgraph-core 1.5.2, azure-identity 1.27.0, Kiota 1.16.0), for example::

    hris-emulators graph --port 0      # prints the URL, tenant, client id and secret
    python tests/vendor/graph.py sdk --authority-url http://127.0.0.1:PORT \\
        --graph-url http://127.0.0.1:PORT/v1.0 --tenant-id contoso.onmicrosoft.com \\
        --client-id 11111111-2222-3333-4444-555555555555 --client-secret emulator-client-secret
    python tests/vendor/graph.py requests requests.json [more.json ...]
    python tests/vendor/graph.py self-test

Exit status 0 when every check passes; 1 with one line per problem on stderr, each naming the
request (method and path) or the SDK call, and the field. Only loopback addresses are contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import importlib
import importlib.metadata
import importlib.util
import json
import logging
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
MAX_PAGES = 1000

# A directory extension property: `extension_{app id without dashes}_{name}`. Graph documents
# these as properties of the extended object, so they may be selected and written although no
# SDK model declares them.
DIRECTORY_EXTENSION = re.compile(r"^extension_[0-9a-fA-F]{32}_[A-Za-z0-9_]+$")

# An Edm.DateTimeOffset literal as Graph takes it: date, time and an offset or Z.
DATE_TIME_OFFSET = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
)


# ----------------------------------------------------------------------------------------------
# Models: the SDK's dataclasses seen by their Graph names.


def camel_to_snake(name: str) -> str:
    """The attribute name Kiota generates for a Graph property name."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def snake_to_camel(name: str) -> str:
    """The Graph property name of a generated attribute name."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def graph_type(model: Any) -> str:
    """The Graph type of a model instance, e.g. ``microsoft.graph.user``."""
    odata_type = getattr(model, "odata_type", None)
    if isinstance(odata_type, str) and odata_type.startswith("#"):
        return odata_type[1:]
    name = type(model).__name__
    return "microsoft.graph." + name[:1].lower() + name[1:]


def is_parsable(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and hasattr(value, "get_field_deserializers")


def model_fields(model: Any):
    """(attribute, value) of a model's properties, without its bookkeeping fields."""
    for field in dataclasses.fields(model):
        if field.name in ("additional_data", "backing_store", "odata_type"):
            continue
        yield field.name, getattr(model, field.name)


def flatten(model: Any, prefix: str = "") -> dict[str, Any]:
    """The set properties of a model by Graph path (``onPremisesExtensionAttributes.x``)."""
    values: dict[str, Any] = {}
    for attribute, value in model_fields(model):
        if value is None:
            continue
        path = prefix + snake_to_camel(attribute)
        if is_parsable(value):
            values.update(flatten(value, path + "."))
        else:
            values[path] = value
    return values


def leftover_fields(model: Any, prefix: str = "", allow=lambda path, key: False):
    """Graph paths of the fields Kiota could not place in a model: its ``additional_data``,
    at any depth. ``allow(prefix, key)`` excuses a field."""
    for key in sorted(getattr(model, "additional_data", None) or {}):
        if not allow(prefix, key):
            yield prefix + key, graph_type(model)
    for attribute, value in model_fields(model):
        path = prefix + snake_to_camel(attribute)
        if isinstance(value, list):
            for index, child in enumerate(value):
                if is_parsable(child):
                    yield from leftover_fields(child, f"{path}[{index}].", allow)
        elif is_parsable(value):
            yield from leftover_fields(value, path + ".", allow)


def at_path(document: Any, path: str) -> Any:
    """The value at a Graph path (``value[0].manager.id``) of a JSON document, or
    ``MISSING``."""
    for key in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if key.startswith("["):
            index = int(key[1:-1])
            if not isinstance(document, list) or index >= len(document):
                return MISSING
            document = document[index]
        elif isinstance(document, dict) and key in document:
            document = document[key]
        else:
            return MISSING
    return document


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


MISSING = _Missing()


def serialize(model: Any) -> Any:
    """A model as the SDK writes it (Kiota's JSON writer), parsed back into Python values."""
    from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter

    writer = JsonSerializationWriter()
    writer.write_object_value(None, model)
    return json.loads(writer.get_serialized_content())


def parse(document: Any, model_class: type) -> Any:
    """A JSON document parsed into a model by Kiota's JSON parse node."""
    from kiota_serialization_json.json_parse_node import JsonParseNode

    return JsonParseNode(document).get_object_value(model_class)


# ----------------------------------------------------------------------------------------------
# `sdk`: the SDK against a Graph endpoint.


class SuiteFailure(Exception):
    """Ends the run early: later steps depend on the one that failed."""


class Problems:
    """Problems of a run, one line each."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{where}: {message}")


def loopback_only(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"{url}: only loopback addresses may be contacted")


def identity_transport():
    """The azure-core transport of the credential.

    azure-identity accepts only an https authority (``normalize_authority`` raises "must be a
    TLS protected (https) URL" for anything else) and has no switch to allow plain http, while
    the emulator serves plain http on loopback. The credential is therefore given the https
    form of the authority and this transport, passed through azure-identity's documented
    ``transport`` keyword, sends its requests to the same loopback host and port over http.
    Everything else is azure-identity's own: the token endpoint it derives, the form it posts,
    how it reads the answer and the error documents, its token cache.
    """
    from azure.core.pipeline.transport import AioHttpTransport

    class LoopbackHttpTransport(AioHttpTransport):
        async def send(self, request, **kwargs):
            loopback_only(request.url)
            request.url = urlunsplit(("http",) + tuple(urlsplit(request.url))[1:])
            return await super().send(request, **kwargs)

    return LoopbackHttpTransport(use_env_settings=False)


class AnswerTap:
    """An httpx transport under the SDK's middleware: refuses non-loopback URLs, keeps the JSON
    of every answer (to name what an answer held when the SDK read it differently) and, when
    asked, alters one answer the way a broken endpoint could."""

    def __init__(self, inner, mutate: Optional[str]) -> None:
        self.inner = inner
        self.mutate = mutate
        self.mutated: Optional[str] = None
        self.answers: list[tuple[str, str, Any]] = []

    async def handle_async_request(self, request):
        import httpx

        loopback_only(str(request.url))
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        await response.aclose()
        document = None
        if "json" in response.headers.get("content-type", "") and content:
            try:
                document = json.loads(content)
            except ValueError:
                document = None
        if self.mutate and not self.mutated and document is not None:
            if self.alter(request.method, request.url.path, document):
                content = json.dumps(document).encode()
        self.answers.append((request.method, request.url.path, document))
        headers = [
            (name, value)
            for name, value in response.headers.raw
            if name.lower() not in (b"content-length", b"content-encoding", b"transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=content)

    def alter(self, method: str, path: str, document: dict) -> bool:
        """Alters the first answer to ``GET /users/{id}`` that holds the field concerned."""
        if method != "GET" or not re.fullmatch(r".*/users/[^/]+", path):
            return False
        if self.mutate == "type" and isinstance(document.get("accountEnabled"), bool):
            document["accountEnabled"] = str(document["accountEnabled"]).lower()
            self.mutated = f"GET {path}: accountEnabled sent as a string"
            return True
        if self.mutate == "rename" and "givenName" in document:
            document["givenname"] = document.pop("givenName")
            self.mutated = f"GET {path}: givenName sent as givenname"
            return True
        return False

    async def aclose(self) -> None:
        await self.inner.aclose()

    def last_answer(self, method: str, path_end: str) -> Any:
        for answer_method, path, document in reversed(self.answers):
            if answer_method == method and path.endswith(path_end):
                return document
        return None


class GraphSuite:
    """The SDK's calls against the endpoint, with the checks of what each answer parsed to."""

    def __init__(self, args: argparse.Namespace) -> None:
        # azure-identity logs each refused token request as a warning; the refusal the run
        # provokes is checked, not printed.
        logging.getLogger("azure.identity").setLevel(logging.ERROR)
        self.args = args
        self.problems = Problems()
        self.graph_url = args.graph_url.rstrip("/")
        self.nonce = secrets.token_hex(3)
        self.tap: Optional[AnswerTap] = None
        self.gone: list[Any] = []
        self.client = None
        self.http = None
        self.credential = None
        # The SDK calls under way, named in the problem an unexpected exception becomes.
        self.step = "setup"

    # -- checks ----------------------------------------------------------------------------

    def expect_model(self, where: str, model: Any, model_class: type, raw: Any = None) -> None:
        """The answer parsed into ``model_class`` with no field left over and, given the
        answer's JSON, every value of it read as the property's type (Kiota reads a value of
        another type as None, or converts it: the model written back then differs)."""
        if not isinstance(model, model_class):
            raise SuiteFailure(
                f"{where}: the answer parsed as {type(model).__name__}, not {model_class.__name__}"
            )
        for path, owner in leftover_fields(model, allow=self.allowed_leftover):
            held = at_path(raw, path) if raw is not None else MISSING
            shown = "" if held is MISSING else f" (holding {held!r})"
            self.problems.add(where, f"unknown field '{path}'{shown} (not a property of {owner})")
        if not isinstance(raw, dict):
            return
        leftovers = {path for path, _ in leftover_fields(model)}
        for path, sent, back in round_trip_differences(raw, serialize(model), "", leftovers):
            read = "drops" if back is MISSING else f"reads back as {json.dumps(back, default=str)}"
            self.problems.add(
                where,
                f"wrong type for '{path}': the answer holds {json.dumps(sent)}, which the SDK's "
                f"{graph_type(model)} {read}",
            )

    @staticmethod
    def allowed_leftover(prefix: str, key: str) -> bool:
        # Instance annotations (`@odata.context`, ...) describe an answer, they are no property.
        return key.startswith("@odata.")

    def expect_values(
        self, where: str, model: Any, written: dict[str, Any], raw: Any = None
    ) -> None:
        """Each written property (Graph path → value) reads back equal from the parsed answer."""
        found = flatten(model)
        for path, want in written.items():
            got = found.get(path)
            if got == want and type(got) is type(want):
                continue
            held = at_path(raw, path) if raw is not None else MISSING
            shown = "" if held is MISSING else f"; the answer holds {held!r}"
            self.problems.add(
                where,
                f"{path}: wrote {want!r}, the SDK's {type(model).__name__} holds {got!r}{shown}",
            )

    def expect_odata_error(
        self, where: str, error: Exception, status: int, code: str, raw: Any = None
    ) -> None:
        """The SDK raised its ``ODataError`` with the status and error code Graph documents."""
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        if not isinstance(error, ODataError):
            raise SuiteFailure(f"{where}: raised {describe(error)}, not ODataError")
        self.expect_model(where, error, ODataError, raw)
        if error.response_status_code != status:
            self.problems.add(where, f"status {error.response_status_code}, expected {status}")
        main = error.error
        if main is None:
            self.problems.add(where, "error: the SDK's ODataError holds no error")
            return
        if main.code != code:
            self.problems.add(where, f"error.code: expected {code!r}, the SDK read {main.code!r}")
        if not main.message:
            self.problems.add(where, "error.message: the SDK read no message")

    # -- setup -----------------------------------------------------------------------------

    def build_client(self, mutate: Optional[str]):
        import httpx
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from msgraph import GraphServiceClient
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph.graph_request_adapter import options as graph_options
        from msgraph_core import GraphClientFactory

        loopback_only(self.graph_url)
        self.credential = self.credential_with(self.args.client_secret)
        self.tap = AnswerTap(httpx.AsyncHTTPTransport(trust_env=False), mutate)
        http = httpx.AsyncClient(
            base_url=self.graph_url, transport=self.tap, trust_env=False, timeout=30
        )
        # The SDK's own middleware (retries, redirects, telemetry) over the tapped transport,
        # as GraphRequestAdapter builds it for graph.microsoft.com.
        self.http = GraphClientFactory.create_with_default_middleware(
            client=http, options=graph_options
        )
        adapter = GraphRequestAdapter(
            AzureIdentityAuthenticationProvider(self.credential), self.http
        )
        adapter.base_url = self.graph_url
        self.client = GraphServiceClient(request_adapter=adapter)

    def credential_with(self, secret: str):
        """azure-identity's async ``ClientSecretCredential`` for the authority.

        The async credential posts to ``{authority}/{tenant}/oauth2/v2.0/token`` directly. The
        synchronous one goes through MSAL, which first reads the OpenID configuration
        (``{authority}/{tenant}/v2.0/.well-known/openid-configuration``) even with
        ``disable_instance_discovery=True``; the emulator does not serve that document.
        """
        from azure.identity.aio import ClientSecretCredential

        loopback_only(self.args.authority_url)
        https = urlunsplit(("https",) + tuple(urlsplit(self.args.authority_url))[1:])
        return ClientSecretCredential(
            self.args.tenant_id,
            self.args.client_id,
            secret,
            authority=https.rstrip("/"),
            transport=identity_transport(),
        )

    async def close(self) -> None:
        if self.credential is not None:
            await self.credential.close()
        if self.http is not None:
            await self.http.aclose()

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> list[str]:
        try:
            self.build_client(self.args.mutate)
            await self.tokens()
            await self.steps()
        except SuiteFailure as failure:
            self.problems.lines.append(f"{failure} (the remaining steps were not run)")
        except Exception as error:  # an SDK call failed where it should not
            self.problems.add(self.step, f"{describe(error)} (the remaining steps were not run)")
        finally:
            await self.close()
        if self.args.mutate and self.tap is not None and not self.tap.mutated:
            self.problems.add("--mutate", "no answer was altered")
        return self.problems.lines

    async def tokens(self) -> None:
        """azure-identity against the token endpoint: a refused secret, then a token."""
        from azure.core.exceptions import ClientAuthenticationError

        token_path = f"POST /{self.args.tenant_id}/oauth2/v2.0/token"
        # The scope Kiota's authentication provider asks for a Graph URL: its origin without
        # the port, with `/.default`.
        graph = urlsplit(self.graph_url)
        scope = f"{graph.scheme}://{graph.hostname}/.default"
        wrong = self.credential_with("not-the-secret")
        where = f"{token_path} [ClientSecretCredential.get_token_info, wrong secret]"
        self.step = where
        try:
            await wrong.get_token_info(scope)
            self.problems.add(where, "a wrong client secret got a token")
        except ClientAuthenticationError as error:
            if "invalid_client" not in str(error):
                self.problems.add(
                    where, f"azure-identity read no error code 'invalid_client': {describe(error)}"
                )
        finally:
            await wrong.close()
        where = f"{token_path} [ClientSecretCredential.get_token_info]"
        self.step = where
        try:
            token = await self.credential.get_token_info(scope)
        except ClientAuthenticationError as error:
            raise SuiteFailure(f"{where}: {describe(error)}") from error
        if not token.token:
            raise SuiteFailure(f"{where}: azure-identity read no access_token")
        if token.expires_on <= time.time():
            self.problems.add(where, f"expires_on {token.expires_on} is not in the future")

    # -- the users -------------------------------------------------------------------------

    def new_user(self, key: str, given: str, surname: str, employee_id: str, **extra) -> Planned:
        """A user to create with every property the connector writes on a create."""
        from msgraph.generated.models.on_premises_extension_attributes import (
            OnPremisesExtensionAttributes,
        )
        from msgraph.generated.models.password_profile import PasswordProfile
        from msgraph.generated.models.user import User

        local = f"{given}.{surname}.{self.nonce}".lower()
        return Planned(key, User(
            account_enabled=True,
            display_name=f"{given} {surname}",
            given_name=given,
            surname=surname,
            mail_nickname=local,
            user_principal_name=f"{local}@contoso.onmicrosoft.com",
            mail=f"{local}@contoso.example",
            employee_id=employee_id,
            password_profile=PasswordProfile(
                force_change_password_next_sign_in=True,
                password="Tr0ub4dor&" + secrets.token_hex(4),
            ),
            on_premises_extension_attributes=OnPremisesExtensionAttributes(
                extension_attribute15=f"acme-hris:{employee_id}"
            ),
            **extra,
        ))

    def ref_to(self, user: Planned):
        from msgraph.generated.models.reference_update import ReferenceUpdate

        return ReferenceUpdate(odata_id=f"{self.graph_url}/users/{user.id}")

    @staticmethod
    def user_query(select: list[str], expand: Optional[list[str]] = None, top=None):
        """A request configuration for ``users.get`` (with ``top``) or
        ``users.by_user_id().get``."""
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
        from msgraph.generated.users.users_request_builder import UsersRequestBuilder

        if top is None:
            query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                select=select, expand=expand
            )
        else:
            query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                select=select, expand=expand, top=top
            )
        return RequestConfiguration(query_parameters=query)

    # -- the steps -------------------------------------------------------------------------

    async def steps(self) -> None:
        ada, grace, alan = await self.create_users()
        for user in (grace, alan):
            self.step = f"PUT /v1.0/users/{user.id}/manager/$ref [users.by_user_id.manager.ref.put]"
            await self.client.users.by_user_id(user.id).manager.ref.put(self.ref_to(ada))
        await self.list_like_a_check()
        await self.list_all([ada, grace, alan], {grace.key: ada, alan.key: ada}, top=2, min_pages=2)
        await self.read_by_name(ada)
        await self.read_defaults(ada)
        await self.update(ada)
        self.step = (
            f"DELETE /v1.0/users/{grace.id}/manager/$ref [users.by_user_id.manager.ref.delete]"
        )
        await self.client.users.by_user_id(grace.id).manager.ref.delete()
        await self.delete(alan)
        edsger = await self.first_batch(ada, grace)
        await self.second_batch(ada, edsger, alan)
        await self.list_all([ada, grace], {}, top=999, min_pages=1)
        if self.args.group_id:
            await self.group_user_members(self.args.group_id)
            await self.group_members(self.args.group_id)

    async def group_user_members(self, group_id: str) -> None:
        """The ``microsoftGraph`` source's read of a group: the users among its transitive
        members (the OData cast), paged through ``@odata.nextLink``, each parsed as a ``User``
        with its manager expanded to an id."""
        from msgraph.generated.groups.item.transitive_members.graph_user.graph_user_request_builder import (  # noqa: E501
            GraphUserRequestBuilder,
        )
        from msgraph.generated.models.user_collection_response import UserCollectionResponse
        from kiota_abstractions.base_request_configuration import RequestConfiguration

        members = self.client.groups.by_group_id(group_id).transitive_members.graph_user
        where = self.step = (
            f"GET /v1.0/groups/{group_id}/transitiveMembers/graph.user?$select=...&"
            "$expand=manager($select=id)&$top=2 [groups.by_group_id.transitive_members."
            "graph_user.get]"
        )
        query = GraphUserRequestBuilder.GraphUserRequestBuilderGetQueryParameters(
            select=SOURCE_LISTED, expand=["manager($select=id)"], top=2
        )
        page = await members.get(RequestConfiguration(query_parameters=query))
        users: set[str] = set()
        pages = 0
        while True:
            pages += 1
            raw = self.tap.last_answer("GET", "/graph.user") or {}
            self.expect_model(where, page, UserCollectionResponse, raw)
            for user in page.value or []:
                if not user.id or not user.user_principal_name:
                    self.problems.add(where, f"a user without its id or name: {user!r}")
                users.add(user.id)
            if not page.odata_next_link or pages >= MAX_PAGES:
                break
            where = self.step = (
                f"GET {urlsplit(page.odata_next_link).path} (@odata.nextLink) "
                "[groups.by_group_id.transitive_members.graph_user.with_url.get]"
            )
            page = await members.with_url(page.odata_next_link).get()
        if pages < 2 or not users:
            self.problems.add(
                where, f"{len(users)} users in {pages} page(s): paging was not exercised"
            )

    async def group_members(self, group_id: str) -> None:
        """Every transitive member of a group without the cast: each parsed as the SDK's type
        for its ``@odata.type`` (users, nested groups, devices, service principals)."""
        from msgraph.generated.groups.item.transitive_members.transitive_members_request_builder import (  # noqa: E501
            TransitiveMembersRequestBuilder,
        )
        from msgraph.generated.models.directory_object_collection_response import (
            DirectoryObjectCollectionResponse,
        )
        from kiota_abstractions.base_request_configuration import RequestConfiguration

        where = self.step = (
            f"GET /v1.0/groups/{group_id}/transitiveMembers?$top=999 "
            "[groups.by_group_id.transitive_members.get]"
        )
        query = TransitiveMembersRequestBuilder.TransitiveMembersRequestBuilderGetQueryParameters(
            top=999
        )
        page = await self.client.groups.by_group_id(group_id).transitive_members.get(
            RequestConfiguration(query_parameters=query)
        )
        raw = self.tap.last_answer("GET", "/transitiveMembers") or {}
        self.expect_model(where, page, DirectoryObjectCollectionResponse, raw)
        kinds = {type(member).__name__ for member in page.value or []}
        if not {"User", "Group", "Device", "ServicePrincipal"} <= kinds:
            self.problems.add(where, f"members parsed as {sorted(kinds)}")

    async def create_users(self) -> list[Planned]:
        from msgraph.generated.models.employee_org_data import EmployeeOrgData
        from msgraph.generated.models.user import User

        plans = [
            self.new_user(
                "ada", "Ada", "Lovelace", "E1001",
                department="Engineering", job_title="Engineer", preferred_language="en-GB",
                usage_location="SE", office_location="Stockholm",
                employee_hire_date=datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc),
                employee_org_data=EmployeeOrgData(cost_center="CC-100", division="R&D"),
            ),
            self.new_user(
                "grace", "Grace", "Hopper", "E1002",
                department="Research", job_title="Scientist", preferred_language="en-US",
            ),
            self.new_user("alan", "Alan", "Turing", "E1003", department="Research"),
        ]
        for plan in plans:
            where = self.step = "POST /v1.0/users [users.post]"
            user = await self.client.users.post(plan.create)
            raw = self.tap.last_answer("POST", "/users")
            self.expect_model(where, user, User, raw)
            if not user.id:
                raise SuiteFailure(f"{where}: the SDK's User holds no id")
            plan.id = user.id
            self.expect_values(where, user, written(plan.create), raw)
        return plans

    async def list_like_a_check(self) -> None:
        """The connector's credential check: one user, only its id."""
        from msgraph.generated.models.user_collection_response import UserCollectionResponse

        where = self.step = "GET /v1.0/users?$select=id&$top=1 [users.get]"
        page = await self.client.users.get(self.user_query(["id"], top=1))
        raw = self.tap.last_answer("GET", "/users")
        self.expect_model(where, page, UserCollectionResponse, raw)
        if not page.value or len(page.value) != 1 or not page.value[0].id:
            self.problems.add(where, f"value: expected one user with an id, read {page.value!r}")
        if not page.odata_next_link:
            self.problems.add(where, "@odata.nextLink: the SDK read none although users remain")

    async def list_all(
        self, users: list[Planned], managers: dict[str, Planned], top: int, min_pages: int
    ) -> None:
        """A listing as the connector makes it, paged through ``@odata.nextLink``: each of
        ``users`` with what it was written, its manager as ``managers`` says (none when not
        named), and no deleted user."""
        where = self.step = (
            f"GET /v1.0/users?$select=...&$expand=manager($select=id)&$top={top} [users.get]"
        )
        page = await self.client.users.get(
            self.user_query(LISTED, expand=["manager($select=id)"], top=top)
        )
        listed, pages = await self.pages(where, page)
        if pages < min_pages:
            self.problems.add(where, f"{pages} page(s) with $top={top}: paging was not exercised")
        for plan in users:
            label = f"{where} user {plan.id}"
            if plan.id not in listed:
                self.problems.add(label, "missing from the listing")
                continue
            user, raw = listed[plan.id]
            self.expect_values(label, user, plan.now(LISTED), raw)
            manager = managers.get(plan.key)
            want = manager.id if manager else None
            got = user.manager.id if user.manager is not None else None
            if got != want:
                held = at_path(raw, "manager")
                self.problems.add(
                    label,
                    f"manager.id: expected {want!r}, the SDK read {got!r}"
                    + ("" if held is MISSING else f"; the answer holds {held!r}"),
                )
        for plan in self.gone:
            if plan.id in listed:
                self.problems.add(where, f"deleted user {plan.id} is still listed")

    async def pages(self, where: str, page) -> tuple[dict[str, tuple[Any, Any]], int]:
        """Every page from ``page`` on: the users by id (with their JSON), and the count."""
        from msgraph.generated.models.user_collection_response import UserCollectionResponse

        listed: dict[str, tuple[Any, Any]] = {}
        pages = 0
        while True:
            pages += 1
            raw = self.tap.last_answer("GET", "/users") or {}
            self.expect_model(where, page, UserCollectionResponse, raw)
            values = raw.get("value") if isinstance(raw.get("value"), list) else []
            for index, user in enumerate(page.value or []):
                listed[user.id] = (user, values[index] if index < len(values) else None)
            if not page.odata_next_link:
                return listed, pages
            if pages >= MAX_PAGES:
                self.problems.add(where, f"still an @odata.nextLink after {pages} pages")
                return listed, pages
            where = self.step = (
                f"GET {urlsplit(page.odata_next_link).path} (@odata.nextLink) "
                "[users.with_url.get]"
            )
            page = await self.client.users.with_url(page.odata_next_link).get()

    async def read_by_name(self, plan: Planned) -> None:
        """The connector's read of a user by userPrincipalName after a refused create."""
        from msgraph.generated.models.user import User

        upn = plan.create.user_principal_name
        where = self.step = (
            f"GET /v1.0/users/{upn}?$select=id,onPremisesExtensionAttributes "
            "[users.by_user_id.get]"
        )
        found = await self.client.users.by_user_id(upn).get(
            self.user_query(["id", "onPremisesExtensionAttributes"])
        )
        raw = self.tap.last_answer("GET", "")
        self.expect_model(where, found, User, raw)
        self.expect_values(
            where, found, {"id": plan.id} | plan.now(["onPremisesExtensionAttributes"]), raw
        )

    async def read_defaults(self, plan: Planned) -> None:
        """``GET /users/{id}`` without ``$select``: Graph's default properties only."""
        from msgraph.generated.models.user import User

        where = self.step = f"GET /v1.0/users/{plan.id} [users.by_user_id.get]"
        found = await self.client.users.by_user_id(plan.id).get()
        raw = self.tap.last_answer("GET", f"/users/{plan.id}")
        self.expect_model(where, found, User, raw)
        self.expect_values(where, found, {"id": plan.id} | plan.now(DEFAULT_PROPERTIES), raw)
        if found.department is not None:
            self.problems.add(where, "department: Graph returns it only when selected")

    async def update(self, plan: Planned) -> None:
        """A PATCH as the connector sends one (a deactivation with changed attributes), then
        the user read back."""
        from msgraph.generated.models.on_premises_extension_attributes import (
            OnPremisesExtensionAttributes,
        )
        from msgraph.generated.models.user import User

        change = User(
            department="Analytical Engines",
            account_enabled=False,
            display_name="Ada King",
            surname="King",
            employee_leave_date_time=datetime.datetime(2027, 1, 31, tzinfo=datetime.timezone.utc),
            on_premises_extension_attributes=OnPremisesExtensionAttributes(
                extension_attribute15="acme-hris:E1001"
            ),
        )
        where = self.step = f"PATCH /v1.0/users/{plan.id} [users.by_user_id.patch]"
        answer = await self.client.users.by_user_id(plan.id).patch(change)
        if answer is not None:
            self.problems.add(where, "Graph answers 204 No Content; the SDK read a body")
        plan.updates.append(change)
        where = self.step = f"GET /v1.0/users/{plan.id}?$select=... [users.by_user_id.get]"
        found = await self.client.users.by_user_id(plan.id).get(self.user_query(LISTED))
        raw = self.tap.last_answer("GET", f"/users/{plan.id}")
        self.expect_model(where, found, User, raw)
        self.expect_values(where, found, plan.now(LISTED), raw)

    async def delete(self, plan: Planned) -> None:
        """A delete, then the user read: ``ODataError`` 404 ``Request_ResourceNotFound``."""
        self.step = f"DELETE /v1.0/users/{plan.id} [users.by_user_id.delete]"
        await self.client.users.by_user_id(plan.id).delete()
        self.gone.append(plan)
        where = self.step = f"GET /v1.0/users/{plan.id} (deleted) [users.by_user_id.get]"
        try:
            await self.client.users.by_user_id(plan.id).get()
        except Exception as error:  # the SDK's error type is what is checked
            raw = self.tap.last_answer("GET", f"/users/{plan.id}")
            self.expect_odata_error(where, error, 404, "Request_ResourceNotFound", raw)
        else:
            self.problems.add(where, "succeeded, expected 404 Request_ResourceNotFound")

    # -- $batch ----------------------------------------------------------------------------

    def batch_item(self, request_id: str, request_information):
        """A batch item from a request builder's request information.

        msgraph-core 1.5.2 keeps the absolute URL in a ``BatchRequestItem`` (its ``set_url``
        cannot strip the version either), while Graph's ``$batch`` takes URLs relative to the
        version root; msgraph-sdk-python issue 1015 and msgraph-sdk-python-core issue 1116
        track it, and the workaround given there, making the URL relative, is applied here.
        (Each item also carries ``"depends_on": []``, msgraph-core's spelling of Graph's
        ``dependsOn``, msgraph-sdk-python-core pull request 996; Graph ignores it, and so
        does the run.)
        """
        from msgraph_core.requests.batch_request_item import BatchRequestItem

        item = BatchRequestItem(request_information=request_information, id=request_id)
        if item.url.startswith(self.graph_url):
            item.url = item.url[len(self.graph_url):]
        return item

    async def send_batch(self, where: str, items: list) -> Batch:
        from msgraph_core.requests.batch_request_content import BatchRequestContent
        from msgraph_core.requests.batch_response_content import BatchResponseContent

        content = BatchRequestContent()
        for item in items:
            content.add_request(item.id, item)
        self.step = where
        answer = await self.client.batch.post(content)
        if not isinstance(answer, BatchResponseContent):
            raise SuiteFailure(f"{where}: the answer parsed as {type(answer).__name__}")
        raw = self.tap.last_answer("POST", "/$batch") or {}
        raw_items = {
            item.get("id"): item for item in raw.get("responses", []) if isinstance(item, dict)
        }
        return Batch(where, answer, raw_items)

    def batch_status(self, batch: Batch, request_id: str, status: int) -> bool:
        response = (batch.answer.responses or {}).get(request_id)
        got = response.status if response is not None else None
        if response is None:
            self.problems.add(batch.where, f"responses: none with id {request_id!r}")
        elif got != status:
            self.problems.add(batch.where, f"item {request_id}: status {got}, expected {status}")
        return got == status

    def batch_body(self, batch: Batch, request_id: str, model_class: type):
        """An item's body as the SDK's model, checked to have no field left over.

        ``BatchResponseItem`` reads ``body`` with Kiota's ``get_bytes_value``, which in
        kiota-serialization-json 1.16 returns None for a JSON object (kiota-python issue 737),
        so ``BatchResponseContent.response_body`` cannot parse the JSON bodies Graph sends.
        When the item lost its body that way, the body of the same answer is parsed with
        Kiota's JSON parse node into the same model instead.
        """
        where = f"{batch.where} item {request_id}"
        response = batch.answer.responses.get(request_id)
        raw = (batch.raw_items.get(request_id) or {}).get("body")
        if response is not None and response.body is not None:
            model = batch.answer.response_body(request_id, model_class)
        elif isinstance(raw, dict):
            model = parse(raw, model_class)
        else:
            raise SuiteFailure(f"{where}: no JSON body")
        self.expect_model(where, model, model_class, raw)
        return model, raw

    async def first_batch(self, ada: Planned, grace: Planned) -> Planned:
        """A create, an update, a manager link and a read in one ``$batch``; returns the
        created user."""
        from msgraph.generated.models.user import User

        edsger = self.new_user("edsger", "Edsger", "Dijkstra", "E1004", department="Algorithms",
                               job_title="Professor", preferred_language="nl-NL")
        change = User(department="Compilers", job_title="Rear Admiral", account_enabled=False)
        users = self.client.users
        batch = await self.send_batch(
            "POST /v1.0/$batch [batch.post: POST /users, PATCH /users/{id}, "
            "PUT /users/{id}/manager/$ref, GET /users/{id}]",
            [
                self.batch_item("create", users.to_post_request_information(edsger.create)),
                self.batch_item(
                    "update", users.by_user_id(grace.id).to_patch_request_information(change)
                ),
                self.batch_item(
                    "link",
                    users.by_user_id(ada.id).manager.ref.to_put_request_information(
                        self.ref_to(grace)
                    ),
                ),
                self.batch_item(
                    "read",
                    users.by_user_id(ada.id).to_get_request_information(self.user_query(LISTED)),
                ),
            ],
        )
        if not self.batch_status(batch, "create", 201):
            raise SuiteFailure(f"{batch.where}: the batched create failed")
        created, raw = self.batch_body(batch, "create", User)
        edsger.id = created.id
        self.expect_values(f"{batch.where} item create", created, written(edsger.create), raw)
        if self.batch_status(batch, "update", 204):
            grace.updates.append(change)
        self.batch_status(batch, "link", 204)
        if self.batch_status(batch, "read", 200):
            found, raw = self.batch_body(batch, "read", User)
            self.expect_values(f"{batch.where} item read", found, ada.now(LISTED), raw)
        return edsger

    async def second_batch(self, ada: Planned, edsger: Planned, deleted: Planned) -> None:
        """A manager unlink, a delete and a read of a deleted user in one ``$batch``."""
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        users = self.client.users
        batch = await self.send_batch(
            "POST /v1.0/$batch [batch.post: DELETE /users/{id}/manager/$ref, "
            "DELETE /users/{id}, GET /users/{deleted id}]",
            [
                self.batch_item(
                    "unlink", users.by_user_id(ada.id).manager.ref.to_delete_request_information()
                ),
                self.batch_item(
                    "delete", users.by_user_id(edsger.id).to_delete_request_information()
                ),
                self.batch_item(
                    "missing", users.by_user_id(deleted.id).to_get_request_information()
                ),
            ],
        )
        self.batch_status(batch, "unlink", 204)
        if self.batch_status(batch, "delete", 204):
            self.gone.append(edsger)
        if self.batch_status(batch, "missing", 404):
            error, _ = self.batch_body(batch, "missing", ODataError)
            code = error.error.code if error.error is not None else None
            if code != "Request_ResourceNotFound":
                self.problems.add(
                    f"{batch.where} item missing",
                    f"error.code: expected 'Request_ResourceNotFound', the SDK read {code!r}",
                )


@dataclasses.dataclass
class Planned:
    """A user the run creates: what it was created with and every update since."""

    key: str
    create: Any
    id: Optional[str] = None
    updates: list = dataclasses.field(default_factory=list)

    def now(self, properties) -> dict[str, Any]:
        """What the user should hold now of ``properties`` (top-level Graph names), by path."""
        values = written(self.create)
        for update in self.updates:
            values.update(written(update))
        return {path: v for path, v in values.items() if path.split(".")[0] in properties}


@dataclasses.dataclass
class Batch:
    """A ``$batch`` answer: as the SDK parsed it, and its items' JSON by id."""

    where: str
    answer: Any
    raw_items: dict[str, Any]


def written(user: Any) -> dict[str, Any]:
    """What a create or update wrote, by Graph path, as it reads back (a password never
    does)."""
    return {k: v for k, v in flatten(user).items() if not k.startswith("passwordProfile")}


# The properties the connector selects when listing (it adds the mapped ones: here every
# property the run writes).
LISTED = [
    "id", "userPrincipalName", "mail", "givenName", "surname", "displayName",
    "preferredLanguage", "accountEnabled", "onPremisesExtensionAttributes",
    "department", "jobTitle", "officeLocation", "employeeId", "usageLocation",
    "employeeHireDate", "employeeLeaveDateTime", "employeeOrgData",
]
# What the `microsoftGraph` source selects.
SOURCE_LISTED = [
    "id", "userPrincipalName", "mail", "otherMails", "userType", "accountEnabled", "givenName",
    "surname", "displayName", "employeeId", "employeeHireDate", "employeeLeaveDateTime",
    "department", "jobTitle", "officeLocation", "preferredLanguage",
]
# What `GET /users/{id}` returns without `$select` (Graph's documented default set).
DEFAULT_PROPERTIES = [
    "businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName",
]


def describe(error: Exception) -> str:
    """An exception as one line; an ``ODataError`` with what the SDK read from it."""
    main = getattr(error, "error", None)
    if hasattr(error, "response_status_code") and main is not None:
        return (
            f"{type(error).__name__} {error.response_status_code} "
            f"{getattr(main, 'code', None)}: {getattr(main, 'message', None)}"
        )
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def need_batch_modules() -> Optional[str]:
    """Why msgraph-core's batch modules cannot be imported, if they cannot.

    msgraph-core 1.5.2 imports ``deprecated`` in ``batch_request_item`` without declaring the
    ``Deprecated`` package as a dependency (msgraph-sdk-python-core issue 1030), so the SDK's
    batch API needs that package installed beside it.
    """
    try:
        import msgraph_core.requests.batch_request_content  # noqa: F401
    except ModuleNotFoundError as error:
        return (
            f"msgraph_core.requests.batch_request_content: {error}; msgraph-core "
            f"{importlib.metadata.version('msgraph-core')} needs the undeclared package "
            f"'{error.name}' (install 'Deprecated')"
        )
    return None


def run_sdk(args: argparse.Namespace) -> list[str]:
    missing = need_batch_modules()
    if missing:
        return [missing]
    return asyncio.run(GraphSuite(args).run())


# ----------------------------------------------------------------------------------------------
# `requests`: a request log against the SDK's request builders and models.

TOKEN_PATH = re.compile(r"^/[^/]+/oauth2/v2\.0/token$")
BUILDER_TEMPLATE = re.compile(r'super\(\).__init__\(request_adapter, "([^"]+)"')
BUILDER_METHOD = re.compile(r"    async def (get|post|patch|put|delete)\(self,(.*?)\) -> (.*?):\n")
QUERY_CLASS = re.compile(r"\n    class (\w+?)(Get|Post|Patch|Put|Delete)QueryParameters\(\):\n")
QUERY_FIELD = re.compile(r"\n        (\w+): Optional\[(.+?)\] = None")
QUERY_WIRE_NAME = re.compile(r'if original_name == "(\w+)":\s+return "([^"]+)"')
IMPORT = re.compile(r"from (\.+)([\w.]*) import (\w+)")
# Query options a server puts in `@odata.nextLink`: clients follow the link as given and never
# build these themselves, so no request builder declares them.
SERVER_PAGING_OPTIONS = {"$skiptoken"}
# What a `$batch` request item may hold (Graph's JSON batching documentation).
BATCH_ITEM_KEYS = {"id", "method", "url", "headers", "body", "dependsOn"}
HTTP_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


@dataclasses.dataclass
class Operation:
    """One method of a request builder."""

    query: dict[str, str]  # wire name (`$select`) → the SDK's Python type (`list[str]`)
    body: Optional[tuple[str, str]]  # (module, class) of the body model
    returns: Optional[tuple[str, str]]  # (module, class) of the answer model


@dataclasses.dataclass
class Builder:
    """A request builder: its URL template and the operations it defines."""

    name: str
    template: str
    segments: list[Any]  # a literal segment (str) or a compiled pattern
    operations: dict[str, Operation]

    @property
    def literal_weight(self) -> int:
        return sum(len(s) for s in self.segments if isinstance(s, str))


def resolve_import(module: str, source: str, class_name: str) -> Optional[tuple[str, str]]:
    """The module a generated source file imports ``class_name`` from."""
    for dots, rest, name in IMPORT.findall(source):
        if name != class_name:
            continue
        package = module.split(".")[: -len(dots)]
        return ".".join(package + ([rest] if rest else [])), name
    return None


class SdkCatalog:
    """What msgraph-sdk knows, read lazily: request builders by first path segment, and the
    models they name."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("msgraph")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("graph.py: msgraph-sdk is not installed in this Python")
        self.root = Path(list(spec.submodule_search_locations)[0]) / "generated"
        self.version = importlib.metadata.version("msgraph-sdk")
        self.builders: dict[str, list[Builder]] = {}
        self.fields: dict[tuple[str, str], dict[str, str]] = {}

    def builders_under(self, segment: str) -> list[Builder]:
        """The request builders of the URLs that start with ``/{segment}``."""
        if segment in self.builders:
            return self.builders[segment]
        found: list[Builder] = []
        if segment == "$batch":
            found.append(self.batch_builder())
        else:
            folder = self.root / camel_to_snake(segment)
            if re.fullmatch(r"[A-Za-z]+", segment) and folder.is_dir():
                for path in sorted(folder.rglob("*_request_builder.py")):
                    builder = self.read_builder(path)
                    if builder is not None:
                        found.append(builder)
        self.builders[segment] = found
        return found

    def batch_builder(self) -> Builder:
        """msgraph-core's ``BatchRequestBuilder``: ``POST {base}/$batch``, no query."""
        source = self.core_source("batch_request_builder.py")
        if '/$batch"' not in source or "async def post(" not in source:
            raise SystemExit("graph.py: msgraph-core's BatchRequestBuilder posts no /$batch")
        return Builder(
            "BatchRequestBuilder",
            "{+baseurl}/$batch",
            ["$batch"],
            {"POST": Operation({}, None, None)},
        )

    def batch_limit(self) -> int:
        """``BatchRequestContent.MAX_REQUESTS``, read from its source: importing msgraph-core's
        batch modules needs the undeclared ``Deprecated`` package (see ``need_batch_modules``)."""
        source = self.core_source("batch_request_content.py")
        return int(re.search(r"MAX_REQUESTS = (\d+)", source).group(1))

    @staticmethod
    def core_source(name: str) -> str:
        spec = importlib.util.find_spec("msgraph_core")
        folder = Path(list(spec.submodule_search_locations)[0]) / "requests"
        return (folder / name).read_text(encoding="utf-8")

    def read_builder(self, path: Path) -> Optional[Builder]:
        source = path.read_text(encoding="utf-8")
        template = BUILDER_TEMPLATE.search(source)
        if template is None:
            return None
        relative = path.relative_to(self.root.parent.parent).with_suffix("")
        module = ".".join(relative.parts)
        class_match = re.search(r"\nclass (\w+)\(BaseRequestBuilder\)", source)
        name = class_match.group(1) if class_match else path.stem
        query_classes = self.query_classes(source)
        operations = {}
        for method, parameters, returns in BUILDER_METHOD.findall(source):
            body = re.search(r"body: (\w+)", parameters)
            answer = re.fullmatch(r"Optional\[(\w+)\]", returns.strip())
            operations[method.upper()] = Operation(
                query=query_classes.get((name, method.capitalize()), {}),
                body=resolve_import(module, source, body.group(1)) if body else None,
                returns=resolve_import(module, source, answer.group(1)) if answer else None,
            )
        url = template.group(1)
        path_part = url.removeprefix("{+baseurl}").split("{?")[0]
        segments = [self.segment(s) for s in path_part.strip("/").split("/")]
        return Builder(name, url, segments, operations)

    @staticmethod
    def query_classes(source: str) -> dict[tuple[str, str], dict[str, str]]:
        """Each ``<Builder><Method>QueryParameters`` class: wire name → Python type."""
        classes = {}
        for start in QUERY_CLASS.finditer(source):
            following = re.compile(r"\n    (@|class )").search(source, start.end())
            body = source[start.end(): following.start() if following else len(source)]
            wire = dict(QUERY_WIRE_NAME.findall(body))
            classes[(start.group(1), start.group(2))] = {
                unquote(wire.get(name, name)): kind for name, kind in QUERY_FIELD.findall(body)
            }
        return classes

    @staticmethod
    def segment(text: str):
        if "{" not in text:
            return text
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", text)
            if part
        )
        return re.compile(pattern)

    def match(self, path_segments: list[str]) -> Optional[Builder]:
        """The most literal builder whose template matches the decoded path segments."""
        best = None
        for builder in self.builders_under(path_segments[0]):
            if len(builder.segments) != len(path_segments):
                continue
            if all(
                s == p if isinstance(s, str) else s.fullmatch(p)
                for s, p in zip(builder.segments, path_segments)
            ):
                if best is None or builder.literal_weight > best.literal_weight:
                    best = builder
        return best

    # -- models ------------------------------------------------------------------------------

    @staticmethod
    def model_class(reference: tuple[str, str]) -> type:
        module, name = reference
        return getattr(importlib.import_module(module), name)

    def field_types(self, reference: tuple[str, str]) -> dict[str, str]:
        """A model's property names (``get_field_deserializers``) → annotation of the
        attribute holding each (a string such as ``Optional[DirectoryObject]``)."""
        if reference in self.fields:
            return self.fields[reference]
        model_class = self.model_class(reference)
        annotations = {f.name: str(f.type) for f in dataclasses.fields(model_class)}
        names = model_class().get_field_deserializers().keys()
        types = {name: annotations.get(camel_to_snake(name), "") for name in names}
        self.fields[reference] = types
        return types

    def property_model(self, owner: tuple[str, str], name: str) -> Optional[tuple[str, str]]:
        """The model of a structured or navigation property, e.g. User.manager →
        DirectoryObject."""
        annotation = self.field_types(owner).get(name, "")
        inner = re.search(r"(\w+)\]*$", annotation)
        if inner is None or inner.group(1)[:1].islower():
            return None
        module = importlib.import_module(owner[0])
        source = Path(module.__file__).read_text(encoding="utf-8")
        return resolve_import(owner[0], source, inner.group(1))

    def property_type(self, reference: tuple[str, str], path: str) -> str:
        """The Python type the SDK gives a property at a dotted path (``Optional`` removed)."""
        *owners, name = re.sub(r"\[\d+\]", "", path).split(".")
        for owner in owners:
            reference = self.property_model(reference, owner) or reference
        annotation = self.field_types(reference).get(name, "")
        inner = re.fullmatch(r"Optional\[(.*)\]", annotation)
        return (inner.group(1) if inner else annotation) or "unknown"

    def answer_item(self, returns: Optional[tuple[str, str]]) -> Optional[tuple[str, str]]:
        """The model a GET's ``$select`` applies to: the element of a collection answer."""
        if returns is None:
            return None
        if returns[1].endswith("CollectionResponse"):
            return self.property_model(returns, "value")
        return returns


def cast_alias(segment: str) -> str:
    """An OData cast segment in the form the SDK's URL templates use. Graph's metadata declares
    the namespace ``microsoft.graph`` with the alias ``graph``, and Graph takes a cast by
    either name: its documentation writes ``/transitiveMembers/microsoft.graph.user``, the
    SDK's builders ``/transitiveMembers/graph.user``. Any other segment is left as it is."""
    if segment.startswith("microsoft.graph.") and segment.count(".") == 2:
        return segment[len("microsoft."):]
    return segment


def type_name(model_class: type) -> str:
    name = model_class.__name__
    return "microsoft.graph." + name[:1].lower() + name[1:]


class RequestChecker:
    """Checks logged requests; ``problems`` holds one line per problem."""

    def __init__(self, catalog: Optional[SdkCatalog] = None) -> None:
        self.catalog = catalog or SdkCatalog()
        self.problems: list[str] = []

    def report(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def check_log(self, log: Any, name: str = "log") -> None:
        requests = log.get("requests") if isinstance(log, dict) else None
        if not isinstance(requests, list):
            self.report(name, "no 'requests' list")
            return
        for request in requests:
            self.check_logged(request)

    def check_logged(self, request: dict) -> None:
        method = str(request.get("method", "")).upper()
        path = str(request.get("path", ""))
        query = str(request.get("query") or "")
        where = f"{method} {path}"
        if method == "POST" and TOKEN_PATH.match(path):
            return
        if not path.startswith("/v1.0/"):
            self.report(where, "unknown path (msgraph-sdk is the v1.0 API: no /v1.0 prefix)")
            return
        if path == "/v1.0/$batch" and method == "POST":
            self.check_batch(where, request.get("body"), request.get("items") or [])
            if query:
                self.report(where, "unknown query parameters: $batch takes none")
            return
        self.check_request(where, method, path[len("/v1.0"):], query, request.get("body"))

    def check_request(self, where: str, method: str, path: str, query: str, body: Any) -> None:
        segments = [cast_alias(unquote(s)) for s in path.strip("/").split("/")]
        builder = self.catalog.match(segments)
        if builder is None:
            self.report(
                where,
                f"unknown path (no request builder of msgraph-sdk {self.catalog.version} "
                "has a URL template that matches it)",
            )
            return
        operation = builder.operations.get(method)
        if operation is None:
            known = ", ".join(sorted(builder.operations)) or "none"
            self.report(
                where,
                f"unknown method: {builder.name} ({builder.template}) defines {known}, "
                f"not {method}",
            )
            return
        self.check_query(where, builder, method, operation, query)
        if operation.body is not None:
            self.check_body(where, operation.body, body)
        elif body not in (None, "", {}):
            self.report(where, f"a body, but {builder.name}.{method.lower()} takes none")

    # -- query -------------------------------------------------------------------------------

    def check_query(
        self, where: str, builder: Builder, method: str, operation: Operation, query: str
    ) -> None:
        seen: set[str] = set()
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name in seen:
                self.report(where, f"query parameter '{name}' given twice")
            seen.add(name)
            kind = operation.query.get(name)
            if kind is None:
                if name in SERVER_PAGING_OPTIONS and "$top" in operation.query:
                    continue
                known = ", ".join(sorted(operation.query)) or "none"
                self.report(
                    where,
                    f"unknown query parameter '{name}' "
                    f"({builder.name}.{method.lower()} takes {known})",
                )
                continue
            self.check_query_value(where, operation, name, kind, value)

    def check_query_value(
        self, where: str, operation: Operation, name: str, kind: str, value: str
    ) -> None:
        if kind == "int" and not re.fullmatch(r"\d+", value):
            self.report(where, f"{name}={value!r} is not an integer (the SDK's type: int)")
        elif kind == "bool" and value not in ("true", "false"):
            self.report(where, f"{name}={value!r} is not true or false (the SDK's type: bool)")
        model = self.catalog.answer_item(operation.returns)
        if model is None:
            return
        if name == "$select":
            self.check_properties(where, name, model, value.split(","))
        elif name == "$orderby":
            names = [item.split()[0] for item in value.split(",") if item.split()]
            self.check_properties(where, name, model, names)
        elif name == "$expand":
            self.check_expand(where, model, value)

    def check_properties(
        self, where: str, option: str, model: tuple[str, str], names: list[str]
    ) -> None:
        known = self.catalog.field_types(model)
        for name in (n.strip() for n in names):
            if name in known or DIRECTORY_EXTENSION.match(name):
                continue
            self.report(
                where,
                f"unknown {option} property '{name}' (not a property of "
                f"{type_name(self.catalog.model_class(model))})",
            )

    def check_expand(self, where: str, model: tuple[str, str], value: str) -> None:
        """``$expand=nav($select=a,b;$expand=...)``: each navigation property of the model,
        and its nested options against the property's model."""
        for item in split_top_level(value, ","):
            match = re.fullmatch(r"\s*([\w.*]+)\s*(?:\((.*)\))?\s*", item)
            if match is None:
                self.report(where, f"$expand item '{item}' is not an OData expand item")
                continue
            name, options = match.group(1), match.group(2)
            if name == "*":
                continue
            self.check_properties(where, "$expand", model, [name])
            target = self.catalog.property_model(model, name)
            if not options or target is None:
                continue
            for option in split_top_level(options, ";"):
                key, _, nested = option.partition("=")
                key = key.strip()
                if key == "$select":
                    self.check_properties(
                        where, f"$expand={name}($select)", target, nested.split(",")
                    )
                elif key == "$expand":
                    self.check_expand(where, target, nested)
                elif key not in ("$filter", "$top", "$skip", "$orderby", "$count", "$levels"):
                    self.report(where, f"unknown option '{key}' inside $expand={name}(...)")

    # -- bodies ------------------------------------------------------------------------------

    def check_body(self, where: str, reference: tuple[str, str], body: Any) -> None:
        """A JSON body against the model the SDK sends for this request.

        The body must parse into the model with nothing left in ``additional_data``, at any
        depth, and each non-null value must read back (Kiota's writer) as it was sent; a null
        is a clear, which Graph takes for any nullable property. Excused leftovers: directory
        extension properties (``extension_{appId}_{name}``), which Graph documents as
        properties of the object they extend. Instance and property annotations
        (``manager@odata.bind`` and the like) are not excused: our connector sends none (it
        links managers through ``manager/$ref``), and one appearing should be a decision.
        """
        model_class = self.catalog.model_class(reference)
        owner = type_name(model_class)
        if not isinstance(body, dict):
            shown = "no body" if body is None else f"a {type(body).__name__} body"
            self.report(where, f"{shown}, but the SDK sends a {owner} object")
            return
        try:
            model = parse(body, model_class)
        except Exception:  # a value Kiota cannot read at all; find which
            self.report_unreadable(where, model_class, body)
            return
        allow = lambda prefix, key: prefix == "" and bool(DIRECTORY_EXTENSION.match(key))
        for path, owner_type in leftover_fields(model, allow=allow):
            self.report(where, f"unknown field '{path}' (not a property of {owner_type})")
        leftovers = {path for path, _ in leftover_fields(model, allow=lambda p, k: False)}
        for path, sent, back in round_trip_differences(body, serialize(model), "", leftovers):
            read = "drops" if back is MISSING else f"reads back as {json.dumps(back)}"
            self.report(
                where,
                f"wrong type for '{path}': sent {json.dumps(sent)}, which the SDK's {owner} "
                f"{read} (the SDK's type: {self.catalog.property_type(reference, path)})",
            )
        if model_class.__name__ in ("ReferenceUpdate", "ReferenceCreate"):
            self.check_reference(where, model)

    def report_unreadable(self, where: str, model_class: type, body: dict) -> None:
        for key, value in body.items():
            try:
                parse({key: value}, model_class)
            except Exception as error:
                kind = self.catalog.property_type(
                    (model_class.__module__, model_class.__name__), key
                )
                self.report(
                    where,
                    f"wrong type for '{key}': sent {json.dumps(value)}, which the SDK's "
                    f"{type_name(model_class)} cannot read (the SDK's type: {kind}; "
                    f"{type(error).__name__}: {error})",
                )

    def check_reference(self, where: str, model: Any) -> None:
        """``{"@odata.id": URL}`` naming a directory object."""
        target = getattr(model, "odata_id", None)
        if not target:
            self.report(where, "'@odata.id' is missing: a $ref body names the object to link")
            return
        parts = urlsplit(target)
        if not parts.scheme or not re.search(r"/(users|directoryObjects)/[^/]+$", parts.path):
            self.report(
                where,
                f"'@odata.id' {target!r} is not the URL of a user or directory object",
            )

    # -- $batch ------------------------------------------------------------------------------

    def check_batch(self, where: str, body: Any, logged_items: list) -> None:
        limit = self.catalog.batch_limit()
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            self.report(where, "the body is not a JSON batch ({\"requests\": [...]})")
            # The requests the server found in it can still be judged one by one.
            for index, item in enumerate(logged_items):
                method = str(item.get("method", "")).upper()
                label = f"{where} item {index} {method} {item.get('path')}"
                self.check_request(
                    label, method, str(item.get("path", "")), str(item.get("query") or ""),
                    item.get("body"),
                )
            return
        for key in body:
            if key != "requests":
                self.report(where, f"unknown field '{key}' (a JSON batch holds only 'requests')")
        requests = body["requests"]
        if not 1 <= len(requests) <= limit:
            self.report(where, f"{len(requests)} requests; a batch holds 1 to {limit}")
        ids = [item.get("id") for item in requests if isinstance(item, dict)]
        for index, item in enumerate(requests):
            self.check_batch_item(where, index, item, ids)

    def check_batch_item(self, where: str, index: int, item: Any, ids: list) -> None:
        if not isinstance(item, dict):
            self.report(f"{where} item {index}", "not a JSON object")
            return
        method = item.get("method")
        url = item.get("url")
        label = f"{where} item {item.get('id', index)} {method} {url}"
        for key in item:
            if key not in BATCH_ITEM_KEYS:
                self.report(label, f"unknown field '{key}' of a batch request item")
        if not isinstance(item.get("id"), str) or not item["id"]:
            self.report(label, "'id' is missing or not a string")
        elif ids.count(item["id"]) > 1:
            self.report(label, f"'id' {item['id']!r} is not unique in the batch")
        for dependency in item.get("dependsOn") or []:
            if dependency not in ids:
                self.report(label, f"'dependsOn' names {dependency!r}, no request of the batch")
        if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
            self.report(label, "'method' is missing or not an HTTP method")
            return
        if not isinstance(url, str) or not url.startswith("/"):
            self.report(label, "'url' must be relative to the version root (e.g. /users)")
            return
        if re.match(r"/(v1\.0|beta)/", url):
            self.report(label, "'url' must be relative to the version root, without /v1.0")
            return
        headers = item.get("headers") or {}
        content_type = {str(k).lower(): v for k, v in headers.items()}.get("content-type") \
            if isinstance(headers, dict) else None
        if "body" in item and item["body"] is not None:
            if method.upper() in ("GET", "DELETE"):
                self.report(label, f"a body, but a {method.upper()} has none")
            if not content_type:
                self.report(label, "a body without a Content-Type header")
        path, _, query = url.partition("?")
        self.check_request(label, method.upper(), path, query, item.get("body"))


def split_top_level(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == separator and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def round_trip_differences(
    sent: Any, back: Any, path: str, leftovers: set[str]
) -> list[tuple[str, Any, Any]]:
    """(path, value sent, value written back) where the SDK's model, having read a value,
    writes back something else: the value was not of the property's type."""
    if isinstance(sent, dict):
        if not isinstance(back, dict):
            return [(path, sent, back)]
        differences = []
        for key, value in sent.items():
            child = f"{path}.{key}" if path else key
            if value is None or child in leftovers:
                continue
            if key not in back:
                differences.append((child, value, MISSING))
            else:
                differences.extend(round_trip_differences(value, back[key], child, leftovers))
        return differences
    if isinstance(sent, list):
        if not isinstance(back, list) or len(back) != len(sent):
            return [(path, sent, back)]
        differences = []
        for index, (value, value_back) in enumerate(zip(sent, back)):
            differences.extend(
                round_trip_differences(value, value_back, f"{path}[{index}]", leftovers)
            )
        return differences
    return [] if same_scalar(sent, back) else [(path, sent, back)]


def same_scalar(sent: Any, back: Any) -> bool:
    if isinstance(sent, bool) or isinstance(back, bool):
        return sent is back
    if isinstance(sent, int) and isinstance(back, float):
        return float(sent) == back
    if isinstance(sent, str) and isinstance(back, str) and sent != back:
        # A date-time the SDK rewrites in its own form (`Z` as `+00:00`) is the same instant.
        if DATE_TIME_OFFSET.match(sent):
            try:
                parsed = datetime.datetime.fromisoformat
                return parsed(sent) == parsed(back)
            except ValueError:
                return False
        return False
    return type(sent) is type(back) and sent == back



def check_logs(paths: list[str]) -> list[str]:
    checker = RequestChecker()
    for path in paths:
        try:
            log = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            checker.report(path, f"unreadable request log: {error}")
            continue
        checker.check_log(log, path)
    return checker.problems


# ----------------------------------------------------------------------------------------------
# `self-test`: the checker on built-in logs.

# Ids and names of the sample requests.
GROUP = "5a1e5a1e-0000-4000-8000-000000000001"
ANNA = "00000000-0000-4000-8000-000000000002"
BO = "00000000-0000-4000-8000-000000000003"
EXTENSION = "extension_0123456789abcdef0123456789abcdef_costCenter"
LIST_SELECT = (
    "id,userPrincipalName,mail,givenName,surname,displayName,preferredLanguage,accountEnabled,"
    "onPremisesExtensionAttributes,department,jobTitle,officeLocation,employeeId,"
    "employeeHireDate,employeeLeaveDateTime,usageLocation,employeeOrgData," + EXTENSION
)

SOURCE_SELECT = (
    "id,userPrincipalName,mail,otherMails,userType,accountEnabled,givenName,surname,displayName,"
    "employeeId,employeeHireDate,employeeLeaveDateTime,department,jobTitle,officeLocation,"
    "preferredLanguage,employeeOrgData,city"
)


def request(method: str, path: str, query: str = "", body: Any = None, items=()) -> dict:
    return {"method": method, "path": path, "query": query, "body": body, "status": 200,
            "items": list(items)}


def batch(*items: dict) -> dict:
    """A ``$batch`` request as the connector sends one: ids by position, a Content-Type
    header on items with a body."""
    requests = []
    for index, item in enumerate(items):
        entry = {"id": str(index), "method": item["method"], "url": item["url"]}
        if "body" in item:
            entry["headers"] = {"Content-Type": "application/json"}
            entry["body"] = item["body"]
        requests.append(entry)
    return request("POST", "/v1.0/$batch", body={"requests": requests})


def create_body(**changes: Any) -> dict:
    """``POST /users`` as ``GraphTarget::create_body`` builds it, every mapped attribute set."""
    body = {
        "accountEnabled": True,
        "displayName": "Anna Johansson",
        "givenName": "Anna",
        "surname": "Johansson",
        "mail": "anna.johansson@acme.example",
        "mailNickname": "anna.johansson",
        "userPrincipalName": "anna.johansson@acme.example",
        "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "Sample-Pa55word!"},
        "onPremisesExtensionAttributes": {"extensionAttribute15": "acme-hris:E1002"},
        "preferredLanguage": "sv-SE",
        "usageLocation": "SE",
        "department": "R&D",
        "jobTitle": "VP Engineering",
        "officeLocation": "Stockholm",
        "employeeId": "E1002",
        "employeeHireDate": "2026-03-01T00:00:00Z",
        "employeeOrgData": {"costCenter": "CC-100", "division": "Engineering"},
        EXTENSION: "CC-100",
    }
    body.update(changes)
    return body


def connector_log() -> dict:
    """One request of each shape ``src/connectors/target/graph.rs`` sends."""
    page = f"$select={LIST_SELECT}&$expand=manager($select=id)&$top=999"
    return {"requests": [
        request(
            "POST", "/contoso.onmicrosoft.com/oauth2/v2.0/token",
            body="grant_type=client_credentials&client_id=11111111-2222-3333-4444-555555555555"
                 "&client_secret=sample&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        ),
        request("GET", "/v1.0/users", "$select=id&$top=1"),
        request("GET", "/v1.0/users", page),
        # The next page, by the @odata.nextLink Graph returned.
        request("GET", "/v1.0/users", page + "&$skiptoken=RFNwdAIAAQAAACpVc2VyXzE"),
        # The same listing as a client that percent-encodes the query sends it.
        request("GET", "/v1.0/users",
                "%24select=id%2CgivenName&%24expand=manager(%24select%3Did)&%24top=999"),
        request("GET", "/v1.0/users/anna.johansson@acme.example",
                "$select=id,onPremisesExtensionAttributes"),
        request("GET", "/v1.0/users/anna.johansson%40acme.example",
                "%24select=id%2ConPremisesExtensionAttributes"),
        # The microsoftGraph source (src/connectors/source/graph.rs): a group's user members,
        # by the cast Graph documents and by the SDK's alias, a next page, one user by id and
        # by userPrincipalName (a guest's, its `#` percent-encoded).
        request("GET", f"/v1.0/groups/{GROUP}/transitiveMembers/microsoft.graph.user",
                f"$select={SOURCE_SELECT}&$expand=manager($select=id)&$top=999"),
        request("GET", f"/v1.0/groups/{GROUP}/transitiveMembers/graph.user",
                f"$top=999&$skiptoken=999&$select={SOURCE_SELECT}&$expand=manager($select=id)"),
        request("GET", f"/v1.0/users/{ANNA}",
                f"$select={SOURCE_SELECT}&$expand=manager($select=id)"),
        request("GET", "/v1.0/users/ann_partner.example%23EXT%23@contoso.onmicrosoft.com",
                f"$select={SOURCE_SELECT}&$expand=manager($select=id)"),
        batch(
            {"method": "POST", "url": "/users", "body": create_body()},
            {"method": "PATCH", "url": f"/users/{ANNA}", "body": {
                "mail": "anna.berg@acme.example",
                "mailNickname": "anna.berg",
                "userPrincipalName": "anna.berg@acme.example",
                "surname": "Berg",
                "displayName": "Anna Berg",
                "accountEnabled": False,
                "department": None,
                "employeeLeaveDateTime": "2026-12-31T00:00:00Z",
                "onPremisesExtensionAttributes": {"extensionAttribute15": "acme-hris:E1002"},
                "employeeOrgData": {"costCenter": None},
            }},
            {"method": "PUT", "url": f"/users/{BO}/manager/$ref",
             "body": {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{ANNA}"}},
            {"method": "DELETE", "url": f"/users/{ANNA}/manager/$ref"},
            {"method": "DELETE", "url": f"/users/{BO}"},
        ),
    ]}


def single(entry: dict) -> dict:
    return {"requests": [entry]}


def batched(method: str, url: str, body: Any = None) -> dict:
    """A log of one ``$batch`` holding one request."""
    item = {"method": method, "url": url}
    if body is not None:
        item["body"] = body
    return single(batch(item))


def raw_batch(*items: dict) -> dict:
    """A log of one ``$batch`` holding ``items`` as they are."""
    return single(request("POST", "/v1.0/$batch", body={"requests": list(items)}))


def bad_logs() -> list[tuple[str, dict, str]]:
    """(what is wrong, log, a part of the problem the checker must report)."""
    user = f"/users/{ANNA}"
    ref = f"{user}/manager/$ref"
    return [
        ("unknown path", single(request("GET", f"/v1.0{user}/managr")), "unknown path"),
        ("path outside v1.0", single(request("GET", "/beta/users")), "unknown path"),
        ("unknown top-level path", single(request("GET", "/v1.0/peopl")), "unknown path"),
        ("method the builder lacks",
         single(request("PATCH", f"/v1.0{ref}", body={"@odata.id": "x"})), "unknown method"),
        ("unknown query parameter", single(request("GET", "/v1.0/users", "%24selct=id")),
         "unknown query parameter '$selct'"),
        ("query parameter of another method",
         single(request("DELETE", f"/v1.0{user}", "$select=id")),
         "unknown query parameter '$select'"),
        ("unknown $select property",
         single(request("GET", "/v1.0/users", "$select=id,jobTitel")),
         "unknown $select property 'jobTitel' (not a property of microsoft.graph.user)"),
        ("unknown $select property of one user",
         single(request("GET", f"/v1.0{user}", "$select=mail,emial")),
         "unknown $select property 'emial'"),
        ("unknown $expand property",
         single(request("GET", "/v1.0/users", "$expand=managr($select=id)")),
         "unknown $expand property 'managr'"),
        ("unknown property selected in an expansion",
         single(request("GET", "/v1.0/users", "$expand=manager($select=id,givenName)")),
         "unknown $expand=manager($select) property 'givenName' "
         "(not a property of microsoft.graph.directoryObject)"),
        ("$top not an integer", single(request("GET", "/v1.0/users", "$top=all")),
         "$top='all' is not an integer"),
        ("unknown body field", batched("PATCH", user, {"jobTitel": "Lead"}),
         "unknown field 'jobTitel' (not a property of microsoft.graph.user)"),
        ("unknown nested body field",
         batched("POST", "/users", create_body(
             onPremisesExtensionAttributes={"extensionAttribute16": "x"})),
         "unknown field 'onPremisesExtensionAttributes.extensionAttribute16'"),
        ("annotation in a user body",
         batched("POST", "/users", create_body(
             **{"manager@odata.bind": f"https://graph.microsoft.com/v1.0/users/{BO}"})),
         "unknown field 'manager@odata.bind'"),
        ("boolean sent as a string",
         single(request("PATCH", f"/v1.0{user}", body={"accountEnabled": "false"})),
         "wrong type for 'accountEnabled'"),
        ("string sent as a number", batched("POST", "/users", create_body(employeeId=1002)),
         "wrong type for 'employeeId'"),
        ("date without a time",
         batched("POST", "/users", create_body(employeeHireDate="2026-03-01")),
         "wrong type for 'employeeHireDate'"),
        ("nested value of the wrong type",
         batched("PATCH", user, {"onPremisesExtensionAttributes": {"extensionAttribute15": 1002}}),
         "wrong type for 'onPremisesExtensionAttributes.extensionAttribute15': sent 1002"),
        ("object sent as a string", batched("PATCH", user, {"employeeOrgData": "CC-100"}),
         "wrong type for 'employeeOrgData'"),
        ("list sent as a string", batched("PATCH", user, {"businessPhones": "+46 8 123"}),
         "wrong type for 'businessPhones'"),
        ("$ref body without @odata.id", batched("PUT", ref, {"id": BO}),
         "unknown field 'id' (not a property of microsoft.graph.referenceUpdate)"),
        ("$ref body naming no directory object", batched("PUT", ref, {"@odata.id": BO}),
         "is not the URL of a user or directory object"),
        ("batch item without id", raw_batch({"method": "DELETE", "url": user}),
         "'id' is missing"),
        ("batch item with an absolute url",
         raw_batch({"id": "1", "method": "DELETE",
                    "url": f"https://graph.microsoft.com/v1.0{user}"}),
         "'url' must be relative"),
        ("batch item body without Content-Type",
         raw_batch({"id": "1", "method": "PATCH", "url": user, "body": {"department": "Sales"}}),
         "a body without a Content-Type header"),
        ("batch of 21 requests",
         raw_batch(*({"id": str(n), "method": "DELETE", "url": user} for n in range(21))),
         "21 requests; a batch holds 1 to 20"),
        ("batch item with an unknown path", batched("GET", "/userz"), "unknown path"),
        ("unknown $select property of group members",
         single(request("GET", f"/v1.0/groups/{GROUP}/transitiveMembers/microsoft.graph.user",
                        "$select=id,mial")),
         "unknown $select property 'mial'"),
    ]


def run_self_test() -> list[str]:
    failures: list[str] = []
    catalog = SdkCatalog()
    good = RequestChecker(catalog)
    good.check_log(connector_log())
    failures.extend(f"self-test: the connector's log was refused: {p}" for p in good.problems)
    for what, log, expected in bad_logs():
        checker = RequestChecker(catalog)
        checker.check_log(log)
        if not any(expected in problem for problem in checker.problems):
            found = "; ".join(checker.problems) or "no problem"
            failures.append(
                f"self-test: {what}: expected a problem with {expected!r}, got: {found}"
            )
    return failures


# ----------------------------------------------------------------------------------------------


def serve(check) -> int:
    """`serve`: the `requests` check for many logs at the cost of one start (the SDK's imports
    take seconds). Reads one log file path per line on stdin and answers each with one JSON line
    on stdout, `{"problems": [...]}`; ends when stdin closes."""
    for line in sys.stdin:
        path = line.strip()
        if path:
            print(json.dumps({"problems": list(check(path))}), flush=True)
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="graph.py",
        description="Microsoft Graph judged by the official Python SDK (msgraph-sdk).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sdk = commands.add_parser("sdk", help="run the SDK against a Graph endpoint")
    sdk.add_argument(
        "--authority-url", required=True, help="the token authority, e.g. http://127.0.0.1:PORT"
    )
    sdk.add_argument(
        "--graph-url", required=True, help="Graph with its version, e.g. http://127.0.0.1:PORT/v1.0"
    )
    sdk.add_argument("--tenant-id", required=True)
    sdk.add_argument("--client-id", required=True)
    sdk.add_argument("--client-secret", required=True)
    sdk.add_argument(
        "--group-id",
        help="a group with users, nested groups, devices and service principals among its "
        "transitive members, read as the microsoftGraph source reads it",
    )
    sdk.add_argument(
        "--mutate", nargs="?", const="type", choices=("type", "rename"),
        help="alter the first answer to GET /users/{id} holding the field: accountEnabled as a "
             "string (type, the default) or givenName renamed (rename); the run must then fail",
    )
    requests = commands.add_parser("requests", help="check request logs against the SDK")
    requests.add_argument("logs", nargs="+", metavar="LOG.json")
    commands.add_parser("self-test", help="check the request checker on built-in logs")
    commands.add_parser("serve", help="check the log file named on each line of stdin")
    args = parser.parse_args(argv)

    if args.command == "serve":
        return serve(lambda path: check_logs([path]))
    if args.command == "sdk":
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
