"""Hypothesis properties of the alert state machine and the engine under random values and settings changes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse_core.alerts import AlertEngine
from pulse_core.alerts.machine import MetricMachine
from pulse_core.alerts.settings import Rule
from pulse_core.state import State

from .helpers import FakeClock, MemoryStorage, RecordingDispatcher, apply_poll, make_guest

# --- the machine alone -----------------------------------------------------------------------------


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    trigger = draw(st.floats(min_value=10, max_value=95))
    clear = draw(st.floats(min_value=0, max_value=trigger))
    return Rule(
        enabled=draw(st.sampled_from([True, True, True, False])),
        trigger=trigger,
        clear=clear,
        critical=None,
        delay=draw(st.sampled_from([0.0, 0.0, 5.0, 12.0, 30.0])),
        polls=draw(st.integers(min_value=1, max_value=3)),
    )


# A value is drawn relative to the rule in force: above the trigger, between clear and trigger, below clear.
values = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["high", "band", "low"]), st.floats(min_value=0, max_value=1)),
)


def concrete(choice: tuple[str, float] | None, rule: Rule) -> float | None:
    if choice is None:
        return None
    band, fraction = choice
    if band == "high":
        return rule.trigger + fraction * (100 - rule.trigger)
    if band == "band":
        return rule.clear + fraction * (rule.trigger - rule.clear)
    return fraction * rule.clear * 0.999


@dataclass
class Step:
    time: float
    value: float | None
    rule: Rule
    transition: str | None


def run_back(steps: list[Step], end: int, predicate: Callable[[float, Rule], bool]) -> tuple[float, int] | None:
    """Find the contiguous run of known values ending at ``end`` that match ``predicate``; return (start time, count)."""
    start_time, count = None, 0
    for step in reversed(steps[: end + 1]):
        if not step.rule.enabled:
            break
        if step.value is None:
            continue
        if not predicate(step.value, step.rule):
            break
        start_time, count = step.time, count + 1
    return None if start_time is None else (start_time, count)


def is_bad(value: float, rule: Rule) -> bool:
    return value >= rule.trigger


def is_clear(value: float, rule: Rule) -> bool:
    return value < rule.clear


@settings(max_examples=300, deadline=None)
@given(
    base_rule=rules(),
    script=st.lists(
        # Rules change on about one step in four.
        st.tuples(st.sampled_from([1.0, 3.0, 5.0, 10.0]), values, st.one_of(st.none(), st.none(), st.none(), rules())),
        min_size=8, max_size=60,
    ),
)
def test_machine_properties(base_rule: Rule, script: list[tuple[float, Any, Rule | None]]) -> None:
    machine = MetricMachine()
    rule, now = base_rule, 0.0
    steps: list[Step] = []
    active = False
    for index, (gap, choice, new_rule) in enumerate(script):
        now += gap
        rule = new_rule or rule
        value = concrete(choice, rule)
        transition = machine.observe(value, rule, now, marker=index)
        steps.append(Step(now, value, rule, transition))
        i = len(steps) - 1

        if transition == "fired":
            assert not active, "two firings in one episode"
            found = run_back(steps, i, is_bad)
            assert found is not None, "fired on a value below the trigger"
            start, count = found
            assert now - start >= rule.delay, "fired before the delay passed"
            assert count >= rule.polls, "fired before enough polls"
            active = True
        elif transition == "resolved":
            assert active, "resolved without a firing"
            if rule.enabled:
                assert value is not None, "an unknown value resolved an alert"
                found = run_back(steps, i, is_clear)
                assert found is not None, "resolved while the value was not below clear"
                assert now - found[0] >= rule.delay, "resolved before the delay passed"
            active = False
        else:
            # Liveness: when the conditions hold, the transition must have happened.
            if not active and rule.enabled and value is not None:
                found = run_back(steps, i, is_bad)
                assert not (found and now - found[0] >= rule.delay and found[1] >= rule.polls), "missed a firing"
            if active and rule.enabled and value is not None:
                found = run_back(steps, i, is_clear)
                last_fire = max(k for k, step in enumerate(steps) if step.transition == "fired")
                if found and found[0] > steps[last_fire].time:
                    assert now - found[0] < rule.delay, "missed a resolve"
        assert machine.active == active


# --- the engine with settings changes -------------------------------------------------------------


class MemorySettings:
    """A settings store double: ``get``, ``set`` and ``subscribe`` without files."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.listeners: list[tuple[str | None, Any]] = []

    def get(self, section: str, default: Any = None) -> Any:
        return copy.deepcopy(self.data.get(section, default))

    def subscribe(self, listener: Any, section: str | None = None) -> None:
        self.listeners.append((section, listener))

    async def set(self, section: str, value: Any) -> None:
        self.data[section] = copy.deepcopy(value)
        for wanted, listener in self.listeners:
            if wanted in (None, section):
                listener(section, copy.deepcopy(value))


