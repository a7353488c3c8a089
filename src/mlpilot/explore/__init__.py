"""Explore the data (the book's chapter 2): statistics, flags and figures for any table.

>>> exploration = explore(train_frame, target="median_house_value")
>>> exploration.flags_of("capped")
>>> exploration.to_html("explore.html"); exploration.to_json("baseline.json")
"""

from __future__ import annotations

from .api import explore
from .flags import Flag, FlagKind, Severity, find_modes
from .report import Exploration

__all__ = ["Exploration", "Flag", "FlagKind", "Severity", "explore", "find_modes"]
