"""The flow, drawn from the registry: Mermaid text, or a picture rendered by Graphviz ``dot``."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field

from sluice.runtime import ConfigurationError, Runtime, Source
from sluice.topology import Topology

MERMAID_SHAPES = {
    "actor": ("([", "])"),
    "table": ("[(", ")]"),
    "topic": ("{{", "}}"),
    "queue": ("[/", "/]"),
    "dlq": ("[/", "/]"),
    "worker": ("[[", "]]"),
    "schedule": (">", "]"),
}
DOT_SHAPES = {
    "actor": 'shape=oval, style=filled, fillcolor="#eeeeee"',
    "table": 'shape=cylinder, style=filled, fillcolor="#dbeafe"',
    "topic": 'shape=hexagon, style=filled, fillcolor="#fef3c7"',
    "queue": 'shape=box, style="filled,rounded", fillcolor="#dcfce7"',
    "dlq": 'shape=box, style="filled,rounded", fillcolor="#fee2e2"',
    "worker": 'shape=component, style=filled, fillcolor="#ede9fe"',
    "schedule": 'shape=note, style=filled, fillcolor="#fce7f3"',
}


@dataclass
class Flow:
    """Nodes (id -> (label, kind)) and edges (from, to, label, dashed)."""

    nodes: dict[str, tuple[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def node(self, label: str, kind: str, key: str | None = None) -> str:
        """Add a node once; its id is derived from kind and ``key`` (default: the label)."""
        ident = re.sub(r"\W", "_", f"{kind}_{key or label}")
        self.nodes.setdefault(ident, (label, kind))
        return ident

    def edge(self, src: str, dst: str, label: str = "", dashed: bool = False) -> None:
        """Connect two nodes."""
        self.edges.append((src, dst, label, dashed))


def flow(topology: Topology) -> Flow:
    """Everything the registry declares, and what connects it."""
    out = Flow()
    tables = topology.tables
    if topology.app.api is not None:
        api = out.node("HTTP API", "actor")
        out.edge(out.node("client", "actor"), api, "HTTP")
        for table in topology.app.api.tables:
            out.edge(api, out.node(tables[table], "table"), "writes")
    topic = out.node(topology.topic, "topic")
    for spec in topology.registry.specs:
        container = spec.runtime is Runtime.CONTAINER
        worker = out.node(f"{spec.name} (container)" if container else spec.name, "worker")
        if spec.source is Source.STREAM:
            table = spec.table or ""
            out.edge(out.node(tables[table], "table"), worker, f"stream, batch {spec.batch_size}")
            failures = out.node(topology.stream_failure_queue(spec), "dlq")
            out.edge(worker, failures, f"on failure (after {spec.retry_attempts} retries)", True)
        else:
            names = topology.queues(spec)
            queue = out.node(names.queue, "queue")
            if spec.source is Source.SNS_QUEUE:
                kinds = ", ".join(sorted(spec.subscribes)) if spec.subscribes else "all events"
                out.edge(topic, queue, kinds)
            else:
                out.edge(out.node("producers", "actor"), queue, "Publisher")
            out.edge(queue, worker, f"batch {spec.batch_size}")
            dlq = out.node(names.dlq, "dlq")
            out.edge(queue, dlq, f"after {spec.max_receive_count} receives", True)
        if spec.publishes:
            out.edge(worker, topic, "publish")
        for logical in spec.writes:
            out.edge(worker, out.node(tables[logical], "table"), "writes")
    for schedule in topology.app.schedules:
        when = f"{schedule.name}: {schedule.expression} {schedule.timezone}"
        fires = out.node(when, "schedule", key=schedule.name)
        if schedule.target is None:
            out.edge(fires, topic, schedule.event_type)
        else:
            target = topology.registry.get(schedule.target).spec
            out.edge(fires, out.node(topology.queues(target).queue, "queue"), schedule.event_type)
        dlq = out.node(topology.schedule_dlq(schedule), "dlq")
        out.edge(fires, dlq, "undeliverable, after its retries", True)
    return out


def mermaid(graph: Flow) -> str:
    """A Mermaid flowchart."""
    lines = ["flowchart LR"]
    for ident, (label, kind) in graph.nodes.items():
        left, right = MERMAID_SHAPES[kind]
        lines.append(f'    {ident}{left}"{label}"{right}')
    for src, dst, label, dashed in graph.edges:
        arrow = "-.->" if dashed else "-->"
        lines.append(f'    {src} {arrow}|"{label}"| {dst}' if label else f"    {src} {arrow} {dst}")
    return "\n".join(lines) + "\n"


def dot(graph: Flow) -> str:
    """The same graph in Graphviz's DOT language."""
    lines = [
        "digraph sluice {",
        '    rankdir=LR; fontname="Helvetica";',
        '    node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica", fontsize=9];',
    ]
    for ident, (label, kind) in graph.nodes.items():
        lines.append(f'    {ident} [label="{label}", {DOT_SHAPES[kind]}];')
    for src, dst, label, dashed in graph.edges:
        style = ', style=dashed, color="#b91c1c"' if dashed else ""
        lines.append(f'    {src} -> {dst} [label="{label}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(graph: Flow, fmt: str) -> bytes:
    """A PNG or SVG picture of the graph, drawn by Graphviz's ``dot``."""
    binary = shutil.which("dot")
    if binary is None:
        raise ConfigurationError(
            "rendering png/svg needs Graphviz's `dot`: `apt-get install graphviz` "
            "(`make install` does it), or use --format mermaid"
        )
    done = subprocess.run(
        [binary, f"-T{fmt}"], input=dot(graph).encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        raise ConfigurationError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
