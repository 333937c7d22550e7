"""Flow definitions: TOML files of nodes and exits, validated when loaded.

A flow is a set of nodes. Wait nodes (``menu``, ``input``, ``task``, ``end``) show a
screen; ``call`` nodes ask the host for something through an intent and route on its
outcome; ``switch`` routes on a value; ``set`` copies values; ``sms`` adds a
fire-and-forget SMS. An exit points at a node of the same flow or at ``flow:<name>``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.errors import FlowDefinitionError
from flows.i18n import Catalogs
from flows.intents import INTENTS, intent_fields

DEFINITION_DIR = Path(__file__).parent / "definitions"
INPUT_KINDS = ("text", "number", "amount", "pin", "new_pin")
#: Input kinds whose answer is a secret: their nodes must say ``secret = true``.
SECRET_KINDS = ("pin", "new_pin")
WAIT_TYPES = ("menu", "input", "task", "end")

# Per node type: fields allowed, exits required, exits allowed.
NODE_SPECS: dict[str, tuple[set[str], set[str], set[str]]] = {
    # A menu's ``choices`` (a vars. list) numbers one line per item before its options:
    # each shown with ``choice_label`` filled from the item, picking it sets
    # ``choice_var`` to the item and takes the ``choose`` exit.
    "menu": (
        {"text", "options", "choices", "choice_label", "choice_var"},
        set(),
        {"back", "choose"},
    ),
    "input": (
        {"text", "kind", "var", "min", "max", "max_var", "confirm", "secret"},
        {"next"},
        {"back", "mismatch"},
    ),
    "task": ({"text"}, {"answer"}, {"skip", "menu"}),
    "end": ({"text"}, set(), set()),
    "call": ({"intent", "args"}, set(), {"default"}),
    "switch": ({"on", "test"}, {"default"}, set()),
    "set": ({"values"}, {"next"}, set()),
    "sms": ({"text"}, {"next"}, set()),
}
REF_PREFIXES = ("vars.", "context.", "secret.")


@dataclass(frozen=True)
class Exit:
    """Where a node goes next, with an optional one-off notice for the next screen."""

    to: str
    flash: str | None = None


@dataclass(frozen=True)
class Option:
    """A numbered menu line: its label key, its exit and values it sets."""

    label: str
    exit: Exit
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Node:
    """One node of a flow; which fields matter depends on ``type``."""

    id: str
    type: str
    text: str | None = None
    options: tuple[Option, ...] = ()
    exits: dict[str, Exit] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def secret(self) -> bool:
        """Whether what the worker types at this node is a secret (a PIN input)."""
        return self.type == "input" and self.attrs.get("secret") is True


@dataclass(frozen=True)
class Flow:
    """A named graph of nodes with a start node."""

    name: str
    start: str
    nodes: dict[str, Node]
    path: str = ""


def _exit(raw: Any) -> Exit:
    if isinstance(raw, Mapping):
        return Exit(to=str(raw.get("to", "")), flash=raw.get("flash"))
    return Exit(to=str(raw))


def _node(node_id: str, raw: Mapping[str, Any], where: str, problems: list[str]) -> Node | None:
    kind = raw.get("type")
    if kind not in NODE_SPECS:
        problems.append(f"{where}: node '{node_id}': unknown node type {kind!r}")
        return None
    allowed, required, optional = NODE_SPECS[kind]
    for key in set(raw) - allowed - {"type", "exits"}:
        problems.append(f"{where}: node '{node_id}': unknown field '{key}' for {kind}")
    exits = {name: _exit(value) for name, value in (raw.get("exits") or {}).items()}
    options = tuple(
        Option(label=str(o.get("label")), exit=_exit(o.get("exit")), values=o.get("set", {}))
        for o in raw.get("options", [])
    )
    node = Node(node_id, kind, raw.get("text"), options, exits, dict(raw))
    if kind == "call":
        intent = raw.get("intent")
        if intent not in INTENTS or not INTENTS[intent].blocking:
            problems.append(f"{where}: node '{node_id}': unknown intent {intent!r}")
            return node
        required = set() if "default" in exits else set(INTENTS[intent].outcomes)
        optional = set(INTENTS[intent].outcomes) | {"default"}
        for arg in set(raw.get("args", {})) - intent_fields(intent):
            problems.append(f"{where}: node '{node_id}': {intent} has no argument '{arg}'")
    elif kind == "switch":
        optional = set(exits)  # switch exits are its cases
    for name in required - set(exits):
        problems.append(f"{where}: node '{node_id}': missing exit '{name}'")
    for name in set(exits) - required - optional:
        problems.append(f"{where}: node '{node_id}': unexpected exit '{name}'")
    if kind == "input" and raw.get("kind") not in INPUT_KINDS:
        problems.append(f"{where}: node '{node_id}': input kind must be one of {INPUT_KINDS}")
    if kind == "input" and raw.get("kind") in SECRET_KINDS and raw.get("secret") is not True:
        # What a worker types here is a PIN: the host masks it before any row or log
        # holds it, and it learns which inputs to mask only from this flag.
        problems.append(f"{where}: node '{node_id}': a PIN input must be marked secret = true")
    if kind == "input" and not raw.get("var"):
        problems.append(f"{where}: node '{node_id}': input needs 'var'")
    if kind in WAIT_TYPES + ("sms",) and kind != "task" and not raw.get("text"):
        problems.append(f"{where}: node '{node_id}': {kind} needs 'text'")
    if kind == "input" and raw.get("confirm") and "mismatch" not in exits:
        problems.append(f"{where}: node '{node_id}': a PIN confirmation needs a 'mismatch' exit")
    if kind == "switch" and not str(raw.get("on", "")).startswith(REF_PREFIXES[:2]):
        problems.append(f"{where}: node '{node_id}': switch 'on' must start vars. or context.")
    if kind == "menu" and ("choices" in raw or "choose" in exits):
        if not str(raw.get("choices", "")).startswith("vars."):
            problems.append(f"{where}: node '{node_id}': menu 'choices' must start vars.")
        for key in ("choice_label", "choice_var"):
            if not raw.get(key):
                problems.append(f"{where}: node '{node_id}': a menu with choices needs '{key}'")
        if "choose" not in exits:
            problems.append(f"{where}: node '{node_id}': a menu with choices needs a 'choose' exit")
    if kind == "menu" and not options and "back" not in exits:
        problems.append(f"{where}: node '{node_id}': a menu needs options or a back exit")
    return node


def parse_flow(name: str, data: Mapping[str, Any], where: str) -> tuple[Flow | None, list[str]]:
    """Build a Flow from parsed TOML, with the problems found inside this one flow."""
    problems: list[str] = []
    start = (data.get("flow") or {}).get("start")
    raw_nodes = data.get("nodes") or {}
    nodes = {}
    for node_id, raw in raw_nodes.items():
        node = _node(node_id, raw, where, problems)
        if node:
            nodes[node_id] = node
    if not isinstance(start, str) or start not in raw_nodes:  # TOML keys are strings
        problems.append(f"{where}: [flow] start {start!r} is not a node")
        return None, problems
    return Flow(name, start, nodes, where), problems


def node_exits(node: Node) -> list[tuple[str, Exit]]:
    """Every exit of a node, menu options included, as (label, exit)."""
    out = [(f"option {i}", o.exit) for i, o in enumerate(node.options, 1)]
    return out + list(node.exits.items())


def text_keys(node: Node) -> list[str]:
    """Catalog keys a node shows directly (its text, option labels, exit notices)."""
    keys = [node.text] if node.text else []
    keys += [o.label for o in node.options]
    keys += [node.attrs["choice_label"]] if node.attrs.get("choice_label") else []
    keys += [e.flash for _, e in node_exits(node) if e.flash]
    return keys


class Library:
    """All flows and catalogs, cross-checked: what the engine runs on."""

    def __init__(self, flows: dict[str, Flow], catalogs: Catalogs) -> None:
        self.flows = flows
        self.catalogs = catalogs

    @classmethod
    def load(cls, flow_dir: Path = DEFINITION_DIR, catalogs: Catalogs | None = None) -> Library:
        """Read and validate every flow; raise FlowDefinitionError listing all problems."""
        library, problems = cls.load_with_problems(flow_dir, catalogs)
        if problems:
            raise FlowDefinitionError(
                f"{len(problems)} problem(s) in flow definitions: {problems[0]}",
                details=problems,
            )
        return library

    @classmethod
    def load_with_problems(
        cls, flow_dir: Path = DEFINITION_DIR, catalogs: Catalogs | None = None
    ) -> tuple[Library, list[str]]:
        """Read every flow and return the library with the problems found (maybe none)."""
        catalogs = catalogs or Catalogs.load()
        flows: dict[str, Flow] = {}
        problems: list[str] = []
        for path in sorted(Path(flow_dir).glob("*.toml")):
            where = path.name
            try:
                with path.open("rb") as fh:
                    data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                problems.append(f"{where}: not valid TOML: {exc}")
                continue
            flow, found = parse_flow(path.stem, data, where)
            problems += found
            if flow:
                flows[flow.name] = flow
        library = cls(flows, catalogs)
        return library, problems + library.graph_problems()

    def graph_problems(self) -> list[str]:
        """Dangling exits, unreachable nodes and missing translations across flows."""
        problems = []
        for flow in self.flows.values():
            for node in flow.nodes.values():
                for label, ex in node_exits(node):
                    if not self._target_exists(flow, ex.to):
                        problems.append(
                            f"{flow.path}: node '{node.id}': exit '{label}' goes to "
                            f"unknown {ex.to!r}"
                        )
                for key in text_keys(node):
                    for lang, table in self.catalogs.messages.items():
                        if key not in table:
                            problems.append(
                                f"{flow.path}: node '{node.id}' ({lang}): "
                                f"missing translation '{key}'"
                            )
            for node_id in sorted(set(flow.nodes) - self.reachable(flow)):
                problems.append(f"{flow.path}: node '{node_id}': unreachable from start")
        return problems

    def _target_exists(self, flow: Flow, target: str) -> bool:
        if target.startswith("flow:"):
            return target[5:] in self.flows
        return target in flow.nodes

    @staticmethod
    def reachable(flow: Flow) -> set[str]:
        """Node ids reachable from the flow's start."""
        seen, todo = set(), [flow.start]
        while todo:
            node_id = todo.pop()
            if node_id in seen or node_id not in flow.nodes:
                continue
            seen.add(node_id)
            todo += [ex.to for _, ex in node_exits(flow.nodes[node_id])]
        return seen

    def node(self, flow: str, node_id: str) -> Node:
        """A node by flow and id (KeyError when absent)."""
        return self.flows[flow].nodes[node_id]
