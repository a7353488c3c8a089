"""Optional ONNX export: served with onnxruntime only after a numeric parity check.

An ONNX file is a declarative graph (no code runs when it is loaded) and onnxruntime
predicts small batches faster than a scikit-learn pipeline, so a model that converts
cleanly is worth serving that way. But a conversion can be silently wrong: float32
arithmetic, a category mapped differently, a missing value treated another way. So the
ONNX model is used only when it gives the same answers as the skops model on held-out
rows (plus edge rows: a missing value in each column, an unseen category); otherwise the
skops model is served and :class:`OnnxDecision` says why, in one sentence.

Most mlpilot pipelines do not convert: they start with mlpilot's own transformers
(``DataCleaner``, ``RatioFeatures``...), which have no skl2onnx converter, and LightGBM /
XGBoost need the converters of ``onnxmltools`` (not a dependency). The decision names the
first class that stops the conversion.

``skl2onnx``, ``onnx`` and ``onnxruntime`` are the optional extra ``mlpilot[onnx]``; they
are imported inside the functions, so mlpilot works without them.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.utils.metaestimators import available_if

from mlpilot.atomic import sha256_file, write_bytes
from mlpilot.errors import ArtifactIntegrityError, DataQualityWarning, MlpilotError

__all__ = [
    "EDGE_UNSEEN",
    "FLOAT",
    "STRING",
    "OnnxDecision",
    "OnnxExport",
    "OnnxExportError",
    "OnnxPredictor",
    "ParityResult",
    "decide_onnx",
    "edge_rows",
    "export_onnx",
    "input_kinds",
    "parity_check",
    "unconvertible_steps",
]

FLOAT, STRING = "float", "string"
#: The category sent in the unseen-category edge rows (no real data uses it).
EDGE_UNSEEN = "__mlpilot_unseen__"
#: skl2onnx writes a NaN category as the string "nan" (``str(np.nan)``): missing values in
#: string inputs are sent as that, so that an encoder that learned a NaN category finds it.
MISSING_STRING = "nan"
#: Keys of the ONNX model's ``metadata_props`` that make the file self-describing.
META_COLUMNS, META_CLASSES, META_TASK = "mlpilot.columns", "mlpilot.classes", "mlpilot.task"
META_PROBA = "mlpilot.predict_proba"
#: Third-party families whose converters live in onnxmltools (not installed by mlpilot).
_ONNXMLTOOLS = ("lightgbm", "xgboost", "catboost")
_INSTALL_HINT = "install the optional extra: pip install 'mlpilot[onnx]'"


class OnnxExportError(MlpilotError):
    """The model cannot be converted to ONNX (or the ONNX packages are not installed)."""

    def __init__(self, message: str, hint: str | None = None,
                 offending: Sequence[str] = ()) -> None:
        super().__init__(message, hint)
        self.offending = tuple(offending)


@dataclass(frozen=True)
class OnnxExport:
    """A written ONNX file: where, its checksum, and the input columns with their kind."""

    path: Path
    sha256: str
    columns: tuple[tuple[str, str], ...]  # (name, "float" | "string") in training order
    task: str  # "regression" | "classification"


@dataclass(frozen=True)
class ParityResult:
    """How far the ONNX answers are from the skops model's, row by row."""

    ok: bool
    max_abs_diff: float
    max_rel_diff: float
    n_rows: int
    n_label_mismatches: int = 0

    def __iter__(self) -> Iterator[Any]:  # ``ok, max_abs, max_rel = parity_check(...)``
        return iter((self.ok, self.max_abs_diff, self.max_rel_diff))


@dataclass(frozen=True)
class OnnxDecision:
    """Whether the service should run the ONNX model, and one sentence saying why."""

    use_onnx: bool
    reason: str
    max_abs_diff: float | None
    max_rel_diff: float | None
    n_rows: int
    path: Path | None
    sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = None if self.path is None else str(self.path)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OnnxDecision:
        path = data.get("path")
        return cls(use_onnx=bool(data["use_onnx"]), reason=str(data["reason"]),
                   max_abs_diff=data.get("max_abs_diff"), max_rel_diff=data.get("max_rel_diff"),
                   n_rows=int(data.get("n_rows", 0)), path=None if path is None else Path(path),
                   sha256=data.get("sha256"))


