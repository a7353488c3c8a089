"""One self-contained HTML page for every unsupervised report (same look as the others).

A report is a title, summary cards, and sections; a section holds sentences, tables and
figures. Figures are matplotlib ``Figure`` objects rendered to embedded PNGs, so the file
opens from disk and can be mailed as is. The style sheet is the exploration page's.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import markupsafe
import pandas as pd
from markupsafe import escape
from matplotlib.figure import Figure

from mlpilot.atomic import write_text
from mlpilot.explore.page import CSS, DOCUMENT
from mlpilot.explore.style import to_png

__all__ = ["Figure", "Section", "render_page", "write_page"]

#: Rows shown per table; longer tables say how many were left out.
MAX_TABLE_ROWS = 60


@dataclass
class Section:
    """A heading, a few sentences, tables (title → frame) and figures (title, figure, caption)."""

    title: str
    text: Sequence[str] = ()
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: Sequence[tuple[str, Figure | bytes, str]] = ()


TEMPLATE = r"""
<div class="mlx">
{{ css }}
<h1>{{ title }}</h1>
<p class="sub">{{ subtitle }}</p>
<nav>{% for s in sections %}<a href="#mlx-s{{ loop.index }}">{{ s.title }}</a>{% endfor %}</nav>
{% if cards %}<div class="cards">
{% for label, value in cards %}
  <div class="card"><div class="v">{{ value }}</div><div class="k">{{ label }}</div></div>
{% endfor %}
</div>{% endif %}
{% for s in sections %}
<h2 id="mlx-s{{ loop.index }}">{{ s.title }}</h2>
{% for line in s.text %}<p>{{ line }}</p>{% endfor %}
{% for t in s.tables %}
{% if t.title %}<h3>{{ t.title }}</h3>{% endif %}
<div class="scroll">{{ t.html }}</div>
{% if t.more %}<p class="sub">… {{ t.more }} more rows not shown.</p>{% endif %}
{% endfor %}
{% for fig in s.figures %}
<figure><h3>{{ fig.title }}</h3>
<img src="data:image/png;base64,{{ fig.data }}" alt="{{ fig.title }}">
<figcaption>{{ fig.caption }}</figcaption></figure>
{% endfor %}
{% endfor %}
</div>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(TEMPLATE)


def _table(title: str, frame: pd.DataFrame) -> dict[str, object]:
    shown = frame.head(MAX_TABLE_ROWS)
    html = shown.to_html(border=0, float_format=lambda x: f"{x:,.4g}", na_rep="—",
                         escape=True)
    return {"title": title, "html": markupsafe.Markup(html),
            "more": max(0, len(frame) - MAX_TABLE_ROWS)}


def _figure(title: str, fig: Figure | bytes, caption: str) -> dict[str, str]:
    png = fig if isinstance(fig, bytes) else to_png(fig)
    return {"title": title, "data": base64.b64encode(png).decode("ascii"), "caption": caption}


def render_page(title: str, sections: Sequence[Section], *,
                cards: Sequence[tuple[str, str]] = (), subtitle: str = "") -> str:
    """The report as one HTML document."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = _TEMPLATE.render(
        css=markupsafe.Markup(CSS), title=title,
        subtitle=f"{subtitle} · {stamp}" if subtitle else stamp, cards=list(cards),
        sections=[{"title": s.title, "text": list(s.text),
                   "tables": [_table(k, v) for k, v in s.tables.items()],
                   "figures": [_figure(*f) for f in s.figures]} for s in sections])
    return DOCUMENT.format(title=escape(title), body=body)


def write_page(path: str | os.PathLike[str], title: str, sections: Sequence[Section], *,
               cards: Sequence[tuple[str, str]] = (), subtitle: str = "") -> Path:
    """Write the page atomically to ``path``; returns the path."""
    return write_text(path, render_page(title, sections, cards=cards, subtitle=subtitle))
