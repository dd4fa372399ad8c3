"""`grade doctor`: which sandbox runs student code on this machine, and why, in words."""

from __future__ import annotations

from grader.sandbox import availability, get_backend

FULL_ISOLATION = (
    "full isolation: own user, PID, network and IPC namespaces, read-only Python and numpy, "
    "no project files, a size-limited temporary working directory"
)


def doctor() -> list[str]:
    """Each backend and whether it works here, the one in use, and what it cannot guarantee."""
    lines = []
    for item in availability(fresh=True):
        state = "works" if item.problem is None else f"unavailable: {item.problem}"
        lines.append(f"{item.name:<8} {state}")
    chosen = get_backend()
    try:
        lines.append(f"\nin use: {chosen.name}")
        limits = chosen.limitations()
    finally:
        chosen.close()
    if limits:
        lines.append("it cannot guarantee:")
        lines += [f"  - {note}" for note in limits]
    else:
        lines.append(FULL_ISOLATION)
    return lines
