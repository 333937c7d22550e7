"""``flows check``: every problem in the definitions and catalogs, as one list of lines.

Beyond what loading validates, it renders every screen of every flow in every language
with the longest realistic values filled in (balances, task texts, option labels,
notices and re-prompts) and checks USSD pages and SMS segments.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from core.medium import sms_segments
from flows.definitions import DEFINITION_DIR, Library, Node, node_exits
from flows.engine import Context, preview
from flows.errors import FlowDefinitionError
from flows.i18n import LANGUAGES, LOCALE_DIR, Catalogs
from flows.intents import OPTION_LABEL_MAX, TASK_OPTIONS_MAX, TASK_TEXT_MAX
from flows.render import SMS_MAX_SEGMENTS, USSD_LIMIT
from flows.screens import Problem

# Keys the engine itself uses, outside any definition.
ENGINE_KEYS = [
    "nav.more",
    "nav.prev",
    "nav.back",
    "nav.skip",
    "nav.menu",
    "nav.skip_menu",
    "error.sorry",
    "error.too_many_tries",
    "error.choice",
    "error.zero",
    "error.text",
    "error.number",
    "error.number_any",
    "error.pin",
    "error.weak_pin",
    "error.amount",
    "error.amount_max",
    "task.yes",
    "task.no",
    "task.hint_text",
    "task.hint_number",
    "task.resumed",
    "sms.stop",
    "sms.start",
    "withdraw.sms_usage",
]

_BIG = {"amount": 999_999_999, "currency": "KES"}  # KES 9,999,999.99
SAMPLE_VALUES: dict[str, Any] = {
    "balance": _BIG,
    "amount": _BIG,
    "today_earned": _BIG,
    "hourly": _BIG,
    "reward": _BIG,
    "minimum": _BIG,
    "today_tasks": 9999,
    "accuracy": 1.0,
    "attempts_left": 9,
    "language": "en",
    # A wallet per currency: the longest names of the rails Kazi ships.
    "balances": [_BIG, {"amount": 999_999_999, "currency": "UGX"}],
    "wallets": [
        {"balance": _BIG, "mobile": "M-Pesa", "airtime": True},
        {"balance": {"amount": 999_999_999, "currency": "UGX"}, "mobile": "MTN MoMo"},
    ],
    "mobile": "MTN MoMo",
    "airtime_service": "airtime",
    # An impact survey's fee and income bands (whole units, the widest currency's).
    "fee": _BIG,
    "paid": _BIG,
    "cur": "UGX",
    **{f"b{n}": "999,999" for n in range(1, 5)},
    # The work record: a long-serving worker paid in two currencies, on a long domain.
    "tasks": 99999,
    "months": 99,
    "accuracy_band": "75-89%",
    "earned": [_BIG, {"amount": 999_999_999, "currency": "UGX"}],
    "verify_url": "https://kazi.example.org/verify/ABCDEFGHJK",
    # A missed gold task: the longest option label and the longest reason (80).
    "right_answer": "x" * 30,
    "gold_reason": "y" * 80,
}
_KES = {"amount": 12_550, "currency": "KES"}  # KES 125.50
# Typical values: with these a non-task screen should fit the 160 of stricter networks.
TYPICAL_VALUES: dict[str, Any] = {
    **SAMPLE_VALUES,
    **{k: _KES for k in ("balance", "amount", "today_earned", "hourly", "reward", "minimum")},
    "balances": [_KES, {"amount": 30_000, "currency": "UGX"}],
    "today_tasks": 42,
    "accuracy": 0.87,
    "attempts_left": 2,
}
STRICT_LIMIT = 160
SAMPLE_CONTEXT = Context(
    ussd_code="*384*12345#", terms_url="https://kazi.example.org/t", payout_service="MTN MoMo"
)
_ERRORS_BY_INPUT: dict[str, Problem] = {
    "text": ("error.text", {}),
    "number": ("error.number", {"min": 999_999_999, "max": 999_999_999}),
    "amount": ("error.amount_max", {"max": _BIG}),
    "pin": ("error.pin", {}),
    "new_pin": ("error.weak_pin", {}),
}


def sample_tasks() -> list[dict[str, Any]]:
    """The longest task of each type the tasks service may hand out."""
    text = ("Long words " * TASK_TEXT_MAX)[:TASK_TEXT_MAX]
    options = [("W" * OPTION_LABEL_MAX)] * TASK_OPTIONS_MAX
    return [
        {"task_id": 1, "text": text, "task_type": "single_choice", "options": options},
        {"task_id": 1, "text": text, "task_type": "yes_no", "options": []},
        {"task_id": 1, "text": text, "task_type": "free_text", "options": []},
        {"task_id": 1, "text": text, "task_type": "number", "options": []},
    ]


def _incoming_flashes(library: Library) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for flow in library.flows.values():
        for node in flow.nodes.values():
            for _, ex in node_exits(node):
                if ex.flash:
                    name, target = flow.name, ex.to
                    if target.startswith("flow:"):
                        name = target[5:]
                        target = library.flows[name].start if name in library.flows else ""
                    found.setdefault((name, target), set()).add(ex.flash)
    return found


def _error_for(node: Node) -> Problem:
    if node.type == "input":
        return _ERRORS_BY_INPUT[node.attrs["kind"]]
    return ("error.choice", {"max": 99})


def _notice_cases(node: Node, flashes: set[str]) -> list[tuple[list[str], Problem | None]]:
    """The notices a screen can show at once: the flash of the step that led to it, or a
    re-prompt's error (the engine drops the flash when it shows an error)."""
    # Notices reach a screen through flows the checker cannot follow (call results), so
    # every one that can arrive is tried; task screens take them all at once, with
    # "resumed", since a fetch can follow a fetch.
    if node.type == "task":
        shown = [sorted(flashes) + ["task.resumed"]]
    else:
        shown = [[key] for key in sorted(flashes)] or [[]]
    cases: list[tuple[list[str], Problem | None]] = [(flash, None) for flash in shown]
    if node.type != "end":
        cases.append(([], _error_for(node)))
    return cases


