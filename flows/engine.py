"""The flow engine: ``start`` and ``resume`` run a sprint until a screen or an intent.

A sprint walks nodes until it must wait: for the worker (a screen, ``waiting_for=
"input"``) or for the host (one blocking intent, ``waiting_for="intent_result"``).
Everything needed to continue is in ``state``, a JSON-ready dict the host stores.
Secrets (PINs) live only inside one sprint and never enter the state.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from flows.definitions import Exit, Library, Node
from flows.errors import FlowError, FlowStateError, IntentResultError
from flows.i18n import LANGUAGES
from flows.intents import INTENTS, GetTask, Intent, SendSms
from flows.render import BACK, MORE, USSD_LIMIT, Screen, paginate, render_sms
from flows.screens import build_screen, read_input
from flows.state import FlowState

MAX_STEPS = 100  # per sprint, as goflow: a looping definition ends with an apology
MAX_RETRIES = 3  # invalid inputs on one screen before the session ends
MAX_CALLS = 20  # intents between two inputs: a call loop spans sprints, so cap it too
STATE_VERSION = 1
SECRET_PARAMS = ("pin",)


@dataclass(frozen=True)
class Context:
    """What the host knows about this hop: channel, language and worker facts."""

    channel: str = "ussd"  # "ussd" | "sms"
    language: str = "en"
    registered: bool = False  # consent recorded and PIN set
    qualified: bool = False  # passed the qualification quiz
    suspended: str = ""  # why the spam checks suspended the worker ("chance", ...), "" if not
    currency: str = "KES"
    payout_service: str = "M-Pesa"  # where withdrawals go, as the worker knows it
    ussd_code: str = "*384*12#"
    terms_version: str = "1"
    terms_url: str = "kazi.work/terms"  # shown on the consent screen; keep it short


@dataclass
class SprintResult:
    """The engine's answer to one hop: reply, intents and the state to store."""

    reply: str
    continue_session: bool
    intents: list[Intent]
    state: FlowState
    waiting_for: str | None  # "input", "intent_result", or None once the session ended
    error: str | None = None  # why the engine apologised (for logs), else None

    @property
    def pending(self) -> Intent | None:
        """The blocking intent the host must run and feed back, if any."""
        return next((i for i in self.intents if i.blocking), None)


@functools.cache
def default_library() -> Library:
    """The flows and catalogs shipped in this package, loaded once on first use."""
    return Library.load()


def start(
    flow_name: str,
    context: Context,
    *,
    resume_point: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    library: Library | None = None,
) -> SprintResult:
    """Begin a flow (or continue a dropped task from a ``resume_point``)."""
    lib = library or default_library()
    if resume_point:
        flow_name = str(resume_point.get("flow"))
    if flow_name not in lib.flows:
        raise FlowStateError(f"unknown flow {flow_name!r}")
    state: FlowState = {
        "v": STATE_VERSION,
        "flow": flow_name,
        "node": lib.flows[flow_name].start,
        "lang": context.language if context.language in LANGUAGES else "en",
        "vars": {},
        "flash": [],
        "error": None,
        "page": 0,
        "retries": 0,
        "awaiting": None,
        "rp": None,
        "calls": 0,
    }
    secrets: dict[str, Any] = {}
    for key, value in (params or {}).items():
        (secrets if key in SECRET_PARAMS else state["vars"])[key] = value
    if resume_point:
        node_id = str(resume_point.get("node"))
        node = lib.flows[flow_name].nodes.get(node_id)
        if not node or node.attrs.get("intent") != GetTask.kind:
            raise FlowStateError(f"resume point {dict(resume_point)} is not a task fetch")
        state["node"] = node_id
        state["vars"]["_resume_task_id"] = resume_point.get("task_id")
        state["flash"] = ["task.resumed"]
    return _Sprint(lib, state, context, secrets).run()


def resume(
    state: Mapping[str, Any],
    *,
    user_input: str | None = None,
    intent_result: Mapping[str, Any] | object = None,
    context: Context,
    library: Library | None = None,
) -> SprintResult:
    """Continue a session with the worker's input or the result of the pending intent."""
    lib = library or default_library()
    stored = copy.deepcopy(dict(state))
    if stored.get("v") != STATE_VERSION or stored.get("flow") not in lib.flows:
        raise FlowStateError("state is from another version or names an unknown flow")
    if stored.get("node") not in lib.flows[stored["flow"]].nodes:
        raise FlowStateError(f"unknown node {stored.get('node')!r} in flow {stored['flow']!r}")
    # A state this engine wrote (the version says so), read back from the host's store.
    sprint = _Sprint(lib, cast(FlowState, stored), context, {})
    if stored.get("awaiting") == "intent_result":
        if intent_result is None:
            raise FlowStateError("the session waits for an intent result")
        if dataclasses.is_dataclass(intent_result) and not isinstance(intent_result, type):
            intent_result = dataclasses.asdict(intent_result)
        return sprint.guarded(lambda: sprint.feed(intent_result))
    if stored.get("awaiting") == "input":
        if user_input is None:
            raise FlowStateError("the session waits for input")
        return sprint.guarded(lambda: sprint.take_input(user_input))
    raise FlowStateError("the session has ended")