# Settings changes that leave the guest CPU rule as it is.
UNRELATED_CHANGES = [
    {"noise": {"cooldown_minutes": 1}},
    {"node": {"cpu": {"trigger": 50, "clear": 40}}},
    {"guest": {"memory": {"trigger": 60, "clear": 50}}},
    {"overrides": {"tag:other": {"disabled": True}}},
    {"history_days": 7},
]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("poll"), st.sampled_from([2.0, 5.0, 10.0]), st.one_of(st.none(), st.floats(0, 100))),
        st.tuples(st.just("save"), st.sampled_from(range(len(UNRELATED_CHANGES)))),
        st.tuples(st.just("ack"), st.booleans()),
    ),
    min_size=1, max_size=40,
)


def merged(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


class Harness:
    def __init__(self, base: dict[str, Any]) -> None:
        self.clock = FakeClock()
        self.state = State(clock=self.clock)
        self.settings = MemorySettings()
        self.settings.data["alerts"] = copy.deepcopy(base)
        self.dispatcher = RecordingDispatcher()
        self.engine = AlertEngine(self.settings, MemoryStorage(), clock=self.clock)
        self.engine.attach_dispatcher(self.dispatcher)
        self.events: list[tuple[str, str]] = []

    async def poll(self, gap: float, cpu: float | None) -> None:
        self.clock.advance(gap)
        apply_poll(self.state, self.clock, guests=[make_guest(cpu=cpu)])
        self.events += [(event.event, event.alert.id) for event in await self.engine.evaluate(self.state)]

    def acks(self) -> dict[str, bool]:
        return {alert_id: alert.acknowledged for alert_id, alert in self.engine.active.items()}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    delay=st.sampled_from([0.0, 5.0, 15.0]),
    trigger=st.floats(min_value=20, max_value=90),
    gap=st.floats(min_value=0, max_value=20),
    ops=operations,
)
def test_engine_settings_changes_are_invisible(delay: float, trigger: float, gap: float, ops: list) -> None:
    base = {"default_delay_seconds": delay, "guest": {"cpu": {"trigger": trigger, "clear": trigger - gap}},
            "noise": {"grouping_window_seconds": 0, "flapping": {"enabled": False}, "cooldown_minutes": 0}}

    async def scenario() -> None:
        plain, changed = Harness(base), Harness(base)
        for op in ops:
            if op[0] == "poll":
                await plain.poll(op[1], op[2])
                await changed.poll(op[1], op[2])
            elif op[0] == "save":
                await changed.settings.set("alerts", merged(base, UNRELATED_CHANGES[op[1]]))
            elif plain.engine.active:
                alert_id = next(iter(plain.engine.active))
                for harness in (plain, changed):
                    if op[1]:
                        await harness.engine.acknowledge([alert_id], user="admin")
                    else:
                        await harness.engine.unacknowledge([alert_id])
            assert changed.events == plain.events
            assert changed.acks() == plain.acks()

        # Events alternate per alert key: fired, resolved, fired ...
        firing: set[str] = set()
        for kind, alert_id in plain.events:
            key = alert_id.rsplit("-", 1)[0]
            if kind == "alert":
                assert key not in firing, "two firings for one episode"
                firing.add(key)
            else:
                assert key in firing, "resolved without a firing"
                firing.discard(key)

        # Notifications: a resolved goes out only for an alert whose firing was sent. Each alert gets
        # one firing, and one more only when it rose from warning to critical after the first went out.
        notified: set[str] = set()
        firings: dict[str, int] = {}
        for notification in plain.dispatcher.sent:
            for alert in notification.alerts:
                if notification.event == "alert":
                    firings[alert.id] = firings.get(alert.id, 0) + 1
                    allowed = 2 if "raised" in alert.metadata else 1
                    assert firings[alert.id] <= allowed, "a firing sent twice without a level rise"
                    notified.add(alert.id)
                elif notification.event == "resolved":
                    assert alert.id in notified

    trio.run(scenario)
