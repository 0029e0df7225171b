"""Cross-validate the training recipe on a training pair: K contiguous folds, each scored with
equation (1) after training on the rest of the pair.

    python -m benchmarks.crossval [--audio-dir audio] [--folds 5] [--models cnn1d cnn2d]
                                  [--variants batch-32-past-dropout-decay-epochs-x2]
                                  [--seeds 0] [--shares 1.0] [--score-training]
                                  [--csv figures/crossval.csv]
    python -m benchmarks.crossval --summary figures/crossval.csv
                                  [--baseline batch-32-past-dropout-decay-epochs-x2]

Fold ``k`` is the ``k``-th of ``--folds`` equal, hop-aligned stretches of the pair. A trained
model (``cnn1d``, ``cnn2d``, ``fc``, ``cnn1d-K16``, the 1D CNN with half the kernels,
``cnn2d-fours``, the 2D CNN with its former layout :data:`CNN2D_TIME_FOURS`, or the 2D
candidates ``cnn2d-conv2-5x3``, ``cnn2d-conv1-32``, ``cnn2d-conv3-64`` and ``cnn2d-singles``)
learns from the rest of the pair, the stretches before and after the fold joined end to end,
with the recipe ``--variants`` names (see :data:`VARIANTS`; by default :data:`RECIPE`, the
notebook's recipe), and denoises the fold as a recording of its own; it also denoises every test
clip that has a clean reference. With both CNNs, their average (``ensemble``) is scored too:
both keep the noisy phase, so averaging the waveforms averages the magnitudes. Reference
denoisers (``RNNoise``, ``DeepFilterNet3``; not trained on anything here) are scored on the same
folds.

``--shares`` below 1 draws the learning curve: the model trains on that share of the rest of
the pair only, taken from the parts nearest the scored fold first. ``--score-training`` also
scores each trained model on the audio it trained on (clip ``training``): how closely it fits
its training signal, which the held-out fold does not tell.

Rows go to ``--csv`` (rows of the same model, variant, seed, share, fold and clip are
replaced; others are kept), one per model, variant, seed, share and scored clip, and a table
of means ± standard errors over folds is printed, with each variant's paired difference from
``--baseline``: a recipe change is kept only when that difference exceeds twice its standard
error.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import math
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import dsp_helpers as dsp
import models_tf

# The 2D CNN's layout before cross-validation replaced it (model cnn2d-fours): the 20 frames
# merged four at a time by the first layer, then the five rows into one.
CNN2D_TIME_FOURS = (models_tf.ConvBlock(16, (4, 9), (4, 2)),
                    models_tf.ConvBlock(32, (5, 7), (1, 2)),
                    models_tf.ConvBlock(32, (1, 5), (1, 2)))

# Candidates, each the default 2D layout with one change (none adopted; README): the second
# layer 3 bins wide instead of 7, meant to cost about as little as the layout in fours (model
# cnn2d-conv2-5x3); 32 kernels in the first layer instead of 16, as many first features per
# pair of frames as the 1D CNN gives each frame (model cnn2d-conv1-32); 64 kernels in the last
# layer instead of 32, so that the output layer reads as many features as the 1D CNN's does
# (60 x 64; model cnn2d-conv3-64).
_PAIRS = models_tf.DEFAULT_CNN2D_BLOCKS
CNN2D_CONV2_5X3 = (_PAIRS[0], dataclasses.replace(_PAIRS[1], kernel=(5, 3)), _PAIRS[2])
CNN2D_CONV1_32 = (dataclasses.replace(_PAIRS[0], filters=32), *_PAIRS[1:])
CNN2D_CONV3_64 = (*_PAIRS[:2], dataclasses.replace(_PAIRS[2], filters=64))
# A layout whose first layer keeps every frame (time stride 1: 19 rows from 20 frames, each row a
# frame and the one before it), the step that took the layout in fours to pairs carried one
# further; the second layer merges its rows four at a time, three apart, into 6 rows, the third
# those 6 into one (model cnn2d-singles; not adopted either).
CNN2D_SINGLES = (models_tf.ConvBlock(16, (2, 9), (1, 2)), models_tf.ConvBlock(32, (4, 7), (3, 2)),
                 models_tf.ConvBlock(32, (6, 5), (1, 2)))

TRAINED = {"cnn1d": models_tf.build_cnn1d, "cnn2d": models_tf.build_cnn2d,
           "cnn2d-fours": functools.partial(models_tf.build_cnn2d, blocks=CNN2D_TIME_FOURS),
           "cnn2d-conv2-5x3": functools.partial(models_tf.build_cnn2d, blocks=CNN2D_CONV2_5X3),
           "cnn2d-conv1-32": functools.partial(models_tf.build_cnn2d, blocks=CNN2D_CONV1_32),
           "cnn2d-conv3-64": functools.partial(models_tf.build_cnn2d, blocks=CNN2D_CONV3_64),
           "cnn2d-singles": functools.partial(models_tf.build_cnn2d, blocks=CNN2D_SINGLES),
           # the 2D CNN trained and scored on images of the current frame repeated 20 times
           "cnn2d-no-past": functools.partial(models_tf.build_cnn2d, past_frames=False),
           "fc": models_tf.build_fc,
           # the 1D CNN as it was before cross-validation doubled its kernels (K = 16, 32, 32)
           "cnn1d-K16": functools.partial(models_tf.build_cnn1d, width=0.5)}
ENSEMBLE = "ensemble"  # the mean of the cnn1d and cnn2d estimates
# the chosen recipe of the CNNs (models_tf.train_denoiser's defaults for them)
RECIPE = "batch-32-past-dropout-decay-epochs-x2"
REFERENCES = ("RNNoise", "DeepFilterNet3")

# Named training recipes: keyword arguments of models_tf.train_denoiser, under "build" those of
# the model's builder, and "epoch_scale" times each model's epoch budget (models_tf.default_epochs,
# rounded). The names count epochs in the budget before it doubled (60 epochs for the 1D CNN and
# the FC network, 100 for the 2D CNN: _FORMER_BUDGET times today's), so "epochs-x0.5" is a quarter
# of today's budget and "batch-32-past-dropout-decay-epochs-x2" (RECIPE) all of it. The recipes
# run before the minibatch went from 64 examples to 32 ("batch-32", "batch-32-epochs-x0.7" and
# "batch-32-epochs-x0.5" are that recipe at the former budget, the notebook's 70 % of it and half
# of it) keep their minibatch of 64, so that their rows can be re-run as they were; likewise the
# recipes run before the 2D CNN's past-frame dropout (models_tf.PAST_DROPOUT) switch it off.
_FORMER_BUDGET = 0.5
_NO_PAST_DROPOUT = {"past_dropout": 0.0}
_BATCH_64 = {"batch_size": 64, "epoch_scale": _FORMER_BUDGET, **_NO_PAST_DROPOUT}
_HALF_32 = {"validation": "none", "epoch_scale": 0.5 * _FORMER_BUDGET, "batch_size": 32,
            **_NO_PAST_DROPOUT}  # the candidates' baseline
_PAST_DROPOUT_DECAY = {"past_dropout": 1.0, "past_dropout_decay": True}
VARIANTS = {
    "tail": {"validation": "tail", **_BATCH_64},
    "blocks": {"validation": "blocks", **_BATCH_64},
    "no-validation": {"validation": "none", **_BATCH_64},
    "no-validation-epochs-x2": {"validation": "none", **_BATCH_64, "epoch_scale": 1.0},
    "noise-gain-6dB": {"validation": "none", "noise_gain_db": 6.0, **_BATCH_64},
    "dropout-0.3": {"validation": "none", "build": {"dropout": 0.3}, **_BATCH_64},
    "lr-1e-3": {"validation": "none", "learning_rate": 1e-3, **_BATCH_64},
    "weight-decay-0.05": {"validation": "none", "weight_decay": 0.05, **_BATCH_64},
    "epochs-x0.5": {"validation": "none", **_BATCH_64, "epoch_scale": 0.5 * _FORMER_BUDGET},
    "epochs-x0.4": {"validation": "none", **_BATCH_64, "epoch_scale": 0.4 * _FORMER_BUDGET},
    "epochs-x0.5-lr-4e-3": {"validation": "none", "learning_rate": 4e-3, **_BATCH_64,
                            "epoch_scale": 0.5 * _FORMER_BUDGET},
    "width-2": {"validation": "none", "build": {"width": 2.0}, **_BATCH_64},
    "speed-0.1-epochs-x0.5": {"validation": "none", "speech_rate_spread": 0.1, **_BATCH_64,
                              "epoch_scale": 0.5 * _FORMER_BUDGET},
    "batch-32": {"validation": "none", "batch_size": 32, "epoch_scale": _FORMER_BUDGET,
                 **_NO_PAST_DROPOUT},
    "batch-32-epochs-x0.7": {**_HALF_32, "epoch_scale": 0.7 * _FORMER_BUDGET},
    "batch-32-epochs-x0.5": _HALF_32,
    "batch-16-epochs-x0.5": {**_HALF_32, "batch_size": 16},
    "batch-32-epochs-x0.5-lr-1e-3": {**_HALF_32, "learning_rate": 1e-3},
    "batch-32-epochs-x0.5-lr-4e-3": {**_HALF_32, "learning_rate": 4e-3},
    "batch-32-epochs-x0.5-reversal": {**_HALF_32, "noise_reversal": True},
    "batch-32-epochs-x0.5-width-2": {**_HALF_32, "build": {"width": 2.0}},
    "batch-32-epochs-x0.5-weight-decay-0.025": {**_HALF_32, "weight_decay": 0.025},
    "batch-32-epochs-x0.5-weight-decay-0.05": {**_HALF_32, "weight_decay": 0.05},
    "batch-32-epochs-x0.5-noise-gain-6dB": {**_HALF_32, "noise_gain_db": 6.0},
    "batch-32-epochs-x0.5-remixes-only": {**_HALF_32, "recorded": "first"},
    "batch-32-remixes-only": {"validation": "none", "batch_size": 32, "recorded": "first",
                              "epoch_scale": _FORMER_BUDGET, **_NO_PAST_DROPOUT},
    "batch-32-epochs-x0.5-remixes-recorded-tail-0.25": {**_HALF_32, "recorded": "first",
                                                        "recorded_tail": 0.25},
    "batch-32-epochs-x0.5-remixes-recorded-tail-0.5": {**_HALF_32, "recorded": "first",
                                                       "recorded_tail": 0.5},
    "batch-32-epochs-x0.5-gain-limit-1.5": {**_HALF_32, "build": {"gain_limit": 1.5}},
    "batch-32-epochs-x0.5-target-magnitude": {**_HALF_32, "target": "magnitude"},
    "batch-32-epochs-x0.5-past-dropout-0.5": {**_HALF_32, "past_dropout": 0.5},
    "batch-32-epochs-x0.5-past-dropout-decay": {**_HALF_32, **_PAST_DROPOUT_DECAY},
    "batch-32-epochs-x0.5-past-dropout-hold-0.25": {**_HALF_32, **_PAST_DROPOUT_DECAY,
                                                    "past_dropout_hold": 0.25},
    "batch-32-epochs-x0.5-past-dropout-hold-0.5": {**_HALF_32, **_PAST_DROPOUT_DECAY,
                                                   "past_dropout_hold": 0.5},
    "batch-32-epochs-x0.5-past-dropout-until-0.5": {**_HALF_32, **_PAST_DROPOUT_DECAY,
                                                    "past_dropout_until": 0.5},
    "batch-32-epochs-x0.5-past-dropout-partial": {**_HALF_32, **_PAST_DROPOUT_DECAY,
                                                  "past_dropout_partial": True},
    "batch-32-past-dropout-decay": {"validation": "none", "batch_size": 32,
                                    "epoch_scale": _FORMER_BUDGET, **_PAST_DROPOUT_DECAY},
    "batch-32-past-dropout-decay-epochs-x2": {"validation": "none", "batch_size": 32,
                                              **_PAST_DROPOUT_DECAY},
}

COLUMNS = ["recordings", "model", "variant", "seed", "share", "fold", "clip", "snr_db",
           "noisy_snr_db", "ceiling_snr_db", "train_seconds", "train_samples", "epochs"]
KEY = ("model", "variant", "seed", "share", "fold", "clip")
FOLD_CLIP = "fold"  # the clip column of the row that scores the held-out fold itself
TRAINING_CLIP = "training"  # with score_training: the rest of the pair, which the model trained on


def fold_ranges(length: int, folds: int) -> list[tuple[int, int]]:
    """``folds`` contiguous sample ranges ``[start, stop)`` covering ``length`` samples, with
    inner edges on hop boundaries; the last range ends at ``length``."""
    hops = length // dsp.HOP_LENGTH
    if folds < 2 or folds > hops:
        raise ValueError(f"need between 2 and {hops} folds for {length} samples, got {folds}")
    edges = [round(hops * index / folds) * dsp.HOP_LENGTH for index in range(folds)] + [length]
    return list(zip(edges[:-1], edges[1:]))


def nearest_training_ranges(length: int, fold: tuple[int, int],
                            share: float = 1.0) -> list[tuple[int, int]]:
    """The sample ranges a model trains on when ``fold`` is scored: ``share`` of the rest of
    the pair, taken from the samples nearest the fold first (as evenly from both sides as the
    pair allows), hop-aligned. ``share = 1`` gives everything outside the fold."""
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1], got {share}")
    start, stop = fold
    left, right = start, length - stop
    wanted = share * (left + right)
    before = min(left, max(wanted / 2, wanted - right))
    after = min(right, wanted - before)
    if share < 1.0:
        before = int(before) // dsp.HOP_LENGTH * dsp.HOP_LENGTH
        after = int(after) // dsp.HOP_LENGTH * dsp.HOP_LENGTH
    return [(a, b) for a, b in ((start - before, start), (stop, stop + after)) if b > a]


def scored_clips(recordings: dsp.Recordings, clean: np.ndarray, dirty: np.ndarray,
                 fold: tuple[int, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{clip: (noisy, clean)}``: the fold (under :data:`FOLD_CLIP`) and every test clip with
    a clean reference."""
    clips = {FOLD_CLIP: (dirty[fold[0]:fold[1]], clean[fold[0]:fold[1]])}
    for name, (noisy, reference) in dsp.load_test_clips(recordings).items():
        if reference is not None:
            clips[name] = (noisy, reference)
    return clips


