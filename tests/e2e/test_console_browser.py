"""End to end in a real headless Chromium: sign in, see the charts, use the phone simulator.

The app runs as it does in production-like use: migrated SQLite in a temporary
directory, the demo seeded by ``flask --app wsgi demo`` (whose printed operator login
the browser types), served by gunicorn on a free localhost port. Playwright drives
Debian's ``/usr/bin/chromium`` (``bin/browser`` installs it); screenshots go to
``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from demo.seed import DEMO_DATA
from flows.engine import default_library
from payouts.receipts import format_amount
from tests.kazi.test_health import free_port
from tests.test_serving import kazi_env

if TYPE_CHECKING:  # the module is skipped where playwright is missing
    from playwright.sync_api import Browser, Page

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Each browser wait gives up after this long: a step that takes longer is a failure.
STEP_MS = 15_000
#: What waits on background work (a job thread, the sandbox's callback) gives up after:
#: only an upper bound, generous for a loaded machine; a passing wait ends at once.
BACKGROUND_S = 60
#: The demo worker's earlier wages (8 answers at KES 1.50, see ``demo.seed``), in cents.
DEMO_WAGES = 1200

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="bin/browser installs it")


@dataclass(frozen=True)
class Served:
    """The running app and the demo's printed credentials."""

    url: str
    email: str
    password: str
    workers: list[str]
    pin: str


