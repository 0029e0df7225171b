"""Statistics over cross-validation rows (one row per :data:`KEY`; the columns are
:data:`COLUMNS`): a fold's score is the mean over its seeds, an entry's the mean ± standard
error over folds (seeds never count in n), and entries are compared by their paired difference
over common folds, judged by :func:`verdict`, on one of the :data:`METRICS` (equation (1) by
default, or the DNSMOS overall score where it was measured). Whether a change was adopted is
data too, a decisions file read by :func:`read_decisions`; nothing here knows a path, an
experiment or a model."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FOLD_CLIP = "fold"  # the clip column of the row that scores the held-out fold itself
TRAINING_CLIP = "training"  # the clip column of a model scored on the audio it trained on
COLUMNS = ("recordings", "model", "experiment", "change", "baseline", "baseline_model",
           "epochs", "batch_size", "learning_rate", "past_dropout", "backend", "code", "seed",
           "share", "fold", "clip", "snr_db", "noisy_snr_db", "ceiling_snr_db", "sig", "bak",
           "ovrl", "noisy_ovrl", "clean_ovrl", "train_seconds", "train_samples")
#: What a paired difference can compare, and its unit: equation (1)'s SNR, or DNSMOS P.835's
#: overall score of the estimate (1-5; ``sig``, ``bak``: its speech and background scores,
#: ``noisy_ovrl`` and ``clean_ovrl``: the noisy input's and the clean reference's).
METRICS = {"snr_db": "dB", "ovrl": "OVRL"}
KEY = ("recordings", "backend", "model", "experiment", "seed", "share", "fold", "clip")
# A change's identity (the columns shared by its rows) and, with the model, a decision's key.
CHANGE_IDENTITY = ("recordings", "backend", "experiment", "baseline", "baseline_model")
DECISION_COLUMNS = (*CHANGE_IDENTITY, "model", "adopted", "reason")
_INTEGERS = ("epochs", "batch_size", "seed", "fold", "train_samples")
_FLOATS = ("learning_rate", "past_dropout", "share", "snr_db", "noisy_snr_db", "ceiling_snr_db",
           "sig", "bak", "ovrl", "noisy_ovrl", "clean_ovrl", "train_seconds")


def read_results(path: Path | str) -> list[dict]:
    """The rows of a results CSV (:data:`COLUMNS`) as dicts, numbers converted and empty or
    absent cells ``None``.

    Notebook: §1."""
    rows = []
    with open(path, newline="") as handle:
        for read in csv.DictReader(handle):
            row = {column: read.get(column) or "" for column in COLUMNS}
            for column in _INTEGERS:
                row[column] = int(row[column]) if row[column] else None
            for column in _FLOATS:
                row[column] = float(row[column]) if row[column] else None
            rows.append(row)
    return rows


def select(rows: list[dict], **values) -> list[dict]:
    """The rows whose columns equal ``values``, e.g. ``select(rows, backend="tensorflow")``.

    Notebook: §1, §6.3, §7.1."""
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
    """A paired difference, ``mean ± error`` (in ``unit``) over ``folds`` folds of at most
    ``seeds`` seeds."""

    mean: float
    error: float
    folds: int
    seeds: int
    unit: str = "dB"

    @property
    def verdict(self) -> str:
        return verdict(self.mean, self.error)

    def __str__(self) -> str:
        return f"{self.mean:+.2f} ± {self.error:.2f} {self.unit} ({self.verdict})"


def _entry_rows(rows: list[dict], model: str, experiment: str, clip: str,
                share: float, metric: str = "snr_db") -> list[dict]:
    """The rows of one entry and clip that hold ``metric``; ``ValueError`` if none or they mix
    recordings/backends."""
    if metric not in METRICS:
        raise ValueError(f"no metric {metric!r}; one of {sorted(METRICS)}")
    chosen = [row for row in select(rows, model=model, experiment=experiment, clip=clip,
                                     share=share) if row[metric] is not None]
    if not chosen:
        raise ValueError(f"no rows of {model}, {experiment}, clip {clip}, share {share} "
                         f"with {metric}")
    sources = {(row["recordings"], row["backend"]) for row in chosen}
    if len(sources) > 1:
        raise ValueError(f"{model}, {experiment}: rows of several recordings or backends "
                         f"{sorted(sources)}; select one first (select(rows, backend=...))")
    return chosen


def _by_fold(entry_rows: list[dict], metric: str = "snr_db") -> dict[int, float]:
    """``{fold: mean metric over the fold's seeds}`` of one entry's rows, in fold order."""
    by_fold = defaultdict(list)
    for row in entry_rows:
        by_fold[row["fold"]].append(row[metric])
    return {fold: float(np.mean(scores)) for fold, scores in sorted(by_fold.items())}


def fold_scores(rows: list[dict], model: str, experiment: str, *, clip: str = FOLD_CLIP,
                share: float = 1.0, metric: str = "snr_db") -> dict[int, float]:
    """``{fold: mean metric over its seeds}`` (default: SNR dB) of an entry on ``share`` of the
    training audio, over the folds where ``metric`` was measured."""
    return _by_fold(_entry_rows(rows, model, experiment, clip, share, metric), metric)


def _fold_differences(new: dict[int, float], old: dict[int, float], what: str) -> list[float]:
    """``new - old`` on each common fold; raises ``ValueError`` naming ``what`` if none."""
    common = sorted(set(new) & set(old))
    if not common:
        raise ValueError(f"{what}: the scores share no fold (folds {sorted(new)} and "
                         f"{sorted(old)})")
    return [new[fold] - old[fold] for fold in common]


def paired_difference(rows: list[dict], first: tuple[str, str], second: tuple[str, str], *,
                      clip: str = FOLD_CLIP, share: float = 1.0,
                      metric: str = "snr_db") -> Difference:
    """``first - second`` of two ``(model, experiment)`` entries over their common folds, in
    ``metric`` (one of :data:`METRICS`): per fold, the mean over the seeds both entries ran
    (all of each one's seeds where they share none), so that one entry's extra seeds do not
    change its comparisons with entries that lack them.

    Notebook: §7.1."""
    sides = [_entry_rows(rows, *entry, clip, share, metric) for entry in (first, second)]
    common = set.intersection(*({row["seed"] for row in side} for side in sides))
    if common:
        sides = [[row for row in side if row["seed"] in common] for side in sides]
    differences = _fold_differences(*(_by_fold(side, metric) for side in sides),
                                    f"{first} - {second}")
    seeds = min(len({row["seed"] for row in side}) for side in sides)
    return Difference(*mean_and_error(differences), len(differences), seeds, METRICS[metric])


def model_verdict(rows: list[dict], first: str, second: str, experiment: str, *,
                  clip: str = FOLD_CLIP, metric: str = "snr_db") -> tuple[Difference, str]:
    """The :func:`paired_difference` ``first - second`` in ``metric`` and the winner's name,
    or ``"tie"``.

    Notebook: §6.3."""
    difference = paired_difference(rows, (first, experiment), (second, experiment), clip=clip,
                                   metric=metric)
    winner = {"better": first, "worse": second, "tie": "tie"}[difference.verdict]
    return difference, winner


@dataclass(frozen=True)
class Decision:
    """Whether a change was adopted for one model on the recordings it was tried on, and why:
    ``reason`` must say why where the change tied (e.g. "simpler"), and may note anything else."""

    adopted: bool
    reason: str = ""


def read_decisions(path: Path | str) -> dict[tuple[str, ...], Decision]:
    """``{(*CHANGE_IDENTITY values, model): Decision}`` from a decisions CSV
    (:data:`DECISION_COLUMNS`, ``adopted`` ``yes`` or ``no``); ``ValueError`` on another
    ``adopted`` value or on a key given twice.

    Notebook: §7.2."""
    decisions = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            key = tuple(row[column] for column in (*CHANGE_IDENTITY, "model"))
            if row["adopted"] not in ("yes", "no"):
                raise ValueError(f"{path}: {key}: adopted must be yes or no, "
                                 f"got {row['adopted']!r}")
            if key in decisions:
                raise ValueError(f"{path}: {key} is decided twice")
            decisions[key] = Decision(row["adopted"] == "yes", row["reason"])
    return decisions


@dataclass(frozen=True)
class Change:
    """One change tried, ``experiment`` against ``baseline`` (of ``baseline_model``; empty:
    each model's own), its models' SNR differences, their OVRL differences where both sides
    were scored by DNSMOS, and the decisions recorded for them."""

    recordings: str
    backend: str
    experiment: str
    change: str
    baseline: str
    baseline_model: str
    code: str
    differences: dict[str, Difference]
    decisions: dict[str, Decision] = field(default_factory=dict)
    ovrl_differences: dict[str, Difference] = field(default_factory=dict)

    @property
    def identity(self) -> tuple[str, ...]:
        """The :data:`CHANGE_IDENTITY` values; with a model, the key of its decision."""
        return tuple(getattr(self, column) for column in CHANGE_IDENTITY)

    @property
    def adopted(self) -> tuple[str, ...]:
        """The models this change was adopted for, in the order of :attr:`differences`."""
        return tuple(model for model, decision in self.decisions.items() if decision.adopted)


def recipe_changes(rows: list[dict], decisions: dict[tuple[str, ...], Decision] | None = None,
                   *, clip: str = FOLD_CLIP) -> list[Change]:
    """Every change in ``rows`` (full share of the training audio), with each model's paired
    difference from its baseline on ``clip`` (SNR, and OVRL where measured) and its decision
    from ``decisions``
    (:func:`read_decisions`; a model without one is left out of :attr:`Change.decisions`).

    Notebook: §1, §4.3, §7.2."""
    decisions = decisions or {}
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
        differences = {metric: {} for metric in METRICS}
        for model in models:
            for metric, by_model in differences.items():
                try:
                    by_model[model] = paired_difference(
                        source, (model, experiment), (baseline_model or model, baseline),
                        clip=clip, metric=metric)
                except ValueError:
                    continue
        snr = differences["snr_db"]
        if snr:
            identity = (recordings, backend, experiment, baseline, baseline_model)
            decided = {model: decisions[(*identity, model)] for model in snr
                       if (*identity, model) in decisions}
            table.append(Change(*key, snr, decided, differences["ovrl"]))
    return table
