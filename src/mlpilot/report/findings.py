"""Plain sentences from the numbers: what a person reads first in the report.

Each function turns one part of the stored results into one or two sentences, or returns
None when there is nothing worth saying; the report shows them in order.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mlpilot.evaluate.metrics import Metric
from mlpilot.report.data import ReportData

#: A slice this much worse than the whole (relative) is worth a sentence even if not flagged.
NOTABLE_GAP = 0.15


def humanize(name: str) -> str:
    """``median_income`` → ``median income`` (column names read as words in sentences)."""
    return str(name).replace("_", " ")


def pct(x: float, digits: int = 0) -> str:
    return f"{100 * x:.{digits}f} %"


def headline(d: ReportData) -> str:
    """The test score, its interval, and how it compares with cross-validation."""
    m, ev = d.metric, d.evaluation
    low, high = ev["interval"]["low"], ev["interval"]["high"]
    interval = ("" if low is None or high is None else
                f" (95 % interval {m.format(low)} – {m.format(high)})")
    cv = d.model["cv_mean"]
    inside = low is not None and high is not None and low <= cv <= high
    relation = ("consistent with" if inside else
                "better than" if m.better(ev["score"], cv) else "worse than")
    return (f"The final model, {d.model['name']}, predicts {d.target} with a test {m.label} of "
            f"{m.format(ev['score'])}{interval} on {ev['n_rows']:,} rows set aside before any "
            f"exploration; this is {relation} its cross-validation estimate of "
            f"{m.format(cv)} ± {m.format(d.model['cv_std'])}.")


def versus_baseline(d: ReportData) -> str | None:
    """How much better than predicting the mean / the most frequent class."""
    m = d.metric
    dummy = _dummy_cv(d)
    score = d.evaluation["score"]
    if dummy is None or dummy == 0 or not math.isfinite(dummy):
        return None
    if m.name in ("rmse", "mae"):
        return (f"A baseline that always predicts the training mean scores {m.format(dummy)} "
                f"in cross-validation: the model's error is {pct(1 - score / dummy)} lower.")
    return (f"A baseline that always predicts the most frequent class scores "
            f"{m.format(dummy)} ({m.label}) in cross-validation, against {m.format(score)}.")


def _dummy_cv(d: ReportData) -> float | None:
    board = d.leaderboard
    if board.empty or "model" not in board:
        return None
    rows = board[board["model"] == "dummy"]
    column = f"cv_{d.metric.name}_mean"
    if rows.empty or column not in rows:
        return None
    value = rows[column].iloc[0]
    return None if pd.isna(value) else float(value)


def what_was_tried(d: ReportData) -> str | None:
    board = d.leaderboard
    if board.empty:
        return None
    done = board[board["status"] == "done"]
    column = f"cv_{d.metric.name}_mean"
    text = (f"{len(done)} models from {done['family'].nunique()} families were "
            f"cross-validated ({d.model['folds']}-fold on the {d.split['n_train']:,} training "
            f"rows, losers dropped early on subsets)")
    if not done.empty and column in done:
        best = done.iloc[0]
        text += f"; the best single model was {best['model']} ({d.metric.format(best[column])})"
    if d.ensemble:
        members = ", ".join(f"{n} ({w:.0%})" for n, w in
                            sorted(d.ensemble.items(), key=lambda kv: -kv[1]) if w > 0)
        text += f", and a weighted ensemble of {members} did better still"
    return text + "."


def strongest_features(d: ReportData) -> str | None:
    """"median income is the strongest predictor" — from permutation importances."""
    table = d.importances
    if table is None or table.empty:
        return None
    if d.image is not None:  # one pixel is never "the strongest predictor" of an image
        return ("Each pixel's permutation importance is drawn where the pixel is, as an "
                "image: single pixels matter little on their own.")
    table = table.sort_values("permutation_importance", ascending=False)
    top = table.iloc[0]
    if top["permutation_importance"] <= 0:
        return "No single input column matters much on its own (permutation importances ≈ 0)."
    rest = [humanize(f) for f in table["feature"].iloc[1:3]
            if table.set_index("feature").loc[f, "permutation_importance"] > 0]
    share = top["permutation_importance"] / table["permutation_importance"].clip(lower=0).sum()
    text = (f"{humanize(top['feature']).capitalize()} is the strongest predictor: shuffling it "
            f"costs {_importance(d.metric, top['permutation_importance'])} of {d.metric.label} "
            f"({pct(share)} of the total importance)")
    if rest:
        text += f"; next come {' and '.join(rest)}"
    return text + "."


def _importance(m: Metric, value: float) -> str:
    return m.format(value) if m.name in ("rmse", "mae") else f"{value:.3f}"


def weakest_slices(d: ReportData) -> list[str]:
    """Sentences on the slices where the model is significantly (or notably) worse."""
    rows = [r for r in d.evaluation.get("slices", []) if r.get("score") is not None]
    if not rows or d.image is not None:  # slices of pixel values mean nothing for images
        return []
    m = d.metric
    flagged = [r for r in rows if r.get("worse")]
    out = []
    for r in sorted(flagged, key=lambda r: _badness(m, r))[:3]:
        out.append(f"The model is significantly worse for {humanize(r['feature'])} "
                   f"{_slice_label(r)}: {m.label} {m.format(r['score'])} on {r['n']:,} rows "
                   f"against {m.format(r['overall'])} overall.")
    if not flagged:
        worst = min(rows, key=lambda r: _badness(m, r))
        overall = worst["overall"]
        gap = abs(worst["score"] - overall) / abs(overall) if overall else 0.0
        if gap >= NOTABLE_GAP:
            out.append(f"No slice is significantly worse than the whole; the weakest is "
                       f"{humanize(worst['feature'])} {_slice_label(worst)} ({m.label} "
                       f"{m.format(worst['score'])} on {worst['n']:,} rows), within the "
                       "noise of its small size.")
        else:
            out.append("No slice is significantly worse than the whole: the error is spread "
                       "evenly across categories and across the range of the main features.")
    return out


def _badness(m: Metric, row: dict[str, Any]) -> float:
    """Sort key: the worst slice first."""
    return -row["score"] if not m.greater_is_better else row["score"]


def _slice_label(row: dict[str, Any]) -> str:
    label = str(row["slice"])
    if row.get("kind") == "category":
        return f"= {label}"
    return label if label[:1] in "≤<>≥" else f"in {label}"


def threshold_sentence(d: ReportData) -> str | None:
    t = d.threshold
    if t is None:
        return None
    return (f"Predictions use a decision threshold of {t['threshold']:.4g}, chosen on "
            f"out-of-fold predictions for {t['target']} ≥ {t['target_value']:.0%} "
            f"(cross-validated precision {t['precision']:.1%}, recall {t['recall']:.1%}); "
            "it is stored with the model and applied by every prediction.")


def limitations(d: ReportData) -> list[str]:
    """Assumptions and limitations a person deciding to launch should know."""
    out = []
    if d.split["strategy"] != "time":
        out.append(f"The test rows are a {d.split['strategy']} sample of the same data, so the "
                   "score says how the model does on data like this; data from a later period "
                   "or another place may differ (monitor it after launch).")
    reads = d.split["test_reads"]
    if reads > 1:
        out.append(f"The test set has been read {reads} times: every look after the first "
                   "makes its score optimistic.")
    out.extend(d.evaluation.get("warnings", []))
    n = d.evaluation["n_rows"]
    if n < 1_000:
        out.append(f"The test set is small ({n:,} rows): its interval is wide, and slices "
                   "smaller still.")
    caps = [f for f in d.flags if f.get("column") == d.target and "cap" in str(f.get("kind"))]
    for flag in caps[:1]:
        out.append(f"The target looks capped ({flag.get('evidence')}): the model learned the "
                   "cap and cannot predict beyond it.")
    out.append("Importances say what the model relies on, not what causes the target.")
    method = d.evaluation["interval"].get("method", "")
    out.append(f"Intervals are 95 % ({method}); they cover the sampling noise of the test "
               "rows, not a change in the data.")
    return out


def summary(d: ReportData) -> list[str]:
    """The opening paragraph, sentence by sentence."""
    sentences = [headline(d), versus_baseline(d), what_was_tried(d),
                 strongest_features(d) if d.image is None else None, threshold_sentence(d)]
    return [s for s in sentences if s] + weakest_slices(d)
