"""The solution report as one self-contained HTML page (the book's "present your solution").

Same look and rules as the exploration page: inline CSS, figures embedded as base64 PNGs,
so the file opens from disk, prints to PDF and can be mailed as is.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

import jinja2
import markupsafe
import pandas as pd

from mlpilot.evaluate.metrics import METRICS
from mlpilot.explore.page import CSS, DOCUMENT
from mlpilot.report import findings
from mlpilot.report.data import ReportData
from mlpilot.report.figures import importances_figure, leaderboard_figure

EXTRA_CSS = """<style>
.mlx .lead { font-size: 16px; max-width: 920px; }
.mlx .lead li { margin: 4px 0; }
.mlx .good { color: #1f6d35; font-weight: 600; } .mlx .bad { color: var(--crit); font-weight: 600; }
.mlx .pipe { border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow-x: auto; }
.mlx .grid2 { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr));
  gap: 4px 22px; }
@media print { .mlx nav { position: static; } .mlx figure { break-inside: avoid; }
  .mlx h2 { break-after: avoid; } }
</style>"""

TEMPLATE = r"""
<div class="mlx">
{{ css }}
{{ extra_css }}
<h1>{{ title }}</h1>
<p class="sub">{{ subtitle }}</p>
<nav>{% for id, label in nav %}<a href="#mlx-{{ id }}">{{ label }}</a>{% endfor %}</nav>

<h2 id="mlx-summary">Summary</h2>
<div class="cards">
{% for label, value in cards %}
  <div class="card"><div class="v">{{ value }}</div><div class="k">{{ label }}</div></div>
{% endfor %}
</div>
<ul class="lead">{% for s in summary %}<li>{{ s }}</li>{% endfor %}</ul>

<h2 id="mlx-problem">The problem and the data</h2>
<table style="max-width:900px">
{% for k, v in problem %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}
</table>
{% if flags %}
<h3>What exploration flagged</h3>
<table><tr><th>Severity</th><th>Column</th><th>Flag</th><th>Evidence</th></tr>
{% for f in flags %}<tr><td><span class="badge {{ f.severity }}">{{ f.severity }}</span></td>
<td>{{ f.column or "(table)" }}</td><td><span class="kind">{{ f.kind }}</span></td>
<td>{{ f.evidence }}</td></tr>{% endfor %}</table>
{% endif %}
{% if explore_report %}<p class="muted">The full exploration is in
<a href="{{ explore_report }}">{{ explore_report }}</a>.</p>{% endif %}

<h2 id="mlx-tried">What was tried</h2>
{{ figure("leaderboard") }}
<div class="scroll"><table>
<tr>{% for h in board_head %}
<th{% if loop.index > 3 %} class="n"{% endif %}>{{ h }}</th>{% endfor %}</tr>
{% for row in board_rows %}<tr>{% for c in row %}
<td{% if loop.index > 3 %} class="n"{% endif %}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}
</table></div>

<h2 id="mlx-model">The final model</h2>
<p>{{ model_text }}</p>
{% if ensemble %}<table style="max-width:520px"><tr><th>Member</th><th class="n">Weight</th></tr>
{% for n, w in ensemble %}<tr><td>{{ n }}</td><td class="n">{{ w }}</td></tr>{% endfor %}
</table>{% endif %}
{% if threshold %}<p>{{ threshold }}</p>{% endif %}
<details><summary>The whole pipeline (click a step to see its settings)</summary>
<div class="pipe">{{ pipeline_html }}</div></details>

<h2 id="mlx-test">Test score</h2>
<table style="max-width:900px"><tr><th>Metric</th><th class="n">Test</th>
<th class="n">95 % interval</th><th>Interval method</th></tr>
{% for r in metric_rows %}<tr><td>{{ r[0] }}</td><td class="n">{{ r[1] }}</td>
<td class="n">{{ r[2] }}</td><td class="muted">{{ r[3] }}</td></tr>{% endfor %}</table>
{% for w in warnings %}<p><span class="badge warning">warning</span> {{ w }}</p>{% endfor %}

{% if has_slices %}
<h2 id="mlx-slices">Slices: where the model does worse</h2>
<p>{{ slices_text }}</p>
{{ figure("slices") }}
<details><summary>Every slice as a table</summary>
<div class="scroll"><table><tr><th>Feature</th><th>Slice</th><th class="n">Rows</th>
<th class="n">{{ metric_label }}</th><th class="n">95 % interval</th><th></th></tr>
{% for r in slice_rows %}<tr><td>{{ r[0] }}</td><td>{{ r[1] }}</td><td class="n">{{ r[2] }}</td>
<td class="n">{{ r[3] }}</td><td class="n">{{ r[4] }}</td>
<td>{% if r[5] %}<span class="bad">significantly worse</span>{% endif %}</td></tr>
{% endfor %}
</table></div></details>
{% endif %}

