"""Cross-validate a training recipe on the training pair: K contiguous folds, each scored with
equation (1) after training on the rest of the pair, the rows added to one results CSV.

    python -m benchmarks.crossval --experiment NAME [--change TEXT] [--baseline NAME]
                                  [--baseline-model MODEL] [--models cnn1d cnn2d]
                                  [--epochs N | --epoch-scale S] [--batch-size B]
                                  [--learning-rate LR] [--past-dropout P]
                                  [--folds 5] [--only-folds K ...] [--seeds 0] [--shares 1.0]
                                  [--score-training] [--audio-dir audio]
                                  [--csv benchmarks/results/crossval.csv]
    python -m benchmarks.crossval --summary [CSV ...] [--markdown]

Fold ``k`` is the ``k``-th of ``--folds`` equal, hop-aligned stretches of the pair. Each trained
model (``cnn1d``, ``cnn2d``, ``fc``) learns from the rest of the pair, the stretches before and
after the fold joined end to end, with its recipe (``models_tf.recipe_for``) changed by the
options given, and denoises the fold as a recording of its own; it also denoises every test
clip that has a clean reference. With both CNNs, their average (``ensemble``) is scored too:
both keep the noisy phase, so averaging the waveforms averages the magnitudes. The pretrained
reference denoisers (``RNNoise``, ``DeepFilterNet3``; trained on nothing here) are scored on the
same folds, as experiment ``pretrained``, where this platform runs them; each trained model's
estimate is also combined, untrained, with each reference's (``"{model}+{reference} mean"`` of
the waveforms, ``... geometric`` mean of the magnitudes).

``--shares`` below 1 draws the learning curve: the model trains on that share of the rest of the
pair only, taken from the parts nearest the scored fold first. ``--score-training`` also scores
each trained model on the audio it trained on (clip ``training``): how closely it fits its
training signal, which the held-out fold does not tell.

Every row names the ``--experiment``, the ``--change`` it makes to its ``--baseline`` experiment
(of ``--baseline-model`` when the change is the model itself) and the recipe it trained with; a
row of the same recordings, backend, model, experiment, seed, share, fold and clip as one in
``--csv`` replaces it, the others are kept. ``--summary`` prints each experiment's scores and the
table of changes with their paired differences (``cross_validation``: seeds averaged within a
fold, mean ± standard error over folds; a change wins only beyond twice its standard error);
``--markdown`` prints that table, with the commands that rerun each change, for
``benchmarks/README.md``. Rows that only an earlier commit can regenerate (their ``code``
column) are rerun there; those of the tag ``experiments-2026-12`` (commit cac9031) with
``--variants`` naming the experiment.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import shlex
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import cross_validation as cv
import dsp_helpers as dsp
import models_tf

TRAINED = {"cnn1d": models_tf.build_cnn1d, "cnn2d": models_tf.build_cnn2d,
           "fc": models_tf.build_fc}
ENSEMBLE = "ensemble"  # the mean of the cnn1d and cnn2d estimates
ENSEMBLED = ("cnn1d", "cnn2d")
PAST_FRAMES = ("cnn2d",)  # the trained models that see past frames (and past-frame dropout)
REFERENCES = ("RNNoise", "DeepFilterNet3")


def geometric_mean_of_magnitudes(first: np.ndarray, second: np.ndarray,
                                 noisy: np.ndarray) -> np.ndarray:
    """The ``(samples,)`` signal whose STFT magnitude is the geometric mean of two estimates'
    of ``noisy``, with the noisy phase."""
    noisy_phase = dsp.stft_frames(noisy)[1]
    magnitude = np.sqrt(dsp.stft_frames(first)[0] * dsp.stft_frames(second)[0])
    return dsp.reconstruct(magnitude, noisy_phase, len(noisy))


# Untrained combinations of a trained network's estimate with a pretrained denoiser's.
COMBINATIONS = {"mean": lambda first, second, noisy: 0.5 * (first + second),
                "geometric": geometric_mean_of_magnitudes}
PRETRAINED = "pretrained"  # the experiment of the reference denoisers' rows
RECIPE_COLUMNS = ("epochs", "batch_size", "learning_rate", "past_dropout")


@dataclasses.dataclass(frozen=True)
class Experiment:
    """What one run trains and records: its ``name``, the ``change`` it makes to its
    ``baseline`` experiment (of ``baseline_model``; empty: each model's own), and how it
    changes each model's recipe (``None``: the recipe's value). ``epochs`` replaces the
    budget; without it the budget is ``epoch_scale`` times the recipe's (rounded)."""

    name: str
    change: str = ""
    baseline: str = ""
    baseline_model: str = ""
    epochs: int | None = None
    epoch_scale: float = 1.0
    batch_size: int | None = None
    learning_rate: float | None = None
    past_dropout: float | None = None

    def recipe(self, model) -> models_tf.Recipe:
        """The :class:`models_tf.Recipe` ``model`` trains with in this experiment."""
        overrides = {name: getattr(self, name) for name in RECIPE_COLUMNS[1:]
                     if getattr(self, name) is not None}
        epochs = self.epochs or models_tf.default_epochs(model, self.epoch_scale)
        return dataclasses.replace(models_tf.recipe_for(model), epochs=epochs, **overrides)


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