def _screen_problems(library: Library, flow: str, node: Node, flashes: set[str]) -> list[str]:
    problems = []
    where = f"{library.flows[flow].path}: node '{node.id}'"
    tasks = sample_tasks() if node.type == "task" else [None]
    for lang in LANGUAGES:
        for channel in ("ussd", "sms"):
            ctx = replace(SAMPLE_CONTEXT, channel=channel, language=lang)
            for task in tasks:
                values = {**SAMPLE_VALUES, "task": task}
                for flash, error in _notice_cases(node, flashes):
                    try:
                        pages = preview(
                            library, flow, node.id, ctx, values=values, flash=flash, error=error
                        )
                    except (KeyError, ValueError) as exc:
                        problems.append(f"{where} ({lang}): cannot render: {exc}")
                        continue
                    problems += _fit(where, lang, channel, node, pages)
        if node.type != "task":
            ctx = replace(SAMPLE_CONTEXT, language=lang)
            page = preview(library, flow, node.id, ctx, values=TYPICAL_VALUES)[0]
            if len(page) > STRICT_LIMIT:
                problems.append(
                    f"{where} ({lang}): screen has {len(page)} characters with typical values; "
                    f"keep it within {STRICT_LIMIT} for networks that cut there"
                )
    return problems


def _fit(where: str, lang: str, channel: str, node: Node, pages: list[str]) -> list[str]:
    out = []
    if channel == "sms":
        if sms_segments(pages[0]) > SMS_MAX_SEGMENTS:
            out.append(f"{where} ({lang}): SMS needs more than {SMS_MAX_SEGMENTS} segments")
        return out
    for number, page in enumerate(pages, 1):
        if len(page) > USSD_LIMIT:
            out.append(
                f"{where} ({lang}): screen page {number} has {len(page)} characters "
                f"(limit {USSD_LIMIT})"
            )
    if node.type != "task" and len(pages) > 1:
        out.append(
            f"{where} ({lang}): screen does not fit {USSD_LIMIT} characters "
            f"({len(pages)} pages); only task screens may page"
        )
    return out


def _loops(library: Library) -> list[str]:
    """Cycles made only of nodes that never wait: they would spin until the step cap."""
    instant = {"switch", "set", "sms"}
    problems: list[str] = []
    state: dict[tuple[str, str], str] = {}  # "open" while on the DFS path, then "done"

    def visit(here: tuple[str, str]) -> None:
        node = library.flows[here[0]].nodes.get(here[1])
        if node is None or node.type not in instant or state.get(here) == "done":
            return
        if state.get(here) == "open":
            path = library.flows[here[0]].path
            problems.append(f"{path}: node '{here[1]}': loops without waiting")
            return
        state[here] = "open"
        for _, ex in node_exits(node):
            target = _target(library, here[0], ex.to)
            if target:
                visit(target)
        state[here] = "done"

    for flow in library.flows.values():
        for node_id in flow.nodes:
            visit((flow.name, node_id))
    return problems


def _target(library: Library, flow: str, target: str) -> tuple[str, str] | None:
    if target.startswith("flow:"):
        name = target[5:]
        return (name, library.flows[name].start) if name in library.flows else None
    return (flow, target)


def check_all(flow_dir: Path | None = None, locale_dir: Path | None = None) -> list[str]:
    """Every problem found in the flow definitions and catalogs (empty when all is well)."""
    try:
        catalogs = Catalogs.load(locale_dir or LOCALE_DIR)
    except FlowDefinitionError as exc:
        return [exc.message]
    problems = catalogs.problems()
    for key in ENGINE_KEYS:
        if key not in catalogs.messages["en"]:
            problems.append(f"locales/en.toml: missing engine message '{key}'")
    library, found = Library.load_with_problems(flow_dir or DEFINITION_DIR, catalogs)
    problems += found
    if found or problems:
        return problems  # rendering needs sound graphs and complete catalogs
    problems += _loops(library)
    flashes = _incoming_flashes(library)
    for flow in library.flows.values():
        for node in flow.nodes.values():
            if node.type in ("menu", "input", "task", "end"):
                incoming = flashes.get((flow.name, node.id), set())
                problems += _screen_problems(library, flow.name, node, incoming)
    return problems


def main() -> int:
    """Print every problem, one per line; the exit status is 1 when there are any."""
    problems = check_all()
    for problem in problems:
        print(problem)
    return 1 if problems else 0
