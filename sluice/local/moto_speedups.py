"""moto costs cut to what a request needs (same results), and one result corrected to what
SQS gives; each is pinned by a test.

Installed in the sandbox's moto child process (``server``) and in in-process moto
(``inprocess``): both take one request at a time, which the transaction speedup relies on.
Profiles in bench/profiles/.
``docs/moto-upstream.md`` describes each as the change we would propose to moto itself.
Some costs grow with the data:

- TransactWriteItems: moto 5.2 backs up every table a transaction names with
  ``copy.deepcopy`` (once per item), so each transaction costs O(items in the table). Here
  only the items the transaction names, and each table's stream length, are kept, and
  restored on failure. The server runs one DynamoDB request at a time, so nothing
  interleaves with a transaction.
- ReceiveMessage: moto checks each message's retention by computing *all* the queue's
  attributes (which counts every message), so a receive costs O(messages x depth). Here
  the retention period is read from the queue directly.
- SQS's clock: a message's ``visible`` and ``delayed`` each read the time through moto's
  ``unix_time``, which builds two datetimes and subtracts them; every receive, every count
  of a queue and (through ``Queue.attributes``) every send asks that of every message on
  the queue. Here "now" is ``time.time()``, the same instant in the same unit; a given
  datetime still goes through moto's own conversion.
- SendMessage: a send (and each SNS delivery to a queue) reads ``queue.attributes`` up to
  three times for one flag, ``ContentBasedDeduplication``; that property computes every
  attribute, three of them counts over the whole queue. Here, while a message is being
  sent, the queue's attributes are that one flag, computed as moto computes it.

Others are paid on every request:

- Update expressions: a DynamoDB update is parsed from its text twice (once to check the
  names it uses, once to apply it), and the parse depends only on the text. Each distinct
  text is parsed once; moto only reads the tree (its validator works on a deep copy).
- Condition expressions: a conditional write lexes its condition two or three times, and
  the tokens depend only on the text. Each distinct text is lexed once; every parse gets its
  own queue of the same immutable tokens.
- Update validation: moto validates an update by walking its tree with ten processors;
  at every node each asks its own ``_processing_map()`` (a new dict) for the node types it
  handles. Those types are fixed per processor class, so each class asks once.
- Response methods: to check an action exists, moto lists the response class's methods
  with ``inspect.getmembers`` on every request. A class's methods do not change while the
  server runs, so each class is listed once.
- SQS attribute names: ``Queue.attributes`` turns each of its ~20 attribute names from
  CamelCase to snake_case, character by character, every time; a send reads it, and so do
  ``GetQueueAttributes`` and moto's own bookkeeping. The conversion depends only on the name,
  so each name is converted once.
- Routing: moto's server finds a request's service by listing its own package folder
  (``os.listdir`` and an ``isdir`` per service, about 150) on every request. The folder
  does not change while the server runs, so the listing is taken once.

One corrects a result, where moto differs from SQS (the tests and the sandbox must behave as
SQS does):

- FIFO groups in flight: only a message in flight (received, not yet visible again) holds
  back its FIFO group. moto counts every message in its ``pending_messages`` set, and drops
  a message from it only if it is visible when its visibility is changed, or when a receive
  reaches it in queue order. ``ChangeMessageVisibility`` 0 sets ``visible_at`` to now and
  ``visible`` asks ``now > visible_at``, so a message released within one tick of the clock
  stays "pending"; so does one whose timeout lapsed. The next receive then skips the earlier,
  visible messages of its group (the head) and delivers it first. Here a message is visible
  from ``visible_at`` on (SQS counts the timeout from the call), and a group is held back
  only by its messages not visible; a receive first forgets those visible again, so that
  (as on SQS) it gives as many of a group as it can rather than stop after the first.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import inspect
import linecache
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_Snapshot = tuple[Any, Any, Any, Any]
"""(table, hash value, range value, deep copy of the item or None)."""


_EXPRESSIONS_KEPT = 1024
"""Parsed (or lexed) expression texts kept, least recently used out; an app has a handful."""

PINS: dict[str, tuple[tuple[str, str], ...]] = {
    # moto's backup step asks `name in self.tables` of each table it copies
    "transactions": (
        ("moto.dynamodb.models.DynamoDBBackend.transact_write_items", "81db2cb7d94e39c9"),
    ),
    # the method replaced outright
    "retention": (
        (
            "moto.sqs.models.SQSBackend.is_message_valid_based_on_retention_period",
            "cca23b94a5f3af9d",
        ),
    ),
    # the three readers of the flag during a send, and the property that computes it
    "sends": (
        ("moto.sqs.models.SQSBackend.send_message", "bf161af09a9e6b86"),
        ("moto.sqs.models.SQSBackend._validate_message", "39cb57c19e596164"),
        ("moto.sqs.models.Queue.add_message", "f27c9231c1f20433"),
    ),
    # "now" as moto computes it, and the two readers on every message
    "sqs clock": (
        ("moto.core.utils.unix_time", "f0576ec9e5f586e5"),
        ("moto.sqs.models.Message.visible", "5129b573308de62a"),
        ("moto.sqs.models.Message.delayed", "e2fd48abf582683a"),
    ),
    # a pure function of the text, and every reader of its tree (the handler's checks read it;
    # the validator deep-copies it before resolving anything; find_clauses only reads)
    "update expressions": (
        ("moto.dynamodb.parsing.expressions.UpdateExpressionParser.make", "2c00ed96d6e191f2"),
        ("moto.dynamodb.parsing.validators.Validator.__init__", "9489b532dd0fb359"),
        ("moto.dynamodb.models.DynamoDBBackend.update_item", "218984588dd689a5"),
        ("moto.dynamodb.responses.DynamoHandler.update_item", "638893af1afd43d2"),
        ("moto.dynamodb.responses.DynamoHandler.transact_write_items", "61c163fff213f33a"),
        ("moto.dynamodb.parsing.ast_nodes.Node", "424025051cece8da"),
    ),
    # the lexer reads only the text, and no step of the parse changes a token (the whole
    # class, since any step may)
    "condition tokens": (
        ("moto.dynamodb.comparisons.ConditionExpressionParser", "ba0de03156fea746"),
    ),
    # the traverser, and every processor's map keyed by fixed classes
    "update validation": (
        ("moto.dynamodb.parsing.ast_nodes.DepthFirstTraverser", "ec3e3b9cd5fdd87f"),
        ("moto.dynamodb.parsing.validators", "345c1740c0c674a7"),
    ),
    # a function of the class, called by every request
    "method names": (
        ("moto.core.utils.method_names_from_class", "9dbac89d082b655f"),
        ("moto.core.responses.BaseResponse.call_action", "26076963fd17fd1a"),
    ),
    # a pure function of the name, and the property that calls it per name
    "attribute names": (
        ("moto.core.utils.camelcase_to_underscores", "084cdc5bab92db95"),
        ("moto.sqs.models.Queue.attributes", "40cb990b121628d5"),
    ),
    # the two properties replaced; the receive (wrapped) that reads the groups at its start
    # and after each message it finds pending but visible; and the change of visibility that
    # drops a message from pending if it is visible then
    "fifo in flight": (
        ("moto.sqs.models.Message.visible", "5129b573308de62a"),
        ("moto.sqs.models.Queue.pending_message_groups", "e940658c5997f327"),
        ("moto.sqs.models.SQSBackend.receive_message", "065f3e5e7d214408"),
        ("moto.sqs.models.SQSBackend.change_message_visibility", "f0e9df5f66627114"),
    ),
    # the listing cached, and the router that calls it on every request
    "routing": (
        ("moto.backends.list_of_moto_modules", "4f741a10b06500e8"),
        (
            "moto.moto_server.werkzeug_app.DomainDispatcherApplication.get_backend_for_host",
            "1f41972c1e4e660f",
        ),
    ),
}
"""Each speedup's moto code, as read when it was written: dotted name -> fingerprint."""

