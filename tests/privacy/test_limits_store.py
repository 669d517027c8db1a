"""The counters behind budgets, rate limits and member budgets, both backends (SQLite file, MongoDB via
mongomock as a labelled stand-in), with explicit clock values: windows expire and buckets refill without
sleeping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import mongomock
import pytest

from beacon.store import default_limits_uri, open_limits
from beacon.store.limits import Charge, LimitsStore
from beacon.store.mongo.limits import MongoLimits

# In the future: MongoDB's TTL index drops events whose expiry has passed by the real clock.
T0 = float(int(time.time()) + 3600)  # whole seconds: MongoDB dates keep milliseconds


@pytest.fixture(params=["sqlite", "mongomock"])
def limits(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LimitsStore]:
    store = (
        open_limits(f"sqlite:///{tmp_path / 'limits.sqlite'}")
        if request.param == "sqlite"
        else MongoLimits.from_client(mongomock.MongoClient(tz_aware=True))
    )
    yield store
    store.close()


def test_a_budget_admits_its_limit_per_window_and_slides(limits):
    charge = [Charge("ip:1 d1", 2, 10.0)]
    assert limits.spend(charge, T0) is None
    assert limits.spend(charge, T0 + 4) is None
    assert limits.spend(charge, T0 + 5) == pytest.approx(5.0)  # the first query leaves the window at T0 + 10
    assert limits.spend(charge, T0 + 10.5) is None  # it has: one slot again
    assert limits.spend(charge, T0 + 11) == pytest.approx(3.0)  # the second leaves at T0 + 14


def test_budgets_are_per_key_and_all_or_nothing(limits):
    one, other = Charge("ip:1 d1", 1, 60.0), Charge("ip:1 d2", 1, 60.0)
    assert limits.spend([one], T0) is None
    assert limits.spend([one, other], T0 + 1) is not None  # d1 is spent: d2 is not charged either
    assert limits.spend([other], T0 + 2) is None
    assert limits.spend([Charge("ip:2 d1", 1, 60.0)], T0 + 3) is None


def test_a_bucket_gives_its_burst_then_its_rate(limits):
    assert [limits.take("ip:1", 2.0, 3, T0) for _ in range(3)] == [None, None, None]
    assert limits.take("ip:1", 2.0, 3, T0) == pytest.approx(0.5)
    assert limits.take("ip:1", 2.0, 3, T0 + 0.5) is None  # one token back after 1/rate seconds
    assert limits.take("ip:1", 2.0, 3, T0 + 0.5) is not None
    assert limits.take("ip:2", 2.0, 3, T0 + 0.5) is None
    assert [limits.take("ip:1", 2.0, 3, T0 + 100) for _ in range(4)][-1] is not None  # never more than the burst


def test_the_default_place_of_the_counters():
    assert default_limits_uri("sqlite:///var/beacon.sqlite") == "sqlite:///var/beacon.sqlite.limits.sqlite"
    assert default_limits_uri("mongodb://h/beacon") == "mongodb://h/beacon"


def test_counters_of_decided_answers_add_up_per_caller_and_start_afresh_after_their_window(limits):
    now = T0
    assert limits.add_member_answers("ip:1 d", {"s1": 1, "s2": 1}, {}, 10.0, now) == frozenset()
    assert limits.add_member_answers("ip:1 d", {"s1": 1}, {"s1": 1}, 10.0, now + 1) == frozenset()
    assert limits.member_counts("ip:1 d", ["s1", "s2", "s3"], now + 2) == {"s1": 2, "s2": 1}
    assert limits.member_counts("ip:2 d", ["s1"], now + 2) == {}  # another caller
    assert limits.member_counts("ip:1 d", ["s1"], now + 10.5) == {}  # expired
    assert limits.add_member_answers("ip:1 d", {"s1": 1}, {}, 10.0, now + 11) == frozenset()
    assert limits.member_counts("ip:1 d", ["s1"], now + 12) == {"s1": 1}  # a new count, not 3


def test_a_charge_made_on_counts_another_request_changed_is_refused(limits):
    now = T0
    limits.add_member_answers("ip:1 d", {"s1": 1}, {}, 60.0, now)
    # Two requests both saw s1 at 1; the first adds, the second must screen again.
    assert limits.add_member_answers("ip:1 d", {"s1": 1}, {"s1": 1}, 60.0, now + 1) == frozenset()
    assert limits.add_member_answers("ip:1 d", {"s1": 1}, {"s1": 1}, 60.0, now + 2) == {"s1"}
    assert limits.add_member_answers("ip:1 d", {"s2": 1}, {"s2": 1}, 60.0, now + 2) == {"s2"}  # it has none
    assert limits.member_counts("ip:1 d", ["s1", "s2"], now + 3) == {"s1": 2}