{% if has_importances %}
<h2 id="mlx-features">Top features</h2>
<p>{{ features_text }}</p>
{{ figure("importances") }}
{% endif %}

<h2 id="mlx-errors">Errors</h2>
{% for p in error_text %}<p>{{ p }}</p>{% endfor %}
{% for name in error_figures if name in wide %}{{ figure(name) }}{% endfor %}
<div class="grid2">{% for name in error_figures if name not in wide %}{{ figure(name) }}
{% endfor %}</div>
{% for t in error_tables %}<h3>{{ t.title }}</h3><div class="scroll">{{ t.html }}</div>{% endfor %}

{% if curve_figures %}
<h2 id="mlx-curves">Learning and validation curves</h2>
<div class="grid2">{% for name in curve_figures %}{{ figure(name) }}{% endfor %}</div>
{% endif %}

<h2 id="mlx-limits">Assumptions and limitations</h2>
<ul class="lead">{% for s in limitations %}<li>{{ s }}</li>{% endfor %}</ul>

<h2 id="mlx-reproduce">Reproduce</h2>
<p>Library versions: {{ versions }}. Seed {{ seed }}. Report generated {{ generated }}.</p>
<pre class="mono">{{ commands }}</pre>
</div>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(TEMPLATE)

#: Figure name → (title, caption).
CAPTIONS: dict[str, tuple[str, str]] = {
    "leaderboard": ("Cross-validation leaderboard", "Each model's score on its largest "
                    "subset of training rows (losers were dropped early on smaller subsets); "
                    "whiskers: one standard deviation over the folds; red: the final model."),
    "slices": ("Score per slice", "Each slice's score with its 95 % interval; the vertical "
               "line is the whole test set; red: significantly worse than the whole."),
    "importances": ("Permutation importances", "How much the score drops when one input "
                    "column is shuffled, measured on the test rows during the evaluation (what "
                    "generalises, not what was memorised), mean ± std over 3 repeats."),
    "training_history": ("Training history", "The network's loss and metrics after each "
                         "epoch on its training rows and on the rows it held out for "
                         "validation (the book's Figure 10-11): validation curves that stop "
                         "improving while training ones keep going mean overfitting, which "
                         "early stopping cuts short."),
    "misclassified": ("Misclassified test images", "Test images the final model got wrong, "
                      "titled true class → predicted class, the ones it was most sure of "
                      "first. Mislabelled or ambiguous images show up here, as well as "
                      "classes the model mixes up (compare with the confusion matrix)."),
}


PIXEL_IMPORTANCE_TEXT = (
    "Permutation importance of each pixel",
    "How much the score drops when one pixel is shuffled across the test images (measured "
    "during the evaluation), drawn where the pixel is: red areas are where the model looks, "
    "blue ones where shuffling helps it (noise). Single pixels matter little in images; the "
    "pattern is what counts.")

#: Figures shown at full width (several panels side by side).
WIDE_FIGURES = ("confusion", "misclassified")


