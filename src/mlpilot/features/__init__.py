"""Preparing the data: the book's transformers, data cleaning, and the automatic builder."""

from mlpilot.features.cleaning import CategoryCodes, DataCleaner, DatetimeParts
from mlpilot.features.neighbors import (
    NeighborMeans,
    NeighborTarget,
    NeighborTrend,
    RotatedCoordinates,
)
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
    "CategoryCodes",
    "ClusterSimilarity",
    "DataCleaner",
    "DatetimeParts",
    "KNNOutOfFoldFeature",
    "LogTransformer",
    "NeighborMeans",
    "NeighborTarget",
    "NeighborTrend",
    "RBFSimilarity",
    "RatioFeatures",
    "RotatedCoordinates",
]