def reference_denoiser(name: str):
    """``signal -> signal`` for a reference denoiser, or ``None`` (with a printed reason) when
    it cannot run on this platform."""
    import reference_denoisers

    reason = reference_denoisers.unavailable_reason(name)
    if reason:
        print(f"{name}: skipped ({reason})")
        return None
    return lambda signal: reference_denoisers.denoise_reference(name, signal)


def _clip_baselines(clips: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict]:
    """Per clip ``(noisy, clean)``: the noisy input's SNR and the reference's (clean magnitude,
    noisy phase), the ``noisy_snr_db`` and ``ceiling_snr_db`` columns."""
    return {clip: {"noisy_snr_db": dsp.snr_db(reference, noisy),
                   "ceiling_snr_db": dsp.snr_db(reference,
                                                dsp.oracle_reconstruction(reference, noisy))}
            for clip, (noisy, reference) in clips.items()}


def cross_validate(recordings: dsp.Recordings, folds: int, models: list[str],
                   variants: list[str], seeds: list[int], shares: list[float],
                   epochs: int | None = None, csv_path: Path | None = None,
                   only_folds: list[int] | None = None,
                   score_training: bool = False) -> list[dict]:
    """Train and score every combination; returns one row (:data:`COLUMNS`) per scored clip.
    With ``csv_path``, the rows are also written there (:func:`write_rows`) after every fold,
    so an interrupted run keeps what it measured. ``only_folds`` (numbered from 1) runs those
    folds of the ``folds`` only. With ``score_training``, each trained model also denoises the
    audio it trained on (clip :data:`TRAINING_CLIP`): how closely it fits its training signal,
    which the held-out fold does not tell."""
    clean = dsp.load_audio(recordings.train_clean, verbose=False)
    dirty = dsp.load_audio(recordings.train_dirty, verbose=False)
    rows = []
    for fold_index, fold in enumerate(fold_ranges(len(clean), folds), start=1):
        if only_folds and fold_index not in only_folds:
            continue
        fold_clips = scored_clips(recordings, clean, dirty, fold)
        fold_base = _clip_baselines(fold_clips)

        def record(model, variant, seed, share, estimates, clips, base, seconds=0.0, samples=0,
                   epochs_run=0):
            """One row per clip of ``estimates``, scored against ``clips`` with ``base``'s
            noisy-input and reference SNRs."""
            for clip, estimate in estimates.items():
                rows.append({"recordings": recordings.source, "model": model,
                             "variant": variant, "seed": seed, "share": share,
                             "fold": fold_index, "clip": clip,
                             "snr_db": dsp.snr_db(clips[clip][1], estimate), **base[clip],
                             "train_seconds": round(seconds, 2), "train_samples": samples,
                             "epochs": epochs_run})
                print(f"fold {fold_index} {model:>14s} {variant:>14s} seed {seed} share "
                      f"{share:.2f} {clip:>10s}: {rows[-1]['snr_db']:6.2f} dB "
                      f"(noisy {rows[-1]['noisy_snr_db']:5.2f})", flush=True)

        for name in [m for m in models if m in REFERENCES]:
            denoise = reference_denoiser(name)
            if denoise is not None:
                record(name, "pretrained", 0, 1.0,
                       {clip: denoise(noisy) for clip, (noisy, _) in fold_clips.items()},
                       fold_clips, fold_base)
        for variant in variants:
            for seed in seeds:
                for share in shares:
                    training = nearest_training_ranges(len(clean), fold, share)
                    train_clean = models_tf.join_ranges(clean, training)
                    train_dirty = models_tf.join_ranges(dirty, training)
                    clips, base = fold_clips, fold_base
                    if score_training:
                        training_clip = {TRAINING_CLIP: (train_dirty, train_clean)}
                        clips = {**fold_clips, **training_clip}
                        base = {**fold_base, **_clip_baselines(training_clip)}
                    estimates = {}
                    recipe = dict(VARIANTS[variant])
                    build = recipe.pop("build", {})
                    epoch_scale = recipe.pop("epoch_scale", 1)
                    for name in [m for m in models if m in TRAINED]:
                        model = TRAINED[name](seed=seed, **build)
                        budget = (max(1, round(epoch_scale * epochs)) if epochs
                                  else models_tf.default_epochs(model, epoch_scale))
                        run = models_tf.train_denoiser(model, train_clean, train_dirty, seed=seed,
                                                       epochs=budget, **recipe)
                        estimates[name] = {clip: models_tf.denoise_waveform(model, noisy)
                                           for clip, (noisy, _) in clips.items()}
                        record(name, variant, seed, share, estimates[name], clips, base,
                               run.seconds, len(train_clean), run.epochs)
                    if "cnn1d" in estimates and "cnn2d" in estimates:
                        record(ENSEMBLE, variant, seed, share,
                               {clip: 0.5 * (estimates["cnn1d"][clip] + estimates["cnn2d"][clip])
                                for clip in clips}, clips, base)
        if csv_path is not None:
            write_rows(csv_path, rows)
    return rows


