"""The drift report: one self-contained HTML page per check (same look as the exploration).

A summary, the alerts as sentences, the per-feature table (alerting rows highlighted) and,
for each alerting feature, the reference and the batch drawn over each other: overlaid
histograms for numbers, side-by-side shares for categories. Figures are embedded as base64
PNGs and the style sheet is inline, so the file can be opened from disk or mailed.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import numpy as np
import pandas as pd
from markupsafe import escape
from matplotlib.figure import Figure

from mlpilot.atomic import write_text
from mlpilot.explore.page import CSS, DOCUMENT
from mlpilot.explore.style import ACCENT, NEGATIVE, figure_style, new_figure, short, to_png

from . import drift
from .baseline import NUMBER, Baseline
from .result import FeatureCheck, MonitorResult, fmt_number, fmt_share


def _dash(x: float | None) -> str:
    return fmt_number(x, missing="—")


def _share(x: float) -> str:
    return fmt_share(x, missing="—")

#: Bins of the overlaid histograms and categories shown per bar chart.
HIST_BINS = 40
MAX_CATEGORIES = 15
MISSING_LABEL = "(missing)"

EXTRA_CSS = """<style>
.mlx tr.alert td { background: #fdecea; }
.mlx ul.alerts li { margin: 4px 0; }
.mlx .ok { color: #1f6d35; font-weight: 600; }
</style>"""

TEMPLATE = r"""
<div class="mlx">
{{ css }}
{{ extra_css }}
<h1>{{ title }}</h1>
<p class="sub">{{ subtitle }}</p>
<nav><a href="#mlx-summary">Summary</a><a href="#mlx-features">Features</a>
<a href="#mlx-figures">Figures ({{ figures|length }})</a><a href="#mlx-method">Method</a></nav>

<h2 id="mlx-summary">Summary</h2>
<div class="cards">
{% for label, value in cards %}
  <div class="card"><div class="v">{{ value }}</div><div class="k">{{ label }}</div></div>
{% endfor %}
</div>
<p>{% if alerts %}<span class="badge critical">{{ alert_count }}</span>
{% else %}<span class="ok">No alert.</span>{% endif %} {{ summary }}</p>
{% if alerts %}<ul class="alerts">{% for a in alerts %}<li>{{ a }}</li>{% endfor %}</ul>{% endif %}
{% if warnings %}<h3>Warnings</h3>
<ul class="alerts">{% for w in warnings %}
<li><span class="badge warning">warning</span> {{ w }}</li>
{% endfor %}</ul>{% endif %}

<h2 id="mlx-features">Features</h2>
<div class="scroll"><table>
<tr><th></th><th>Feature</th><th class="n">Values</th><th class="n">Missing ref → now</th>
<th class="n">Mean ref → now</th><th class="n">Shift (std)</th><th class="n">Std ref → now</th>
<th>Statistic</th><th class="n">Value</th><th class="n">Threshold</th><th class="n">p-value</th>
<th>New values</th></tr>
{% for r in rows %}
<tr{% if r.alert %} class="alert"{% endif %}>
<td>{% if r.alert %}<span class="badge critical">alert</span>{% endif %}</td>
<td><strong>{{ r.feature }}</strong> <span class="kind">{{ r.kind }}</span></td>
<td class="n">{{ r.n }}</td>
<td class="n">{{ r.missing }}<br><span class="muted">alert &gt; {{ r.missing_at }}</span></td>
<td class="n">{{ r.mean }}</td><td class="n">{{ r.shift }}</td><td class="n">{{ r.std }}</td>
<td>{{ r.statistic }}</td><td class="n">{{ r.value }}</td><td class="n">{{ r.threshold }}</td>
<td class="n">{{ r.p }}</td><td>{{ r.new }}</td></tr>
{% endfor %}
</table></div>

<h2 id="mlx-figures">Alerting features</h2>
{% for fig in figures %}
<figure id="mlx-fig-{{ loop.index }}"><h3>{{ fig.title }}</h3>
<img src="data:image/png;base64,{{ fig.data }}" alt="{{ fig.title }}">
<figcaption>{% for line in fig.caption %}{{ line }}<br>{% endfor %}</figcaption></figure>
{% else %}<p class="none">No feature alerts: nothing to draw.</p>
{% endfor %}

<h2 id="mlx-method">Method</h2>
<ul>{% for line in method %}<li>{{ line }}</li>{% endfor %}</ul>
</div>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(TEMPLATE)






def _row(r: FeatureCheck) -> dict[str, Any]:
    new = ", ".join(r.new_categories[:5]) + (" …" if len(r.new_categories) > 5 else "")
    return {
        "alert": r.alert, "feature": r.feature, "kind": r.kind[:3], "n": f"{r.n_compared:,}",
        "missing": f"{_share(r.missing_share_ref)} → {_share(r.missing_share_now)}",
        "missing_at": _share(r.missing_threshold),
        "mean": (f"{_dash(r.mean_ref)} → {_dash(r.mean_now)}" if r.kind == NUMBER else "—"),
        "shift": (f"{r.mean_shift:+.2f} (±{r.mean_threshold:.2f})"
                  if np.isfinite(r.mean_shift) else "—"),
        "std": (f"{_dash(r.std_ref)} → {_dash(r.std_now)}" if r.kind == NUMBER else "—"),
        "statistic": drift.LABELS.get(r.statistic, r.statistic), "value": _dash(r.value),
        "threshold": _dash(r.threshold), "p": fmt_number(r.p_value, 2, "—"),
        "new": (f"{new} ({_share(r.new_category_share)})" if r.new_categories else ""),
    }


def numeric_overlay(name: str, reference: np.ndarray, current: np.ndarray,
                    row: FeatureCheck) -> Figure:
    """Reference and batch histograms on shared bins (outer 0.5 % of each folded in)."""
    ref, now = reference[np.isfinite(reference)], current[np.isfinite(current)]
    both = np.concatenate([ref, now]) if len(now) else ref
    low = min(np.quantile(ref, 0.005), np.quantile(now, 0.005) if len(now) else np.inf)
    high = max(np.quantile(ref, 0.995), np.quantile(now, 0.995) if len(now) else -np.inf)
    if not high > low:
        low, high = float(both.min()) - 0.5, float(both.max()) + 0.5
    edges = np.linspace(low, high, HIST_BINS + 1)
    fig = new_figure(8, 3.6)
    ax = fig.subplots()
    ref_counts, _ = np.histogram(np.clip(ref, low, high), edges, density=True)
    ax.stairs(ref_counts, edges, fill=True, color=ACCENT, alpha=0.45,
              label=f"training ({len(ref):,} values, {_share(row.missing_share_ref)} missing)")
    if len(now):
        now_counts, _ = np.histogram(np.clip(now, low, high), edges, density=True)
        ax.stairs(now_counts, edges, color=NEGATIVE, linewidth=2,
                  label=f"batch ({len(now):,} values, {_share(row.missing_share_now)} missing)")
    ax.set_xlabel(name)
    ax.set_ylabel("density")
    ax.legend(loc="best")
    ax.set_title(short(name, 60))
    return fig


def category_overlay(name: str, reference: pd.Series, current: pd.Series) -> Figure:
    """Shares of each value (missing included) in the reference and in the batch."""
    ref = reference.fillna(MISSING_LABEL).value_counts(normalize=True)
    now = current.fillna(MISSING_LABEL).value_counts(normalize=True)
    order = (pd.concat([ref, now], axis=1).fillna(0.0).max(axis=1)
             .sort_values(ascending=False).index[:MAX_CATEGORIES])
    labels = [short(v, 28) + (" (new)" if v not in ref.index else "") for v in order]
    y = np.arange(len(order))
    fig = new_figure(8, max(2.4, 0.42 * len(order) + 1.2))
    ax = fig.subplots()
    ax.barh(y + 0.2, ref.reindex(order, fill_value=0.0), height=0.4, color=ACCENT,
            label="training")
    ax.barh(y - 0.2, now.reindex(order, fill_value=0.0), height=0.4, color=NEGATIVE,
            label="batch")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{100 * v:.0f}%")
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("share of rows")
    ax.legend(loc="lower right")
    ax.set_title(short(name, 60))
    return fig


def _figures(result: MonitorResult, baseline: Baseline,
             current: pd.DataFrame) -> list[dict[str, Any]]:
    frame = baseline.canonical(current)
    out = []
    for row in result.features:
        if not row.alert or row.feature not in frame.columns:
            continue
        name = row.feature
        with figure_style():
            if row.kind == NUMBER:
                fig = numeric_overlay(name, baseline.reference[name].to_numpy(dtype=float),
                                      frame[name].to_numpy(dtype=float), row)
            else:
                fig = category_overlay(name, baseline.reference[name], frame[name])
            png = to_png(fig)
        out.append({"title": name, "caption": row.reasons,
                    "data": base64.b64encode(png).decode("ascii")})
    return out


def _method(result: MonitorResult) -> list[str]:
    s = result.settings
    return [
        f"Each threshold is learned from {s.get('n_windows')} windows of the batch's size "
        f"drawn from the {s.get('reference_rows', 0):,} reference (training) rows, each "
        "compared with the rest of the reference: the alert level is the "
        f"{100 * s.get('quantile', 0):g}th percentile q of those values plus "
        f"{s.get('margin')} × (q − median), so healthy batches rarely cross it.",
        f"Batches under {s.get('small_rows', drift.SMALL_ROWS):,} rows: Kolmogorov–Smirnov "
        "for numbers, chi² for categories (p-values shown, not used to alert). Larger "
        f"batches: {drift.LABELS.get(s.get('numeric_large', drift.PSI), 'PSI')} for numbers "
        "(decile bins of the reference), Jensen–Shannon distance for categories.",
        "Missing values alert when their share exceeds what reference windows show (and by "
        "at least one percentage point); the mean when it moves further, in reference "
        "standard deviations, than windows do. A changed spread only warns.",
        f"Values never seen in training alert from {_share(s.get('new_category_share', 0.01))} "
        f"of a column's values (and {s.get('new_category_rows', 2)} rows); fewer only warn.",
    ]


def render(result: MonitorResult, baseline: Baseline, current: pd.DataFrame, *,
           title: str = "Input drift report") -> str:
    """The report as one HTML document."""
    s = result.settings
    n_rows = result.n_rows
    small = n_rows < s.get("small_rows", drift.SMALL_ROWS)
    stats_used = ("KS / chi²" if small else
                  f"{drift.LABELS.get(s.get('numeric_large', drift.PSI), 'PSI')} / JS")
    cards = [("rows checked", f"{n_rows:,}"), ("features", f"{len(result.features)}"),
             ("alerts", f"{len(result.alerts)}"), ("warnings", f"{len(result.warnings)}"),
             ("statistics", stats_used), ("reference rows", f"{len(baseline.reference):,}")]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = _TEMPLATE.render(
        css=markupsafe.Markup(CSS), extra_css=markupsafe.Markup(EXTRA_CSS), title=title,
        subtitle=(f"{n_rows:,} rows checked against a baseline of {baseline.n_rows:,} training "
                  f"rows · {stamp}"),
        cards=cards, summary=result.summary(),
        alert_count=f"{len(result.alerts)} alert" + ("s" if len(result.alerts) > 1 else ""),
        alerts=[a.message for a in result.alerts],
        warnings=[w.message for w in result.warnings],
        rows=[_row(r) for r in result.features], figures=_figures(result, baseline, current),
        method=_method(result))
    return DOCUMENT.format(title=escape(title), body=body)


def write_report(result: MonitorResult, baseline: Baseline, current: pd.DataFrame,
                 path: str | os.PathLike[str], *, title: str = "Input drift report") -> Path:
    """Write the self-contained HTML report to ``path`` (atomically); returns the path."""
    return write_text(path, render(result, baseline, current, title=title))