# ---------------------------------------------------------------------- export
def input_kinds(X: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """Each column's ONNX input kind: numbers and booleans as float, the rest as strings.

    Datetimes have no ONNX input type that the scikit-learn converters accept, so they stop
    the export (mlpilot's ``DatetimeParts`` would stop it anyway).
    """
    kinds = []
    for name in X.columns:
        dtype = X[name].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
            raise OnnxExportError(f"column {name!r} holds datetimes, which ONNX inputs cannot",
                                  "serve the skops model")
        numeric = pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        kinds.append((str(name), FLOAT if numeric else STRING))
    return tuple(kinds)


def unconvertible_steps(model: Any) -> list[str]:
    """Qualified names of the estimators inside ``model`` that skl2onnx has no converter for.

    Walks pipelines, column transformers, feature unions and meta-estimators' fitted
    members, so that the reason names the real culprit (``DataCleaner``), not the pipeline.
    """
    return [_qualified(cls) for cls in _blocked_classes(model)]


def _blocked_classes(model: Any) -> list[type]:
    from skl2onnx._supported_operators import sklearn_operator_name_map

    found: list[type] = []
    for estimator in _estimators(model):
        cls = type(estimator)
        if cls not in sklearn_operator_name_map and cls not in found:
            found.append(cls)
    return found


def _qualified(cls: type) -> str:
    """``mlpilot.features.cleaning.DataCleaner``; private sklearn modules left out."""
    return f"{cls.__module__.split('._')[0]}.{cls.__qualname__}"


def _needs_onnxmltools(cls: type) -> bool:
    return any(base.__module__.split(".")[0] in _ONNXMLTOOLS for base in cls.__mro__)


def _estimators(model: Any) -> Iterator[Any]:
    """``model`` and the fitted estimators it is made of (unsupported ones not opened)."""
    from skl2onnx._supported_operators import sklearn_operator_name_map

    if model is None or isinstance(model, str):  # "drop", "passthrough"
        return
    yield model
    if type(model) not in sklearn_operator_name_map:
        return
    children: list[Any] = []
    if hasattr(model, "steps"):
        children = [step for _, step in model.steps]
    elif hasattr(model, "transformers_"):
        children = [t for _, t, _ in model.transformers_]
    elif hasattr(model, "transformer_list"):
        children = [t for _, t in model.transformer_list]
    else:
        for attr in ("estimators_", "estimator_", "final_estimator_", "best_estimator_"):
            value = getattr(model, attr, None)
            if value is None:
                continue
            children += _flatten(value)
    for child in children:
        yield from _estimators(child)


def _flatten(value: Any) -> list[Any]:
    """Members held in lists or object arrays (gradient boosting keeps a 2-D array of trees)."""
    if isinstance(value, np.ndarray):
        return list(value.ravel())
    if isinstance(value, list | tuple):
        return [item for member in value for item in _flatten(member)]
    return [value]


def export_onnx(model: Any, X_sample: pd.DataFrame, path: Path) -> OnnxExport:
    """Convert a fitted scikit-learn model for DataFrame input and write it atomically.

    ``X_sample`` only gives the columns and their dtypes: each column is one ONNX input of
    shape ``[None, 1]`` (float32 for numbers, string for categories), the way skl2onnx
    converts a ``ColumnTransformer`` over a DataFrame. Classifiers output a probability
    tensor (no ZipMap) so that ``predict_proba`` is an array, as in scikit-learn.
    Raises :class:`OnnxExportError` naming the class that stops the conversion.
    """
    try:
        import onnx
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    except ImportError as exc:
        raise OnnxExportError(f"ONNX export needs skl2onnx and onnx ({exc.name} is missing)",
                              _INSTALL_HINT) from None
    classes = getattr(model, "classes_", None)
    classifier = is_classifier(model)
    if classifier and (classes is None or np.ndim(classes) != 1):
        raise OnnxExportError("multilabel classifiers are not exported to ONNX",
                              "serve the skops model")
    columns = _model_columns(model, X_sample)
    kinds = input_kinds(X_sample[list(columns)])
    blocked = _blocked_classes(model)
    if blocked:
        raise OnnxExportError(f"{_describe(blocked)} no ONNX converter",
                              "serve the skops model",
                              offending=[_qualified(c) for c in blocked])
    types = [(name, FloatTensorType([None, 1]) if kind == FLOAT else StringTensorType([None, 1]))
             for name, kind in kinds]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # converter chatter about opsets and dtypes
            onx = convert_sklearn(model, initial_types=types,
                                  options={"zipmap": False} if classifier else None)
    except Exception as exc:  # skl2onnx raises RuntimeError, TypeError, NotImplementedError...
        offending = re.findall(r"<class '([^']+)'>", str(exc))[:1]
        what = f"{offending[0]} has no ONNX converter" if offending else \
            f"skl2onnx could not convert the model ({type(exc).__name__}: {_short(exc)})"
        raise OnnxExportError(what, "serve the skops model", offending=offending) from exc
    task = "classification" if classifier else "regression"
    props = {META_COLUMNS: json.dumps(kinds), META_TASK: task,
             META_PROBA: json.dumps(classifier and hasattr(model, "predict_proba"))}
    if classifier:
        props[META_CLASSES] = json.dumps(np.asarray(classes).tolist())
    onnx.helper.set_model_props(onx, props)
    write_bytes(path, onx.SerializeToString())
    return OnnxExport(Path(path), sha256_file(path), kinds, task)


def _model_columns(model: Any, X: pd.DataFrame) -> tuple[str, ...]:
    fitted = getattr(model, "feature_names_in_", None)
    names = tuple(str(c) for c in (fitted if fitted is not None else X.columns))
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise OnnxExportError(f"the sample lacks the model's column(s) {missing}",
                              "pass rows with every training column")
    return names


def _describe(classes: Sequence[type]) -> str:
    """``"a.B has"`` / ``"a.B and c.D have"``, with a note for the onnxmltools families."""
    notes = [f"{_qualified(c)} (its converter is in onnxmltools, not installed)"
             if _needs_onnxmltools(c) else _qualified(c) for c in classes]
    if len(notes) == 1:
        return f"{notes[0]} has"
    return f"{', '.join(notes[:-1])} and {notes[-1]} have"


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------- prediction
class OnnxPredictor:
    """An onnxruntime session with the scikit-learn interface the service uses.

    ``predict(X)``, and for classifiers ``classes_`` and (when the model had it)
    ``predict_proba(X)``; ``feature_names_in_`` is the training column order, so
    :class:`~mlpilot.serve.model.ServedModel` lines a request's columns up exactly as for
    the skops model. What it needs (columns and kinds, task, class labels) is stored in the
    ONNX file's metadata by :func:`export_onnx`, so the file alone is enough to serve.
    """

    def __init__(self, session: Any) -> None:
        props = session.get_modelmeta().custom_metadata_map
        if META_COLUMNS not in props:
            raise ArtifactIntegrityError("the ONNX model was not written by mlpilot "
                                         "(no column metadata)", "re-export it")
        self.session = session
        self.columns: tuple[tuple[str, str], ...] = tuple(
            (str(n), str(k)) for n, k in json.loads(props[META_COLUMNS]))
        self.task = props.get(META_TASK, "regression")
        self.has_proba = bool(json.loads(props.get(META_PROBA, "false")))
        self.feature_names_in_ = np.asarray([n for n, _ in self.columns], dtype=object)
        self.n_features_in_ = len(self.columns)
        self._inputs = {i.name for i in session.get_inputs()}  # unused columns are pruned
        if self.task == "classification":
            labels = json.loads(props[META_CLASSES])
            strings = any(isinstance(c, str) for c in labels)
            self.classes_ = np.asarray(labels, dtype=object if strings else None)

    @classmethod
    def load(cls, path: Path, *, sha256: str | None = None, threads: int = 1) -> OnnxPredictor:
        """Open an exported file (checksum first, when given).

        ``threads`` is onnxruntime's intra-op thread count: 1 by default because the service
        already answers requests on parallel threads and small batches gain nothing from
        more (its default, one per core, spin-waits on every call).
        """
        try:
            import onnxruntime as ort
        except ImportError:
            raise OnnxExportError("serving an ONNX model needs onnxruntime",
                                  _INSTALL_HINT) from None
        path = Path(path)
        if sha256 is not None and sha256_file(path) != sha256:
            raise ArtifactIntegrityError(f"{path} does not match the checksum recorded when "
                                         "it was exported",
                                         "re-export it: mlpilot models export-onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return cls(ort.InferenceSession(str(path), sess_options=options,
                                        providers=["CPUExecutionProvider"]))

    def _probabilities(self) -> bool:
        return self.task == "classification" and self.has_proba

    def feed(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """The session's input dict: one ``[n, 1]`` array per column, float32 or string.

        Missing numbers are NaN (the exported imputers replace them); missing strings are
        ``"nan"``, the name skl2onnx gives a category learned from missing values. A column
        absent from ``X`` is sent as all missing.
        """
        feed: dict[str, np.ndarray] = {}
        for name, kind in self.columns:
            if name not in self._inputs:
                continue
            values = X[name] if name in X.columns else pd.Series([None] * len(X), dtype=object)
            feed[name] = _as_input(values, kind)
        return feed

    def _run(self, X: pd.DataFrame) -> list[Any]:
        return list(self.session.run(None, self.feed(X)))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted values (regression, as float64) or labels (classification)."""
        outputs = self._run(X)
        if self.task == "classification":
            labels = np.asarray(outputs[0]).ravel()
            return labels.astype(self.classes_.dtype, copy=False)
        values = np.asarray(outputs[0], dtype=np.float64)
        return values.ravel() if values.ndim == 2 and values.shape[1] == 1 else values

    @available_if(_probabilities)
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        return np.asarray(self._run(X)[1], dtype=np.float64)


def _as_input(values: pd.Series, kind: str) -> np.ndarray:
    """One column as an ``[n, 1]`` input (numpy directly: pandas per call costs ~0.1 ms)."""
    if kind == FLOAT:
        if not (pd.api.types.is_numeric_dtype(values.dtype)
                or pd.api.types.is_bool_dtype(values.dtype)):
            values = pd.to_numeric(values, errors="coerce")  # "12" → 12, "n/a" → NaN
        return values.to_numpy(dtype=np.float32, na_value=np.nan).reshape(-1, 1)
    text = values.to_numpy(dtype=object)
    missing = pd.isna(text)
    return np.array([MISSING_STRING if gone else str(v) for v, gone in zip(text, missing,
                                                                         strict=True)],
                    dtype=object).reshape(-1, 1)


# ---------------------------------------------------------------------- parity
def parity_check(model: Any, onnx_path: Path | OnnxPredictor, X_rows: pd.DataFrame, *,
                 rtol: float = 1e-4, atol: float = 1e-5) -> ParityResult:
    """Compare the ONNX model with ``model`` on ``X_rows``: values, or probabilities + labels.

    A value passes when ``|onnx - sklearn| <= atol + rtol * max(|sklearn|, scale)``, where
    ``scale`` is the median absolute prediction (1 for probabilities). ONNX computes in
    float32 (about 7 significant digits) and its errors are relative to the size of the
    numbers being summed, which is the target's scale rather than one prediction's: a
    prediction near 0 made of terms near 500,000 carries float32 errors near 0.05. The gaps
    measured on converted linear pipelines are below 1e-6 relative; ``rtol=1e-4`` leaves
    room for rounding, while a category or a missing value handled differently moves a
    prediction by a coefficient's size and fails. A label may differ only where the two top
    probabilities are within tolerance of each other (a float32 tie); a classifier without
    ``predict_proba`` must give the same labels on every row.

    Returns a :class:`ParityResult`, which unpacks as ``ok, max_abs, max_rel``.
    """
    onnx_model = onnx_path if isinstance(onnx_path, OnnxPredictor) \
        else OnnxPredictor.load(onnx_path)
    classification = onnx_model.task == "classification"
    with warnings.catch_warnings():  # bad values are the subject of serving, not of parity
        warnings.simplefilter("ignore", DataQualityWarning)
        expected_labels = np.asarray(model.predict(X_rows)) if classification else None
        if classification and onnx_model.has_proba:
            expected = np.asarray(model.predict_proba(X_rows), dtype=np.float64)
        elif classification:
            expected = np.zeros((len(X_rows), 0))
        else:
            expected = np.asarray(model.predict(X_rows), dtype=np.float64)
    if classification:
        got = onnx_model.predict_proba(X_rows) if onnx_model.has_proba else expected
        scale = 1.0
    else:
        got = onnx_model.predict(X_rows)
        finite = np.abs(expected[np.isfinite(expected)])
        scale = float(np.median(finite)) if finite.size else 1.0
    if got.shape != expected.shape:
        return ParityResult(False, float("inf"), float("inf"), len(X_rows))
    diff = np.abs(got - expected)
    diff = np.where(np.isnan(got) & np.isnan(expected), 0.0, diff)
    diff = np.where(np.isnan(diff), np.inf, diff)  # NaN on one side only is a mismatch
    size = np.maximum(np.abs(np.nan_to_num(expected)), scale)
    ok = bool(np.all(diff <= atol + rtol * size))
    mismatches = 0
    if classification and expected_labels is not None:
        wrong = onnx_model.predict(X_rows).astype(str) != expected_labels.astype(str)
        if expected.shape[1] > 1:  # a float32 tie between the top two classes may flip
            top = np.sort(expected, axis=1)
            wrong &= (top[:, -1] - top[:, -2]) > atol + rtol
        mismatches = int(wrong.sum())
        ok = ok and mismatches == 0
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float((diff / size).max()) if diff.size else 0.0
    return ParityResult(ok, max_abs, max_rel, len(X_rows), mismatches)


def edge_rows(X: pd.DataFrame, kinds: Sequence[tuple[str, str]]) -> list[pd.DataFrame]:
    """Rows a service meets that training rows may lack: one small frame per case.

    For each column, the first row with that column missing (a request may send null for
    any column); for each string column, also with a category never seen in training.
    """
    base = X.iloc[:1]
    frames = [_with_value(base, name, None if kind == STRING else np.nan)
              for name, kind in kinds]
    frames += [_with_value(base, name, EDGE_UNSEEN) for name, kind in kinds if kind == STRING]
    return frames


def _with_value(base: pd.DataFrame, name: str, value: Any) -> pd.DataFrame:
    out = base.copy()
    column = pd.Series([value], index=base.index, dtype=object)
    dtype = base[name].dtype
    if not isinstance(dtype, pd.CategoricalDtype):  # unseen → NaN in a categorical dtype
        try:
            column = column.astype(dtype)
        except (TypeError, ValueError):  # NaN in an int column: float, as a request gives
            column = column.astype(float) if isinstance(value, float) else column
    out[name] = column
    return out


# ---------------------------------------------------------------------- decision
def decide_onnx(model: Any, X_fit_sample: pd.DataFrame, X_heldout: pd.DataFrame, path: Path,
                *, rtol: float = 1e-4, atol: float = 1e-5, edges: bool = True) -> OnnxDecision:
    """Export, check parity on ``X_heldout`` (and edge rows), and decide; never raises.

    ``X_fit_sample`` gives the input types; ``X_heldout`` should be other rows. The ONNX
    file at ``path`` is kept only when it is to be used: a file that failed (or a stale one
    from an earlier export) is deleted, so nothing on disk looks servable that is not.
    """
    path = Path(path)
    n = len(X_heldout)
    skops = "serving the skops model"

    def refuse(reason: str, result: ParityResult | None = None) -> OnnxDecision:
        path.unlink(missing_ok=True)
        return OnnxDecision(False, f"{reason}; {skops}",
                            None if result is None else result.max_abs_diff,
                            None if result is None else result.max_rel_diff, n, None, None)

    if n == 0:
        return refuse("no held-out rows to check ONNX parity on")
    try:
        export = export_onnx(model, X_fit_sample, path)
    except OnnxExportError as exc:
        return refuse(f"ONNX export failed: {exc.message}")
    except Exception as exc:  # e.g. class labels that JSON cannot hold: still a decision
        return refuse(f"ONNX export failed ({type(exc).__name__}: {_short(exc)})")
    where = f"{n:,} held-out rows"
    try:
        predictor = OnnxPredictor.load(export.path)
        result = parity_check(model, predictor, X_heldout, rtol=rtol, atol=atol)
        extra = _edge_parity(model, predictor, X_heldout, export.columns, rtol=rtol,
                             atol=atol) if edges and result.ok else None
        if extra is not None:
            where += f" and {extra.n_rows} edge rows (missing values, unseen categories)"
            result = _combine(result, extra)
    except Exception as exc:  # onnxruntime refusing the graph, an input it cannot take...
        return refuse(f"onnxruntime could not run the exported model "
                      f"({type(exc).__name__}: {_short(exc)})")
    if not result.ok:
        labels = f", {result.n_label_mismatches} labels differ" \
            if result.n_label_mismatches else ""
        return refuse(f"ONNX parity failed on {where} (max abs diff {result.max_abs_diff:.3g}, "
                      f"max rel diff {result.max_rel_diff:.3g}{labels}; tolerance {atol:g} + "
                      f"{rtol:g} relative)", result)
    return OnnxDecision(
        True, f"ONNX model matches on {where} (max abs diff {result.max_abs_diff:.3g}, max rel "
              f"diff {result.max_rel_diff:.3g}); serving it with onnxruntime",
        result.max_abs_diff, result.max_rel_diff, n, export.path, export.sha256)


def _edge_parity(model: Any, predictor: OnnxPredictor, X: pd.DataFrame,
                 kinds: Sequence[tuple[str, str]], *, rtol: float,
                 atol: float) -> ParityResult | None:
    """Parity on the edge rows the skops model itself can predict (others fail either way)."""
    usable = []
    for frame in edge_rows(X[[n for n, _ in kinds]], kinds):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.predict(frame)
        except Exception:  # e.g. NaN without an imputer: the skops model refuses it too
            continue
        usable.append(frame)
    if not usable:
        return None
    return parity_check(model, predictor, pd.concat(usable, ignore_index=True),
                        rtol=rtol, atol=atol)


def _combine(a: ParityResult, b: ParityResult) -> ParityResult:
    return ParityResult(a.ok and b.ok, max(a.max_abs_diff, b.max_abs_diff),
                        max(a.max_rel_diff, b.max_rel_diff), a.n_rows + b.n_rows,
                        a.n_label_mismatches + b.n_label_mismatches)
