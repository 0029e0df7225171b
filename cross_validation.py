"""The cross-validation results (``benchmarks/results/crossval.csv``, one row per :data:`KEY`)
and their statistics: a fold's score is the mean over its seeds, an entry's the mean ± standard
error over folds (seeds never count in n), and entries are compared by their paired difference
over common folds, judged by :func:`verdict`."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import dsp_helpers as dsp

RESULTS_CSV = Path(__file__).resolve().parent / "benchmarks" / "results" / "crossval.csv"
# The code column: HEAD (the current code regenerates the row), TAG (the options removed after
# commit TAG_COMMIT, tagged TAG where tags travel), or the 7-digit commit that regenerates it.
HEAD, TAG, TAG_COMMIT = "HEAD", "experiments-2026-12", "cac9031"
FOLD_CLIP = "fold"  # the clip column of the row that scores the held-out fold itself
TRAINING_CLIP = "training"  # the clip column of a model scored on the audio it trained on
COLUMNS = ("recordings", "model", "experiment", "change", "baseline", "baseline_model",
           "epochs", "batch_size", "learning_rate", "past_dropout", "backend", "code", "seed",
           "share", "fold", "clip", "snr_db", "noisy_snr_db", "ceiling_snr_db", "train_seconds",
           "train_samples")
KEY = ("recordings", "backend", "model", "experiment", "seed", "share", "fold", "clip")
_INTEGERS = ("epochs", "batch_size", "seed", "fold", "train_samples")
_FLOATS = ("learning_rate", "past_dropout", "share", "snr_db", "noisy_snr_db", "ceiling_snr_db",
           "train_seconds")

CHOSEN = "batch-32-past-dropout-decay-epochs-x2"  # the adopted recipes at their full budget
# The (model, experiment) entries whose change was kept, giving the recipes of models_tf.
ADOPTED = frozenset({
    ("cnn1d-K16", "no-validation"), ("cnn2d-fours", "no-validation"), ("fc", "no-validation"),
    ("cnn1d", "no-validation"), ("cnn2d", "no-validation"), ("cnn2d", "epochs-x0.5"),
    ("cnn1d", "batch-32-epochs-x0.5"), ("cnn2d", "batch-32-epochs-x0.5"),
    ("cnn1d", "batch-32"), ("cnn2d", "batch-32"),
    ("cnn2d", "batch-32-epochs-x0.5-past-dropout-decay"), ("cnn2d", "batch-32-past-dropout-decay"),
    ("cnn1d", "batch-32-past-dropout-decay-epochs-x2"),
    ("cnn2d", "batch-32-past-dropout-decay-epochs-x2"), ("fc", "no-validation-epochs-x2"),
})


def read_results(path: Path | str = RESULTS_CSV) -> list[dict]:
    """The rows of a results CSV as dicts, numbers converted and empty cells ``None``."""
    rows = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            for column in _INTEGERS:
                row[column] = int(row[column]) if row[column] else None
            for column in _FLOATS:
                row[column] = float(row[column]) if row[column] else None
            rows.append(row)
    return rows


def select(rows: list[dict], **values) -> list[dict]:
    """The rows whose columns equal ``values``, e.g. ``select(rows, backend="tensorflow")``."""
    return [row for row in rows if all(row[column] == value for column, value in values.items())]


def mean_and_error(values) -> tuple[float, float]:
    """Mean and standard error (ddof 1) of ``values``; the error is NaN for a single value."""
    values = np.asarray(list(values), dtype=float)
    if len(values) == 0:
        raise ValueError("no values to average")
    if len(values) == 1:
        return float(values[0]), math.nan
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def verdict(mean: float, error: float) -> str:
    """``"better"`` if ``mean > 2 error``, ``"worse"`` if ``mean < -2 error``, else ``"tie"``."""
    if mean > 2.0 * error:
        return "better"
    if mean < -2.0 * error:
        return "worse"
    return "tie"


@dataclass(frozen=True)
class Difference:
    """A paired difference, ``mean ± error`` dB over ``folds`` folds of at most ``seeds`` seeds."""

    mean: float
    error: float
    folds: int
    seeds: int

    @property
    def verdict(self) -> str:
        return verdict(self.mean, self.error)

    def __str__(self) -> str:
        return f"{self.mean:+.2f} ± {self.error:.2f} dB ({self.verdict})"


def _entry_rows(rows: list[dict], model: str, experiment: str, clip: str,
                share: float) -> list[dict]:
    """The rows of one entry and clip; ``ValueError`` if none or they mix recordings/backends."""
    chosen = select(rows, model=model, experiment=experiment, clip=clip, share=share)
    if not chosen:
        raise ValueError(f"no rows of {model}, {experiment}, clip {clip}, share {share}")
    sources = {(row["recordings"], row["backend"]) for row in chosen}
    if len(sources) > 1:
        raise ValueError(f"{model}, {experiment}: rows of several recordings or backends "
                         f"{sorted(sources)}; select one first (select(rows, backend=...))")
    return chosen


def _by_fold(entry_rows: list[dict]) -> dict[int, float]:
    """``{fold: mean SNR over the fold's seeds}`` of one entry's rows, in fold order."""
    by_fold = defaultdict(list)
    for row in entry_rows:
        by_fold[row["fold"]].append(row["snr_db"])
    return {fold: float(np.mean(scores)) for fold, scores in sorted(by_fold.items())}


def fold_scores(rows: list[dict], model: str, experiment: str, *, clip: str = FOLD_CLIP,
                share: float = 1.0) -> dict[int, float]:
    """``{fold: mean SNR dB over its seeds}`` of an entry on ``share`` of the training audio."""
    return _by_fold(_entry_rows(rows, model, experiment, clip, share))


def _fold_differences(new: dict[int, float], old: dict[int, float], what: str) -> list[float]:
    """``new - old`` on each common fold; raises ``ValueError`` naming ``what`` if none."""
    common = sorted(set(new) & set(old))
    if not common:
        raise ValueError(f"{what}: the scores share no fold (folds {sorted(new)} and "
                         f"{sorted(old)})")
    return [new[fold] - old[fold] for fold in common]


def paired_difference(rows: list[dict], first: tuple[str, str], second: tuple[str, str], *,
                      clip: str = FOLD_CLIP, share: float = 1.0) -> Difference:
    """``first - second`` of two ``(model, experiment)`` entries over their common folds."""
    sides = [_entry_rows(rows, *entry, clip, share) for entry in (first, second)]
    differences = _fold_differences(*map(_by_fold, sides), f"{first} - {second}")
    seeds = min(len({row["seed"] for row in side}) for side in sides)
    return Difference(*mean_and_error(differences), len(differences), seeds)


def model_verdict(rows: list[dict], first: str, second: str, experiment: str, *,
                  clip: str = FOLD_CLIP) -> tuple[Difference, str]:
    """The :func:`paired_difference` ``first - second`` and the winner's name, or ``"tie"``."""
    difference = paired_difference(rows, (first, experiment), (second, experiment), clip=clip)
    winner = {"better": first, "worse": second, "tie": "tie"}[difference.verdict]
    return difference, winner


@dataclass(frozen=True)
class Change:
    """One change tried, ``experiment`` against ``baseline``, and its models' differences."""

    recordings: str
    backend: str
    experiment: str
    change: str
    baseline: str
    baseline_model: str
    code: str
    adopted: tuple[str, ...]
    differences: dict[str, Difference]


def recipe_changes(rows: list[dict], *, clip: str = FOLD_CLIP) -> list[Change]:
    """Every change in ``rows``, with each model's paired difference from its baseline."""
    changes: dict[tuple, dict] = {}
    for row in rows:
        if not row["baseline"] or row["share"] != 1.0 or row["clip"] != clip:
            continue
        key = (row["recordings"], row["backend"], row["experiment"], row["change"],
               row["baseline"], row["baseline_model"], row["code"])
        changes.setdefault(key, {})[row["model"]] = None  # the models, in order
    table = []
    for key, models in changes.items():
        recordings, backend, experiment, _, baseline, baseline_model, _ = key
        source = select(rows, recordings=recordings, backend=backend)
        differences = {}
        for model in models:
            try:
                differences[model] = paired_difference(
                    source, (model, experiment), (baseline_model or model, baseline), clip=clip)
            except ValueError:
                continue
        if differences:
            adopted = tuple(model for model in differences if (model, experiment) in ADOPTED)
            table.append(Change(*key, adopted, differences))
    return table


def learning_curve(rows: list[dict], model: str, experiment: str, *,
                   paired: bool = False) -> list[tuple[float, float, float]]:
    """``[(seconds of training audio, mean SNR dB, standard error)]`` for each share; with
    ``paired``, of each fold's SNR minus its SNR at the full share."""
    shares = sorted({row["share"] for row in select(rows, model=model, experiment=experiment,
                                                    clip=FOLD_CLIP)})
    if paired and 1.0 not in shares:
        raise ValueError(f"{model}, {experiment}: no full-share rows to pair the curve with")
    full = fold_scores(rows, model, experiment) if paired else None
    points = []
    for share in shares:
        share_rows = _entry_rows(rows, model, experiment, FOLD_CLIP, share)
        scores = _by_fold(share_rows)
        values = (_fold_differences(scores, full, f"{model}, {experiment}, share {share}")
                  if paired else scores.values())
        seconds = np.mean([row["train_samples"] for row in share_rows]) / dsp.SAMPLE_RATE
        points.append((float(seconds), *mean_and_error(values)))
    return points
