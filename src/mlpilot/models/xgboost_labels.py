"""``XGBClassifier`` that accepts any class labels (imported only when XGBoost is used).

XGBoost's scikit-learn classifier insists on labels 0 … k-1 ("Invalid classes inferred from
unique values of y"), where every scikit-learn classifier takes strings or any other labels.
This subclass label-encodes ``y`` in ``fit`` and decodes in ``predict``; ``classes_`` holds the
original labels, in the order of ``predict_proba``'s columns. It keeps XGBoost's parameters
as they are, so the search space names stay XGBoost's own.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import xgboost
from sklearn.preprocessing import LabelEncoder


class XGBClassifier(xgboost.XGBClassifier):  # type: ignore[misc]
    """:class:`xgboost.XGBClassifier` with label encoding of ``y``."""

    def fit(self, X: Any, y: Any, **kwargs: Any) -> Self:
        encoder = LabelEncoder().fit(np.ravel(y) if np.ndim(y) == 2 and np.shape(y)[1] == 1
                                     else y)
        self.label_encoder_: LabelEncoder | None = None  # XGBoost's own classes_ during fit
        super().fit(X, encoder.transform(np.ravel(y) if np.ndim(y) == 2 else y), **kwargs)
        self.label_encoder_ = encoder
        return self

    def predict(self, X: Any, **kwargs: Any) -> Any:
        codes = super().predict(X, **kwargs)
        encoder = getattr(self, "label_encoder_", None)
        if encoder is None or kwargs.get("output_margin"):
            return codes
        return encoder.inverse_transform(np.asarray(codes, dtype=int))

    @property
    def classes_(self) -> np.ndarray:
        encoder = getattr(self, "label_encoder_", None)
        if encoder is not None:
            return encoder.classes_
        return np.arange(self.n_classes_)