CORRECTIONS = frozenset({"fifo in flight"})
"""The patches that change a result (to SQS's), not only a cost."""

_installed: list[bool] = []


def install() -> None:
    """Apply every speedup whose moto code is the code it was written for, once per process
    (a second call changes nothing). Any other is skipped with one warning: slower, never
    wrong (for a correction: moto's own result, where it differs from SQS)."""
    if _installed:
        return
    _installed.append(True)
    apply_checked(_SPEEDUPS)


def apply_checked(speedups: dict[str, Callable[[], None]]) -> list[str]:
    """Apply each speedup whose pinned moto code is unchanged, warn of each other one, and
    return the names applied. Every pin is read before anything is patched."""
    changed = {name: changed_code(name) for name in speedups}
    applied = []
    for name, apply in speedups.items():
        if changed[name]:
            log.warning(
                "moto %s %r skipped: moto %s changed %s, the code it was written for (%s)",
                "correction" if name in CORRECTIONS else "speedup",
                name,
                _moto_version(),
                ", ".join(changed[name]),
                "moto keeps its own result, unlike SQS's"
                if name in CORRECTIONS
                else "moto runs slower, never wrong",
            )
            continue
        apply()
        applied.append(name)
    return applied


def changed_code(speedup: str) -> list[str]:
    """The moto code a speedup rests on that is no longer the code it was written for (or is
    gone), by dotted name; empty when all of it is."""
    return [target for target, pin in PINS[speedup] if fingerprint(target) != pin]


