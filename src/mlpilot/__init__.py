"""mlpilot: from raw data to a monitored model, the way Hands-On Machine Learning teaches it."""

from mlpilot.data.catalog import list_datasets, load_dataset
from mlpilot.project import Evaluation, Project, TrainResult

__version__ = "0.1.0"
__all__ = ["Evaluation", "Project", "TrainResult", "__version__", "list_datasets", "load_dataset"]
