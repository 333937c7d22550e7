"""Where USSD hops and SMS meet the flow engine: the gateway's only door into conversations.

Until the flow engine (``flows/``) lands, this module holds the PLACEHOLDER
CONVERSATION: a small, honest menu that says Kazi is here and offers help. It runs
no tasks, records no answers and promises no money. The flow engine plugs in by
replacing the bodies of ``handle_ussd`` and ``handle_sms`` (same signatures): the
gateway already stores sessions, passes only the new input and renders the screen.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.inbound import UssdRequest
from workers.models import Worker

#: Screens and replies of the placeholder conversation, per language (en/sw/fr).
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "menu": "Welcome to Kazi.\nPaid tasks by USSD and SMS are coming soon.\n1. Help\n0. Exit",
        "help": "Kazi will pay you for short tasks on this phone. SMS HELP for help, STOP to stop messages.",
        "bye": "Thank you for visiting Kazi.",
        "sms": "Kazi got your message. Tasks are not open yet. SMS HELP for help, STOP to stop.",
        "apology": "Sorry, Kazi cannot answer right now. Please try again in a few minutes.",
        "stopped": "You will get no more SMS from Kazi. SMS START to receive messages again.",
        "started": "Welcome back to Kazi. SMS STOP at any time to stop messages.",
    },
    "sw": {
        "menu": "Karibu Kazi.\nKazi za kulipwa kwa USSD na SMS zinakuja hivi karibuni.\n1. Msaada\n0. Toka",
        "help": "Kazi itakulipa kwa kazi fupi kwenye simu hii. Tuma HELP kwa msaada, STOP kusitisha ujumbe.",
        "bye": "Asante kwa kutembelea Kazi.",
        "sms": "Kazi imepokea ujumbe wako. Kazi bado hazijafunguliwa. Tuma HELP kwa msaada, STOP kusitisha.",
        "apology": "Samahani, Kazi haiwezi kujibu sasa. Tafadhali jaribu tena baada ya dakika chache.",
        "stopped": "Hutapokea SMS zaidi kutoka Kazi. Tuma START kupokea ujumbe tena.",
        "started": "Karibu tena Kazi. Tuma STOP wakati wowote kusitisha ujumbe.",
    },
    "fr": {
        "menu": "Bienvenue sur Kazi.\nDes taches payees par USSD et SMS arrivent bientot.\n1. Aide\n0. Quitter",
        "help": "Kazi vous paiera pour de courtes taches sur ce telephone. SMS AIDE pour l'aide, STOP pour arreter.",
        "bye": "Merci de votre visite sur Kazi.",
        "sms": "Kazi a recu votre message. Les taches ne sont pas encore ouvertes. SMS AIDE pour l'aide, STOP pour arreter.",
        "apology": "Desole, Kazi ne peut pas repondre maintenant. Reessayez dans quelques minutes.",
        "stopped": "Vous ne recevrez plus de SMS de Kazi. SMS START pour les recevoir a nouveau.",
        "started": "Bon retour sur Kazi. SMS STOP a tout moment pour arreter les messages.",
    },
}

_HELP_WORDS = frozenset({"help", "msaada", "aide", "?"})


def text_for(key: str, language: str | None) -> str:
    """A placeholder text in the worker's language, falling back to English."""
    return TEXTS.get(language or "en", TEXTS["en"])[key]


def handle_ussd(
    session: Session, request: UssdRequest, new_input: str, *, worker: Worker
) -> tuple[str, bool]:
    """Answer one USSD hop: (screen text, whether the session continues)."""
    choice = new_input.strip()
    if not choice:
        return text_for("menu", worker.language), True
    if choice == "1":
        return text_for("help", worker.language), False
    return text_for("bye", worker.language), False


def handle_sms(session: Session, text: str, *, worker: Worker) -> str | None:
    """The reply to a worker's SMS (keywords STOP/START are handled before this), or None."""
    if text.strip().casefold() in _HELP_WORDS:
        return text_for("help", worker.language)
    return text_for("sms", worker.language)
