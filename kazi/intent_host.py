"""The intent host: the flow engine's intents carried out with the domains' services, in the hop's
transaction. The gateway's conversation driver (``gateway.conversation``) runs it; the
wiring package installs it, so the gateway never imports tasks or payouts.

Intent (flows.intents) → service → result shape the engine routes on:

=================  ===========================================  ===============================
get_task           tasks.assignment.get_next_task               {"task": {...}} | {"task": None,
                   (qualification: tasks.qualification.          "reason": "none_available" |
                   next_question); why none: unavailable_        "suspended" | "held" |
                   reason, waiting_in_other_languages            "blocked" | "daily_cap" |
                                                                 "no_language" (these two with
                                                                 "retry_hours") | "passed" |
                                                                 "failed"}
submit_answer      tasks.submission.submit_answer               {"ok": True, "reward": money|None,
                   (a missed gold: tasks.feedback.missed_gold)   "missed", "right_answer",
                                                                 "gold_reason"}
                   (qualification: tasks.qualification.          NoReservation/ReservationExpired
                   answer_question)
                                                                 → {"ok": False, "reason":
                                                                 "expired"}; InvalidAnswer →
                                                                 {"ok": False, "reason": <why>}
skip_task          tasks.assignment.skip_task                   {"ok": bool}
get_earnings       tasks.reports.worker_earnings,               {"ok", "balance", "today_tasks",
                   ledger.wallet_balances (a wallet per          "today_earned", "hourly",
                   currency)                                     "accuracy", "balances",
                                                                 "wallets", "several", "mobile",
                                                                 "airtime", "airtime_service",
                                                                 "tip" (tasks.feedback)}
verify_pin         workers.services.check_pin                   {"ok", "attempts_left", "locked"}
request_payout     payouts.withdrawals.request_withdrawal      {"ok": True, "amount"} | {"ok":
                   (with the PIN verified earlier in this hop;   False, "reason": ...}
                   the wallet and rail the worker chose)
set_pin            workers.services.set_pin                     {"ok": True}
set_language       workers.services.set_language                {"ok": bool}
register_worker    workers.services.set_language (the worker    {"ok": True}
                   exists already: created on first contact)
record_consent     workers.services.record_consent              {"ok": True}
send_terms         workers.jobs.notify ("reg.terms_sms")        {"ok": True}
set_task_languages workers.services.set_task_languages          {"ok": bool}
get_my_data        kazi.privacy.data_summary                    {"ok", "phone", "lang",
                                                                 "since", "answers", "balance",
                                                                 "payouts"}
get_work_record    tasks.work_record.issue_record               {"ok", "tasks", "months",
                                                                 "accuracy_band", "earned",
                                                                 "code", "verify_url"}
forget_me          request_payout of the balance, then          {"ok": True, "paid": money|None}
                   kazi.privacy.forget_worker
start_survey       impact.surveys.offer_followup (a follow-up   {"ok": True, "wave", "fee",
                   due and not offered today, USSD only) or      "cur", "b1".."b4"} | {"ok":
                   the baseline (not answered yet)               False}
save_survey        impact.surveys.save_response (a follow-up    {"ok": bool, "paid": money|None}
                   pays its fee once, through the ledger)
=================  ===========================================  ===============================

Fire-and-forget ``send_sms`` intents are the gateway's own (``gateway.conversation``).
A worker is *registered* once consent and PIN are recorded, and *qualified* once the
quiz is passed (``workers.services``). PINs reach this module only
inside one hop and are kept in memory for that hop alone (``request_payout`` follows
``verify_pin`` without a screen in between).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.jobs import enqueue
from core.localtime import next_local_midnight, zone_of_country
from core.money import Money
from core.runtime import Runtime
from flows import Context
from flows import intents as fi
from flows.engine import default_library
from impact import surveys
from impact.errors import InvalidSurveyAnswer
from impact.models import SurveyKind
from kazi.privacy import data_summary, forget_worker
from ledger import services as ledger
from payouts.errors import WithdrawalRefused
from payouts.rails import (
    airtime_limits,
    payable_currencies,
    rail_for,
    route_withdrawal,
    wallet_currency,
)
from payouts.receipts import service_name
from payouts.withdrawals import request_withdrawal
from tasks import qualification
from tasks.answers import YES, TaskType
from tasks.assignment import get_next_task, skip_task
from tasks.availability import unavailable_reason, waiting_in_other_languages
from tasks.detection import QualityRules
from tasks.errors import InvalidAnswer, NoReservation, ReservationExpired
from tasks.feedback import MissedGold, accuracy_tip, missed_gold
from tasks.reports import worker_earnings
from tasks.screens import task_screen_values
from tasks.submission import submit_answer
from tasks.task_views import TaskView
from tasks.work_record import issue_record
from workers import services as workers
from workers.errors import PinRefused
from workers.models import Worker

log = logging.getLogger("kazi.flows.host")

#: When to try again after "no task in your language": new tasks arrive in batches, and a
#: few hours is a fair guess that does not send a worker away for a whole day.
LANGUAGE_RETRY_HOURS = 3

#: WithdrawalRefused reasons → the withdraw flow's exits (the rest end in an apology).
_REFUSALS = {
    "pin_locked": "locked",
    "below_minimum": "below_minimum",
    "insufficient_funds": "insufficient_funds",
    "daily_cap": "daily_limit",
    "daily_withdrawals": "daily_limit",
    "above_maximum": "insufficient_funds",
}


def money(value: Money | None) -> dict[str, Any] | None:
    """A Money as the engine's ``{"amount", "currency"}`` dict."""
    return None if value is None else {"amount": value.amount, "currency": value.currency}


