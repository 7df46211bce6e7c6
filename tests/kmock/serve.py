"""Serves the kmock Kubernetes API emulator for the controller's end-to-end tests.

Usage: python tests/kmock/serve.py
Listens on 127.0.0.1 on a free port, knows the HrisConnection resource, prints
`listening on http://127.0.0.1:PORT` once it accepts connections, and stops when its standard
input closes (so it never outlives the test that started it) or on SIGTERM.
"""

import asyncio
import itertools
import signal
import sys

import kmock
from kmock._internal import enums


class VersionedEmulator(kmock.KubernetesEmulator):
    """kmock that stamps a new metadata.resourceVersion on every write, as an API server does,
    and forgets old requests.

    Without one, watch events carry no version and kube's watcher re-lists about every second;
    with many objects those re-lists would swamp the emulator.
    """

    _versions = itertools.count(1)

    async def _handle(self, request):
        # kmock keeps every request and matches each new one by scanning them all, which makes
        # a long run quadratic. Keep only the recent ones (in-flight requests are among them).
        if len(self._requests) > 256:
            del self._requests[:-64]
        if (
            request.resource is not None
            and request.action in (enums.action.CREATE, enums.action.UPDATE)
            and isinstance(request.data, dict)
        ):
            request.data.setdefault("metadata", {})["resourceVersion"] = str(next(self._versions))
        return await super()._handle(request)


async def main() -> None:
    async with VersionedEmulator() as emulator:
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
