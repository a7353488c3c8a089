"""The model registry: versions, aliases and an append-only deployment history.

Every model a project saves is a version (a ``models`` row plus its ``model_metadata``).
An alias (``champion``, ``challenger``) names the version that plays a role; moving an alias
and writing the history row happen in one transaction, so a crash leaves either both or
neither. Rolling back replays the history as a stack (a promotion pushes, a rollback pops),
so two rollbacks in a row go two versions back rather than bouncing between two.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mlpilot.errors import RegistryError
from mlpilot.project.state import (
    Deployment,
    EvaluationRecord,
    ModelAlias,
    ModelMetadata,
    ModelRecord,
    StateStore,
    utcnow,
)

CHAMPION = "champion"
CHALLENGER = "challenger"
PROMOTE, ROLLBACK, BLOCKED = "promote", "rollback", "blocked"
ACTOR_ENV = "MLPILOT_ACTOR"


def current_actor() -> str:
    """Who is acting: ``$MLPILOT_ACTOR`` (set it in automation), else the login name."""
    try:
        return os.environ.get(ACTOR_ENV) or getpass.getuser()
    except OSError:  # pragma: no cover - no login name in some containers
        return "unknown"


@dataclass(frozen=True)
class ModelVersion:
    """One registered model with what the registry knows about it."""

    record: ModelRecord
    metadata: ModelMetadata | None
    aliases: tuple[str, ...]

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def trusted_types(self) -> tuple[str, ...]:
        if self.metadata is None:
            return ()
        return tuple(json.loads(self.metadata.trusted_types_json))

    @property
    def format(self) -> str:
        return self.metadata.format if self.metadata is not None else "joblib"


class Registry:
    """Model versions, aliases and history over the project's state database."""

    def __init__(self, state: StateStore) -> None:
        self.state = state

    # ------------------------------------------------------------------ reading
    def versions(self) -> list[ModelVersion]:
        with self.state.session() as session:
            records = list(session.scalars(sa.select(ModelRecord).order_by(ModelRecord.id)))
            metadata = {m.model_id: m for m in session.scalars(sa.select(ModelMetadata))}
            aliases: dict[int, list[str]] = {}
            for row in session.scalars(sa.select(ModelAlias).order_by(ModelAlias.alias)):
                aliases.setdefault(row.model_id, []).append(row.alias)
        return [ModelVersion(r, metadata.get(r.id), tuple(aliases.get(r.id, ())))
                for r in records]

    def get(self, model_id: int) -> ModelVersion:
        with self.state.session() as session:
            record = session.get(ModelRecord, model_id)
            if record is None:
                raise RegistryError(f"no model version #{model_id}",
                                    "list them with `mlpilot models list`")
            metadata = session.get(ModelMetadata, model_id)
            aliases = tuple(session.scalars(sa.select(ModelAlias.alias)
                                            .where(ModelAlias.model_id == model_id)))
        return ModelVersion(record, metadata, aliases)

    def test_scores(self) -> dict[int, float]:
        """Each model's latest test-set score, from the ``evaluations`` table."""
        with self.state.session() as session:
            rows = session.execute(sa.select(EvaluationRecord.model_id, EvaluationRecord.score)
                                   .order_by(EvaluationRecord.id))
            return {model_id: score for model_id, score in rows}

    def alias(self, name: str = CHAMPION) -> int | None:
        """The model id an alias points at (``None`` when it is not set)."""
        with self.state.session() as session:
            row = session.get(ModelAlias, name)
            return row.model_id if row is not None else None

    def history(self, alias: str | None = None) -> list[Deployment]:
        with self.state.session() as session:
            query = sa.select(Deployment).order_by(Deployment.id)
            if alias is not None:
                query = query.where(Deployment.alias == alias)
            return list(session.scalars(query))

    def live_stack(self, alias: str = CHAMPION) -> list[int]:
        """The alias's deployments replayed: promotions push, rollbacks pop; the top is live."""
        stack: list[int] = []
        for event in self.history(alias):
            if event.action == PROMOTE:
                stack.append(event.model_id)
            elif event.action == ROLLBACK and stack:
                stack.pop()
        return stack

    # ------------------------------------------------------------------ changing
    def promote(self, model_id: int, *, alias: str = CHAMPION, reason: str = "",
                actor: str | None = None, details: dict[str, Any] | None = None) -> Deployment:
        """Point ``alias`` at ``model_id`` and record why, in one transaction."""
        self.get(model_id)  # a clear error for an unknown id
        with self.state.session() as session:
            row = session.get(ModelAlias, alias, with_for_update=True)
            previous = row.model_id if row is not None else None
            if previous == model_id:
                raise RegistryError(f"model #{model_id} is already the {alias}",
                                    "nothing to do")
            if row is None:
                session.add(ModelAlias(alias=alias, model_id=model_id))
            else:
                row.model_id = model_id
                row.updated_at = utcnow()
            event = Deployment(alias=alias, action=PROMOTE, model_id=model_id,
                               previous_model_id=previous, reason=reason,
                               actor=actor or current_actor(),
                               details_json=json.dumps(details or {}, default=str))
            session.add(event)
        return event

    def rollback(self, *, alias: str = CHAMPION, reason: str = "",
                 actor: str | None = None) -> Deployment:
        """Restore the version that held ``alias`` before the current one."""
        stack = self.live_stack(alias)
        if len(stack) < 2:
            raise RegistryError(f"no earlier {alias} to roll back to",
                                "see `mlpilot models history`")
        current, target = stack[-1], stack[-2]
        with self.state.session() as session:
            row = session.get(ModelAlias, alias, with_for_update=True)
            if row is None or row.model_id != current:  # pragma: no cover - guarded by txn
                raise RegistryError(f"the {alias} changed while rolling back", "try again")
            row.model_id = target
            row.updated_at = utcnow()
            event = Deployment(alias=alias, action=ROLLBACK, model_id=target,
                               previous_model_id=current,
                               reason=reason or f"rolled back from model #{current}",
                               actor=actor or current_actor())
            session.add(event)
        return event

    def record_blocked(self, model_id: int, *, alias: str = CHAMPION, reason: str,
                       details: dict[str, Any] | None = None,
                       actor: str | None = None) -> Deployment:
        """Write down a refused promotion: the history shows what was tried and why not."""
        with self.state.session() as session:
            event = Deployment(alias=alias, action=BLOCKED, model_id=model_id,
                               previous_model_id=self.alias(alias), reason=reason,
                               actor=actor or current_actor(),
                               details_json=json.dumps(details or {}, default=str))
            session.add(event)
        return event

    def add_metadata(self, metadata: ModelMetadata) -> None:
        with self.state.session() as session:
            session.merge(metadata)
