"""Rendering a USSD answer: ``CON …`` or ``END …``, never longer than a screen.

The prefix is Africa's Talking's protocol (``CON`` keeps the session open, ``END``
closes it; https://developers.africastalking.com/docs/ussd/overview); the size rule
and the cutting live with the other limits of the medium in ``core.medium``.
"""

from __future__ import annotations

from core.medium import fit_ussd_text


def render_ussd(text: str, continue_session: bool) -> str:
    """The body of a USSD answer: prefix plus text, cut with "..." if it would not fit."""
    prefix = "CON " if continue_session else "END "
    return prefix + fit_ussd_text(text)
