"""Shortlist results kept in the project database, so an interrupted run resumes.

One row per (candidate, rung) in ``candidate_results``; the out-of-fold predictions of the
last rung go beside the database as ``.npy`` files (written atomically), because ensemble
selection needs them again when a run resumes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from mlpilot.atomic import write_array
from mlpilot.evaluate.metrics import Metric
from mlpilot.project.state import CandidateResult, StateStore
from mlpilot.search.shortlist import CandidateScore, Leaderboard


class DatabaseResultStore:
    """:class:`~mlpilot.search.shortlist.ResultStore` over the project's state database."""

    def __init__(self, state: StateStore, run_key: str, run_id: int, oof_dir: Path) -> None:
        self.state, self.run_key, self.run_id = state, run_key, run_id
        self.oof_dir = oof_dir

    def get(self, key: str) -> CandidateScore | None:
        with self.state.session() as session:
            row = session.scalar(sa.select(CandidateResult).where(
                CandidateResult.run_key == self.run_key, CandidateResult.name == key))
            return None if row is None else self._score(row)

    def put(self, score: CandidateScore) -> None:
        if score.oof is not None:  # the file first: a row never points at a missing file
            write_array(self._oof_path(score.key), score.oof)
        with self.state.session() as session:
            session.execute(sa.delete(CandidateResult).where(
                CandidateResult.run_key == self.run_key, CandidateResult.name == score.key))
            session.add(CandidateResult(
                run_key=self.run_key, run_id=self.run_id, name=score.key, family=score.family,
                status=score.status, fold_scores_json=json.dumps(score.fold_scores),
                mean=score.mean, std=score.std, fit_time=score.fit_time,
                score_time=score.score_time, error=score.error))

    def finalists(self, metric: Metric) -> list[CandidateScore]:
        """This run's results on its largest rung, best first, with their OOF predictions."""
        with self.state.session() as session:
            scores = [self._score(row) for row in session.scalars(
                sa.select(CandidateResult).where(CandidateResult.run_key == self.run_key,
                                                 CandidateResult.status == "done"))]
        return Leaderboard(metric, scores).finalists()

    def leaderboard(self, metric: Metric) -> Leaderboard:
        """Every result of this run (all rungs, failures included), as a leaderboard."""
        with self.state.session() as session:
            scores = [self._score(row, with_oof=False) for row in session.scalars(
                sa.select(CandidateResult).where(CandidateResult.run_key == self.run_key))]
        return Leaderboard(metric, scores)

    def _score(self, row: CandidateResult, with_oof: bool = True) -> CandidateScore:
        """A stored row as a result, with its OOF predictions when they were saved."""
        name, _, rows = row.name.partition("@")
        score = CandidateScore(name, row.family, row.status, row.fold_scores, row.fit_time,
                               row.score_time, row.error, n_rows=int(rows) if rows else None)
        path = self._oof_path(row.name)
        if with_oof and path.exists():
            score.oof = np.load(path, allow_pickle=False)
        return score

    def _oof_path(self, key: str) -> Path:
        return self.oof_dir / self.run_key[:16] / f"{key}.npy"
