"""The spine's baseline preprocessing: impute, one-hot (unknowns ignored), scale.

Built from the schema so every column's treatment is explicit; columns a model cannot use
as they are (identifiers, free text, dates) are left out with the reason recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlpilot.data.schema import NUMERIC_KINDS, ColumnKind, Schema

#: One-hot columns beyond this many categories are grouped into "infrequent".
MAX_ONE_HOT_CATEGORIES = 30

_DROP_REASONS = {
    ColumnKind.ID: "an identifier: it names rows, it does not describe them",
    ColumnKind.TEXT: "free text: needs a text model (not in the baseline)",
    ColumnKind.DATETIME: "a date: date parts come with the full preparation step",
}


@dataclass
class FeaturePlan:
    """Which columns are used, how, and which are left out (with why)."""

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def used(self) -> list[str]:
        return self.numeric + self.categorical


def plan_features(schema: Schema, targets: list[str] | tuple[str, ...]) -> FeaturePlan:
    plan = FeaturePlan()
    for col in schema.columns.values():
        if col.name in targets:
            continue
        if col.kind in _DROP_REASONS:
            plan.dropped[col.name] = _DROP_REASONS[col.kind]
        elif col.n_missing == schema.n_rows:
            plan.dropped[col.name] = "all values missing"
        elif col.kind in NUMERIC_KINDS or (col.kind == ColumnKind.BOOLEAN
                                           and _is_numeric_dtype(col.dtype)):
            plan.numeric.append(col.name)
        else:
            plan.categorical.append(col.name)
    return plan


def _is_numeric_dtype(dtype: str) -> bool:
    return dtype.startswith(("int", "uint", "float", "bool", "Int", "UInt", "Float"))


def baseline_preprocessor(plan: FeaturePlan) -> ColumnTransformer:
    """The book's baseline: median imputation + standardization; mode + one-hot."""
    transformers = []
    if plan.numeric:
        transformers.append(("num", make_pipeline(SimpleImputer(strategy="median"),
                                                  StandardScaler()), plan.numeric))
    if plan.categorical:
        transformers.append(("cat", make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                          max_categories=MAX_ONE_HOT_CATEGORIES)), plan.categorical))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
