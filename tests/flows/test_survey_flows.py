"""The impact survey flows on the fake host: the baseline after the PIN, a follow-up on a dial."""

from __future__ import annotations

from tests.flows.world import Phone, World, registered_world


def test_the_baseline_is_offered_after_the_pin_and_answered_before_the_quiz() -> None:
    world = World(baseline_open=True)
    phone = Phone(world)
    phone.dial()
    for key in ("1", "1", "1", "4821"):
        phone.send(key)
    offer = phone.send("4821")
    assert offer.startswith("PIN saved.") and offer.endswith("1 Yes\n2 Skip")
    assert "1 Farming" in phone.send("1")
    band = phone.send("6")  # none
    assert "Income last month (KES)" in band and "1 Under 2,000" in band
    assert "5 Over 20,000\n6 No income" in band
    phone.send("6")
    phone.send("1")
    quiz = phone.send("4")
    assert quiz.startswith("Thank you for answering.") and "Is Nairobi in Kenya?" in quiz
    [saved] = world.surveys
    assert (saved.survey, saved.wave, saved.consent) == ("baseline", 0, True)
    assert (saved.source, saved.band, saved.hours, saved.household) == ("none", 0, 0, 4)


def test_skipping_the_baseline_saves_a_refusal_and_starts_the_quiz() -> None:
    world = World(baseline_open=True, language="sw")
    phone = Phone(world)
    phone.dial()
    for key in ("2", "1", "1", "4821", "4821"):
        phone.send(key)
    assert "Is Nairobi in Kenya?" in phone.send("2")
    [saved] = world.surveys
    assert saved.consent is False and saved.band is None


def test_the_baseline_is_never_offered_by_sms() -> None:
    world = World(baseline_open=True)
    phone = Phone(world, channel="sms")
    phone.dial()
    for key in ("1", "1", "1", "4821"):
        phone.send(key)
    assert "Is Nairobi in Kenya?" in phone.send("4821")
    assert world.surveys == []


def test_a_due_follow_up_is_offered_on_a_dial_and_pays_its_fee() -> None:
    world = registered_world(followup_due=90)
    phone = Phone(world)
    assert phone.dial().startswith("Answer a 1-minute survey on your income? You get KES 20.00.")
    for key in ("1", "2", "3", "4"):
        phone.send(key)
    screen = phone.send("3")  # both
    assert screen.startswith("Thank you! KES 20.00 is in your balance.")
    [saved] = world.surveys
    assert (saved.survey, saved.wave, saved.new_work, saved.band) == ("followup", 90, "both", 3)
    assert "1 Get task" in screen


def test_later_goes_to_the_menu_and_nothing_is_saved() -> None:
    world = registered_world(followup_due=180)
    phone = Phone(world)
    phone.dial()
    assert "Get task" in phone.send("2")
    assert world.surveys == []
