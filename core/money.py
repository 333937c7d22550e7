"""Money as integer minor units with an ISO 4217 currency: never floats."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

#: The currencies Kazi pays in (ISO 4217) and their minor units per major unit: the one
#: currency table, read by the API's schema, the flows' formatting and the ledger.
#: UGX has no minor unit in use (ISO 4217 gives it 0 decimals: https://www.six-group.com/en/
#: products-services/financial-information/data-standards.html); EUR is MTN MoMo's sandbox currency.
MINOR_UNITS = {
    "KES": 100, "UGX": 1, "HTG": 100, "INR": 100, "USD": 100, "TZS": 100, "EUR": 100,
}  # fmt: skip

#: The largest amount Kazi takes from a person (API body, console form): 10 billion
#: major units, far below a BIGINT's range.
MAX_AMOUNT_MINOR = 10**12

#: The currency a country's wages and living-wage floor are written in.
COUNTRY_CURRENCY = {"KE": "KES", "UG": "UGX", "TZ": "TZS", "HT": "HTG", "IN": "INR"}


def to_minor(amount: Decimal | None, currency: str | None) -> int | None:
    """A decimal amount of major units in whole minor units (half up); None if unknown."""
    # Providers quote fractions of a cent ("KES 0.8000"); Kazi keeps whole minor units.
    if amount is None or currency not in MINOR_UNITS:
        return None
    return int((amount * MINOR_UNITS[currency]).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def decimals(currency: str) -> int:
    """Digits after the decimal point of a currency (2 for one Kazi does not know)."""
    return len(str(MINOR_UNITS.get(currency, 100))) - 1


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency, in its minor units (cents for KES)."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        # Amounts also arrive from untyped edges (JSON, forms): check what came, not the hint.
        amount: object = self.amount
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError(f"money amount must be an integer of minor units, got {amount!r}")
        if self.currency not in MINOR_UNITS:
            raise ValueError(f"unsupported currency {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def format(self) -> str:
        """Human text such as 'KES 1.50' (UGX has no minor unit: 'UGX 500')."""
        per = MINOR_UNITS[self.currency]
        if per == 1:
            return f"{self.currency} {self.amount}"
        sign = "-" if self.amount < 0 else ""
        whole, cents = divmod(abs(self.amount), per)
        return f"{sign}{self.currency} {whole}.{cents:0{len(str(per)) - 1}d}"

    def to_dict(self) -> dict[str, int | str]:
        """The API shape of an amount: {"amount": 150, "currency": "KES"}."""
        return {"amount": self.amount, "currency": self.currency}
