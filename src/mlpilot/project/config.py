"""``mlpilot.toml``: the project's settings, validated by pydantic, written with comments."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlpilot.atomic import write_text
from mlpilot.errors import ConfigError

CONFIG_FILE = "mlpilot.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Strict):
    source: str = Field(description="a CSV/Parquet path (relative to the project), a catalog "
                                    "dataset name, or a SQLAlchemy URL")
    kind: Literal["csv", "parquet", "sql", "catalog"] | None = Field(
        None, description="how to read source; guessed from it when absent")
    query: str | None = Field(None, description="SQL query, for a SQLAlchemy URL source")
    encoding: str = Field("utf-8", description="text encoding of a CSV source")
    id_column: str | None = Field(None, description="a column unique per row; rows are keyed "
                                                    "by it (and the hash split uses it)")


class SplitConfig(_Strict):
    strategy: Literal["auto", "random", "stratified", "hash", "time"] = Field(
        "auto", description="auto: hash when id_column is set, else stratified (on the "
                            "target, or a binned strong predictor for regression)")
    test_size: float = Field(0.2, gt=0, lt=1, description="share of rows set aside for the test")
    stratify_on: str | None = Field(None, description="regression: the column to bin and "
                                                      "stratify on (default: strongest predictor)")
    bins: list[float] | None = Field(None, description="bin edges for stratify_on "
                                                       "(default: 5 quantile bins)")
    time_column: str | None = Field(None, description="for strategy = 'time': the latest rows "
                                                      "become the test set")


class PrepareConfig(_Strict):
    imputer: Literal["median", "knn", "iterative"] = Field(
        "median", description="how numeric gaps are filled")
    n_clusters: int = Field(10, ge=1, description="k-means clusters for latitude/longitude "
                                                  "similarity features")
    pca: float | None = Field(
        None, gt=0, description="PCA after scaling for linear models, SVMs, kNN and neural nets: "
                                "a share of variance to keep (0.95) or a number of components; "
                                "trees never get it (rotated axes hurt them, book ch. 8)")
    ratios: Literal["auto", "none"] = Field(
        "auto", description="auto: try ratios of count-like columns, keep those that help CV")
    columns: dict[str, Literal["numeric", "log", "onehot", "target", "ordinal", "datetime",
                               "geo", "drop"]] = Field(
        default_factory=dict, description="per-column treatment overrides, e.g. "
                                          "total_rooms = \"log\", notes = \"drop\"")

    @field_validator("pca")
    @classmethod
    def _pca_share_or_count(cls, value: float | None) -> float | None:
        if value is not None and value >= 1 and not float(value).is_integer():
            raise ValueError("pca is a share of variance below 1 (0.95) or a whole number of "
                             "components (20)")
        return value


class ProjectConfig(_Strict):
    name: str = Field(description="a name for people")
    target: str | list[str] = Field(description="the column to predict (a list: multilabel)")
    task: Literal["auto", "regression", "binary", "multiclass", "multilabel"] = Field(
        "auto", description="inferred from the target when auto")
    metric: str = Field("auto", description="rmse, mae, r2, roc_auc, log_loss, accuracy, "
                                            "f1_macro ... (auto: the task's default)")
    seed: int = Field(42, description="one seed for splits, folds and models: same seed, "
                                      "same leaderboard")
    budget: float = Field(120.0, gt=0, description="seconds for the model search")
    cv_folds: int = Field(5, ge=2, le=50, description="k of k-fold cross-validation")
    n_jobs: int = Field(-1, description="parallel workers (-1: all cores)")
    models: list[str] | None = Field(None, description="candidate models to shortlist "
                                                       "(default: the zoo's choice for the task "
                                                       "and table size; `mlpilot models zoo`)")
    ensemble: bool = Field(True, description="try an ensemble of the best models; kept only "
                                             "when cross-validation says it helps")
    dask: str | None = Field(None, description="address of a Dask scheduler (tcp://host:8786) "
                                               "to run cross-validation and tuning on")
    database_url: str | None = Field(None, description="SQLAlchemy URL of the state database "
                                                       "(default: SQLite in .mlpilot/)")
    data: DataConfig
    split: SplitConfig = Field(default_factory=SplitConfig)
    prepare: PrepareConfig = Field(default_factory=PrepareConfig)

    @field_validator("target")
    @classmethod
    def _target_not_empty(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(value) == 1:
            return value[0]
        if not value:
            raise ValueError("target must name a column")
        return value


def load_config(path: Path) -> ProjectConfig:
    if not path.exists():
        raise ConfigError(f"no {CONFIG_FILE} in {path.parent}",
                          "run `mlpilot init DIR --data FILE --target COLUMN`, or pass --project")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", "fix the syntax") from None
    return validate_config(raw, str(path))


def validate_config(raw: dict[str, Any], origin: str = CONFIG_FILE) -> ProjectConfig:
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{origin}: {where}: {first['msg']}",
                          f"{exc.error_count()} problem(s); see the comments in {CONFIG_FILE}"
                          ) from None


def render_config(config: ProjectConfig) -> str:
    """TOML with a comment above each key, so the file documents itself."""
    lines = ["# mlpilot project settings. Edit and re-run; see `mlpilot --help`.", ""]
    data = config.model_dump(exclude_none=True)
    _render_table(lines, ProjectConfig, {k: v for k, v in data.items() if not isinstance(v, dict)})
    for table, model in (("data", DataConfig), ("split", SplitConfig),
                         ("prepare", PrepareConfig)):
        values = data.get(table, {})
        lines += ["", f"[{table}]"]
        _render_table(lines, model, {k: v for k, v in values.items() if not isinstance(v, dict)})
        for key, sub in values.items():
            if isinstance(sub, dict):
                lines += ["", f"# {model.model_fields[key].description}",
                          f"[{table}.{key}]"]
                lines += [tomli_w.dumps({k: v}).strip() for k, v in sub.items()]
    return "\n".join(lines) + "\n"


def _render_table(lines: list[str], model: type[BaseModel], values: dict[str, Any]) -> None:
    for key, field in model.model_fields.items():
        unset = key not in values
        if unset and (field.default is not None or field.is_required()):
            continue
        if field.description:
            lines.append(f"# {field.description}")
        # TOML has no null: an option that is off by default is shown commented out.
        lines.append(f"# {key} = (unset)" if unset else tomli_w.dumps({key: values[key]}).strip())


def save_config(config: ProjectConfig, path: Path) -> None:
    write_text(path, render_config(config))