def awaits_secret(state: Mapping[str, Any] | None, *, library: Library | None = None) -> bool:
    """Whether the worker's next input answers a screen marked secret (a PIN), so the host
    must mask it before storing or logging it."""
    if not state or state.get("awaiting") != "input":
        return False
    flow = (library or default_library()).flows.get(str(state.get("flow")))
    node = flow.nodes.get(str(state.get("node"))) if flow else None
    return node is not None and node.secret


def resume_point(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """Where to pick up 'the task in hand' after a drop ({flow, node, task_id}), if any."""
    rp = state.get("rp")
    return dict(rp) if rp else None


def preview(
    library: Library,
    flow: str,
    node_id: str,
    context: Context,
    *,
    values: Mapping[str, Any] | None = None,
    flash: list[str] | None = None,
    error: tuple[str, dict[str, Any]] | None = None,
) -> list[str]:
    """The pages (USSD) or the one text (SMS) a wait node shows with the given values."""
    state: FlowState = {
        "flow": flow,
        "node": node_id,
        "lang": context.language,
        "vars": dict(values or {}),
        "flash": list(flash or []),
        "error": list(error) if error else None,
        "page": 0,
    }
    sprint = _Sprint(library, state, context, {})
    screen = sprint.screen(library.node(flow, node_id))
    return [render_sms(screen)] if context.channel == "sms" else sprint.pages(screen)


@dataclass
class _Sprint:
    lib: Library
    state: FlowState
    ctx: Context
    secrets: dict[str, Any]
    intents: list[Intent] = field(default_factory=list)
    steps: int = 0

    # -- driving -------------------------------------------------------------------

    def run(self) -> SprintResult:
        return self.guarded(self._loop)

    def guarded(self, step: Callable[[], SprintResult]) -> SprintResult:
        # A worker never sees a stack trace: engine and result errors end with an apology.
        try:
            return step()
        except FlowStateError:
            raise
        except (FlowError, KeyError, TypeError, ValueError) as exc:
            return self.abort(f"{type(exc).__name__}: {exc}")

    def _loop(self) -> SprintResult:
        while True:
            self.steps += 1
            if self.steps > MAX_STEPS:
                return self.abort("step_limit")
            node = self.node
            # Nodes that move on return None; nodes that wait return the result.
            enter: Callable[[Node], SprintResult | None] = getattr(self, f"_enter_{node.type}")
            result = enter(node)
            if result is not None:
                return result

    @property
    def node(self) -> Node:
        return self.lib.node(self.state["flow"], self.state["node"])

    def move(self, ex: Exit) -> None:
        target = ex.to
        if target.startswith("flow:"):
            self.state["flow"] = target[5:]
            target = self.lib.flows[self.state["flow"]].start
        self.state.update({"node": target, "page": 0, "retries": 0, "error": None, "rp": None})
        if ex.flash:
            self.state["flash"].append(ex.flash)

    def abort(self, why: str) -> SprintResult:
        self.state.update({"awaiting": None, "rp": None})
        reply = self.t("error.sorry")
        return SprintResult(reply, False, self.intents, self.state, None, error=why)

    # -- values and text -----------------------------------------------------------

    @property
    def vars(self) -> dict[str, Any]:
        return self.state["vars"]

    @property
    def currency(self) -> str:
        return self.ctx.currency

    def t(self, key: str, extra: Mapping[str, Any] | None = None) -> str:
        ctx = {
            "ussd_code": self.ctx.ussd_code,
            "terms_url": self.ctx.terms_url,
            # The service the worker chose in this flow (airtime, another wallet's rail)
            # names itself; else the rail of the worker's own wallet.
            "service": self.vars.get("service") or self.ctx.payout_service,
        }
        values = {**self.vars, **ctx, **(extra or {})}
        return self.lib.catalogs.text(key, self.state["lang"], values)

    def resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith(("vars.", "context.", "secret.")):
            return ref
        scope, _, path = ref.partition(".")
        head, *rest = path.split(".")
        if scope == "secret":
            value = self.secrets[head]
        elif scope == "context":
            value = getattr(self.ctx, head)
        else:
            value = self.vars.get(head)
        for part in rest:
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    def set_var(self, name: str, value: Any) -> None:
        self.vars[name] = value
        if name == "language" and value in LANGUAGES:
            self.state["lang"] = value  # the very next screen speaks the chosen language

    # -- nodes that do not wait ---------------------------------------------------

    def _enter_switch(self, node: Node) -> None:
        value = self.resolve(node.attrs.get("on"))
        if isinstance(value, Mapping) and "amount" in value:
            value = value["amount"]
        if node.attrs.get("test") == "truthy":
            value = bool(value)
        key = str(value).lower() if isinstance(value, bool) else str(value)
        self.move(node.exits.get(key) or node.exits["default"])

    def _enter_set(self, node: Node) -> None:
        for name, ref in node.attrs.get("values", {}).items():
            self.set_var(name, self.resolve(ref))
        self.move(node.exits["next"])

    def _enter_sms(self, node: Node) -> None:
        self.intents.append(SendSms(text=self.t(node.text or "")))
        self.move(node.exits["next"])

    def _enter_call(self, node: Node) -> SprintResult | None:
        cls = INTENTS[node.attrs["intent"]]
        args = {k: self.resolve(v) for k, v in node.attrs.get("args", {}).items()}
        if "channel" in {f.name for f in dataclasses.fields(cls)}:
            args.setdefault("channel", self.ctx.channel)
        if cls is GetTask:
            prefetched = self.vars.pop("_next_task", None)
            if prefetched is not None:
                self._apply(node, prefetched)  # the submit result carried it
                return None
            args["task_id"] = self.vars.pop("_resume_task_id", None)
        self.state["calls"] = self.state.get("calls", 0) + 1
        if self.state["calls"] > MAX_CALLS:
            return self.abort("intent_limit")
        intent = cls(**args)
        self.intents.append(intent)
        self.state["awaiting"] = "intent_result"
        return SprintResult("", True, self.intents, self.state, "intent_result")

    def feed(self, result: object) -> SprintResult:
        node = self.node
        if node.type != "call":
            raise FlowStateError("an intent result arrived but no intent is pending")
        self._apply(node, result)
        return self._loop()

    def _apply(self, node: Node, result: object) -> None:
        if not isinstance(result, Mapping):
            raise IntentResultError(f"an intent result must be a dict, not {type(result)}")
        cls = INTENTS[node.attrs["intent"]]
        cls.check_result(result)
        outcome = cls.outcome(result)
        self.state["awaiting"] = None
        for key, value in result.items():
            if key == "next":
                self.vars["_next_task"] = value
            elif key != "ok":
                self.set_var(key, value)
        if cls is GetTask and outcome == "task":
            self.vars["_task_node"] = node.id
        self.move(node.exits.get(outcome) or node.exits["default"])

    # -- nodes that wait ----------------------------------------------------------

    def _enter_end(self, node: Node) -> SprintResult:
        self.state.update({"awaiting": None, "rp": None})
        text = self.render(self.screen(node), final=True)
        return SprintResult(text, False, self.intents, self.state, None)

    def _enter_menu(self, node: Node) -> SprintResult:
        return self.show(node)

    _enter_input = _enter_menu

    def _enter_task(self, node: Node) -> SprintResult:
        task = self.vars.get("task") or {}
        self.state["rp"] = {
            "flow": self.state["flow"],
            "node": self.vars.get("_task_node"),
            "task_id": task.get("task_id"),
        }
        return self.show(node)

    def show(self, node: Node) -> SprintResult:
        self.state["awaiting"] = "input"
        text = self.render(self.screen(node))
        return SprintResult(text, True, self.intents, self.state, "input")

    def screen(self, node: Node) -> Screen:
        return build_screen(self, node)

    def pages(self, screen: Screen) -> list[str]:
        return paginate(screen, self.t("nav.more"), self.t("nav.prev"))

    def render(self, screen: Screen, final: bool = False) -> str:
        if self.ctx.channel == "sms":
            return render_sms(screen)
        pages = self.pages(screen)
        if final:  # an END screen cannot page; the checker keeps them short
            return pages[0] if len(pages) == 1 else render_sms(screen)[:USSD_LIMIT]
        return pages[min(self.state["page"], len(pages) - 1)]

    # -- input ----------------------------------------------------------------------

    def take_input(self, raw: str) -> SprintResult:
        node, text = self.node, raw.strip()
        if self.ctx.channel == "ussd" and node.type != "end":
            count = len(self.pages(self.screen(node)))
            page = self.state["page"]
            if text == MORE and page < count - 1 or text == BACK and page > 0:
                self.state["page"] = page + (1 if text == MORE else -1)
                return self.show(node)
        self.state["calls"] = 0
        outcome = read_input(self, node, text)
        if isinstance(outcome, Exit):
            self.state["flash"] = []
            self.move(outcome)
            return self._loop()
        key, values = outcome
        self.state["retries"] += 1
        if self.state["retries"] >= MAX_RETRIES:
            self.state["awaiting"] = None  # rp survives: a redial continues the task
            text = self.t("error.too_many_tries")
            return SprintResult(text, False, self.intents, self.state, None)
        # The error takes the place of the last step's notices ("Saved!", "Skipped."): both
        # above the task would push its options behind "98 More".
        self.state.update({"error": [key, values], "page": 0, "flash": []})
        return self.show(node)


__all__ = [
    "Context",
    "awaits_secret",
    "SprintResult",
    "default_library",
    "preview",
    "resume",
    "resume_point",
    "start",
]
