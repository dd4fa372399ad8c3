"""What a class run tells at its end: counts, scores by exercise, mistakes, the slowest.

Worded from the figures statistics.py counts once (the dashboard reads the same), over the
attempts this run recorded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from grader.classroom.roster import listed_names
from grader.classroom.submissions import LEFT_OUT_KINDS
from grader.results import ItemStats

#: Submissions that could not be graded listed after a run, each with its reason.
MOST_ERRORING = 10
#: The reason of a submission graded by a version that did not keep reasons.
NOT_KEPT = "the reason was not kept"


@dataclass
class Summary:
    graded: int = 0
    skipped: int = 0
    #: The class at the run's exercises, counted by exercise once the run is over: each
    #: student's grade for the file the run found (Gradebook.latest), graded now or
    #: before. A class run of `all` mixes exercises whose points differ, so each gets its
    #: own line.
    stats: list[ItemStats] = field(default_factory=list)
    #: Students graded whom the roster does not list (none without a roster).
    unknown: tuple[str, ...] = ()
    #: Of each exercise's submissions, how many are of students the roster does not list.
    unknown_by_item: dict[str, int] = field(default_factory=dict)
    #: (student, folder name): graded from the latest run of another class folder than
    #: this run's (they are in the class's figures, not in this folder).
    elsewhere: tuple[tuple[str, str], ...] = ()
    #: What the class folder holds that the run did not grade (submissions.left_out).
    left_out: tuple[tuple[str, str], ...] = ()

    def lines(self) -> list[str]:
        """The class first, then what this run did."""
        out: list[str] = []
        for item in self.stats:
            prefix = f"{item.item}: " if len(self.stats) > 1 else ""
            if not item.submissions:
                out.append(f"{prefix}no submissions")
                continue
            how_many = f"{item.submissions} submission{'s' if item.submissions != 1 else ''}"
            # So that submissions and "no submission" add up to the roster at a glance.
            outside = self.unknown_by_item.get(item.item, 0)
            if outside:
                how_many += f" ({outside} not in the roster)"
            out.append(
                f"{prefix}{how_many}: mean {item.mean:.2f}, median {item.median:g} "
                f"of {item.max_score:g}"
            )
        counted = sum(item.submissions for item in self.stats)
        if counted:
            passed = sum(item.passed for item in self.stats)
            errors = sum(item.errors for item in self.stats)
            rates = f"pass rate {passed / counted:.0%}; errors {errors}"
            if len(self.stats) == 1 and out:
                out[-1] += f"; {rates}"
            else:
                out.append(f"all: {rates}")
        mistakes: Counter[str] = Counter()
        for item in self.stats:
            # With several exercises, each mistake is named with its exercise: log2 in ex01
            # and in ex03 are two findings.
            named = f"{item.item} " if len(self.stats) > 1 else ""
            mistakes.update({f"{named}{m}": k for m, k in item.mistakes})
        if mistakes:
            common = sorted(mistakes.items(), key=lambda m: (-m[1], m[0]))[:5]
            out.append("most frequent mistakes: " + ", ".join(f"{m} ({k})" for m, k in common))
        out += self._erroring()
        out += self._stopped()
        for item in self.stats:
            if item.pending:
                prefix = f"{item.item} " if len(self.stats) > 1 else ""
                out.append(
                    f"{prefix}not graded yet ({len(item.pending)}: a run that found their file "
                    "was stopped; run grade batch on their class folder again): "
                    + listed_names(item.pending, MOST_ERRORING)
                )
            if item.missing:
                prefix = f"{item.item} " if len(self.stats) > 1 else ""
                out.append(
                    f"{prefix}no submission ({len(item.missing)}, 0 points each): "
                    + listed_names(item.missing, MOST_ERRORING)
                )
        if self.unknown:
            out.append(
                f"not in the roster ({len(self.unknown)}, graded all the same): "
                + listed_names(self.unknown, MOST_ERRORING)
            )
            out += self._near_misses()
        out += self._left_out()
        if self.elsewhere:
            where = [f"{student} ({folder})" for student, folder in self.elsewhere]
            out.append(
                f"graded from another folder's latest run ({len(where)}, not in this one): "
                + listed_names(where, MOST_ERRORING)
            )
        several = len(self.stats) > 1
        slowest = sorted(
            ((item.item, slow) for item in self.stats for slow in item.slowest),
            key=lambda pair: (-pair[1].seconds, pair[1].student, pair[0]),
        )[:3]
        if slowest:
            out.append(
                "slowest: "
                + ", ".join(
                    f"{s.student}{f' ({item})' if several else ''} {s.seconds:.1f} s"
                    for item, s in slowest
                )
            )
        out.append(
            f"this run: graded {self.graded}, skipped {self.skipped} (already in the gradebook)"
        )
        return out

    def _left_out(self) -> list[str]:
        """What the class folder holds that no run grades: each note, or, when there are
        more than MOST_ERRORING, a line per kind with its count and first examples."""
        if not self.left_out:
            return []
        out = [f"in the class folder, not graded ({len(self.left_out)}):"]
        if len(self.left_out) <= MOST_ERRORING:
            return out + [f"  {note}" for _, note in self.left_out]
        for kind, label in LEFT_OUT_KINDS.items():
            notes = [note for found, note in self.left_out if found == kind]
            if notes:
                more = f" and {len(notes) - 2:,} more" if len(notes) > 2 else ""
                out.append(f"  {label} ({len(notes):,}): " + "; ".join(notes[:2]) + more)
        return out

    def _near_misses(self) -> list[str]:
        """A roster student without a submission and a folder not in the roster whose names
        differ only in case: most likely one student, written two ways."""
        unknown = {name.casefold(): name for name in self.unknown}
        pairs = sorted(
            {
                (student, unknown[student.casefold()])
                for item in self.stats
                for student in item.missing
                if student.casefold() in unknown
            }
        )
        return [
            f"  the roster's '{student}' and the folder '{folder}' differ only in case: "
            "correct the roster's student column to the folder's name"
            for student, folder in pairs
        ]

    def _stopped(self) -> list[str]:
        """Each submission graded with some calls stopped, and what stopped them: a
        broadcast that ran out of memory scores as wrong answers would, for another reason."""
        found = [
            (item, s.student, (s.message or "").strip().split(". ")[0].rstrip(".") or s.kind)
            for item in self.stats
            for s in item.stopped
        ]
        return self._listed(f"submissions graded with some calls stopped ({len(found)}):", found)

    def _erroring(self) -> list[str]:
        """Each submission that could not be graded, and why (the first line of it)."""
        found = [
            (item, e.student, ((e.message or "").strip().splitlines() or [NOT_KEPT])[0])
            for item in self.stats
            for e in item.erroring
        ]
        return self._listed("submissions that could not be graded:", found)

    def _listed(self, heading: str, found: list[tuple[ItemStats, str, str]]) -> list[str]:
        """A heading, then a line per (exercise, student, why), MOST_ERRORING at most."""
        if not found:
            return []
        several = len(self.stats) > 1
        out = [heading]
        out += [
            f"  {item.item + ' ' if several else ''}{student}: {why}"
            for item, student, why in found[:MOST_ERRORING]
        ]
        if len(found) > MOST_ERRORING:
            more = len(found) - MOST_ERRORING
            out.append(f"  ... and {more} more (the dashboard, --report class.html, lists them)")
        return out
