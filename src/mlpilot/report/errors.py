"""The report's "Errors" section: regression residuals, or chapter 3's classification kit.

Built from the stored diagnostics only (figures are redrawn from them), so the report never
re-reads the test set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import markupsafe
import pandas as pd

from mlpilot.report.data import ReportData
from mlpilot.report.findings import humanize, pct

AddFigure = Callable[..., bool]
Section = tuple[list[str], list[str], list[dict[str, Any]]]
#: Worst-error rows shown.
WORST_ROWS = 10


def section(d: ReportData, add: AddFigure) -> Section:
    diagnostics = d.evaluation.get("diagnostics") or {}
    if d.task == "regression":
        return _regression(d, diagnostics, add)
    return _classification(d, diagnostics, add)


def _table(records: list[dict[str, Any]], title: str) -> dict[str, Any]:
    frame = pd.DataFrame(records)
    html = frame.to_html(index=False, border=0, na_rep="—", float_format=_number)
    return {"title": title, "html": markupsafe.Markup(html)}  # pandas escapes the cells


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _regression(d: ReportData, diag: dict[str, Any], add: AddFigure) -> Section:
    from mlpilot.evaluate import regression_figures as rf

    r = diag.get("residuals", {})
    m = d.metric
    text = []
    if r:
        direction = "too high" if r["bias"] > 0 else "too low"
        text.append(
            f"Half of the predictions are within {m.format(r['median_abs_error'])} of the truth, "
            f"and {pct(r['within_10pct'])} within ±10 %. On average predictions are "
            f"{m.format(abs(r['bias']))} {direction} (the bias); R² is {r['r2']:.3f}. The "
            f"largest error is {m.format(r['max_abs_error'])}.")
    for cap in diag.get("caps", []):
        text.append(f"{pct(cap['share'], 1)} of the test rows have {d.target} exactly at its "
                    f"{cap['side']}imum {cap['value']:,.0f}: a capped target, which the model "
                    "can only learn to under- or over-shoot.")
    figures = [name for name, build, title, caption in [
        ("predicted_vs_actual", rf.predicted_vs_actual_figure, "Predicted against actual",
         "Points on the diagonal are perfect predictions; a horizontal band at the top is "
         "the capped target."),
        ("residuals", rf.residuals_figure, "Residuals against predictions",
         "Error = prediction − truth; the line is the mean error per bin: a slope means errors "
         "grow or shrink with the prediction."),
        ("residual_histogram", rf.residual_histogram_figure, "Distribution of the errors",
         "Centred on zero when unbiased; long tails are the rows worth a look below."),
    ] if add(name, (lambda b=build: b(diag)), title, caption)]
    tables = []
    worst = diag.get("worst") or []
    if worst:
        tables.append(_table(worst[:WORST_ROWS], "The worst errors, with their rows"))
    return text, figures, tables


def _classification(d: ReportData, diag: dict[str, Any], add: AddFigure) -> Section:
    from mlpilot.evaluate import classification_figures as cf

    threshold = d.threshold["threshold"] if d.threshold else None
    text = _classification_text(d, diag)
    candidates: list[tuple[str, Callable[[], bytes], str, str]] = [
        ("confusion", lambda: cf.confusion_figure(diag), "Confusion matrices",
         "Rows: the true class; columns: the predicted class. Left: counts; middle: each row "
         "as shares; right: errors only (the book's Figure 3-10), where the model goes wrong."),
        ("per_class", lambda: cf.per_class_figure(diag), "Precision, recall and F1 per class",
         "Precision: of the rows predicted as a class, the share that are; recall: of the rows "
         "that are, the share found."),
    ]
    if d.task == "binary":
        candidates += [
            ("pr_curve", lambda: cf.pr_curve_figure(diag, threshold), "Precision–recall curve",
             "Every threshold's precision and recall (the book's Figure 3-6); the dot is the "
             "threshold in use."),
            ("roc", lambda: cf.roc_figure(diag, threshold), "ROC curve",
             "True-positive rate against false-positive rate (Figure 3-7); the diagonal is a "
             "random classifier."),
            ("threshold", lambda: cf.threshold_figure(diag, threshold),
             "Precision and recall against the threshold",
             "Raising the threshold trades recall for precision (Figure 3-5)."),
        ]
    candidates.append(("calibration", lambda: cf.calibration_figure(diag), "Calibration",
                       "Predicted probability against the observed frequency: on the diagonal, "
                       "a predicted 70 % happens 70 % of the time."))
    figures = [name for name, build, title, caption in candidates
               if add(name, build, title, caption)]
    tables = []
    per_class = diag.get("per_class")
    if per_class:
        tables.append(_table(per_class, "Per class"))
    return text, figures, tables


def _classification_text(d: ReportData, diag: dict[str, Any]) -> list[str]:
    text = []
    dummy = diag.get("dummy") or {}
    metric = d.metric
    if dummy.get(metric.name) is not None:
        text.append(f"A dummy classifier that always predicts the most frequent training class "
                    f"scores {metric.format(dummy[metric.name])} ({metric.label}) on the same "
                    f"test rows, against {metric.format(d.evaluation['score'])}.")
    confused = (diag.get("confusion") or {}).get("most_confused") or []
    if confused and d.task == "multiclass":
        top = confused[0]
        text.append(f"The most frequent mistake: {humanize(str(top['true']))} predicted as "
                    f"{humanize(str(top['predicted']))} ({top['count']:,} rows, "
                    f"{pct(top['share_of_true'])} of the true {humanize(str(top['true']))}, "
                    f"{pct(top['share_of_errors'])} of its errors).")
    threshold = diag.get("threshold")
    if threshold:
        held = "holds" if threshold.get("achieved") else "does not hold"
        text.append(f"On the test rows the threshold {threshold['threshold']:.4g} gives "
                    f"precision {threshold['precision']:.1%} and recall "
                    f"{threshold['recall']:.1%}: the {threshold['target']} target of "
                    f"{threshold['target_value']:.0%} {held} on new data.")
    else:
        metrics = diag.get("metrics") or {}
        if d.task == "binary" and "f1" in metrics:
            text.append(f"At the default threshold (probability 0.5), F1 is "
                        f"{metrics['f1']:.3f} on the test rows.")
    return text
