"""The console's forms; Flask-WTF adds and checks each one's CSRF token."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length

from core.money import MAX_AMOUNT_MINOR, MINOR_UNITS, Money, to_minor
from tasks.models import DepositChannel


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class ReasonForm(FlaskForm):
    """A change that needs a reason for the audit log (block, unblock)."""

    reason = StringField("Reason", validators=[DataRequired(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A button with nothing to fill in (sign out): only the CSRF token."""


class ResolvePayoutForm(FlaskForm):
    """An admin's manual payout outcome: the M-Pesa receipt (when paid) and what they checked."""

    receipt = StringField("M-Pesa receipt", validators=[Length(max=20)])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=200)])
    confirmed = BooleanField("I looked this payment up in the M-Pesa org portal")


class DepositForm(FlaskForm):
    """An admin's record of money a requester paid in, with the statement's reference."""

    requester_id = IntegerField("Requester", validators=[DataRequired()])
    amount = StringField("Amount", validators=[DataRequired(), Length(max=20)])
    currency = SelectField("Currency", choices=[(c, c) for c in MINOR_UNITS])
    channel = SelectField("Paid by", choices=[(c.value, c.value) for c in DepositChannel])
    reference = StringField("Reference", validators=[DataRequired(), Length(max=100)])
    note = StringField("Note", validators=[Length(max=200)])


class CreditForm(FlaskForm):
    """An admin's credit line for a requester: a limit, and why."""

    requester_id = IntegerField("Requester", validators=[DataRequired()])
    limit = StringField("Limit", validators=[DataRequired(), Length(max=20)])
    currency = SelectField("Currency", choices=[(c, c) for c in MINOR_UNITS])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=200)])


def parse_amount(text: str | None, currency: str, *, allow_zero: bool = False) -> Money:
    """An amount typed in major units ("5,000.50") as Money; ValueError says what is wrong."""
    cleaned = (text or "").replace(",", "").replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not value.is_finite() or abs(value) > MAX_AMOUNT_MINOR:
        raise ValueError(f"{text} is out of range")
    minor = to_minor(value, currency)
    if minor is None or Decimal(minor) != value * MINOR_UNITS[currency]:
        raise ValueError(f"{text} is not a whole number of {currency} minor units")
    if minor < 0 or (minor == 0 and not allow_zero) or minor > MAX_AMOUNT_MINOR:
        raise ValueError(f"{text} is out of range")
    return Money(minor, currency)


class CentreForm(FlaskForm):
    """A new partner centre: its name, country and the code its workers dial."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    country = StringField("Country", validators=[DataRequired(), Length(min=2, max=2)])
    registration_code = StringField("Code", validators=[DataRequired(), Length(max=8)])


class CentreMemberForm(FlaskForm):
    """Put an operator or a worker (by id) in a centre; centre 0 takes them out of any."""

    member_id = IntegerField("Id", validators=[DataRequired()])
    centre_id = IntegerField("Centre", default=0)
