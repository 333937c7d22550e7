"""What each wait node shows, and how it reads the worker's reply."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from flows.definitions import Exit, Node
from flows.i18n import parse_amount
from flows.inputs import (
    clean_text,
    hash_pin,
    is_pin,
    is_weak_pin,
    parse_decimal,
    parse_int,
    pin_matches,
)
from flows.render import Screen
from flows.state import FlowState


class Sprint(Protocol):
    """What a screen reads and writes of the sprint showing it (``flows.engine``)."""

    state: FlowState
    secrets: dict[str, Any]  # kept for one sprint only, never in the stored state

    @property
    def vars(self) -> dict[str, Any]: ...

    @property
    def currency(self) -> str: ...

    def t(self, key: str, extra: Mapping[str, Any] | None = None) -> str: ...

    def resolve(self, ref: Any) -> Any: ...

    def set_var(self, name: str, value: Any) -> None: ...


Problem = tuple[str, dict[str, Any]]  # (catalog key, values) shown above the re-prompt


def _notices(sprint: Sprint) -> list[str]:
    lines = [sprint.t(key) for key in sprint.state["flash"]]
    error = sprint.state.get("error")
    if error:
        key, values = error
        lines.insert(0, sprint.t(key, values))
    return lines


def task_options(sprint: Sprint, task: dict[str, Any]) -> list[str]:
    """The option labels of a task (yes/no tasks get translated labels by default)."""
    if task.get("options"):
        return list(task["options"])
    if task.get("task_type") == "yes_no":
        return [sprint.t("task.yes"), sprint.t("task.no")]
    return []


def build_screen(sprint: Sprint, node: Node) -> Screen:
    """The text, numbered options and footer of a wait node."""
    lines = _notices(sprint)
    options: list[str] = []
    footer: list[str] = []
    if node.type == "task":
        task = sprint.vars.get("task") or {}
        if node.text:
            lines.append(sprint.t(node.text))
        lines.append(str(task.get("text", "")))
        options = [f"{i} {label}" for i, label in enumerate(task_options(sprint, task), 1)]
        hint = {"free_text": "task.hint_text", "number": "task.hint_number"}
        if task.get("task_type") in hint:
            lines.append(sprint.t(hint[task["task_type"]]))
        keys = ("skip" in node.exits, "menu" in node.exits)
        nav = {(True, True): "nav.skip_menu", (True, False): "nav.skip", (False, True): "nav.menu"}
        if keys in nav:
            footer.append(sprint.t(nav[keys]))
    else:
        lines.append(sprint.t(node.text or ""))
        labels = [sprint.t(node.attrs["choice_label"], item) for item in menu_choices(sprint, node)]
        labels += [sprint.t(o.label) for o in node.options]
        options = [f"{i} {label}" for i, label in enumerate(labels, 1)]
        if "back" in node.exits:
            footer.append(sprint.t("nav.back"))
    return Screen(body="\n".join(lines), options=options, footer=footer)


def read_input(sprint: Sprint, node: Node, text: str) -> Exit | Problem:
    """Where a reply leads, or the problem to show with the re-prompt."""
    if text == "0" and "back" in node.exits:
        return node.exits["back"]
    if node.type == "menu":
        return _read_menu(sprint, node, text)
    if node.type == "task":
        return _read_task(sprint, node, text)
    return _read_field(sprint, node, text)


def menu_choices(sprint: Sprint, node: Node) -> list[Mapping[str, Any]]:
    """The items a menu numbers before its options (its ``choices`` list), if any."""
    if not node.attrs.get("choices"):
        return []
    items = sprint.resolve(node.attrs["choices"]) or []
    return [item for item in items if isinstance(item, Mapping)]


def _read_menu(sprint: Sprint, node: Node, text: str) -> Exit | Problem:
    items = menu_choices(sprint, node)
    count = len(items) + len(node.options)
    if not count:
        return ("error.zero", {})
    choice = parse_int(text)
    if choice is None or not 1 <= choice <= count:
        return ("error.choice", {"max": count})
    if choice <= len(items):
        sprint.set_var(node.attrs["choice_var"], dict(items[choice - 1]))
        return node.exits["choose"]
    option = node.options[choice - len(items) - 1]
    for name, ref in option.values.items():
        sprint.set_var(name, sprint.resolve(ref))
    return option.exit


def _read_task(sprint: Sprint, node: Node, text: str) -> Exit | Problem:
    if text == "0" and "skip" in node.exits:
        return node.exits["skip"]
    if text == "00" and "menu" in node.exits:
        return node.exits["menu"]
    task = sprint.vars.get("task") or {}
    kind = task.get("task_type")
    answer: str | None
    choice = None
    if kind in ("single_choice", "yes_no"):
        options = task_options(sprint, task)
        choice = parse_int(text)
        if choice is None or not 1 <= choice <= len(options):
            return ("error.choice", {"max": len(options)})
        # yes/no answers go to the host in a fixed vocabulary, whatever the language.
        # A translated label stands for the project's own option ("answers"), which
        # is what the host records, whatever the language it was shown in.
        answers = task.get("answers") or options
        answer = ("yes", "no")[choice - 1] if not task.get("options") else answers[choice - 1]
    elif kind == "number":
        answer = parse_decimal(text)
        if answer is None:
            return ("error.number_any", {})
    else:
        answer = clean_text(text)
        if answer is None:
            return ("error.text", {})
    sprint.set_var("answer", answer)
    sprint.set_var("choice", choice)
    return node.exits["answer"]


def _read_field(sprint: Sprint, node: Node, text: str) -> Exit | Problem:
    kind, var = node.attrs["kind"], node.attrs["var"]
    if kind == "text":
        value = clean_text(text)
        if value is None:
            return ("error.text", {})
        sprint.set_var(var, value)
    elif kind == "number":
        low, high = node.attrs.get("min", 0), node.attrs.get("max", 999_999_999)
        number = parse_int(text)
        if number is None or not low <= number <= high:
            return ("error.number", {"min": low, "max": high})
        sprint.set_var(var, number)
    elif kind == "amount":
        return _read_amount(sprint, node, text)
    elif not is_pin(text):
        return ("error.pin", {})
    elif kind == "new_pin":
        if is_weak_pin(text):
            return ("error.weak_pin", {})
        sprint.set_var("_pin_hash", hash_pin(text))
    elif node.attrs.get("confirm"):
        stored = sprint.vars.pop("_pin_hash", None) or ""
        if not pin_matches(text, stored):
            return node.exits["mismatch"]
        sprint.secrets[var] = text
    else:
        sprint.secrets[var] = text  # kept for this sprint only, never in state
    return node.exits["next"]


def _read_amount(sprint: Sprint, node: Node, text: str) -> Exit | Problem:
    cap = sprint.resolve(f"vars.{node.attrs['max_var']}") if node.attrs.get("max_var") else None
    # An amount is in the currency of the balance it is drawn from (the wallet picked).
    currency = str(cap.get("currency")) if isinstance(cap, Mapping) else sprint.currency
    minor = parse_amount(text, currency)
    if not minor:
        return ("error.amount", {})
    if cap and minor > int(cap.get("amount", 0)):
        return ("error.amount_max", {"max": cap})
    sprint.set_var(node.attrs["var"], {"amount": minor, "currency": currency})
    return node.exits["next"]
