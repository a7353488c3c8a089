"""The exploration report as one self-contained HTML page (jinja2, template inline).

Figures are embedded as ``data:image/png;base64`` URIs and the style sheet is inline, so the
file opens from disk, is readable offline and can be mailed as is. All CSS is scoped under
``.mlx`` so the same markup can be shown inside a Jupyter notebook.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import jinja2
import markupsafe
import numpy as np
from markupsafe import escape

from .flags import pct

if TYPE_CHECKING:
    from .report import Exploration

#: Figure name → (title, caption); figures are shown in this order.
FIGURE_TEXT: dict[str, tuple[str, str]] = {
    "image_samples": (
        "Sample images",
        "Training images with their class above each (the book's Figure 10-10): one column "
        "per class when there are at most ten. Look for mislabelled, empty or odd images."),
    "class_means": (
        "Mean image per class",
        "Each pixel averaged over the class's training images (the count under the name): "
        "classes with similar mean images are the ones a model will confuse."),
    "class_balance": (
        "Class balance",
        "Training rows per class with their share. Balanced classes make accuracy a fair "
        "measure; otherwise look at per-class recall."),
    "target_correlation": (
        "Correlation with the target",
        "Bars: Pearson (linear) correlation; dots: Spearman (rank, any monotonic relation). "
        "A large gap between the two hints at a non-linear relation or outliers."),
    "correlation_heatmap": (
        "Correlation matrix",
        "Pearson correlation between the numeric columns. Strongly correlated features carry "
        "the same information; consider ratios or keeping one of them."),
    "histograms": (
        "Histograms",
        "50 bins per numeric column (bins saved in the statistics as the monitoring "
        "baseline). Look for tails, caps (a tall bar at an edge) and several peaks."),
    "categories": (
        "Category counts",
        "The 20 most frequent values of each category column. Rare values may deserve "
        "grouping."),
    "geo_scatter": (
        "Geographic scatter",
        "Every row at its coordinates, alpha 0.2 so dense areas stand out (the book's "
        "Figure 2-13)."),
    "geo_scatter_2": ("Geographic scatter (second pair)", "Every row at its coordinates."),
    "scatter_matrix": (
        "Scatter matrix",
        "The target and its most correlated features against each other; histograms on the "
        "diagonal."),
    "target_vs_strongest": (
        "Target against its strongest feature",
        "Alpha 0.1 (the book's Figure 2-15): horizontal lines are values the target "
        "piles up at (caps, rounding), worth a look before training."),
}
CORRELATION_FIGURES = ("target_correlation", "correlation_heatmap")

#: The style sheet of every mlpilot HTML page (exploration, evaluation report), defined once.
CSS = r"""
<style>
.mlx { --ink:#1d2530; --muted:#5b6675; --line:#dfe3e8; --soft:#f5f7f9; --accent:#1f6fb2;
  --crit:#b3261e; --warn:#b06000; --info:#2f6f9f;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: var(--ink); line-height: 1.5; font-size: 15px; max-width: 1200px;
  margin: 0 auto; padding: 8px 24px 48px; background: #fff; }
.mlx h1 { font-size: 26px; margin: 18px 0 2px; }
.mlx h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 6px;
  border-bottom: 2px solid var(--line); }
.mlx h3 { font-size: 16px; margin: 22px 0 8px; }
.mlx .sub { color: var(--muted); margin: 0 0 12px; }
.mlx nav { position: sticky; top: 0; background: rgba(255,255,255,.96); padding: 8px 0;
  border-bottom: 1px solid var(--line); z-index: 2; }
.mlx nav a { color: var(--accent); text-decoration: none; margin-right: 18px; font-weight: 600;
  font-size: 14px; }
.mlx .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(165px, 1fr));
  gap: 10px; margin: 12px 0; }
.mlx .card { background: var(--soft); border: 1px solid var(--line); border-radius: 8px;
  padding: 10px 14px; }
.mlx .card .v { font-size: 20px; font-weight: 700; overflow-wrap: anywhere; }
.mlx .card .v.t { font-size: 15px; line-height: 1.9; }
.mlx .card .k { color: var(--muted); font-size: 12.5px; text-transform: uppercase;
  letter-spacing: .03em; }
.mlx table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 6px 0 14px; }
.mlx th, .mlx td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left;
  vertical-align: top; }
