"""Preparing the data: the book's transformers, data cleaning, and the automatic builder."""

from mlpilot.features.cleaning import DataCleaner, DatetimeParts
from mlpilot.features.transformers import (
    Bucketizer,
    ClusterSimilarity,
    KNNOutOfFoldFeature,
    LogTransformer,
    RatioFeatures,
    RBFSimilarity,
)

__all__ = [
    "Bucketizer",
    "ClusterSimilarity",
    "DataCleaner",
    "DatetimeParts",
    "KNNOutOfFoldFeature",
    "LogTransformer",
    "RBFSimilarity",
    "RatioFeatures",
]
