"""Catalogs of worker-facing text and value formatting per language."""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.medium import is_gsm7
from core.money import decimals
from flows.errors import FlowDefinitionError

LANGUAGES = ("en", "sw", "fr")
LOCALE_DIR = Path(__file__).parent / "locales"


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a template needs."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def format_money(money: Mapping[str, Any], language: str) -> str:
    """Integer minor units to text: KES 150 -> 'KES 1.50' (fr: '1,50 KES')."""
    currency = str(money.get("currency", "KES"))
    amount = int(money.get("amount", 0))
    exponent = decimals(currency)
    major, minor = divmod(abs(amount), 10**exponent)
    sign = "-" if amount < 0 else ""
    if language == "fr":
        number = f"{major:,}".replace(",", " ")
        number += f",{minor:0{exponent}d}" if exponent else ""
        return f"{sign}{number} {currency}"
    number = f"{major:,}" + (f".{minor:0{exponent}d}" if exponent else "")
    return f"{currency} {sign}{number}"


def parse_amount(text: str, currency: str) -> int | None:
    """Worker-typed major units ('150', '12.50', '12,5') to minor units, or None."""
    text = text.strip().replace(",", ".")
    whole, _, frac = text.partition(".")
    exponent = decimals(currency)
    if not whole.isdigit() or not whole.isascii() or len(whole) > 9:
        return None
    if frac and (not frac.isdigit() or not frac.isascii() or len(frac) > exponent):
        return None
    per_major: int = 10**exponent
    return int(whole) * per_major + int(frac.ljust(exponent, "0") or 0)


def format_value(value: Any, language: str) -> str:
    """One template value as the worker should read it."""
    if value is None:
        return "-"
    if isinstance(value, Mapping) and "amount" in value:
        return format_money(value, language)
    if isinstance(value, list):
        # Balances in several currencies, each in its own: "KES 1.50, UGX 3,000".
        return ", ".join(format_value(item, language) for item in value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        # Accuracy arrives as a fraction; French puts a space before '%'.
        pct = round(value * 100)
        return f"{pct} %" if language == "fr" else f"{pct}%"
    return str(value)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


class Catalogs:
    """Every language's messages, keyed by dotted id (``menu.title``)."""

    def __init__(self, messages: dict[str, dict[str, str]]) -> None:
        self.messages = messages

    @classmethod
    def load(cls, directory: Path = LOCALE_DIR) -> Catalogs:
        """Read ``{lang}.toml`` for every supported language."""
        messages = {}
        for lang in LANGUAGES:
            path = directory / f"{lang}.toml"
            try:
                with path.open("rb") as fh:
                    messages[lang] = _flatten(tomllib.load(fh))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise FlowDefinitionError(f"{path}: {exc}") from exc
        return cls(messages)

    def text(self, key: str, language: str, values: Mapping[str, Any] | None = None) -> str:
        """The message in a language with its values formatted for that language."""
        table = self.messages.get(language) or self.messages["en"]
        template = table.get(key) or self.messages["en"][key]
        needed = placeholders(template)
        filled = {name: format_value((values or {}).get(name), language) for name in needed}
        return template.format_map(filled)

    def problems(self) -> list[str]:
        """Missing keys, mismatched placeholders and non-GSM-7 text across languages."""
        out = []
        keys = set().union(*(set(m) for m in self.messages.values()))
        for key in sorted(keys):
            en = self.messages["en"].get(key)
            for lang in LANGUAGES:
                text = self.messages[lang].get(key)
                if text is None:
                    out.append(f"locales/{lang}.toml: missing translation '{key}'")
                    continue
                if en is not None and placeholders(text) != placeholders(en):
                    out.append(f"locales/{lang}.toml: '{key}' placeholders differ from en")
                if not is_gsm7(text):
                    bad = "".join(sorted({c for c in text if not is_gsm7(c)}))
                    out.append(f"locales/{lang}.toml: '{key}' has non-GSM-7 {bad!r}")
        return out
