"""Typed errors: every failure a user can cause has a class, a message and a hint.

The CLI prints ``error: <message>`` and ``hint: <hint>`` on one line each and exits with
code 2; library callers catch :class:`MlpilotError` (or a subclass) and read ``.hint``.
"""

from __future__ import annotations


class MlpilotError(Exception):
    """Base class: a problem the user can fix, with a hint saying how."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigError(MlpilotError):
    """mlpilot.toml (or an argument standing for it) is invalid."""


class ProjectError(MlpilotError):
    """The project directory is missing, incomplete or already used differently."""


class DataSourceError(MlpilotError):
    """The data could not be read: missing, empty, unreadable, wrong encoding."""


class SchemaError(MlpilotError):
    """The table's columns are unusable as given (duplicates, unknown target...)."""


class TargetError(SchemaError):
    """The target column cannot be learned (all missing, a single class...)."""


class DatasetNotFoundError(MlpilotError):
    """A catalog dataset name is unknown, or its files cannot be found or fetched."""


class ChecksumError(DatasetNotFoundError):
    """A downloaded or cached file does not have the expected checksum."""


class SplitError(MlpilotError):
    """The test set cannot be set aside as asked."""


class TrainingError(MlpilotError):
    """Model search cannot run (too few rows for the folds, no candidate fitted...)."""


class ModelNotFoundError(MlpilotError):
    """No trained model is stored in the project (or the requested one is missing)."""


class ArtifactIntegrityError(MlpilotError):
    """A stored artifact's checksum does not match the one recorded at write time."""


class UnsafeArtifactError(ArtifactIntegrityError):
    """An artifact holds types the registry does not trust, or asks for an unsafe format."""


class RegistryError(MlpilotError):
    """A model version, alias or promotion request cannot be honoured as asked."""


class PromotionBlocked(RegistryError):
    """The challenger is worse than the champion (overall or on a slice) beyond tolerance."""


class ServeError(MlpilotError):
    """The prediction service cannot start as configured (auth, address, model)."""


class InputValidationError(MlpilotError):
    """Rows sent for prediction do not match the model's input schema."""


class MonitorError(MlpilotError):
    """Monitoring cannot run: no baseline, no logged requests, labels that match nothing."""


class UnsupervisedError(MlpilotError):
    """Reduction, clustering, anomaly detection or labelling cannot run on this input."""


class RecipeError(MlpilotError):
    """A recipe name is unknown or its data is unavailable."""


class TestSetReuseWarning(UserWarning):
    """The test set was read before: every further look makes its estimate more optimistic."""

    __test__ = False


class DataQualityWarning(UserWarning):
    """Bad values were found and handled (coerced, treated as missing); the column is named."""


class DeepLearningError(MlpilotError):
    """A neural network cannot be built or trained as configured (backend, layers, data)."""
