"""Learning without (many) labels, book chapters 8–9: reduce, cluster, find anomalies, label.

Every step takes a table (or an array), turns it into numbers with :mod:`.inputs` (the same
fitted transformer later assigns new rows), and returns a result that can be printed,
saved as JSON and written as a self-contained HTML report (:mod:`.page`).
"""

from mlpilot.unsupervised.anomalies import Anomalies, AnomalyDetector, detect_anomalies
from mlpilot.unsupervised.cluster import (
    Clustering,
    DensityClusterAssigner,
    cluster,
    load_cluster_model,
    stream_kmeans,
)
from mlpilot.unsupervised.inputs import FeatureMatrix, feature_matrix
from mlpilot.unsupervised.kernel_pca import KernelPCATuning, tune_kernel_pca
from mlpilot.unsupervised.label import (
    LabelGain,
    Propagation,
    Representatives,
    label_gain,
    next_to_label,
    propagate,
    representatives,
    simulate_active_learning,
)
from mlpilot.unsupervised.profiles import ClusterProfiles, cluster_profiles
from mlpilot.unsupervised.reduce import Reduction, pca_step, reduce
from mlpilot.unsupervised.reduce_stream import incremental_pca_stream, reduce_stream
from mlpilot.unsupervised.segment import segment, segment_image
from mlpilot.unsupervised.streaming import BatchSource, open_batches, write_memmap

__all__ = [
    "Anomalies", "AnomalyDetector", "BatchSource", "ClusterProfiles", "Clustering",
    "DensityClusterAssigner", "FeatureMatrix", "KernelPCATuning", "LabelGain", "Propagation",
    "Reduction", "Representatives", "cluster", "cluster_profiles", "detect_anomalies",
    "feature_matrix", "incremental_pca_stream", "label_gain", "load_cluster_model",
    "next_to_label", "open_batches", "pca_step", "propagate", "reduce", "reduce_stream",
    "representatives", "segment", "segment_image", "simulate_active_learning", "stream_kmeans",
    "tune_kernel_pca", "write_memmap",
]