def _png(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class _Figures:
    """Builds figures lazily and renders ``<figure>`` blocks; a failing figure is skipped."""

    def __init__(self) -> None:
        self.built: dict[str, tuple[str, str, str]] = {}

    def add(self, name: str, build: Callable[[], bytes], title: str = "",
            caption: str = "") -> bool:
        try:
            png = build()
        except Exception:  # a figure is never worth failing the report for
            return False
        default_title, default_caption = CAPTIONS.get(name, (title, caption))
        self.built[name] = (title or default_title, caption or default_caption, _png(png))
        return True

    def __call__(self, name: str) -> markupsafe.Markup:
        if name not in self.built:
            return markupsafe.Markup("")
        title, caption, data = self.built[name]
        return markupsafe.Markup(
            '<figure><h3>{}</h3><img src="data:image/png;base64,{}" alt="{}">'
            "<figcaption>{}</figcaption></figure>").format(title, data, title, caption)


def render(d: ReportData) -> str:
    """The complete HTML document."""
    body = _TEMPLATE.render(**context(d))
    title = markupsafe.escape(f"{d.project_name}: solution report")
    return DOCUMENT.format(title=title, body=body)


def context(d: ReportData) -> dict[str, Any]:
    m, ev = d.metric, d.evaluation
    figures = _Figures()
    figures.add("leaderboard", lambda: leaderboard_figure(d.leaderboard, m,
                                                          _base_name(d.model["name"])))
    slices = pd.DataFrame(ev.get("slices") or [])
    # Slices by pixel value ranges say nothing about images: left out for them.
    has_slices = not slices.empty and d.image is None
    if has_slices:
        from mlpilot.evaluate.regression_figures import slices_figure

        figures.add("slices", lambda: slices_figure(slices, m.label))
    has_importances = d.importances is not None and not d.importances.empty
    if has_importances:
        assert d.importances is not None
        table = d.importances
        image = d.image
        if image is not None and image.shape is not None:
            from mlpilot.report.neural_figures import pixel_importance_figure

            figures.add("importances", lambda: pixel_importance_figure(table, image, m),
                        *PIXEL_IMPORTANCE_TEXT)
        else:
            figures.add("importances", lambda: importances_figure(table, m))
    error_text, error_figures, error_tables = _errors(d, figures)
    if d.mistakes is not None and len(d.mistakes.images):
        from mlpilot.report.neural_figures import mistakes_figure

        mistakes = d.mistakes
        if figures.add("misclassified", lambda: mistakes_figure(mistakes)):
            error_figures.append("misclassified")
    curve_figures = _history(d, figures) + _curves(d, figures)
    low, high = ev["interval"]["low"], ev["interval"]["high"]
    cards = [(f"test {m.label}", m.format(ev["score"])),
             ("95 % interval", "—" if low is None else f"{m.format(low)} – {m.format(high)}"),
             (f"CV {m.label}", f"{m.format(d.model['cv_mean'])} ± {m.format(d.model['cv_std'])}"),
             ("model", d.model["name"]),
             ("test rows", f"{ev['n_rows']:,}"), ("training rows", f"{d.split['n_train']:,}")]
    nav = [("summary", "Summary"), ("problem", "Problem & data"), ("tried", "What was tried"),
           ("model", "Final model"), ("test", "Test score")]
    if has_slices:
        nav.append(("slices", "Slices"))
    if has_importances:
        nav.append(("features", "Features"))
    nav.append(("errors", "Errors"))
    if curve_figures:
        nav.append(("curves", "Curves"))
    nav += [("limits", "Limitations"), ("reproduce", "Reproduce")]
    board_head, board_rows = _board(d)
    return {
        "css": markupsafe.Markup(CSS), "extra_css": markupsafe.Markup(EXTRA_CSS),
        "title": f"{d.project_name}: predicting {d.target}",
        "subtitle": (f"Solution report · model #{d.model['id']} {d.model['name']} · trained "
                     f"{d.model['created']} · data version {d.dataset['hash']}"),
        "nav": nav, "cards": cards, "summary": findings.summary(d),
        "problem": _problem(d), "flags": [f for f in d.flags
                                          if f.get("severity") in ("critical", "warning")][:12],
        "explore_report": d.explore_report,
        "figure": figures, "board_head": board_head, "board_rows": board_rows,
        "model_text": _model_text(d),
        "ensemble": [(n, f"{w:.0%}") for n, w in sorted(d.ensemble.items(),
                                                        key=lambda kv: -kv[1]) if w > 0],
        "threshold": findings.threshold_sentence(d),
        "pipeline_html": markupsafe.Markup(d.pipeline_html),
        "metric_rows": _metric_rows(ev), "warnings": ev.get("warnings", []),
        "has_slices": has_slices, "slices_text": " ".join(findings.weakest_slices(d)),
        "slice_rows": _slice_rows(slices, m) if has_slices else [],
        "metric_label": m.label,
        "has_importances": has_importances,
        "features_text": findings.strongest_features(d) or "",
        "error_text": error_text, "error_figures": error_figures, "error_tables": error_tables,
        "wide": WIDE_FIGURES,
        "curve_figures": curve_figures, "limitations": findings.limitations(d),
        "versions": ", ".join(f"{k} {v}" for k, v in d.model["versions"].items()),
        "seed": d.model["seed"],
        "generated": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "commands": "mlpilot train\nmlpilot evaluate\nmlpilot report",
    }


def _base_name(name: str) -> str:
    return name.split("@")[0]


def _problem(d: ReportData) -> list[tuple[str, str]]:
    return [
        ("Target", d.target),
        ("Task", f"{d.task} — {d.task_reason}"),
        ("Metric", f"{d.metric.label} — {d.metric_reason}"),
        ("Data", f"{d.dataset['rows']:,} rows × {d.dataset['columns']} columns from "
                 f"{d.dataset['source']} (version {d.dataset['hash']})"),
        ("Inputs", _inputs(d)),
        ("Test set", f"{d.split['n_test']:,} rows set aside ({d.split['strategy']} split) before "
                     f"anything looked at the data; read {d.split['test_reads']} time(s)"),
    ]


def _inputs(d: ReportData) -> str:
    """The input columns; the pixels of images summed up in one phrase."""
    if d.image is None:
        return ", ".join(d.features)
    pixels = set(d.image.columns)
    others = [f for f in d.features if f not in pixels]
    return d.image.description + (f", and {', '.join(others)}" if others else "")


def _board(d: ReportData) -> tuple[list[str], list[list[str]]]:
    m = d.metric
    column = f"cv_{m.name}_mean"
    head = ["Model", "Family", "Status", "Rows", f"CV {m.label}", "± std", "Fit (s/fold)"]
    rows = []
    for r in d.leaderboard.itertuples(index=False):
        row = r._asdict()
        mean, std = row.get(column), row.get(f"cv_{m.name}_std")
        rows.append([row["model"], row["family"], row["status"],
                     "—" if pd.isna(row["rows"]) else f"{int(row['rows']):,}",
                     "—" if pd.isna(mean) else m.format(mean),
                     "—" if pd.isna(std) else m.format(std),
                     "—" if pd.isna(row["fit_time_s"]) else f"{row['fit_time_s']:.2f}"])
    return head, rows


def _model_text(d: ReportData) -> str:
    m = d.metric
    kind = "a weighted ensemble" if d.ensemble else "a single model"
    seeds = d.model.get("seeds", 1)
    bags, members, folds = d.model.get("fold_bags", (0, 1, 0))
    refit = (f"refitted on all {d.split['n_train']:,} training rows under {seeds} random seeds "
             "and averaged (at least as good as the seeds on average for this metric; the "
             "cross-validation below is one seed's)" if seeds > 1
             else f"refitted on all {d.split['n_train']:,} training rows")
    if bags:
        whose = ("" if members == 1 else
                 f"{'each' if bags == members else bags} of its {members} members being ")
        refit = (f"{whose}the average of its {folds} cross-validation fold models, each "
                 f"fitted on {folds - 1}/{folds} of the {d.split['n_train']:,} training rows "
                 "(the cross-validation below scores exactly these models, on the rows each "
                 "did not see; their average is at least as good for this metric)")
    return (f"Model #{d.model['id']}, {d.model['name']}, is {kind} behind mlpilot's automatic "
            f"preprocessing (prepare.py), {refit}. "
            f"Cross-validation ({d.model['folds']}-fold): {m.format(d.model['cv_mean'])} ± "
            f"{m.format(d.model['cv_std'])}.")


def _metric_rows(ev: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, r in ev.get("metrics", {}).items():
        metric = METRICS[name]
        low, high = r.get("low"), r.get("high")
        interval = ("—" if low is None or high is None or low != low
                    else f"{metric.format(low)} – {metric.format(high)}")
        rows.append((r["label"], metric.format(r["value"]), interval, r.get("method", "")))
    return rows


def _slice_rows(slices: pd.DataFrame, m: Any) -> list[tuple[Any, ...]]:
    rows = []
    for r in slices.itertuples(index=False):
        row = r._asdict()
        score, low, high = row.get("score"), row.get("low"), row.get("high")
        rows.append((row["feature"], row["slice"], f"{int(row['n']):,}",
                     "—" if score is None or pd.isna(score) else m.format(score),
                     "—" if low is None or pd.isna(low) else f"{m.format(low)} – {m.format(high)}",
                     bool(row.get("worse"))))
    return rows


def _errors(d: ReportData, figures: _Figures) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Regression residuals or chapter 3's classification diagnostics."""
    from mlpilot.report import errors

    return errors.section(d, figures.add)


def _history(d: ReportData, figures: _Figures) -> list[str]:
    """The network's epoch-by-epoch curves, when the final model has a ``history_``."""
    if not d.history:
        return []
    from mlpilot.report.neural_figures import history_figure

    history = d.history
    return ["training_history"] if figures.add("training_history",
                                                lambda: history_figure(history)) else []


def _curves(d: ReportData, figures: _Figures) -> list[str]:
    if not d.curves:
        return []
    from mlpilot.evaluate.curves import learning_curve_figure, validation_curve_figure

    names = []
    label = d.metric.label
    learning = d.curves.get("learning")
    if learning and figures.add("learning_curve", lambda: learning_curve_figure(
            pd.DataFrame(learning), label), "Learning curve",
            d.curves.get("learning_caption", "")):
        names.append("learning_curve")
    validation = d.curves.get("validation")
    param = d.curves.get("param")
    if validation and param and figures.add("validation_curve", lambda: validation_curve_figure(
            pd.DataFrame(validation), param, label), "Validation curve",
            d.curves.get("validation_caption", "")):
        names.append("validation_curve")
    return names
