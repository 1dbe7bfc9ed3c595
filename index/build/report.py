"""What a build tells its caller: the report (counts, seconds, what was skipped or repaired)
and the seconds each step took."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class BuildReport:
    version: str
    articles: int
    passages: int
    embedded: int
    reused: int
    seconds: float
    changed: bool
    skipped: list[str] = field(default_factory=list)
    added_passages: int = 0
    embedded_sentences: int = 0
    removed_passages: int = 0
    incremental: bool = False  # built on the previous version's segments
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    repaired: str = ""  # why the previous version could not be reused (damaged)

    def summary(self) -> str:
        if not self.changed:
            head = (
                f"index {self.version} is up to date "
                f"({self.articles} articles, {self.passages} passages)"
            )
        else:
            head = (
                f"index {self.version}: {self.articles} articles, {self.passages} passages "
                f"(+{self.added_passages} / -{self.removed_passages}), embedded {self.embedded}, "
                f"reused {self.reused}, sentences embedded {self.embedded_sentences}, "
                f"{self.seconds:.1f} s{' (incremental)' if self.incremental else ''}"
            )
        lines = [head] + [f"skipped: {s}" for s in self.skipped]
        if self.repaired:
            lines.append(f"repaired: {self.repaired}")
        return "\n".join(lines)


class StepTimer:
    """Seconds per build step, into BuildReport.timings."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.t = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.times[step] = self.times.get(step, 0.0) + now - self.t
        self.t = now
