"""The four resolutions metric history is kept at, and how a query picks one.

Each tier stores its data in blocks: one database row per series per block,
aligned to the block span in epoch seconds. A raw block is written once, when
its 10 minutes are over. Rollup rows are rewritten while their span is open:
each closed raw block is merged into the 1-minute row of its hour, and each
completed hour into the 15-minute row of its day. A 15-minute row is merged
into the 1-hour row of its day when retention deletes it. Until then the
1-hour tier is read from the 15-minute rows, so no time is stored in both.
Raw samples of the open raw block live in memory (and in the journal table
for crash recovery).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_LATE_GRACE = 600.0


@dataclass(frozen=True, slots=True)
class Tier:
    index: int
    name: str
    # Width of one rollup bucket in seconds; 0 for raw samples.
    bucket: int
    # Seconds covered by one stored block; a multiple of ``bucket``.
    span: int
    # Configuration key holding this tier's retention (for error messages).
    setting: str

    @property
    def buckets_per_block(self) -> int:
        return self.span // self.bucket if self.bucket else 0


TIERS: tuple[Tier, ...] = (
    Tier(0, "raw", 0, 600, "raw_retention_hours"),
    Tier(1, "1m", 60, 3600, "minute_retention_hours"),
    Tier(2, "15m", 900, 86400, "quarter_hour_retention_days"),
    Tier(3, "1h", 3600, 86400, "hour_retention_days"),
)
RAW = TIERS[0]


def _describe(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.2f} days"
    return f"{seconds / 3600:.2f} hours"


def required_retention(tier: Tier) -> float:
    """Return the minimum retention in seconds that lets the rollups be computed from ``tier``."""
    if tier.index == 0:
        # A raw block is folded into the 1-minute rows when it closes, up to the
        # late-sample grace after its end.
        return RAW.span + MAX_LATE_GRACE
    if tier.index == 1:
        # An hour of 1-minute data is folded into the 15-minute and 1-hour rows
        # when the raw block that completes it closes.
        return 3600 + RAW.span + MAX_LATE_GRACE
    return 0.0


def retention_problems(retentions: Sequence[float]) -> list[str]:
    """Return one "key: reason" line per tier whose retention is too short for the tier above it."""
    problems = []
    for tier, retention in zip(TIERS, retentions):
        needed = required_retention(tier)
        if retention < needed:
            problems.append(
                f"{tier.setting}: {_describe(retention)} is too short; the rollups above the {tier.name} tier are "
                f"computed from it, so keep it at least {_describe(needed)}"
            )
    return problems


def choose_tier(start: float, end: float, now: float, max_points: int, retentions: Sequence[float]) -> Tier:
    """Pick the coarsest tier that still gives ``max_points`` resolution over ``[start, end)``.

    Only tiers whose retention reaches back to ``start`` are considered; when
    none does, the coarsest tier returns whatever it still contains.
    """
    wanted = (end - start) / max_points
    covering = [tier for tier, retention in zip(TIERS, retentions) if start >= now - retention]
    if not covering:
        return TIERS[-1]
    fine_enough = [tier for tier in covering if tier.bucket <= wanted]
    return fine_enough[-1] if fine_enough else covering[0]
