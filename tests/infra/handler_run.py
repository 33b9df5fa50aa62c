"""Run one Lambda handler on one event, as the Python runtime would: imported by name.

Run as ``python -I -S handler_run.py CODE LAYER RUNTIME HANDLER EVENT_JSON``: isolated and
without site-packages, so ``sys.path`` is the standard library plus exactly the code asset,
the layer's ``python/`` and the runtime's own packages (boto3, botocore and theirs).
Prints the handler's answer as JSON.
"""

import importlib
import json
import sys
import time


class Context:
    """What the Lambda runtime passes as ``context``."""

    function_name = "handler-run"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:handler-run"

    def __init__(self) -> None:
        self._end = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return int((self._end - time.monotonic()) * 1000)


def main() -> None:
    code, layer, runtime, handler, event = sys.argv[1:6]
    sys.path[:0] = [code, layer, runtime]
    module, _, attribute = handler.rpartition(".")
    function = getattr(importlib.import_module(module), attribute)
    answer = function(json.loads(event), Context())
    loaded = sorted({name.split(".")[0] for name in sys.modules})
    print(json.dumps({"answer": answer, "modules": loaded}))


if __name__ == "__main__":
    main()
