"""The sandbox's API environments are threads of one process: each must see its own request.

Powertools keeps the request being resolved in class attributes of ``BaseRouter`` (one
process per environment on Lambda). Two resolvers resolving at once in one process then
read each other's event, unless ``isolate_powertools_routers`` made that state per thread.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

# Two resolvers (two environments) resolve at once; each route waits for the other to have
# started, then reads the event it is resolving. Run in a fresh interpreter each time,
# since the isolation stays for the life of the process.
RACE = textwrap.dedent(
    """
    import sys, threading
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from sluice.local.isolation import isolate_powertools_routers
    if sys.argv[1] == "isolated":
        assert isolate_powertools_routers() and isolate_powertools_routers()
    both_started = threading.Barrier(2)
    seen = {}

    def environment(name):
        app = APIGatewayRestResolver()

        @app.get("/orders/<order_id>")
        def get(order_id):
            both_started.wait(timeout=10)
            seen[order_id] = app.current_event.path
            return {}

        return app

    def request(order_id):
        return {"path": f"/orders/{order_id}", "httpMethod": "GET", "headers": {},
                "resource": "/orders/{order_id}", "requestContext": {"stage": "local"}}

    threads = [
        threading.Thread(target=environment(n).resolve, args=(request(n), None))
        for n in ("a", "b")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(sorted(seen.items()))
    """
)


def _race(mode: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", RACE, mode], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_without_isolation_two_environments_read_each_others_request() -> None:
    # the hazard itself: if this stops failing, Powertools no longer shares the request
    assert _race("shared") != "[('a', '/orders/a'), ('b', '/orders/b')]"


def test_isolated_environments_each_resolve_their_own_request() -> None:
    assert _race("isolated") == "[('a', '/orders/a'), ('b', '/orders/b')]"


def test_powertools_still_keeps_the_request_on_the_class() -> None:
    # the isolation patches what these lines assign; a Powertools upgrade that moves the
    # request elsewhere must be read before the isolation is trusted again
    source = inspect.getsource(ApiGatewayResolver.resolve)
    assert "BaseRouter.current_event = " in source
    assert "BaseRouter.lambda_context = " in source
