"""Serves the kmock Kubernetes API emulator for the controller's end-to-end tests.

Usage: python tests/kmock/serve.py [REQUEST_LOG]
Listens on 127.0.0.1 on a free port, knows the HrisConnection resource, prints
`listening on http://127.0.0.1:PORT` once it accepts connections, and stops when its standard
input closes (so it never outlives the test that started it) or on SIGTERM.

With REQUEST_LOG, every request is appended to that file as one JSON line
{"method", "path", "query", "auth", "created"} (auth: whether it carried an Authorization
header; created: a server-side apply that created its object), so that a test can check each
request against the RBAC rules that would have to allow it.
"""

import asyncio
import datetime
import itertools
import json
import signal
import sys
import uuid

import aiohttp.web
import kmock
from kmock._internal import enums

APPLY_PATCH = "application/apply-patch+yaml"


class VersionedEmulator(kmock.KubernetesEmulator):
    """kmock that stamps a new metadata.resourceVersion on every write, as an API server does,
    and forgets old requests.

    Without one, watch events carry no version and kube's watcher re-lists about every second;
    with many objects those re-lists would swamp the emulator.
    """

    _versions = itertools.count(1)
    request_log = None

    async def _handle(self, request):
        # kmock keeps every request and matches each new one by scanning them all, which makes
        # a long run quadratic. Keep only the recent ones (in-flight requests are among them).
        if len(self._requests) > 256:
            del self._requests[:-64]
        created = False
        if (
            request.resource is not None
            and request.action == enums.action.UPDATE
            and request.subresource is None
            and request.headers.get("Content-Type", "").startswith(APPLY_PATCH)
            and isinstance(request.data, dict)
        ):
            created = await self._create_on_apply(request)
        if self.request_log is not None:
            entry = {
                "method": str(request.method.value),
                "path": request.url.path,
                "query": dict(request.params),
                "auth": any(key.lower() == "authorization" for key in request.headers),
                # A server-side apply that created the object (authorised as patch and create).
                "created": created,
                # Requests of a harness playing the cluster's other parts (benches), told apart
                # from the controller's own.
                "harness": any(key.lower() == "x-hris-harness" for key in request.headers),
            }
            self.request_log.write(json.dumps(entry) + "\n")
            self.request_log.flush()
        if request.resource is not None and request.name is None and request.method.value == "DELETE":
            return await self._delete_collection(request)
        if (
            request.resource is not None
            and request.action in (enums.action.CREATE, enums.action.UPDATE)
            and isinstance(request.data, dict)
        ):
            request.data.setdefault("metadata", {})["resourceVersion"] = str(next(self._versions))
        if (
            request.resource is not None
            and request.action == enums.action.CREATE
            and isinstance(request.data, dict)
        ):
            # An API server gives every new object a uid (owners and ownerReferences use it).
            request.data.setdefault("metadata", {}).setdefault("uid", str(uuid.uuid4()))
        return await super()._handle(request)

    async def _create_on_apply(self, request):
        """A server-side apply creates the object when it does not exist (kmock alone answers
        404): store it first, and let the patch that follows apply to it."""
        key = (request.resource, request.namespace, request.name)
        async with self._lock:
            if key in self._objects and not self._objects[key].deleted:
                return False
            data = json.loads(json.dumps(request.data))
            metadata = data.setdefault("metadata", {})
            metadata["name"] = request.name
            if request.namespace is not None:
                metadata["namespace"] = request.namespace
            metadata["resourceVersion"] = str(next(self._versions))
            metadata.setdefault("uid", str(uuid.uuid4()))
            metadata.setdefault(
                "creationTimestamp",
                datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            if key in self._objects:
                self._objects[key].create(data)
            else:
                self._objects[key] = data
            raw = self._objects[key].last.raw
            await self._buses[request.resource].put({"type": "ADDED", "object": raw})
            return True

    async def _delete_collection(self, request):
        """DELETE on a collection (kmock alone does not know it): deletes the objects of the
        namespace that carry every `key=value` label of the labelSelector."""
        wanted = {}
        for term in filter(None, request.params.get("labelSelector", "").split(",")):
            key, _, value = term.partition("=")
            wanted[key] = value
        deleted = []
        async with self._lock:
            for key, obj in list(self._objects.items()):
                resource, namespace, _ = key
                if resource != request.resource or obj.deleted:
                    continue
                if request.namespace is not None and namespace != request.namespace:
                    continue
                labels = obj.get("metadata", {}).get("labels", {}) or {}
                if all(labels.get(k) == v for k, v in wanted.items()):
                    raw = obj.raw
                    obj.delete()
                    deleted.append(raw)
                    await self._buses[request.resource].put({"type": "DELETED", "object": raw})
        return aiohttp.web.json_response(
            {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": deleted}
        )


async def main() -> None:
    async with VersionedEmulator() as emulator:
        if len(sys.argv) > 1:
            emulator.request_log = open(sys.argv[1], "a", encoding="utf-8")
        emulator.resources["hris-operator.io/v1alpha1/hrisconnections"] = kmock.ResourceInfo(
            kind="HrisConnection",
            namespaced=True,
            subresources={"status"},
        )
        # Built-in resources the controller and the test use, declared up front so that lists
        # and watches work before the first object of a kind exists.
        builtin = {
            "batch/v1/jobs": ("Job", {"status"}),
            "v1/pods": ("Pod", {"status"}),
            "v1/secrets": ("Secret", set()),
            "v1/serviceaccounts": ("ServiceAccount", set()),
            "v1/events": ("Event", set()),
            "events.k8s.io/v1/events": ("Event", set()),
            "coordination.k8s.io/v1/leases": ("Lease", set()),
            "rbac.authorization.k8s.io/v1/roles": ("Role", set()),
            "rbac.authorization.k8s.io/v1/rolebindings": ("RoleBinding", set()),
        }
        for resource, (kind, subresources) in builtin.items():
            emulator.resources[resource] = kmock.ResourceInfo(
                kind=kind, namespaced=True, subresources=subresources
            )
        async with kmock.Server(emulator, host="127.0.0.1") as server:
            print(f"listening on http://127.0.0.1:{server.port}", flush=True)
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            stdin_closed = loop.run_in_executor(None, sys.stdin.read)
            await asyncio.wait(
                [asyncio.ensure_future(stop.wait()), stdin_closed],
                return_when=asyncio.FIRST_COMPLETED,
            )


if __name__ == "__main__":
    asyncio.run(main())
