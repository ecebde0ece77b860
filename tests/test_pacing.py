"""Token buckets that book slots ahead, so a burst is spread out instead of bounced off a 429."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.delivery.pacing import Pacer, UnpacedTarget, rates_for
from bot.domain.models import Rate


@dataclass(frozen=True)
class Paced:
    per_chat: Rate
    overall: Rate | None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_goes_at_once_then_slots_are_spaced_by_the_rate() -> None:
    clock = Clock()
    pacer = Pacer({"slack": Rate(1.0, 3)}, {}, clock=clock, headroom=1.0)
    waits = [pacer.reserve("slack:C1") for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]
    assert pacer.reserve("slack:C2") == 0.0  # another channel has its own bucket
    clock.now += 10
    assert pacer.reserve("slack:C1") == 0.0


def test_a_family_limit_caps_all_chats_together() -> None:
    clock = Clock()
    pacer = Pacer({"telegram": Rate(1.0, 1)}, {"telegram": Rate(2.0, 2)}, clock=clock, headroom=1.0)
    waits = [pacer.reserve(f"telegram:{chat}") for chat in range(4)]
    assert waits == [0.0, 0.0, 0.5, 1.0]


def test_a_429_blocks_the_target_until_retry_after_has_passed() -> None:
    clock = Clock()
    pacer = Pacer.unlimited(clock=clock)
    pacer.block("slack:C1", 5)
    assert pacer.blocked() == {"slack:C1"} and pacer.blocked_for("slack:C1") == 5.0
    assert pacer.reserve("slack:C1") == 5.0
    clock.now += 5.01
    assert pacer.blocked() == set() and pacer.reserve("slack:C1") == 0.0


def test_rates_come_from_the_operator_for_slack_and_from_each_channel_s_declared_limits() -> None:
    channels = {"telegram": Paced(Rate(4.0, 3), Rate(30.0, 30)), "memory": Paced(Rate(9, 1), None)}
    rates, families = rates_for(2.5, channels)
    assert rates["slack"] == Rate(2.5, 1) and rates["slack-update"] == Rate(0.8, 10)
    assert rates["telegram"] == Rate(4.0, 3) and rates["memory"] == Rate(9, 1)
    assert families == {"telegram": Rate(30.0, 30)}


def test_a_target_no_rate_was_declared_for_is_refused_not_sent_unpaced() -> None:
    pacer = Pacer(*rates_for(1.0, {"telegram": Paced(Rate(1.0, 3), None)}), clock=Clock())
    assert pacer.reserve("telegram:42") == 0.0
    with pytest.raises(UnpacedTarget, match="website"):
        pacer.reserve("website:visitor-1")


def test_headroom_spaces_calls_a_little_wider_than_the_limit() -> None:
    pacer = Pacer({"slack": Rate(1.0, 1)}, {}, clock=Clock())
    assert [round(pacer.reserve("slack:C1"), 3) for _ in range(3)] == [0.0, 1.111, 2.222]


def test_a_call_held_up_past_its_slot_still_waits_one_interval_after_the_last_call_made() -> None:
    """Slots are booked ahead; after a stall the next call must not go out right behind the late one."""
    clock = Clock()
    pacer = Pacer({"slack": Rate(1.0, 1)}, {}, clock=clock, headroom=1.0)
    assert pacer.reserve("slack:C1") == 0.0 and pacer.reserve("slack:C1") == 1.0  # A now, B in one second
    clock.now += 1.5  # the loop stalled: A goes out only now, after B's slot
    assert pacer.spacing("slack:C1") == 0.0
    pacer.called("slack:C1")
    assert pacer.spacing("slack:C1") == 1.0  # B waits a full interval after A, not 0 s
    clock.now += 1.0
    assert pacer.spacing("slack:C1") == 0.0
    telegram = Pacer({"telegram": Rate(1.0, 3)}, {}, clock=clock)
    telegram.called("telegram:42")
    assert telegram.spacing("telegram:42") == 0.0  # a channel with bursts keeps them


def test_idle_targets_are_forgotten_and_forgetting_them_changes_no_wait() -> None:
    """A chat that wrote once must not keep its bucket for ever: 100k chats would hold tens of MB."""
    clock = Clock()
    pacer = Pacer({"telegram": Rate(1.0, 3), "slack": Rate(1.0, 1)}, {"telegram": Rate(30.0, 30)}, clock=clock)
    for chat in range(1000):
        pacer.reserve(f"telegram:{chat}")
        pacer.called(f"telegram:{chat}")
    pacer.reserve("slack:C1")
    pacer.called("slack:C1")
    assert pacer.tracked() > 900  # all still refilling: nothing forgotten yet
    clock.now += 10  # every bucket has refilled; the last Slack call is long past
    for _ in range(600):  # later traffic forgets the idle ones as it goes, oldest first
        pacer.reserve("telegram:busy")
        clock.now += 1
    assert pacer.tracked() == 2  # the busy chat and the family's shared bucket; nothing of the idle ones
    assert [pacer.reserve("telegram:7") for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 1 / 0.9])  # a new burst


def test_a_forgotten_bucket_gives_the_same_waits_as_one_kept() -> None:
    clock = Clock()
    kept = Pacer({"slack": Rate(1.0, 1)}, {}, clock=clock, headroom=1.0)
    evicting = Pacer({"slack": Rate(1.0, 1)}, {}, clock=clock, headroom=1.0)
    for pacer in (kept, evicting):
        assert pacer.reserve("slack:C1") == 0.0 and pacer.reserve("slack:C1") == 1.0
    clock.now += 0.5
    evicting.reserve("slack:C2")  # tries to forget C1: still refilling, so it stays
    assert evicting.reserve("slack:C1") == kept.reserve("slack:C1") == 1.5
    clock.now += 5
    evicting.reserve("slack:C2")
    evicting.reserve("slack:C2")
    assert evicting.tracked() == 1  # C1 refilled and forgotten; only C2 (still refilling) is remembered
    assert [evicting.reserve("slack:C1") for _ in range(2)] == [kept.reserve("slack:C1") for _ in range(2)]


class TickingClock:
    """A clock that moves a little at every reading, as a real one does between two lines of code."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.000_01
        return self.now


def test_a_target_s_first_call_goes_at_once_whatever_the_clock_did_meanwhile() -> None:
    pacer = Pacer({"slack": Rate(1.0, 1), "telegram": Rate(1.0, 1)}, {"telegram": Rate(30.0, 30)},
                  clock=TickingClock())  # fmt: skip
    # A new bucket is full as of the reservation's own reading of the clock: no sleep of a few microseconds (which
    # costs a turn of the event loop) before the first post to each channel or chat
    assert [pacer.reserve(f"slack:C{n}") for n in range(20)] == [0.0] * 20
    assert [pacer.reserve(f"telegram:{n}") for n in range(20)] == [0.0] * 20
