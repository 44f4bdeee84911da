"""What a run consists of: the scenarios of `make bench` (and of the smoke test), and the
run's settings (RunConfig)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.backlog import Backlog
from bench.progress import Progress
from bench.scenario import EVENTS, SATURATION, TOWNHALL, Scenario

# The default run (make bench): each join rate and each concurrency level once per path.
DEFAULT_SCENARIOS = [
    Scenario("10 callers @ 1 join/s", callers=10, rooms=5, rate=1.0, hold=15),
    Scenario("50 callers @ 5 joins/s", callers=50, rooms=20, rate=5.0, hold=15, kicks=10),
    Scenario("100 callers @ 10 joins/s", callers=100, rooms=20, rate=10.0, hold=15, kicks=30),
    Scenario("200 callers @ 10 joins/s", callers=200, rooms=20, rate=10.0, hold=15, kicks=30),
    Scenario("burst: 100 callers @ 50 joins/s", callers=100, rooms=20, rate=50.0, hold=5),
    Scenario(
        "saturation: 100 callers offered @ 500 joins/s",
        callers=100,
        rooms=20,
        rate=500.0,
        hold=5,
        kind=SATURATION,
    ),
]


def town_hall(callers: int) -> Scenario:
    name = f"town hall: {callers} callers in one room @ 10 joins/s"
    return Scenario(name, callers, rooms=1, rate=10.0, hold=15, kicks=20, kind=TOWNHALL)


def events(callers: int) -> Scenario:
    """Controller path only: webhook + WebSocket receivers timing conferencecall_joined."""
    name = f"events: {callers} callers @ 5 joins/s, webhook + WebSocket"
    return Scenario(name, callers, rooms=max(1, callers // 4), rate=5.0, hold=5, kind=EVENTS)


# make bench: the paced and saturation scenarios, the town hall, the events; the backlog.
FULL_SCENARIOS = [*DEFAULT_SCENARIOS, town_hall(200), events(60)]
WARMUP = Scenario("warm-up", callers=4, rooms=2, rate=4.0, hold=1, settle=0.5)
SMOKE = [
    Scenario("smoke", callers=4, rooms=2, rate=2.0, hold=2, kicks=1, settle=0.5),
    Scenario("smoke town hall", 3, 1, rate=3.0, hold=1, kicks=1, settle=0.5, kind=TOWNHALL),
    Scenario("smoke events", 3, 2, rate=3.0, hold=1, settle=0.5, kind=EVENTS),
]
SMOKE_BACKLOG = Backlog(
    "smoke backlog", webhooks=2, conferences=3, give_up=20, idle_samples=5, probe_interval=0.1
)
RECEIVER_OFFSET = 90  # the webhook receiver listens on 127.0.0.1:<base + 90>


@dataclass
class RunConfig:
    workdir: Path
    port_base: int = 50000  # SUT: +60 SIP, +88 ARI, +80 HTTP, +1000.. RTP
    loadgen_base: int | None = None  # load generator: +160 SIP, +188 ARI, +2000.. RTP
    account: str = "alice"
    scenarios: list[Scenario] = field(default_factory=lambda: list(FULL_SCENARIOS))
    backlog: Backlog | None = field(default_factory=Backlog)
    warmup: bool = True
    pause: float = 3.0
    profile_dir: Path | None = None  # py-spy the controller during the largest ARI scenario
    controller_env: dict[str, str] = field(default_factory=dict)  # experiments only
    revision: str | None = None  # run the controller from this git revision, not the tree
    floor: bool = False  # bench/floor.py (the least an ARI app does) instead of confsvc
    # Before each scenario, wait until processes that are not ours use less than
    # quiet_limit % of a core (others share the machine): at most quiet_wait s each,
    # quiet_budget s in all. 0 turns it off.
    quiet_limit: float = 15.0
    quiet_wait: float = 20.0
    quiet_budget: float = 60.0
    progress: Progress = field(default_factory=Progress)

    @property
    def receiver_port(self) -> int:
        return (self.loadgen_base or self.port_base) + RECEIVER_OFFSET


def estimate_s(cfg: RunConfig) -> float:
    """A rough duration of the run in seconds, for the first progress line."""
    total = 0.0
    for sc in [*([WARMUP] if cfg.warmup else []), *cfg.scenarios]:
        per_path = sc.callers / sc.rate + sc.settle + sc.hold + 0.3 * sc.kicks
        per_path += sc.callers / sc.teardown_rate + 4 + cfg.pause
        total += per_path * (1 if sc.kind == EVENTS else 2)
    if cfg.backlog is not None:
        total += cfg.backlog.conferences * 0.05 + 30  # create, drain (usually), clean up
    return total + min(cfg.quiet_budget, cfg.quiet_wait * len(cfg.scenarios)) / 2 + 10