.mlx th { background: var(--soft); font-weight: 600; white-space: nowrap; }
.mlx td.n, .mlx th.n { text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }
.mlx tr.target td { background: #fff8e6; }
.mlx .scroll { overflow-x: auto; }
.mlx code, .mlx .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12.5px; }
.mlx .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 11.5px;
  font-weight: 700; color: #fff; text-transform: uppercase; letter-spacing: .03em; }
.mlx .critical { background: var(--crit); } .mlx .warning { background: var(--warn); }
.mlx .info { background: var(--info); }
.mlx .kind { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px;
  background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 0 5px;
  white-space: nowrap; }
.mlx td.sugg { color: #1f4d2c; }
.mlx .vc { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr));
  gap: 6px 22px; }
.mlx .bar { display: inline-block; height: 10px; background: var(--accent); opacity: .75;
  border-radius: 2px; vertical-align: middle; }
.mlx .bar.neg { background: #d0543a; }
.mlx figure { margin: 18px 0 30px; }
.mlx figure img { max-width: 100%; height: auto; border: 1px solid var(--line);
  border-radius: 6px; display: block; }
.mlx figcaption { color: var(--muted); font-size: 13.5px; margin-top: 6px; max-width: 900px; }
.mlx details { margin: 8px 0; color: var(--muted); font-size: 13.5px; }
.mlx .none { color: var(--muted); font-style: italic; }
.mlx .muted { color: var(--muted); }
</style>
"""

TEMPLATE = r"""
<div class="mlx">
{{ css }}

<h1>{{ title }}</h1>
<p class="sub">{{ subtitle }}</p>
<nav>
  <a href="#mlx-overview">Overview</a><a href="#mlx-flags">Flags ({{ flags|length }})</a>
  <a href="#mlx-columns">Columns</a><a href="#mlx-correlations">Correlations</a>
  <a href="#mlx-figures">Figures</a>
</nav>

<h2 id="mlx-overview">Overview</h2>
<div class="cards">
{% for label, value in cards %}
  <div class="card"><div class="v{% if label == 'target' %} t{% endif %}">{{ value }}</div>
  <div class="k">{{ label }}</div></div>
{% endfor %}
</div>
<p>Column kinds: {{ kinds }}.{% if geo %} Coordinates: {{ geo }}.{% endif %}</p>
{% if image %}
<p><strong>The rows are images:</strong> {{ image }}. They are explored as images (samples,
mean image per class) rather than column by column; per-pixel statistics are still saved
in the statistics (the monitoring baseline).</p>
{% endif %}
<p class="muted">Computed from the {{ n_rows }} rows given (the training set only: the test set
stays unseen). The statistics below are saved as the monitoring baseline.</p>

<h2 id="mlx-flags">Flags</h2>
{% if flags %}
<p>{% for sev, n in severity_counts %}<span class="badge {{ sev }}">{{ n }} {{ sev }}</span>
{% endfor %}</p>
<div class="scroll"><table>
<tr><th></th><th>Column</th><th>Flag</th><th>Evidence</th><th>Suggestion</th></tr>
{% for f in flags %}
<tr><td><span class="badge {{ f.severity }}">{{ f.severity }}</span></td>
<td><strong>{{ f.column if f.column is not none else "(table)" }}</strong></td>
<td><span class="kind">{{ f.kind }}</span></td><td>{{ f.evidence }}</td>
<td class="sugg">{{ f.suggestion }}</td></tr>
{% endfor %}
</table></div>
{% else %}<p class="none">Nothing flagged.</p>{% endif %}
<details><summary>How flags are decided</summary><ul>
{% for line in rules %}<li>{{ line }}</li>{% endfor %}
</ul></details>

<h2 id="mlx-columns">Columns</h2>
<h3>Structure</h3>
{% if image %}
<p class="muted">The {{ image_pixels }} pixel columns are not listed one by one; the columns
below are the others.</p>
{% endif %}
<div class="scroll"><table>
<tr><th>Column</th><th>Kind</th><th>dtype</th><th class="n">Non-null</th>
<th class="n">Missing</th><th class="n">Unique</th><th class="n">Memory</th>
<th>Why this kind</th></tr>
{% for r in structure %}
<tr{% if r.column == target %} class="target"{% endif %}><td><strong>{{ r.column }}</strong>
{% if r.column == target %} <span class="muted">(target)</span>{% endif %}</td>
<td><span class="kind">{{ r.kind }}</span></td><td class="mono">{{ r.dtype }}</td>
<td class="n">{{ r.non_null }}</td><td class="n">{{ r.missing }}</td>
<td class="n">{{ r.unique }}</td><td class="n">{{ r.memory }}</td>
<td class="muted">{{ r.why }}</td></tr>
{% endfor %}
</table></div>

{% if describe_rows %}
<h3>Numeric summary (<code>describe()</code>)</h3>
<div class="scroll"><table>
<tr><th>Column</th>{% for h in describe_head %}<th class="n">{{ h }}</th>{% endfor %}
<th class="n">skew</th></tr>
{% for name, cells, skew in describe_rows %}
<tr{% if name == target %} class="target"{% endif %}><td><strong>{{ name }}</strong></td>
{% for c in cells %}<td class="n">{{ c }}</td>{% endfor %}<td class="n">{{ skew }}</td></tr>
{% endfor %}
</table></div>
{% endif %}

{% if value_counts %}
<h3>Category values (top {{ top_values }})</h3>
<div class="vc">
{% for name, rows, n_unique in value_counts %}
<div><table>
<tr><th>{{ name }} <span class="muted">({{ n_unique }} distinct)</span></th>
<th class="n">Count</th><th class="n">Share</th><th></th></tr>
{% for value, count, share, width in rows %}
<tr><td>{{ value }}</td><td class="n">{{ count }}</td><td class="n">{{ share }}</td>
<td style="width:90px"><span class="bar" style="width:{{ width }}px"></span></td></tr>
{% endfor %}
</table></div>
{% endfor %}
</div>
{% endif %}

<h2 id="mlx-correlations">Correlations</h2>
{% if correlations %}
<p>Correlation of each feature with <strong>{{ target }}</strong>, sorted by |Pearson|.
Correlation only measures linear (Pearson) or monotonic (Spearman) relations.</p>
<div class="scroll"><table style="max-width:760px">
<tr><th>Feature</th><th class="n">Pearson</th><th></th><th class="n">Spearman</th></tr>
{% for name, p, s, width, neg in correlations %}
<tr><td>{{ name }}</td><td class="n">{{ p }}</td>
<td style="width:130px">
<span class="bar{% if neg %} neg{% endif %}" style="width:{{ width }}px"></span></td>
<td class="n">{{ s }}</td></tr>
{% endfor %}
</table></div>
{% else %}
<p class="none">{{ no_correlation_reason }}</p>
{% endif %}
{% for fig in correlation_figures %}
<figure id="mlx-fig-{{ fig.name }}"><h3>{{ fig.title }}</h3>
<img src="data:image/png;base64,{{ fig.data }}" alt="{{ fig.title }}">
<figcaption>{{ fig.caption }}</figcaption></figure>
{% endfor %}

<h2 id="mlx-figures">Figures</h2>
{% for fig in other_figures %}
<figure id="mlx-fig-{{ fig.name }}"><h3>{{ fig.title }}</h3>
<img src="data:image/png;base64,{{ fig.data }}" alt="{{ fig.title }}">
<figcaption>{{ fig.caption }}</figcaption></figure>
{% else %}<p class="none">No figures were drawn.</p>
{% endfor %}
</div>
"""

DOCUMENT = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="margin:0">
{body}
</body></html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(TEMPLATE)


def _num(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "—"
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:,.1f}"
    return f"{x:.{digits}g}"


def _memory(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:,.0f} {unit}" if unit == "B" else f"{n_bytes:,.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} GB"


def _figure(name: str, png: bytes) -> dict[str, str]:
    base = name.split(":")[0]
    title, caption = FIGURE_TEXT.get(base, (name.replace("_", " ").capitalize(), ""))
    return {"name": name, "title": title, "caption": caption,
            "data": base64.b64encode(png).decode("ascii")}


def context(exp: Exploration) -> dict[str, Any]:
    """Everything the template shows, as plain strings and numbers."""
    stats = exp.stats
    cols = stats["columns"]
    n_rows = stats["n_rows"]
    missing_cells = sum(c["missing"] for c in cols.values())
    cards = [
        ("rows", f"{n_rows:,}"),
        ("columns", f"{stats['n_columns']:,}"),
        ("memory", _memory(stats["memory_bytes"])),
        ("missing cells", f"{missing_cells:,}"),
        ("duplicate rows", f"{stats['n_duplicate_rows']:,}"),
        ("target", exp.target or "none"),
    ]
    kinds: dict[str, int] = {}
    for c in cols.values():
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    kinds_text = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
    geo = ", ".join(f"{lat} / {lon}" for lat, lon in exp.schema.geo_pairs)

    severity_counts = []
    for sev in ("critical", "warning", "info"):
        n = sum(1 for f in exp.flags if str(f.severity) == sev)
        if n:
            severity_counts.append((sev, n))

    structure = [
        {"column": r.column, "kind": r.kind, "dtype": r.dtype, "non_null": f"{r.non_null:,}",
         "missing": f"{r.missing:,}" if r.missing else "0",
         "unique": f"{r.unique:,}", "memory": _memory(r.memory_kb * 1024), "why": r.why}
        for r in exp.structure.itertuples(index=False)
    ]
    describe_head = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"]
    describe_rows = []
    for name, row in exp.describe.iterrows():
        skew = cols.get(str(name), {}).get("skew")
        describe_rows.append((str(name), [_num(row.get(h), 4 if h in ("mean", "std") else 7)
                                          for h in describe_head],
                              "—" if skew is None else f"{skew:.2f}"))

    value_counts = []
    for name, series in exp.value_counts.items():
        total = max(n_rows, 1)
        peak = max(int(series.max()), 1) if len(series) else 1
        rows = [(str(v), f"{int(c):,}", pct(c / total), int(80 * c / peak))
                for v, c in series.items()]
        value_counts.append((name, rows, f"{cols[name]['n_unique']:,}"))

    correlations = []
    reason = "No target given: correlations with the target are not computed."
    if exp.correlations is not None:
        for name, row in exp.correlations.iterrows():
            p = float(row["pearson"])
            correlations.append((str(name), f"{p:+.3f}", f"{float(row['spearman']):+.3f}",
                                 round(120 * abs(p)), p < 0))
        if exp.correlations.empty:
            reason = "No numeric feature to correlate with the target."
    elif exp.target is not None:
        reason = (f"The target {exp.target} is not numeric (nor binary): correlation with it "
                  "is not defined. Look at the category counts instead.")
    if exp.image is not None:
        reason = ("The rows are images: the correlation of a single pixel with the target "
                  "says little. The mean image per class (below) shows what differs between "
                  "classes.")

    figures = [_figure(n, png) for n, png in _ordered(exp.figures)]
    return {
        "title": f"Exploration of {exp.name}" if exp.name else "Data exploration",
        "subtitle": (f"{n_rows:,} rows × {stats['n_columns']:,} columns"
                     + (f" · target: {exp.target}" if exp.target else " · no target")),
        "n_rows": f"{n_rows:,}",
        "cards": cards, "kinds": kinds_text, "geo": geo,
        "flags": [f.to_dict() for f in exp.flags], "severity_counts": severity_counts,
        "rules": exp.rules, "structure": structure, "target": exp.target,
        "describe_head": describe_head, "describe_rows": describe_rows,
        "value_counts": value_counts, "top_values": 20,
        "correlations": correlations, "no_correlation_reason": reason,
        "correlation_figures": [f for f in figures if f["name"] in CORRELATION_FIGURES],
        "other_figures": [f for f in figures if f["name"] not in CORRELATION_FIGURES],
        "image": exp.image.description if exp.image is not None else None,
        "image_pixels": f"{exp.image.n_pixels:,}" if exp.image is not None else "",
    }


def _ordered(figures: dict[str, bytes]) -> list[tuple[str, bytes]]:
    order = {name: i for i, name in enumerate(FIGURE_TEXT)}
    return sorted(figures.items(), key=lambda kv: order.get(kv[0], len(order)))


def render_fragment(exp: Exploration) -> str:
    """The report as an HTML fragment (for Jupyter)."""
    return _TEMPLATE.render(css=markupsafe.Markup(CSS), **context(exp))


def render_document(exp: Exploration) -> str:
    """The report as a complete, self-contained HTML document."""
    title = escape(f"Exploration of {exp.name}" if exp.name else "Data exploration")
    return DOCUMENT.format(title=title, body=render_fragment(exp))
