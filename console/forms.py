"""The console's forms; Flask-WTF adds and checks each one's CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


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
