"""Direct calls of an app's API: the Lambda Invoke shape, its dispatch, and a client for it.

- ``DirectInvoke`` wraps the API's proxy handler so Lambda Invoke payloads reach the same
  routes as HTTP (the API function's side).
- ``ApiClient`` calls operations by name, over Lambda Invoke or signed HTTP (a producer's side).
- ``caller_of`` reads who a request is from; ``sluice.rpc.identity`` says what of that AWS
  proved and what the caller only asserted.
"""

from sluice.rpc.client import ApiClient
from sluice.rpc.dispatch import DirectInvoke, OperationCrashed
from sluice.rpc.errors import (
    CallError,
    ConflictError,
    FunctionCrashedError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    RefusedError,
    ThrottledError,
    UnsupportedMediaTypeError,
)
from sluice.rpc.identity import caller_of
from sluice.rpc.operations import Operation, Operations
from sluice.rpc.proxy import is_proxy_event
from sluice.rpc.transport import HttpTransport, InvokeTransport, Transport
from sluice.rpc.types import Answer, Payload, Problem, Refusal, Success

__all__ = [
    "Answer",
    "ApiClient",
    "CallError",
    "ConflictError",
    "DirectInvoke",
    "FunctionCrashedError",
    "HttpTransport",
    "InvalidRequestError",
    "InvokeTransport",
    "MethodNotAllowedError",
    "NotFoundError",
    "Operation",
    "OperationCrashed",
    "Operations",
    "Payload",
    "PayloadTooLargeError",
    "Problem",
    "Refusal",
    "RefusedError",
    "Success",
    "ThrottledError",
    "Transport",
    "UnsupportedMediaTypeError",
    "caller_of",
    "is_proxy_event",
]
