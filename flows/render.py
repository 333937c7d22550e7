"""Turning a screen (text, numbered options, footer) into USSD pages or one SMS."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.medium import USSD_MAX_TEXT, sms_segments, to_gsm7

USSD_LIMIT = USSD_MAX_TEXT  # what one screen of a flow may hold
SMS_MAX_SEGMENTS = 3
#: The least room worth keeping for a question on the page of its options.
MIN_QUESTION = 20
MORE, BACK = "98", "99"  # paging keys; "0" stays Skip/Back and "00" Menu


@dataclass(frozen=True)
class Screen:
    """What a wait node shows, before it is cut to the medium."""

    body: str
    options: list[str] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)


def gsm7_screen(screen: Screen) -> Screen:
    """The screen with typographic look-alikes in GSM-7, before it is measured and cut."""
    # Requester text (task texts, options) comes from word processors: one curly quote
    # would make the whole screen UCS-2, and cost the worker half the room.
    return Screen(
        to_gsm7(screen.body),
        [to_gsm7(option) for option in screen.options],
        [to_gsm7(line) for line in screen.footer],
    )


def _join(*parts: list[str]) -> str:
    return "\n".join(line for part in parts for line in part if line)


def _cut(text: str, budget: int) -> tuple[str, str]:
    """Split text at a word boundary so the head fits the budget."""
    if len(text) <= budget:
        return text, ""
    head = text[: budget + 1].rsplit(" ", 1)[0] if " " in text[:budget] else ""
    if not head or len(head) > budget:
        head = text[:budget]  # one long word: cut it hard rather than loop
    return head.rstrip(), text[len(head) :].lstrip()


def _split_before_options(body: str, room: int) -> tuple[str, str]:
    """Cut a body that fits one page so its end (whole last lines if they fit) fits ``room``."""
    lines = body.split("\n")
    for start in range(1, len(lines)):
        tail = "\n".join(lines[start:])
        if len(tail) <= room:
            return "\n".join(lines[:start]), tail
    # Even the last line is too long: cut it at a word so its end fits the room.
    head_budget = len(body) - room
    cut = body.find(" ", head_budget)
    if cut < 0 or cut >= len(body) - 1:
        cut = head_budget
    return body[:cut].rstrip(), body[cut:].lstrip()


def paginate(screen: Screen, more: str, back: str, limit: int = USSD_LIMIT) -> list[str]:
    """Pages of at most ``limit`` characters; every page but the last ends in 'More'."""
    pages: list[str] = []
    screen = gsm7_screen(screen)
    body, options = screen.body, list(screen.options)
    while True:
        nav_back = [back] if pages else []
        final = _join([body], options, screen.footer, nav_back)
        if len(final) <= limit:
            pages.append(final)
            return pages
        tail = _join(screen.footer, nav_back, [more])
        budget = limit - len(tail) - 1
        if budget < 20:  # footers alone fill the page: a definition bug, not a loop
            raise ValueError(f"screen footer leaves {budget} characters per page")
        lines: list[str] = []
        # Room for the body on a later page that ends it and holds every option.
        room = limit - len(_join(options, screen.footer, [back])) - 1
        if body and options and len(body) <= budget and room >= MIN_QUESTION:
            # The body would end here with options spilling onto the next page, where a
            # worker would read them without their question: the question goes with them.
            chunk, body = _split_before_options(body, room)
            lines.append(chunk)
            pages.append(_join(lines, screen.footer, nav_back, [more]))
            continue
        if body:
            chunk, body = _cut(body, budget)
            lines.append(chunk)
            budget -= len(chunk) + 1
        while not body and options and len(options[0]) <= budget:
            budget -= len(options[0]) + 1
            lines.append(options.pop(0))
        if not lines:  # an option line longer than a page: cut it rather than loop
            head, rest = _cut(options[0], budget)
            lines.append(head)
            options[0] = rest
        pages.append(_join(lines, screen.footer, nav_back, [more]))


def render_sms(screen: Screen, ellipsis: str = "...") -> str:
    """One SMS text within three segments, shortening the body if it must."""
    screen = gsm7_screen(screen)
    text = _join([screen.body], screen.options, screen.footer)
    body = screen.body
    while sms_segments(text) > SMS_MAX_SEGMENTS and body:
        body = body[: max(0, len(body) - 10)].rstrip()
        text = _join([body + ellipsis], screen.options, screen.footer)
    return text
