"""The HTML report's plot: the student's function and the reference over a sweep of inputs.

Declared per exercise under 'plot'; run only when an HTML report is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.exercise.cases import literal
from grader.exercise.spec import Exercise, Plot
from grader.results import PlotData, PlotLine
from grader.sandbox import Session
from grader.sandbox.protocol import CallStatus


def substitute(value: Any, x: float) -> Any:
    if isinstance(value, list):
        return [substitute(v, x) for v in value]
    if value == "x":
        return x
    if value == "1-x":
        return 1.0 - x
    return value


def sweep(plot: Plot, params: tuple[str, ...]) -> list[tuple[int, float, dict[str, np.ndarray]]]:
    """(series, x, inputs) for every point of the plot, inputs built like literal args."""
    points = []
    for index, series in enumerate(plot.series):
        for x in np.linspace(plot.start, plot.stop, plot.points):
            arrays = {
                p: literal(substitute(series.args[p], float(x)), None, "plot", p) for p in params
            }
            points.append((index, float(x), arrays))
    return points


#: The reference's values at the sweep's inputs (computed, or stored in a bundle).
Curve = Callable[[list[dict[str, np.ndarray]]], "list[float] | None"]


def plot_data(exercise: Exercise, curve: Curve, session: Session) -> PlotData | None:
    """The student's function and the reference over the exercise's sweep."""
    if exercise.plot is None:
        return None
    points = sweep(exercise.plot, exercise.entry.param_names)
    ys = curve([arrays for _, _, arrays in points])
    if ys is None:
        return None
    reference_at = {x_index: y for x_index, y in enumerate(ys)}
    labelled = [(f"p{i}", point) for i, point in enumerate(points)]
    run = session.run({cid: tuple(arrays.values()) for cid, (_, _, arrays) in labelled})
    lines = []
    xs: list[float] = []
    for index, series in enumerate(exercise.plot.series):
        mine = [(cid, point) for cid, point in labelled if point[0] == index]
        xs = [x for _, (_, x, _) in mine]
        reference_ys = tuple(reference_at[int(cid[1:])] for cid, _ in mine)
        student_ys = tuple(
            run.outcomes[cid].value if run.outcomes[cid].status is CallStatus.RETURNED else None
            for cid, _ in mine
        )
        lines.append(PlotLine(series.label, reference_ys, student_ys))
    return PlotData(exercise.plot.x_label, tuple(xs), tuple(lines))
