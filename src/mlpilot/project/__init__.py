"""The project: settings, layout, state database, and the Project class."""

from mlpilot.project.project import Evaluation, Project, TrainResult

__all__ = ["Evaluation", "Project", "TrainResult"]