def fingerprint(target: str) -> str | None:
    """The first 16 hex digits of the SHA-256 of a module's, class's or function's source,
    by dotted name (a property's getter for a property); None where it cannot be found."""
    try:
        code = resolve(target)
        source = _source(code.fget if isinstance(code, property) else code)
    except (ImportError, AttributeError, OSError, TypeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def _source(code: Any) -> str:
    """``inspect.getsource``, but a class found by its ``class`` line: inspect parses the
    whole module for a class (about 100 ms for a large one); the text is the same."""
    if not isinstance(code, type):
        return inspect.getsource(code)
    lines = linecache.getlines(inspect.getsourcefile(code) or "")
    header = re.compile(rf"\s*class\s+{code.__name__}\b")
    start = next((n for n, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        raise OSError(f"no class {code.__name__} in its module's source")
    return "".join(inspect.getblock(lines[start:]))


def resolve(target: str) -> Any:
    """The module, class, function or property a dotted name names (the longest importable
    module, then attributes; a class's own attribute, as defined, not as bound)."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            found = (
                found.__dict__[name]
                if isinstance(found, type) and name in found.__dict__
                else getattr(found, name)
            )
        return found
    raise ImportError(target)


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def _update_expressions() -> None:
    """Each distinct update expression is parsed once (moto never changes the tree)."""
    from moto.dynamodb.parsing.expressions import (  # type: ignore[attr-defined, unused-ignore]
        UpdateExpressionParser,
    )

    parse = functools.lru_cache(maxsize=_EXPRESSIONS_KEPT)(UpdateExpressionParser.make)
    UpdateExpressionParser.make = staticmethod(parse)


def _condition_tokens() -> None:
    """Each distinct condition expression is lexed once; each parse gets its own queue."""
    from collections import deque

    from moto.dynamodb.comparisons import ConditionExpressionParser

    lex = ConditionExpressionParser._lex_condition_expression

    @functools.lru_cache(maxsize=_EXPRESSIONS_KEPT)
    def tokens(text: str) -> tuple[Any, ...]:
        return tuple(lex(ConditionExpressionParser(text, None, None)))

    def _lex_condition_expression(self: Any) -> deque[Any]:
        return deque(tokens(self.condition_expression))

    ConditionExpressionParser._lex_condition_expression = _lex_condition_expression  # type: ignore[method-assign]


def _update_validation() -> None:
    """Each processor class of an update's validation lists the node types it handles once."""
    from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined, unused-ignore]
        DepthFirstTraverser,
    )

    listed = DepthFirstTraverser.nodes_to_be_processed
    kinds: dict[type, tuple[type, ...]] = {}

    def nodes_to_be_processed(self: Any) -> tuple[type, ...]:
        found = kinds.get(type(self))
        if found is None:
            found = kinds[type(self)] = listed(self)
        return found

    DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed


def _method_names() -> None:
    """moto lists each response class's methods once, not on every request."""
    from moto.core import responses, utils

    responses.method_names_from_class = functools.cache(utils.method_names_from_class)  # type: ignore[attr-defined, unused-ignore]


def _attribute_names() -> None:
    """SQS converts each attribute name to snake_case once, not on every read."""
    from moto.sqs import models

    models.camelcase_to_underscores = functools.cache(models.camelcase_to_underscores)  # type: ignore[attr-defined]


def _sends() -> None:
    """While a message is sent, its queue's attributes are the one flag the send reads."""
    from moto.sqs.models import Queue, SQSBackend

    every = Queue.__dict__["attributes"].fget  # the property moto defines
    send = SQSBackend.send_message
    state = threading.local()

    def attributes(self: Any) -> dict[str, Any]:
        return _deduplication_flag(self) if getattr(state, "sending", 0) else every(self)  # type: ignore[no-any-return, unused-ignore]

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        state.sending = getattr(state, "sending", 0) + 1
        try:
            return send(self, *args, **kwargs)
        finally:
            state.sending -= 1

    Queue.attributes = property(attributes)  # type: ignore[assignment, method-assign]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]


def _deduplication_flag(queue: Any) -> dict[str, Any]:
    """``ContentBasedDeduplication`` as ``Queue.attributes`` gives it: FIFO queues only, a
    bool as "true"/"false"."""
    if not queue.fifo_queue:
        return {}
    flag = queue.content_based_deduplication
    return {"ContentBasedDeduplication": str(flag).lower() if isinstance(flag, bool) else flag}


def _sqs_clock() -> None:
    """SQS reads the current time from ``time.time()``, not through two datetimes."""
    import time

    from moto.core import utils
    from moto.sqs import models

    convert = utils.unix_time

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else convert(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return unix_time(dt) * 1000.0

    models.unix_time = unix_time  # type: ignore[attr-defined]
    models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]


def _fifo_in_flight() -> None:
    """A message is visible from the instant its timeout ends, and only messages not visible
    hold back their FIFO group (moto: one pending, whatever its visibility). A receive first
    forgets the pending messages that are visible, so that it can give a group whole."""
    from moto.sqs import models

    receive = models.SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        pending = self.get_queue(queue_name).pending_messages
        pending.difference_update([message for message in pending if message.visible])
        return receive(self, queue_name, *args, **kwargs)

    def visible(self: Any) -> bool:
        return bool(models.unix_time_millis() >= self.visible_at)  # type: ignore[attr-defined]

    def pending_message_groups(self: Any) -> set[str]:
        return {
            message.group_id
            for message in self._pending_messages
            if message.group_id is not None and not message.visible
        }

    models.Message.visible = property(visible)  # type: ignore[assignment, method-assign]
    models.Queue.pending_message_groups = property(pending_message_groups)  # type: ignore[assignment, method-assign]
    models.SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


def _routing() -> None:
    """List moto's service modules once, not on every request."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment, unused-ignore]


def _retention() -> None:
    """Read a queue's retention period without computing every attribute of the queue."""
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(
        self: Any, queue_name: str, message: Any
    ) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period
    )


