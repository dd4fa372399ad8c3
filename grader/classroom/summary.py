"""What a class run tells at its end: counts, scores by exercise, mistakes, the slowest."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Summary:
    graded: int = 0
    skipped: int = 0
    errors: int = 0
    #: Scores and the maximum by exercise: a class run of `all` mixes exercises whose
    #: points differ, so each gets its own line.
    scores: dict[str, list[float]] = field(default_factory=dict)
    max_score: dict[str, float] = field(default_factory=dict)
    passed: int = 0
    mistakes: Counter[str] = field(default_factory=Counter)
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"graded {self.graded}, skipped {self.skipped} (already in the gradebook)"]
        for item, scores in sorted(self.scores.items()):
            prefix = f"{item}: " if len(self.scores) > 1 else ""
            out.append(
                f"{prefix}mean {statistics.mean(scores):.2f}, median "
                f"{statistics.median(scores):g} of {self.max_score[item]:g}"
            )
        if self.graded:
            rates = f"pass rate {self.passed / self.graded:.0%}; errors {self.errors}"
            if len(self.scores) == 1:
                out[-1] += f"; {rates}"
            else:
                out.append(f"all: {rates}")
        if self.mistakes:
            common = ", ".join(f"{m} ({k})" for m, k in self.mistakes.most_common(5))
            out.append(f"most frequent mistakes: {common}")
        if self.slowest:
            slow = ", ".join(f"{s} {t:.1f} s" for t, s in sorted(self.slowest)[-3:][::-1])
            out.append(f"slowest: {slow}")
        return out