def worker_context(worker: Worker, *, channel: str, runtime: Runtime) -> Context:
    """What the engine knows about this worker on this channel."""
    currency = wallet_currency(runtime.settings, worker.country)
    return Context(
        channel=channel,
        language=workers.speaks(worker),
        registered=workers.is_registered(worker),
        qualified=workers.is_qualified(worker),
        suspended=workers.suspension_of(worker),
        # The wallet of the worker's country when a rail pays its currency (UGX by MTN
        # MoMo for a Ugandan worker): balances, tasks and withdrawals are in it.
        currency=currency,
        payout_service=service_name(rail_for(runtime.settings, currency), currency),
        ussd_code=runtime.settings.ussd_service_code,
    )


@dataclass
class IntentHost:
    """Runs one hop's intents for one worker against the real services."""

    session: Session
    worker: Worker
    runtime: Runtime
    channel: str
    now: datetime
    verified_pin: str | None = None
    task_expires_at: datetime | None = None  # of the last task handed out in this hop

    def context(self) -> Context:
        """The engine context as it stands now (a register or quiz may have changed it)."""
        return worker_context(self.worker, channel=self.channel, runtime=self.runtime)

    def rules(self) -> QualityRules:
        """The spam detectors' thresholds, as configured."""
        return QualityRules.from_settings(self.runtime.settings)

    def execute(self, intent: fi.Intent) -> dict[str, Any]:
        """The result of one blocking intent, in the shape its flow routes on."""
        handler = getattr(self, f"_do_{intent.kind}")
        return handler(intent)

    # -- tasks ----------------------------------------------------------------------

    def _do_get_task(self, intent: fi.GetTask) -> dict[str, Any]:
        store = self.runtime.store
        if intent.qualification:
            return qualification.next_question(self.session, store, self.worker, self.now)
        # get_next_task hands back the reservation the worker holds, so a resumed
        # task_id needs no special case; a lapsed one simply yields another task.
        rules = self.rules()
        # Only tasks whose wage this worker's rail can pay out (payouts.rails).
        currencies = {self.context().currency}
        cap = self.runtime.settings.task_daily_cap
        view = get_next_task(
            self.session,
            self.worker,
            self.now,
            rules=rules,
            currencies=currencies,
            daily_cap=cap,
        )
        if view is not None:
            self.task_expires_at = view.expires_at
            return {"task": task_view(view)}
        # No task: say why (only this path pays for the extra queries).
        why = unavailable_reason(self.session, self.worker, rules, now=self.now, daily_cap=cap)
        if why == "daily_cap":
            midnight = next_local_midnight(zone_of_country(self.worker.country), self.now)
            hours = max(1, math.ceil((midnight - self.now).total_seconds() / 3600))
            return {"task": None, "reason": why, "retry_hours": hours}
        if why is None and waiting_in_other_languages(self.session, self.worker, currencies):
            return {"task": None, "reason": "no_language", "retry_hours": LANGUAGE_RETRY_HOURS}
        return {"task": None, "reason": why or "none_available"}

    def _do_submit_answer(self, intent: fi.SubmitAnswer) -> dict[str, Any]:
        if intent.qualification:
            store = self.runtime.store
            return qualification.answer_question(
                self.session, store, self.worker, intent.task_id, intent.answer
            )
        # The engine sends the option's label (single choice) or "yes"/"no": both are
        # what tasks.answers accepts, whatever the worker's language.
        try:
            # No savepoint: submit_answer refuses before it writes anything (issue 13).
            result = submit_answer(
                self.session,
                self.worker,
                intent.task_id,
                intent.answer,
                self.now,
                rules=self.rules(),
            )
        except (NoReservation, ReservationExpired):
            return {"ok": False, "reason": "expired"}
        except InvalidAnswer as exc:
            return {"ok": False, "reason": str(exc.reason)}
        # Always all three keys: the flow's vars outlive this answer.
        # Only a missed gold task has feedback: no read on the usual answer's hop.
        missed = (
            missed_gold(self.session, result.assignment_id) if result.correct is False else None
        )
        return {
            "ok": True,
            "reward": money(result.paid),
            "missed": missed is not None,
            "right_answer": self.shown_answer(missed) if missed else None,
            "gold_reason": (missed.reason or "") if missed else None,
        }

    def shown_answer(self, missed: MissedGold) -> str:
        """A gold answer as the worker's screen words it (yes/no in their language)."""
        if missed.task_type is TaskType.YES_NO:
            key = "task.yes" if missed.answer == YES else "task.no"
            return default_library().catalogs.text(key, self.context().language, {})
        return missed.answer

    def _do_skip_task(self, intent: fi.SkipTask) -> dict[str, Any]:
        if intent.qualification:
            return {"ok": False}  # the quiz has no skip; the flow offers none
        return {"ok": skip_task(self.session, self.worker, intent.task_id, self.now)}

    # -- money ----------------------------------------------------------------------

    def _do_get_earnings(self, intent: fi.GetEarnings) -> dict[str, Any]:
        home = self.context().currency
        held = self.wallets()
        # One wallet holding money is the one shown and withdrawn from, whatever its
        # currency; with several, the home wallet heads the screen and the worker picks.
        focus = next(iter(held)) if len(held) == 1 else home
        earnings = worker_earnings(self.session, self.worker, self.now, focus)
        wallets = [self.wallet(balance) for balance in held.values()]
        own = self.wallet(earnings.balance)
        return {
            "ok": True,
            "balance": money(earnings.balance),
            "today_tasks": earnings.tasks_today,
            "today_earned": money(earnings.pay_today),
            "hourly": money(earnings.hourly),
            "accuracy": earnings.accuracy,
            "balances": [w["balance"] for w in wallets] or [money(earnings.balance)],
            "wallets": wallets,
            "several": len(wallets) > 1,
            "mobile": own["mobile"],
            "airtime": own["airtime"],
            "airtime_service": service_name("airtime", focus),
            "tip": accuracy_tip(earnings.accuracy),
        }

    def wallets(self) -> dict[str, Money]:
        """The worker's wallets holding money (non-zero), the home wallet first."""
        home = self.context().currency
        balances = ledger.wallet_balances(self.session, self.worker.id)
        held = {code: value for code, value in balances.items() if value.amount != 0}
        return dict(sorted(held.items(), key=lambda item: item[0] != home))

    def wallet(self, balance: Money) -> dict[str, Any]:
        """One wallet as the withdraw flow offers it: balance, rail name, airtime or not."""
        settings = self.runtime.settings
        currency = balance.currency
        return {
            "balance": money(balance),
            "mobile": service_name(rail_for(settings, currency), currency),
            "airtime": airtime_limits(settings, currency) is not None,
        }

    def _do_verify_pin(self, intent: fi.VerifyPin) -> dict[str, Any]:
        minutes = self.runtime.settings.payout_pin_lock_minutes
        try:
            workers.check_pin(
                self.session,
                self.runtime.store,
                self.worker,
                intent.pin,
                lock_minutes=minutes,
                now=self.now,
            )
        except PinRefused as refused:
            locked = refused.reason in ("pin_locked", "no_pin")
            left = 0 if locked else refused.attempts_left
            return {"ok": False, "attempts_left": left, "locked": locked}
        self.verified_pin = intent.pin
        return {"ok": True, "attempts_left": workers.PIN_ATTEMPTS, "locked": False}

    def _do_request_payout(self, intent: fi.RequestPayout) -> dict[str, Any]:
        if self.verified_pin is None:
            log.warning("request_payout without a PIN verified in the same hop")
            return {"ok": False, "reason": "fail"}
        settings = self.runtime.settings
        amount = intent.amount.get("amount")
        currency = intent.currency or self.context().currency
        if currency not in payable_currencies(settings):
            log.warning("request_payout from a wallet no rail pays: %r", currency)
            return {"ok": False, "reason": "fail"}
        balance = ledger.balance(
            self.session, ledger.worker_wallet(self.session, self.worker.id, currency)
        ).amount
        # "All" may hold cents mobile money cannot pay: let the service round down.
        wanted = None if amount is None or amount >= balance else int(amount)
        airtime = intent.rail == "airtime"
        rail, limits = route_withdrawal(settings, currency, wanted, airtime=airtime)
        try:
            with self.session.begin_nested():
                payout = request_withdrawal(
                    self.session,
                    worker_id=self.worker.id,
                    pin=self.verified_pin,
                    amount_minor=wanted,
                    limits=limits,
                    store=self.runtime.store,
                    provider=rail,
                    pin_lock_minutes=settings.payout_pin_lock_minutes,
                    now=self.now,
                    currency=currency,
                )
        except WithdrawalRefused as exc:
            reason = _REFUSALS.get(exc.reason, "fail")
            result: dict[str, Any] = {"ok": False, "reason": reason}
            if reason == "below_minimum":
                result["minimum"] = {"amount": limits.minimum, "currency": currency}
            return result
        return {"ok": True, "amount": {"amount": payout.amount_minor, "currency": payout.currency}}

    # -- the worker's record ----------------------------------------------------------

    def _do_set_pin(self, intent: fi.SetPin) -> dict[str, Any]:
        workers.set_pin(self.worker, intent.pin, self.now)
        return {"ok": True}

    def _do_set_language(self, intent: fi.SetLanguage) -> dict[str, Any]:
        return {"ok": workers.set_language(self.worker, intent.language)}

    def _do_register_worker(self, intent: fi.RegisterWorker) -> dict[str, Any]:
        workers.set_language(self.worker, intent.language)  # an unknown one keeps the default
        return {"ok": True}

    def _do_record_consent(self, intent: fi.RecordConsent) -> dict[str, Any]:
        workers.record_consent(self.worker, intent.accepted, self.now)
        return {"ok": True}

    def _do_send_terms(self, intent: fi.SendTerms) -> dict[str, Any]:
        # Through the worker channel, like every notice: queued now, sent after commit.
        values = {"terms_url": self.context().terms_url}
        enqueue(
            self.session,
            "workers.jobs.notify",
            self.worker.id,
            "reg.terms_sms",
            values,
            queue="sms",
        )
        return {"ok": True}

    def _do_set_task_languages(self, intent: fi.SetTaskLanguages) -> dict[str, Any]:
        return {"ok": workers.set_task_languages(self.worker, intent.add)}

    # -- impact surveys -------------------------------------------------------------

    def _do_start_survey(self, intent: fi.StartSurvey) -> dict[str, Any]:
        settings = self.runtime.settings
        if intent.survey == SurveyKind.BASELINE:
            answered = surveys.has_answered(self.session, self.worker.id, SurveyKind.BASELINE, 0)
            wave: int | None = None if answered else 0
        elif self.channel != "ussd":
            wave = None  # a follow-up is offered on a dial; SMS invitations are a job's
        else:
            days = settings.impact_followup_days
            wave = surveys.offer_followup(
                self.session, self.runtime.store, self.worker, self.now, days
            )
        if wave is None:
            return {"ok": False}
        currency = self.context().currency
        fee = surveys.survey_fee(settings, currency) if wave else None
        labels = surveys.band_labels(currency, workers.speaks(self.worker))
        return {"ok": True, "wave": wave, "fee": money(fee), **labels}

    def _do_save_survey(self, intent: fi.SaveSurvey) -> dict[str, Any]:
        currency = self.context().currency
        try:
            answers = surveys.SurveyAnswers(
                kind=SurveyKind(intent.survey),
                wave=int(intent.wave),
                consent=bool(intent.consent),
                currency=currency,
                income_source=intent.source,
                income_band=intent.band,
                hours_band=intent.hours,
                household_size=intent.household,
                new_work=intent.new_work,
            )
            fee = surveys.survey_fee(self.runtime.settings, currency)
            saved = surveys.save_response(self.session, self.worker, answers, self.now, fee)
        except (ValueError, InvalidSurveyAnswer) as exc:
            log.warning("survey not saved: %s", exc)
            return {"ok": False}
        return {"ok": True, "paid": money(saved.paid)}

    # -- data protection ------------------------------------------------------------

    def _do_get_my_data(self, intent: fi.GetMyData) -> dict[str, Any]:
        return data_summary(self.session, self.worker, self.now)

    def _do_get_work_record(self, intent: fi.GetWorkRecord) -> dict[str, Any]:
        settings = self.runtime.settings
        issued = issue_record(self.session, self.worker, self.now, secret_key=settings.secret_key)
        facts = issued.facts
        return {
            "ok": True,
            "tasks": facts.tasks_done,
            "months": facts.months_active,
            "accuracy_band": facts.accuracy_band,
            "earned": [money(m) for m in facts.earned]
            or [money(Money(0, self.context().currency))],
            "code": issued.code,
            "verify_url": f"{(settings.public_base_url or '').rstrip('/')}/verify/{issued.code}",
        }

    def _do_forget_me(self, intent: fi.ForgetMe) -> dict[str, Any]:
        if self.verified_pin is None:
            log.warning("forget_me without a PIN verified in the same hop")
            return {"ok": False}
        # Wages owed are paid before the number goes: the payout row keeps the number it
        # pays. A balance below the minimum stays in the (pseudonymous) wallet.
        paid = self._do_request_payout(fi.RequestPayout(amount={}))
        forget_worker(self.session, self.worker, self.now)
        return {"ok": True, "paid": paid.get("amount")}


def task_view(view: TaskView) -> dict[str, Any]:
    """A reserved task as the engine shows it (the project's instructions first)."""
    shown = task_screen_values(
        view.task_id, view.instructions, view.text, view.task_type, view.options
    )
    if view.answers and view.answers != view.options:
        shown["answers"] = list(view.answers)  # the labels are a translation of these
    return shown
