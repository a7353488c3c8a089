"""mlpilot.monitor.feedback: late labels joined to logged predictions, metric per model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpilot.errors import MonitorError
from mlpilot.monitor import join_feedback, realised_performance


def request_log(task: str = "regression", seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A log like read_request_log's: 40 requests of 1–3 rows over two model versions.

    Returns the log and the true value of each logged row (aligned with it).
    """
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    start = pd.Timestamp("2025-01-01", tz="UTC")
    for r in range(40):
        model_id = 1 if r < 25 else 2
        for i in range(int(rng.integers(1, 4))):
            x = float(rng.normal())
            if task == "regression":
                y = 3 * x + rng.normal()
                pred = 3 * x + (0.5 if model_id == 1 else 2.0) * rng.normal()
            else:
                y = "yes" if x + 0.3 * rng.normal() > 0 else "no"
                pred = "yes" if x > (0 if model_id == 1 else 0.8) else "no"
            rows.append({"request_id": f"req-{r:03d}", "model_id": model_id,
                         "timestamp": start + pd.Timedelta(minutes=r), "row": i, "x": x,
                         "prediction": pred})
            truth.append(y)
    return pd.DataFrame(rows), pd.Series(truth)


def labels_for(log: pd.DataFrame, truth: pd.Series, seed: int = 1) -> pd.DataFrame:
    """Every row's label, in shuffled order, keyed by request id and row."""
    labels = pd.DataFrame({"request_id": log["request_id"], "row": log["row"],
                           "median_house_value": truth})
    return labels.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def test_join_by_id_and_row_with_shuffled_multi_row_requests() -> None:
    log, truth = request_log()
    assert (log.groupby("request_id").size() > 1).any()
    joined = join_feedback(log, labels_for(log, truth), label_column="median_house_value")
    assert len(joined) == len(log)
    np.testing.assert_allclose(joined["label"].to_numpy(dtype=float), truth.to_numpy())
    assert joined.attrs["feedback"]["matched"] == len(log)
    assert joined.attrs["feedback"]["unmatched"] == 0


def test_metric_per_model_equals_the_metric_by_hand() -> None:
    log, truth = request_log()
    joined = join_feedback(log, labels_for(log, truth))  # the one value column is found
    table = realised_performance(joined, "regression", "rmse").set_index("model_id")
    assert list(table.index) == [1, 2]
    for model_id in (1, 2):
        mine = (log["model_id"] == model_id).to_numpy()
        errors = log.loc[mine, "prediction"].to_numpy() - truth[mine].to_numpy()
        assert table.loc[model_id, "n"] == mine.sum()
        assert table.loc[model_id, "value"] == pytest.approx(np.sqrt(np.mean(errors**2)))
        assert table.loc[model_id, "low"] <= table.loc[model_id, "value"]
        assert table.loc[model_id, "value"] <= table.loc[model_id, "high"]
    assert table.loc[1, "value"] < table.loc[2, "value"]
    assert table.loc[1, "from"] < table.loc[1, "to"]


def test_request_id_alone_matches_single_row_requests_only() -> None:
    log, truth = request_log()
    labels = labels_for(log, truth).drop(columns="row")
    labels["request_id"] = labels["request_id"].str.upper().str.replace("REQ", "req")
    joined = join_feedback(log, labels, label_column="median_house_value")
    sizes = log.groupby("request_id")["row"].transform("size")
    assert len(joined) == int((sizes == 1).sum())
    info = joined.attrs["feedback"]
    assert info["ambiguous"] == int((sizes > 1).sum())
    assert info["matched"] + info["unmatched"] == len(labels)


def test_numeric_ids_match_whatever_their_type_and_later_labels_win() -> None:
    log = pd.DataFrame({"request_id": ["101", "102", "103"], "model_id": [4, 4, 4],
                        "row": [0, 0, 0], "prediction": [1.0, 2.0, 3.0]})
    labels = pd.DataFrame({"id": [101.0, 102.0, 103.0, 103.0], "y": [1.0, 2.0, 9.0, 3.0]})
    joined = join_feedback(log, labels, id_column="id", label_column="y")
    assert joined["label"].tolist() == [1.0, 2.0, 3.0]
    assert joined.attrs["feedback"]["duplicates"] == 1
    table = realised_performance(joined, "regression", "mae")
    assert table.loc[0, "value"] == 0.0


def test_classification_accuracy_and_ranking_metric_fallback() -> None:
    log, truth = request_log("binary")
    joined = join_feedback(log, labels_for(log, truth), label_column="median_house_value")
    table = realised_performance(joined, "binary", "roc_auc", n_resamples=200)
    assert set(table["metric"]) == {"accuracy"}
    assert "roc_auc needs scores" in table.loc[0, "note"]
    for row in table.itertuples():
        mine = (log["model_id"] == row.model_id).to_numpy()
        by_hand = float((log.loc[mine, "prediction"].to_numpy() == truth[mine].to_numpy()).mean())
        assert row.value == pytest.approx(by_hand)
        assert row.low <= row.value <= row.high
    f1 = realised_performance(joined, "binary", "f1", n_resamples=50)
    assert set(f1["metric"]) == {"f1"} and f1["note"].eq("").all()


def test_no_matching_label_is_a_clear_error() -> None:
    log, truth = request_log()
    labels = labels_for(log, truth).head(120)
    labels["request_id"] = "other-" + labels["request_id"]
    with pytest.raises(MonitorError, match=r"0 of \d+ labels matched a logged request id"):
        join_feedback(log, labels, label_column="median_house_value")
    only_multi = labels_for(log, truth).drop(columns="row")
    sizes = log.groupby("request_id").size()
    only_multi = only_multi[only_multi["request_id"].isin(sizes[sizes > 1].index)]
    with pytest.raises(MonitorError) as info:
        join_feedback(log, only_multi, label_column="median_house_value")
    assert "'row'" in (info.value.hint or "")


def test_bad_inputs_are_named() -> None:
    log, truth = request_log()
    labels = labels_for(log, truth)
    with pytest.raises(MonitorError, match="no 'ticket' column"):
        join_feedback(log, labels, id_column="ticket")
    with pytest.raises(MonitorError, match="which column"):
        join_feedback(log, labels.assign(extra=1))
    joined = join_feedback(log, labels)
    with pytest.raises(MonitorError, match="not available for a multilabel"):
        realised_performance(joined, "multilabel", "f1_macro")
