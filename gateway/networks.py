"""Mobile networks by name, from the code a provider reports (MCC followed by MNC).

Africa's Talking sends ``networkCode`` with every USSD hop, inbound SMS and delivery
report: the network's mobile country code and mobile network code run together
(``63902`` is MCC 639, Kenya, MNC 02, Safaricom). Sources: AT's SMS notifications and
USSD pages (the codes AT lists), the ``africastalking-laravel`` package's
``Enum/Network.php`` (the same list with Ghana, Ethiopia, Zambia, South Africa), and the
ITU-T E.212 assignments as tabulated in Wikipedia's "Mobile Network Codes in ITU region 3xx
/ 4xx / 6xx" pages for Haiti and India (India's operators hold one code per telecom
circle; the circles Kazi's numbers come from most are listed, others show as their code).
A code not in the table is shown as it came, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Network:
    """A mobile network operator in one country."""

    name: str
    country: str  # ISO 3166 alpha-2


def _many(name: str, country: str, codes: str) -> dict[str, Network]:
    return {code: Network(name, country) for code in codes.split()}


#: MCC+MNC → network.
NETWORKS: dict[str, Network] = {
    # Kenya (MCC 639)
    "63902": Network("Safaricom", "KE"),
    "63903": Network("Airtel", "KE"),
    "63907": Network("Telkom", "KE"),
    "63999": Network("Equitel", "KE"),
    # Uganda (641)
    "64101": Network("Airtel", "UG"),
    "64110": Network("MTN", "UG"),
    "64111": Network("Uganda Telecom", "UG"),
    "64114": Network("Africell", "UG"),
    # Tanzania (640)
    "64002": Network("Tigo", "TZ"),
    "64003": Network("Zantel", "TZ"),
    "64004": Network("Vodacom", "TZ"),
    "64005": Network("Airtel", "TZ"),
    "64007": Network("TTCL", "TZ"),
    "64009": Network("Halotel", "TZ"),
    # Rwanda (635)
    "63510": Network("MTN", "RW"),
    "63513": Network("Tigo", "RW"),
    "63514": Network("Airtel", "RW"),
    # Ethiopia (636)
    "63601": Network("Ethio Telecom", "ET"),
    # Nigeria (621)
    "62120": Network("Airtel", "NG"),
    "62130": Network("MTN", "NG"),
    "62150": Network("Glo", "NG"),
    "62160": Network("9mobile", "NG"),
    # Ghana (620)
    "62001": Network("MTN", "GH"),
    "62002": Network("Vodafone", "GH"),
    "62006": Network("AirtelTigo", "GH"),
    # Zambia (645)
    "64501": Network("Airtel", "ZM"),
    "64502": Network("MTN", "ZM"),
    # Malawi (650)
    "65001": Network("TNM", "MW"),
    "65010": Network("Airtel", "MW"),
    # South Africa (655)
    "65501": Network("Vodacom", "ZA"),
    "65502": Network("Telkom", "ZA"),
    "65507": Network("Cell C", "ZA"),
    "65510": Network("MTN", "ZA"),
    # Haiti (372)
    "37202": Network("Digicel", "HT"),
    "37203": Network("Natcom", "HT"),
    # India (404, 405): one code per operator and circle.
    **_many("Jio", "IN", "405840 405854 405855 405856 405857 405858 405859 405860 405861"),
    **_many("Jio", "IN", "405862 405863 405864 405865 405866 405867 405868 405869 405870"),
    **_many("Jio", "IN", "405871 405872 405873 405874"),
    **_many("Airtel", "IN", "40402 40403 40410 40416 40431 40440 40445 40449 40470 40490"),
    **_many("Airtel", "IN", "40492 40493 40494 40495 40496 40497 40498 40551 40552 40553"),
    **_many("Airtel", "IN", "40554 40555 40556"),
    **_many("Vodafone Idea", "IN", "40401 40405 40411 40413 40415 40420 40427 40430 40443"),
    **_many("Vodafone Idea", "IN", "40446 40460 40484 40486 40488 40566 40567 40404 40407"),
    **_many("Vodafone Idea", "IN", "40412 40414 40419 40422 40424 40444 40456 40478 40482"),
    **_many("Vodafone Idea", "IN", "40487 40489 40570 405799 405845 405846 405848 405849"),
    **_many("Vodafone Idea", "IN", "405850 405851 405852 405853"),
    **_many("BSNL", "IN", "40434 40438 40451 40453 40454 40455 40457 40458 40459 40462"),
    **_many("BSNL", "IN", "40464 40466 40471 40472 40473 40474 40475 40476 40477 40479"),
    **_many("BSNL", "IN", "40480 40481"),
    **_many("MTNL", "IN", "40468 40469"),
    # Africa's Talking's sandbox simulator.
    "99999": Network("Athena (AT sandbox)", "XX"),
}


def network_of(code: str | None) -> Network | None:
    """The network a reported code names, or None for an unknown or missing code."""
    return NETWORKS.get((code or "").strip())


def network_label(code: str | None) -> str:
    """``63902`` → ``Safaricom KE (63902)``; an unknown code as it came; none as ``unknown``."""
    code = (code or "").strip()
    if not code:
        return "unknown network"
    network = NETWORKS.get(code)
    if network is None:
        return f"network {code}"
    country = "" if network.country == "XX" else f" {network.country}"
    return f"{network.name}{country} ({code})"


def network_choices() -> dict[str, list[str]]:
    """Each network as ``name country`` (``Airtel KE``) with all its codes, sorted by that name."""
    out: dict[str, list[str]] = {}
    for code, network in NETWORKS.items():
        out.setdefault(f"{network.name} {network.country}", []).append(code)
    return dict(sorted(out.items()))