def _transactions() -> None:
    """Replace moto's whole-table backup with a per-item one."""
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots, streams = _snapshot(self, transact_items)
        tables = self.tables
        self.tables = _NoBackup(tables)  # moto's own backup sees no table to copy
        try:
            original(self, transact_items)
        except BaseException:
            _restore(snapshots, streams)
            raise
        finally:
            self.tables = tables

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class _NoBackup(dict[str, Any]):
    """The backend's tables, except that ``name in tables`` is False (only moto's backup
    step asks that during a transaction; lookups use ``get``)."""

    def __contains__(self, key: object) -> bool:
        return False


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> tuple[list[_Snapshot], Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    snapshots: list[_Snapshot] = []
    streams: dict[int, tuple[Any, int]] = {}
    for entry in transact_items:
        for op in entry.values():
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Key") or op.get("Item") or {}
            if table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            range_attr = table.range_key_attr
            range_value = DynamoType(key[range_attr]) if range_attr and range_attr in key else None
            addressable = range_value is not None or not range_attr
            current = table.get_item(hash_value, range_value) if addressable else None
            snapshots.append((table, hash_value, range_value, copy.deepcopy(current)))
            if table.stream_shard is not None:
                streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
    return snapshots, list(streams.values())


def _restore(snapshots: list[_Snapshot], streams: list[tuple[Any, int]]) -> None:
    for table, hash_value, range_value, before in reversed(snapshots):
        if range_value is not None:
            if before is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = before
        elif before is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = before
    for shard, length in streams:
        del shard.items[length:]


_SPEEDUPS: dict[str, Callable[[], None]] = {
    "transactions": _transactions,
    "retention": _retention,
    "sends": _sends,
    "sqs clock": _sqs_clock,
    "update expressions": _update_expressions,
    "condition tokens": _condition_tokens,
    "update validation": _update_validation,
    "method names": _method_names,
    "attribute names": _attribute_names,
    "fifo in flight": _fifo_in_flight,
    "routing": _routing,
}
"""Every speedup by the name its pins and warnings use, in the order they are applied."""