def _flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Migrate, seed the demo and serve the app with gunicorn until the tests are done."""
    tmp = tmp_path_factory.mktemp("e2e")
    env = kazi_env(tmp) | {
        "SECRET_KEY": "e2e-" + os.urandom(8).hex(),
        "AT_WEBHOOK_TOKEN": "e2e-at-token",
        "PAYOUT_SANDBOX_DELAY_SECONDS": "0.5",
    }
    _flask(env, "db", "upgrade")
    printed = _flask(env, "demo")
    login = re.search(r"operator login: (\S+) / (\S+)", printed)
    workers = re.search(r"demo workers \(PIN (\d+)\): (.+)", printed)
    assert login and workers, printed
    log_path = tmp / "gunicorn.log"
    server, url = _serve(env, log_path)
    try:
        yield Served(
            url,
            login.group(1),
            login.group(2),
            [p.strip() for p in workers.group(2).split(",")],
            workers.group(1),
        )
    finally:
        server.terminate()
        server.wait(timeout=20)


def _serve(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start gunicorn on a free port; another try on a new port if that one was taken."""
    for _ in range(3):
        # Other test processes pick free ports too: between our pick and gunicorn's bind
        # one may take it, and gunicorn then exits at once.
        port = free_port()
        with log_path.open("a") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
                + ["--workers", "1", "--threads", "8", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        if _wait_for(f"{url}/healthz", server):
            return server, url
        server.kill()
        server.wait(timeout=20)
    raise AssertionError(f"gunicorn did not serve: {log_path.read_text()[-2000:]}")


def _wait_for(url: str, server: subprocess.Popen[bytes]) -> bool:
    """True once ``url`` answers 200; False if the server exits or stays silent."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return True
        except requests.RequestException:  # not up yet, or busy starting under load
            pass
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, served: Served) -> Iterator[Page]:
    """A signed-in operator's page (the demo operator is an admin)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(STEP_MS)
    tab = context.new_page()
    tab.goto(f"{served.url}/console/login")
    tab.fill("input[name=email]", served.email)
    tab.fill("input[name=password]", served.password)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{served.url}/console/")
    yield tab
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


class Phone:
    """The simulator page driven like a person: dial, press keys, send SMS, read the inbox."""

    def __init__(self, page: Page, served: Served, number: str) -> None:
        self.page = page
        page.goto(f"{served.url}/console/simulator")
        page.fill("#phone-number", number)
        # Leaving the field fires its change event now, not later when the dial pad is
        # touched (which would hang up the call the test is making).
        page.press("#phone-number", "Tab")
        page.wait_for_function("document.querySelector('#screen').dataset.hop !== undefined")

    def screen(self) -> str:
        return self.page.inner_text("#screen")

    def press(self, reply: str) -> str:
        """Type a reply (or the USSD code) and press Call; the next screen's text."""
        before = self.page.get_attribute("#screen", "data-hop")
        self.page.fill("#dial", reply)
        self.page.click("#call")
        self.page.wait_for_function(
            "before => document.querySelector('#screen').dataset.hop !== before", arg=before
        )
        return self.screen()

    def choose(self, word: str) -> str:
        """Pick the numbered menu line that contains ``word``."""
        for line in self.screen().splitlines():
            match = re.match(r"\s*(\d+)[.)]?\s+(.*)", line)
            if match and word.lower() in match.group(2).lower():
                return self.press(match.group(1))
        raise AssertionError(f"no option {word!r} on {self.screen()!r}")

    def hang_up(self) -> None:
        self.page.click("#hangup")

    def sms(self, text: str) -> None:
        self.page.fill("#sms-text", text)
        self.page.click("#sms-send")

    def inbox_count(self) -> int:
        return self.page.locator("#inbox li p").count()

    def inbox_grows(self, before: int) -> None:
        self.page.wait_for_function(
            "n => document.querySelectorAll('#inbox li p').length > n",
            arg=before,
            timeout=BACKGROUND_S * 1000,
        )

    def inbox_shows(self, pattern: str) -> None:
        self.page.wait_for_function(
            "p => [...document.querySelectorAll('#inbox li p')].some(e => new RegExp(p, 'i').test(e.textContent))",
            arg=pattern,
            timeout=BACKGROUND_S * 1000,
        )


def _text(key: str, **values: object) -> str:
    """An English catalog text (flows/locales/en.toml) as the phone shows it."""
    return default_library().catalogs.text(key, "en", {"service": "M-Pesa", **values})


def _kes(cents: int) -> dict[str, object]:
    return {"amount": cents, "currency": "KES"}


def _earned(saved: str) -> int:
    """What the answer adds to the balance, in cents, as its "Saved" screen says.

    An answer faster than the project's minimum seconds is held for a check, unpaid
    (``task.saved_review``); a slower one is paid its reward (``task.saved``). Which
    one it is depends on how fast the browser is, so the test reads the outcome.
    """
    if saved.startswith(_text("task.saved_review")):
        return 0
    projects = json.loads(DEMO_DATA.read_text(encoding="utf-8"))["projects"]
    rewards = {p["reward"]["amount"] for p in projects if p["reward"]["currency"] == "KES"}
    paid = [r for r in rewards if saved.startswith(_text("task.saved", reward=_kes(r)))]
    assert len(paid) == 1, saved
    return paid[0]


def test_sign_in_charts_and_the_simulator(page: Page, served: Served) -> None:
    phone = Phone(page, served, served.workers[0])
    first = phone.press("*384*12#")
    assert first.strip() and not first.startswith("Error"), first
    shot(page, "simulator-ussd")
    phone.press("0" if "0" in first else "1")  # any reply reaches the webhook again
    before = phone.inbox_count()
    phone.sms("HELP")
    phone.inbox_grows(before)  # the reply, sent by a job through the outbound queue
    shot(page, "simulator-sms")

    page.goto(f"{served.url}/console/")
    charts = page.locator("svg.chart")
    assert charts.count() == 5
    assert page.locator("svg.chart polyline.line").count() >= 1
    # The simulator's SMS and USSD session are the traffic drawn here: some line rises.
    lines = page.locator("svg.chart polyline.line").all()
    points = [line.get_attribute("points") or "" for line in lines]
    heights = [{p.split(",")[1] for p in line.split()} for line in points]
    assert any(len(ys) > 1 for ys in heights), heights
    box = charts.first.bounding_box()
    assert box is not None and box["width"] > 200
    shot(page, "dashboard")
    page.goto(f"{served.url}/console/payouts")
    page.click("text=Ask for the float balance")
    deadline = time.monotonic() + BACKGROUND_S  # the sandbox answers by callback after 0.5 s
    while time.monotonic() < deadline:
        if "no balance answer yet" not in page.inner_text("#float"):
            break
        time.sleep(0.25)
        page.reload()
    assert re.search(r"KES [\d,.]+", page.inner_text("#float")), page.inner_text("#float")
    shot(page, "payouts")
    page.goto(f"{served.url}/console/ussd")
    assert page.locator("svg.chart rect.bar").count() >= 1
    shot(page, "ussd")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{served.url}/console/")
    box = page.locator("svg.chart").first.bounding_box()
    assert box is not None and box["width"] <= 390
    shot(page, "dashboard-phone")


def test_a_task_and_a_withdrawal_in_the_simulator(page: Page, served: Served) -> None:
    # Written against the English catalog (flows/locales/en.toml): "Get task", "Withdraw".
    phone = Phone(page, served, served.workers[0])
    menu = phone.press("*384*12#")
    assert "task" in menu.lower(), menu
    task = phone.choose("task")
    assert "1 " in task and "0 Skip" in task, task
    after = phone.press("1")  # the first option: saved, and the next task at once
    balance = DEMO_WAGES + _earned(after)
    shot(page, "simulator-task")
    phone.hang_up()
    resumed = phone.press("*384*12#")  # a redial resumes the task in hand
    assert "task in progress" in resumed.lower(), resumed
    phone.press("00")  # to the main menu
    amount = phone.choose("withdraw")
    assert _text("withdraw.offer", balance=_kes(balance)) in amount, amount
    assert _text("withdraw.pin", amount=_kes(balance)) in phone.choose("all")
    sent = balance - balance % 100  # "All" in whole shillings: M-Pesa pays no cents
    done = phone.press(served.pin)
    assert _text("withdraw.done", amount=_kes(sent)) in done, done
    # The receipt once the payout settles, for exactly that amount (not e.g. KES 12.50).
    phone.inbox_shows(rf"{re.escape(format_amount(sent, 'KES'))}(?![\d.,]).*(sent|paid|M-Pesa)")
    shot(page, "simulator-withdrawal")


#: Console pages as a phone 390 px wide shows them (an iPhone 12-15's CSS width).
PHONE_PAGES = [
    "/console/",
    "/console/?period=30d",
    "/console/messages",
    "/console/messages?direction=out&q=a",
    "/console/ussd",
    "/console/ussd/sessions",
    "/console/workers",
    "/console/workers/1",
    "/console/timeline?worker_id=1",
    "/console/payouts",
    "/console/projects",
    "/console/simulator",
    "/console/funding",
    "/console/audit",
]


def test_every_page_fits_a_390_px_phone_without_sideways_scrolling(
    page: Page, served: Served
) -> None:
    phone = Phone(page, served, served.workers[0])
    before = phone.inbox_count()
    phone.sms("HELP me understand how the tasks on this service are paid, please")
    phone.inbox_grows(before)  # the message is in the log, and its reply
    page.set_viewport_size({"width": 390, "height": 844})
    for path in PHONE_PAGES:
        page.goto(f"{served.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide"
    page.goto(f"{served.url}/console/messages")
    shot(page, "messages-phone")
    # The log's rows are cards: each cell under its column's name, the header hidden.
    first_row = page.locator("table.cards tbody tr").first
    assert first_row.evaluate("tr => getComputedStyle(tr).display") == "block"
    header = page.locator("table.cards thead")
    assert header.evaluate("h => h.getBoundingClientRect().width") <= 1
    body = page.locator("td.body").first
    style = body.evaluate(
        "td => [getComputedStyle(td).wordBreak, getComputedStyle(td).overflowWrap]"
    )
    assert style == ["normal", "break-word"], style  # wraps between words
    # A body is as wide as its card allows, not squeezed to a column of letters.
    assert body.evaluate("td => td.getBoundingClientRect().width") > 200