def join_ranges(signal: np.ndarray, ranges: list[tuple[int, int]]) -> np.ndarray:
    """The sample ``ranges`` ``[start, stop)`` of a ``(samples,)`` signal joined end to end."""
    return np.concatenate([signal[start:stop] for start, stop in ranges])


def scored_clips(recordings: dsp.Recordings, clean: np.ndarray, dirty: np.ndarray,
                 fold: tuple[int, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{clip: (noisy, clean)}``: the fold (under :data:`cross_validation.FOLD_CLIP`) and
    every test clip with a clean reference."""
    clips = {cv.FOLD_CLIP: (dirty[fold[0]:fold[1]], clean[fold[0]:fold[1]])}
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
                   experiment: Experiment, seeds: list[int], shares: list[float],
                   csv_path: Path | None = None, only_folds: list[int] | None = None,
                   score_training: bool = False, label: str | None = None) -> list[dict]:
    """Train and score every model, seed and share on every fold (``only_folds``, numbered
    from 1: those folds only); returns one row (:data:`cross_validation.COLUMNS`) per scored
    clip. With ``csv_path``, the rows are also written there (:func:`write_rows`) after every
    fold, so an interrupted run keeps what it measured. With ``score_training``, each trained
    model also denoises the audio it trained on (clip :data:`cross_validation.TRAINING_CLIP`).
    ``label`` names the recordings in the rows (default: their ``source``)."""
    clean = dsp.load_audio(recordings.train_clean, verbose=False)
    dirty = dsp.load_audio(recordings.train_dirty, verbose=False)
    backend = models_tf.keras.backend.backend()
    rows = []
    for fold_index, fold in enumerate(fold_ranges(len(clean), folds), start=1):
        if only_folds and fold_index not in only_folds:
            continue
        fold_clips = scored_clips(recordings, clean, dirty, fold)
        fold_base = _clip_baselines(fold_clips)

        def record(model, described, estimates, clips, base, seed=0, share=1.0, recipe=None,
                   seconds=None, samples=None):
            """One row per clip of ``estimates``, scored against ``clips`` with ``base``'s
            noisy-input and reference SNRs; ``described`` gives the experiment columns."""
            recipe_values = dict.fromkeys(RECIPE_COLUMNS)
            if recipe is not None:
                recipe_values = {name: getattr(recipe, name) for name in RECIPE_COLUMNS}
            for clip, estimate in estimates.items():
                rows.append({"recordings": label or recordings.source, "model": model,
                             "experiment": described.name, "change": described.change,
                             "baseline": described.baseline,
                             "baseline_model": described.baseline_model, **recipe_values,
                             "backend": backend, "code": cv.HEAD, "seed": seed,
                             "share": share, "fold": fold_index, "clip": clip,
                             "snr_db": dsp.snr_db(clips[clip][1], estimate), **base[clip],
                             "train_seconds": seconds, "train_samples": samples})
                print(f"fold {fold_index} {model:>14s} {described.name} seed {seed} share "
                      f"{share:.2f} {clip:>10s}: {rows[-1]['snr_db']:6.2f} dB "
                      f"(noisy {rows[-1]['noisy_snr_db']:5.2f})", flush=True)

        references = {}
        for name in [m for m in models if m in REFERENCES]:
            denoise = reference_denoiser(name)
            if denoise is not None:
                references[name] = {clip: denoise(noisy)
                                    for clip, (noisy, _) in fold_clips.items()}
                record(name, Experiment(PRETRAINED), references[name], fold_clips, fold_base)
        for seed in seeds:
            for share in shares:
                training = nearest_training_ranges(len(clean), fold, share)
                train_clean = join_ranges(clean, training)
                train_dirty = join_ranges(dirty, training)
                clips, base = fold_clips, fold_base
                if score_training:
                    training_clip = {cv.TRAINING_CLIP: (train_dirty, train_clean)}
                    clips = {**fold_clips, **training_clip}
                    base = {**fold_base, **_clip_baselines(training_clip)}
                estimates = {}
                for name in [m for m in models if m in TRAINED]:
                    model = TRAINED[name](seed=seed)
                    recipe = experiment.recipe(model)
                    run = models_tf.train_denoiser(model, train_clean, train_dirty, recipe,
                                                   seed=seed)
                    if models_tf.context_frames(model) == 1:  # a network without a past
                        recipe = dataclasses.replace(recipe, past_dropout=0.0)
                    estimates[name] = {clip: models_tf.denoise_waveform(model, noisy)
                                       for clip, (noisy, _) in clips.items()}
                    record(name, experiment, estimates[name], clips, base, seed, share, recipe,
                           round(run.seconds, 2), len(train_clean))
                if all(name in estimates for name in ENSEMBLED):
                    # a change of model is the trained models' own; the ensemble has no baseline
                    ensemble = Experiment(experiment.name) if experiment.baseline_model \
                        else experiment
                    record(ENSEMBLE, ensemble,
                           {clip: np.mean([estimates[name][clip] for name in ENSEMBLED], axis=0)
                            for clip in clips}, clips, base, seed, share)
                for name, reference in references.items():  # combinations, on the fold's clips
                    for trained in estimates:
                        for kind, combine in COMBINATIONS.items():
                            record(f"{trained}+{name} {kind}", Experiment(experiment.name),
                                   {clip: combine(estimates[trained][clip], reference[clip],
                                                  noisy) for clip, (noisy, _) in
                                    fold_clips.items()}, fold_clips, fold_base, seed, share)
        if csv_path is not None:
            write_rows(csv_path, rows)
    return rows


def _cell(column: str, value) -> str:
    """A CSV cell: empty for ``None``, dB to 4 decimals, anything else as Python prints it."""
    if value is None:
        return ""
    return f"{value:.4f}" if column.endswith("_db") else str(value)


def write_rows(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` to ``path`` (creating its folder), keeping the rows already there that
    ``rows`` does not replace (same :data:`cross_validation.KEY`), all at once: an interrupted
    write leaves the file as it was."""
    path = Path(path)
    new_keys = {tuple(_cell(k, row[k]) for k in cv.KEY) for row in rows}
    kept = [row for row in (cv.read_results(path) if path.exists() else [])
            if tuple(_cell(k, row[k]) for k in cv.KEY) not in new_keys]
    path.parent.mkdir(parents=True, exist_ok=True)
    with dsp.replaced_atomically(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(cv.COLUMNS)
        for row in kept + rows:
            writer.writerow([_cell(column, row[column]) for column in cv.COLUMNS])


def _entries(rows: list[dict]) -> list[tuple]:
    """``(recordings, backend, model, experiment, share)`` of every entry, in order of rows."""
    return list(dict.fromkeys((r["recordings"], r["backend"], r["model"], r["experiment"],
                               r["share"]) for r in rows))


def _plain_table(header: list[str], table: list[list]) -> str:
    widths = [max(len(str(line[i])) for line in [header] + table) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths))
                     for line in [header] + table)


def summary(rows: list[dict]) -> str:
    """Per entry (recordings, backend, model, experiment, share of the training audio): folds ×
    seeds and the mean ± s.e. over folds of the SNR on the held-out fold and on each test clip;
    then every change with each model's paired difference from its baseline on the folds."""
    tests = list(dict.fromkeys(r["clip"] for r in rows
                               if r["clip"] not in (cv.FOLD_CLIP, cv.TRAINING_CLIP)))
    header = ["recordings", "backend", "model", "experiment", "share", "folds × seeds",
              "fold SNR dB", *tests]
    table = []
    for recordings, backend, model, experiment, share in _entries(rows):
        source = cv.select(rows, recordings=recordings, backend=backend)
        entry = cv.select(source, model=model, experiment=experiment, share=share)
        cells = []
        for clip in (cv.FOLD_CLIP, *tests):
            try:
                scores = cv.fold_scores(source, model, experiment, clip=clip, share=share)
            except ValueError:  # a clip this entry was not scored on
                cells.append("")
                continue
            cells.append("{:.2f} ± {:.2f}".format(*cv.mean_and_error(scores.values())))
        folds = len({r["fold"] for r in entry})
        table.append([recordings, backend, model, experiment, f"{share:g}",
                      f"{folds} × {len({r['seed'] for r in entry})}", *cells])
    changes = [[change.experiment, change.change, _versus(change),
                ", ".join(change.adopted) or "no",
                "; ".join(f"{model} {difference}" for model, difference
                          in change.differences.items())]
               for change in cv.recipe_changes(rows)]
    return (_plain_table(header, table) + "\n\nchanges (paired differences on the folds, "
            "mean ± s.e. over folds):\n"
            + _plain_table(["experiment", "change", "against", "adopted for", "difference"],
                           changes))


def _versus(change: cv.Change) -> str:
    """What ``change`` is compared against: its baseline experiment (and model, if another)."""
    return f"{change.baseline_model} {change.baseline}".strip()


def _network(model: str) -> str:
    """The network a model of the results is built on: ``cnn1d-K16`` -> ``cnn1d``."""
    return model.split("-")[0]


def _recipe_options(rows: list[dict], models: list[str]) -> list[str]:
    """Command-line options that give ``models`` the recipe values of ``rows`` (one value per
    column across the models; only those that differ from some model's recipe)."""
    options = []
    for column, option in (("epochs", "--epoch-scale"), ("batch_size", "--batch-size"),
                           ("learning_rate", "--learning-rate"),
                           ("past_dropout", "--past-dropout")):
        wanted, defaults = {}, {}
        for name in models:
            network = _network(name)  # a layout's recipe is its network's
            if column == "past_dropout" and network not in PAST_FRAMES:
                continue  # a network without past frames ignores past-frame dropout
            value = next(r[column] for r in rows if r["model"] == name)
            default = getattr(models_tf.RECIPES[network], column)
            wanted[name] = value / default if column == "epochs" else value
            defaults[name] = 1.0 if column == "epochs" else default
        values = set(wanted.values())
        if column == "epochs" and len(values) > 1:  # one --epoch-scale may round to each
            epochs = {name: next(r["epochs"] for r in rows if r["model"] == name)
                      for name in wanted}
            fitting = [scale for scale in sorted({round(value, 2) for value in values})
                       if all(max(1, round(scale * models_tf.RECIPES[_network(name)].epochs))
                              == count
                              for name, count in epochs.items())]
            values = {fitting[0]} if fitting else values
        if len(values) > 1:
            raise ValueError(f"{column}: the models need different options {wanted}")
        if values and wanted != defaults:
            options += [option, f"{values.pop():g}"]
    return options


def rerun_command(rows: list[dict], recordings: str, backend: str, experiment: str,
                  models: list[str], described: Experiment | None = None) -> str:
    """The shell command that regenerates the rows of ``experiment`` for ``models`` (the
    ensemble by training its two models): at HEAD, ``benchmarks.crossval`` with the recipe
    options and ``described``'s columns; rows only the tag can regenerate, the tag's
    ``--variants``."""
    trained = list(dict.fromkeys(
        name for model in models for name in (ENSEMBLED if model == ENSEMBLE else [model])))
    entry = [r for r in rows if r["recordings"] == recordings and r["backend"] == backend
             and r["experiment"] == experiment and r["model"] in [*trained, *models]]
    words = ["python", "-m", "benchmarks.crossval", "--models", *trained]
    if recordings != "standin":  # a folder of the user's: the course files are not shipped
        words += ["--audio-dir", recordings, "--recordings", recordings]
    code = {r["code"] for r in entry}
    if len(code) > 1:
        raise ValueError(f"{experiment}: rows of {models} need different code {sorted(code)}")
    if code != {cv.TAG}:
        words += ["--experiment", experiment]
        if described is not None:
            for option, value in (("--change", described.change),
                                  ("--baseline", described.baseline),
                                  ("--baseline-model", described.baseline_model)):
                words += [option, value] if value else []
        words += _recipe_options(entry, [name for name in trained
                                         if _network(name) in TRAINED])
    else:
        words += ["--variants", experiment]
    seeds = sorted({r["seed"] for r in entry})
    if seeds != [0]:
        words += ["--seeds", *map(str, seeds)]
    shares = sorted({r["share"] for r in entry})
    if shares != [1.0]:
        words += ["--shares", *(f"{share:g}" for share in shares)]
    if any(r["clip"] == cv.TRAINING_CLIP for r in entry):
        words.append("--score-training")
    command = shlex.join(words)
    if code != {cv.HEAD}:
        jax = "KERAS_BACKEND=jax " if backend == "jax" else ""
        commit = cv.TAG_COMMIT if code == {cv.TAG} else code.pop()
        command = f"git checkout {commit} && {jax}{command}"
    return command


def _runs_as_independent(rows: list[dict], first: tuple[str, str],
                         second: tuple[str, str]) -> tuple[float, float]:
    """The superseded statistic, kept only to show what the fold-level one changed:
    ``first - second`` over the (fold, seed) pairs both have, each pair counted as an
    independent run."""
    def scores(model, experiment):
        return {(r["fold"], r["seed"]): r["snr_db"] for r in rows if r["model"] == model
                and r["experiment"] == experiment and r["clip"] == cv.FOLD_CLIP
                and r["share"] == 1.0}

    new, old = scores(*first), scores(*second)
    return cv.mean_and_error([new[key] - old[key] for key in sorted(set(new) & set(old))])


def _differences(change: cv.Change | None) -> str:
    """Each model's paired difference of ``change``, one per line of a Markdown cell."""
    if change is None:
        return ""
    return "<br>".join(f"{model} {d.mean:+.2f} ± {d.error:.2f} ({d.verdict})"
                       for model, d in change.differences.items())


def _change_row(rows: list[dict], change: cv.Change, on_training: cv.Change | None) -> list[str]:
    """One row of :func:`markdown`'s table of changes; ``on_training``: the same change
    scored on the audio the models trained on, where they were."""
    runs = ", ".join(sorted({f"{d.folds} × {d.seeds}" for d in change.differences.values()}))
    seconds = defaultdict(list)
    for row in rows:
        if (row["recordings"], row["backend"], row["experiment"]) == (
                change.recordings, change.backend, change.experiment) \
                and row["model"] in change.differences and row["train_seconds"] is not None \
                and row["clip"] == cv.FOLD_CLIP and row["share"] == 1.0:
            seconds[row["model"]].append(row["train_seconds"])
    backend = "" if change.backend == "tensorflow" else f" (Keras on {change.backend})"
    if change.recordings != "standin":
        backend += f" (recordings: {change.recordings})"
    described = Experiment(change.experiment, change.change, change.baseline,
                           change.baseline_model)
    command = rerun_command(rows, change.recordings, change.backend, change.experiment,
                            list(change.differences), described)
    return [f"{change.change}{backend}", f"`{change.experiment}` against `{_versus(change)}`",
            f"**{', '.join(change.adopted)}**" if change.adopted else "no", _differences(change),
            _differences(on_training), runs,
            "<br>".join(f"{model} {np.mean(values):.0f}" for model, values in seconds.items()),
            f"`{command}`"]


def _error_rows(rows: list[dict], change: cv.Change) -> list[list[str]]:
    """:func:`markdown`'s rows comparing the two standard errors of ``change``'s differences,
    one per model run with several seeds (with one seed the two are the same)."""
    source = cv.select(rows, recordings=change.recordings, backend=change.backend)
    table = []
    for model, difference in change.differences.items():
        if difference.seeds > 1:
            _, old_error = _runs_as_independent(
                source, (model, change.experiment), (change.baseline_model or model,
                                                     change.baseline))
            old_verdict = cv.verdict(difference.mean, old_error)
            table.append([f"{change.change} (`{change.experiment}`)", model,
                          f"{difference.mean:+.2f}", f"{old_error:.3f} ({old_verdict})",
                          f"{difference.error:.3f} ({difference.verdict})",
                          "**changes**" if old_verdict != difference.verdict else "same"])
    return table


def _baseline_commands(rows: list[dict], changes: list[cv.Change]) -> list[str]:
    """A Markdown list of the commands that regenerate the baselines no change reruns."""
    changed = {(c.recordings, c.backend, model, c.experiment)
               for c in changes for model in c.differences}
    baselines = defaultdict(list)
    for change in changes:
        for model in change.differences:
            entry = (change.recordings, change.backend, change.baseline_model or model,
                     change.baseline)
            code = next(r["code"] for r in rows if (r["recordings"], r["backend"], r["model"],
                                                    r["experiment"]) == entry)
            group = baselines[(*entry[:2], entry[3], code)]
            if entry not in changed and entry[2] not in group:
                group.append(entry[2])
    return [f"* `{experiment}` ({', '.join(models)}"
            f"{'' if backend == 'tensorflow' else f'; Keras on {backend}'}): "
            f"`{rerun_command(rows, recordings, backend, experiment, models)}`"
            for (recordings, backend, experiment, _), models in baselines.items() if models]


def markdown(rows: list[dict]) -> str:
    """``benchmarks/README.md``'s tables from ``rows``: every change (each model's paired
    difference on the held-out folds and, where scored, on its own training audio; folds ×
    seeds; seconds of training per fold; adopted or not; the command that reruns it); the
    commands of the baselines no change reruns; and, for every change run with several seeds,
    the standard error that counted each fold and seed as an independent run against the one
    over folds, with the verdict each gives."""
    from report_helpers import markdown_table

    def identity(change):
        return (change.recordings, change.backend, change.experiment, change.change,
                change.baseline, change.baseline_model, change.code)

    changes = cv.recipe_changes(rows)
    on_training = {identity(change): change
                   for change in cv.recipe_changes(rows, clip=cv.TRAINING_CLIP)}
    return "\n\n".join([
        markdown_table(["change", "experiment", "adopted for",
                        "held-out folds: paired difference, dB (verdict)",
                        "own training audio: paired difference, dB (verdict)",
                        "folds × seeds", "training s per fold", "command"],
                       [_change_row(rows, change, on_training.get(identity(change)))
                        for change in changes]),
        "\n".join(_baseline_commands(rows, changes)),
        markdown_table(["change", "model", "mean dB", "s.e., runs as independent (verdict)",
                        "s.e. over folds (verdict)", "decision"],
                       [line for change in changes for line in _error_rows(rows, change)])])


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--experiment", help="name recorded in every row (required to run)")
    parser.add_argument("--change", default="",
                        help="what the experiment changes relative to --baseline, in words")
    parser.add_argument("--baseline", default="", help="the experiment it is compared against")
    parser.add_argument("--baseline-model", default="", metavar="MODEL",
                        help="the model of the baseline rows, when the change is the model "
                             "itself (default: each model's own)")
    parser.add_argument("--models", nargs="+", default=list(ENSEMBLED),
                        choices=[*TRAINED, *REFERENCES], metavar="MODEL",
                        help="default: the two CNNs (and so their ensemble); one of: "
                             + ", ".join([*TRAINED, *REFERENCES]))
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=int, help="epoch budget of every model")
    budget.add_argument("--epoch-scale", type=float, default=1.0,
                        help="each model's budget times this (default 1)")
    parser.add_argument("--batch-size", type=int, help="examples per minibatch")
    parser.add_argument("--learning-rate", type=float, help="Adam's peak learning rate")
    parser.add_argument("--past-dropout", type=float,
                        help="share of the 2D CNN's images stripped of their past in epoch 0")
    parser.add_argument("--audio-dir", default="audio",
                        help="folder of the recordings (default: audio, or its stand-in set)")
    parser.add_argument("--recordings", metavar="LABEL",
                        help="the recordings' name in the rows (default: course or standin, as "
                             "found); course-80 for the first 80 %% of the course pair")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only-folds", nargs="+", type=int, metavar="K",
                        help="run these folds only (numbered from 1; default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--shares", nargs="+", type=float, default=[1.0],
                        help="shares of the rest of the pair to train on (learning curve)")
    parser.add_argument("--score-training", action="store_true",
                        help=f"also score each model on the audio it trained on (clip "
                             f"'{cv.TRAINING_CLIP}')")
    parser.add_argument("--csv", type=Path, default=cv.RESULTS_CSV)
    parser.add_argument("--summary", nargs="*", type=Path, metavar="CSV",
                        help="only print the summary of these CSV files (default: --csv)")
    parser.add_argument("--markdown", action="store_true",
                        help="with --summary: print benchmarks/README.md's tables instead")
    args = parser.parse_args()

    if args.summary is not None:
        rows = [row for path in args.summary or [args.csv] for row in cv.read_results(path)]
        print(markdown(rows) if args.markdown else summary(rows))
        return
    if not args.experiment:
        parser.error("--experiment NAME is required to run (or --summary to read)")
    if args.baseline_model and not args.baseline:
        parser.error("--baseline-model needs --baseline")
    experiment = Experiment(args.experiment, args.change, args.baseline, args.baseline_model,
                            args.epochs, args.epoch_scale, args.batch_size, args.learning_rate,
                            args.past_dropout)
    recordings = dsp.find_recordings(args.audio_dir)
    print(recordings.describe(), flush=True)
    start = time.perf_counter()
    rows = cross_validate(recordings, args.folds, args.models, experiment, args.seeds,
                          args.shares, args.csv, args.only_folds, args.score_training,
                          args.recordings)
    print(f"\n{len(rows)} rows written to {args.csv} in {time.perf_counter() - start:.0f} s\n")
    print(summary(rows))


if __name__ == "__main__":
    main()