def read_rows(paths: list[Path]) -> list[dict]:
    """Rows of one or more CSV files written by :func:`write_rows`, numbers as numbers."""
    rows = []
    for path in paths:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                row.setdefault("recordings", "")
                for key in ("seed", "fold", "train_samples", "epochs"):
                    row[key] = int(row[key])
                for key in ("share", "snr_db", "noisy_snr_db", "ceiling_snr_db", "train_seconds"):
                    row[key] = float(row[key])
                rows.append(row)
    return rows


def check_recordings(path: Path, source: str) -> None:
    """One file, one set of recordings: raises ``ValueError`` if ``path`` exists and holds rows
    of recordings other than ``source``."""
    if path.exists():
        others = sorted({row["recordings"] for row in read_rows([path])} - {source})
        if others:
            raise ValueError(f"{path}: holds rows of the {', '.join(others)} recordings, not "
                             f"{source}; write these rows to another file with --csv")


def write_rows(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` to ``path``, keeping the rows already there that ``rows`` does not
    replace (same :data:`KEY`). Raises ``ValueError`` (:func:`check_recordings`) rather than mix
    rows of different recordings in one file."""
    for source in {row["recordings"] for row in rows}:
        check_recordings(path, source)
    new_keys = {tuple(str(row[k]) for k in KEY) for row in rows}
    kept = [row for row in (read_rows([path]) if path.exists() else [])
            if tuple(str(row[k]) for k in KEY) not in new_keys]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        for row in kept + rows:
            writer.writerow({key: (f"{row[key]:.4f}" if key.endswith("_db") else row[key])
                             for key in COLUMNS})


def mean_and_error(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (sample standard deviation / sqrt(n); 0 for n = 1)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), 0.0
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def fold_scores(rows: list[dict], clip: str = FOLD_CLIP) -> dict[tuple, dict[tuple, float]]:
    """``{(model, variant, share): {(fold, seed): snr_db}}`` for one clip."""
    table = defaultdict(dict)
    for row in rows:
        if row["clip"] == clip:
            table[row["model"], row["variant"], row["share"]][row["fold"], row["seed"]] = \
                row["snr_db"]
    return dict(table)


def paired_difference(first: dict[tuple, float], second: dict[tuple, float]
                      ) -> tuple[float, float, int]:
    """Mean ± standard error of ``first - second`` over the (fold, seed) pairs both have,
    and how many there are."""
    common = sorted(set(first) & set(second))
    if not common:
        raise ValueError("the two sets of scores share no fold")
    mean, error = mean_and_error([first[key] - second[key] for key in common])
    return mean, error, len(common)


def difference_line(label: str, first: dict[tuple, float], second: dict[tuple, float]) -> str:
    """One line of a report: ``label``, then :func:`paired_difference` of ``first - second``
    (mean ± s.e., dB) over how many folds (or runs, with several seeds), and whether it
    exceeds twice its standard error."""
    mean, error, count = paired_difference(first, second)
    seeds = {seed for _, seed in set(first) & set(second)}
    over = f"{count} folds" if len(seeds) == 1 else f"{count} runs (folds × seeds)"
    verdict = "beyond" if abs(mean) > 2 * error else "within"
    return (f"{label}: {mean:+.2f} ± {error:.2f} dB over {over} "
            f"({verdict} twice the standard error)")


def training_costs(rows: list[dict], models, seed: int | None = None) -> list[str]:
    """One line per model in ``models`` and recipe in ``rows`` (sorted by both): the epochs
    trained and the mean seconds of training per held-out fold, over all seeds or over
    ``seed``'s runs only."""
    runs = defaultdict(list)
    for row in rows:
        if row["model"] in models and row["clip"] == FOLD_CLIP and seed in (None, row["seed"]):
            runs[row["model"], row["variant"]].append(row)
    width = max((len(variant) for _, variant in runs), default=0)
    return [f"  {model:6s} {variant:{width}s} {group[0]['epochs']:>4} epochs, "
            f"{np.mean([row['train_seconds'] for row in group]):4.0f} s"
            for (model, variant), group in sorted(runs.items())]


def _fold_baselines(rows: list[dict]) -> tuple[dict[tuple, float], dict[tuple, float]]:
    """The held-out folds' noisy-input and reference SNRs, each ``{(fold, seed): dB}``."""
    fold_rows = [row for row in rows if row["clip"] == FOLD_CLIP]
    return ({(r["fold"], r["seed"]): r["noisy_snr_db"] for r in fold_rows},
            {(r["fold"], r["seed"]): r["ceiling_snr_db"] for r in fold_rows})


def summary_rows(rows: list[dict], baseline: str | None = None
                 ) -> tuple[list[str], list[list]]:
    """Header and rows of the cross-validation summary: per model, variant and share, the
    number of folds (and of seeds, if several), the held-out folds' SNR (mean ± s.e. over the
    folds and seeds), the share of the reference's gain (clean magnitude with the noisy phase)
    over the noisy input, each test clip's mean SNR, and the paired difference from the
    ``baseline`` variant of the same model ("better" or "worse" when it exceeds twice its
    standard error, else "within 2 s.e.")."""
    scores = fold_scores(rows)
    tests = list(dict.fromkeys(row["clip"] for row in rows if row["clip"] != FOLD_CLIP))
    noisy, ceiling = _fold_baselines(rows)
    header = ["model", "variant", "share", "folds", "SNR dB (mean ± s.e.)", "gain share",
              *tests, f"vs {baseline or '-'} (paired)"]
    table = []
    for (model, variant, share), per_fold in scores.items():
        mean, error = mean_and_error(list(per_fold.values()))
        gain = np.mean([(per_fold[k] - noisy[k]) / (ceiling[k] - noisy[k]) for k in per_fold])
        clip_means = []
        for test in tests:
            values = [r["snr_db"] for r in rows if r["clip"] == test and r["model"] == model
                      and r["variant"] == variant and r["share"] == share]
            clip_means.append(f"{np.mean(values):.2f}" if values else "")
        versus = ""
        if baseline and variant != baseline and (model, baseline, share) in scores:
            diff, diff_error, _ = paired_difference(per_fold, scores[model, baseline, share])
            verdict = ("better" if diff > 2 * diff_error else
                       "worse" if diff < -2 * diff_error else "within 2 s.e.")
            versus = f"{diff:+.2f} ± {diff_error:.2f} ({verdict})"
        folds = len({fold for fold, _ in per_fold})
        seeds = len({seed for _, seed in per_fold})
        table.append([model, variant, f"{share:.2f}",
                      folds if seeds == 1 else f"{folds} × {seeds} seeds",
                      f"{mean:.2f} ± {error:.2f}", f"{gain:.1%}", *clip_means, versus])
    return header, table


def summary(rows: list[dict], baseline: str | None = None) -> str:
    """:func:`summary_rows` as a plain-text table, with the folds' mean noisy-input SNR and
    reference below it."""
    header, table = summary_rows(rows, baseline)
    widths = [max(len(str(line[i])) for line in [header] + table) for i in range(len(header))]
    lines = ["  ".join(str(cell).rjust(width) for cell, width in zip(line, widths))
             for line in [header] + table]
    noisy, ceiling = _fold_baselines(rows)
    lines.append(f"held-out folds: noisy input {np.mean(list(noisy.values())):.2f} dB, clean "
                 f"magnitude with the noisy phase {np.mean(list(ceiling.values())):.2f} dB "
                 f"(means over folds)")
    return "\n".join(lines)


def learning_curve(rows: list[dict], variant: str, paired: bool = False
                   ) -> dict[str, list[tuple[float, float, float]]]:
    """Per trained model, ``[(seconds of training audio, mean SNR, s.e.)]`` over the held-out
    folds, one point per share of ``variant``, in increasing order; the seconds are the mean
    over folds. ``paired``: each point is instead the mean ± s.e. over folds of the fold's SNR
    minus the same fold's SNR at the full share (which must be among the rows), so the folds'
    differences in difficulty cancel."""
    scores = fold_scores(rows)
    curves = defaultdict(list)
    for (model, row_variant, share), per_fold in sorted(scores.items()):
        if row_variant != variant:
            continue
        samples = [r["train_samples"] for r in rows if r["clip"] == FOLD_CLIP
                   and r["model"] == model and r["variant"] == variant and r["share"] == share]
        if paired:
            if (model, variant, 1.0) not in scores:
                raise ValueError(f"{model}, {variant}: no full-share rows to pair the curve with")
            mean, error, _ = paired_difference(per_fold, scores[model, variant, 1.0])
        else:
            mean, error = mean_and_error(list(per_fold.values()))
        curves[model].append((float(np.mean(samples)) / dsp.SAMPLE_RATE, mean, error))
    return dict(curves)


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--audio-dir", default="audio",
                        help="folder of the recordings (default: audio, or its stand-in set)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["cnn1d", "cnn2d"],
                        choices=list(TRAINED) + list(REFERENCES), metavar="MODEL",
                        help="default: the two CNNs (the FC baseline trains in minibatches of "
                             "64: --models fc --variants no-validation); one of: "
                             + ", ".join([*TRAINED, *REFERENCES]))
    parser.add_argument("--variants", nargs="+", default=[RECIPE], choices=list(VARIANTS),
                        metavar="VARIANT",
                        help=f"recipes to train (default: {RECIPE}, the recipe): "
                             + ", ".join(VARIANTS))
    parser.add_argument("--only-folds", nargs="+", type=int, metavar="K",
                        help="run these folds only (numbered from 1; default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--shares", nargs="+", type=float, default=[1.0],
                        help="shares of the rest of the pair to train on (learning curve)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="the budget each variant's epoch_scale multiplies "
                             "(default: models_tf.default_epochs)")
    parser.add_argument("--csv", type=Path, default=Path("figures/crossval.csv"))
    parser.add_argument("--score-training", action="store_true",
                        help=f"also score each model on the audio it trained on (clip "
                             f"'{TRAINING_CLIP}')")
    parser.add_argument("--summary", nargs="+", type=Path, metavar="CSV",
                        help="only print the summary of these CSV files")
    parser.add_argument("--baseline", default=RECIPE,
                        help="variant the others are compared with, fold by fold")
    parser.add_argument("--plot-learning-curve", type=Path, metavar="PNG",
                        help="draw the learning curve of the first --variants from the rows of "
                             "--summary (or of --csv) into this file")
    args = parser.parse_args()

    if args.plot_learning_curve:
        import matplotlib.pyplot as plt

        import report_helpers

        rows = [r for r in read_rows(args.summary or [args.csv]) if r["model"] in TRAINED]
        figure, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
        report_helpers.plot_learning_curve(learning_curve(rows, args.variants[0]), ax=axes[0])
        report_helpers.plot_learning_curve(
            learning_curve(rows, args.variants[0], paired=True), ax=axes[1],
            ylabel="SNR minus the full share's, per fold (dB)")
        figure.suptitle(f"{rows[0]['recordings']} recordings, {args.variants[0]} recipe, "
                        f"{args.folds} folds (mean ± s.e. over folds)")
        report_helpers.save_figure(figure, args.plot_learning_curve)
        print(f"wrote {args.plot_learning_curve}")
        return

    if args.summary:
        print(summary(read_rows(args.summary), args.baseline))
        return
    recordings = dsp.find_recordings(args.audio_dir)
    try:
        check_recordings(args.csv, recordings.source)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    print(recordings.describe(), flush=True)
    start = time.perf_counter()
    rows = cross_validate(recordings, args.folds, args.models, args.variants, args.seeds,
                          args.shares, args.epochs, args.csv, args.only_folds,
                          args.score_training)
    print(f"\n{len(rows)} rows written to {args.csv} in {time.perf_counter() - start:.0f} s\n")
    print(summary(read_rows([args.csv]), args.baseline))


if __name__ == "__main__":
    main()
