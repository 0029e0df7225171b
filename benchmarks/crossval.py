"""Cross-validate a training recipe on the training pair: K contiguous folds, each scored with
equation (1) after training on the rest of the pair, the rows added to one results CSV.

    python -m benchmarks.crossval --experiment NAME [--change TEXT] [--baseline NAME]
                                  [--baseline-model MODEL] [--models cnn1d cnn2d]
                                  [--epochs N | --epoch-scale S] [--batch-size B]
                                  [--learning-rate LR] [--past-dropout P]
                                  [--folds 5]
                                  [--only-folds K ...] [--seeds 0]
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
same folds, as experiment ``pretrained``, where this platform runs them, and so is the mean of
each trained model's waveform and each reference's (``"{model}+{reference} mean"``).
``--score-training`` also scores each trained model on the audio it trained on (clip
``training``): how closely it fits its training signal, which the held-out fold does not tell.

Where DNSMOS runs (``dsp_helpers.dnsmos_unavailable_reason``), every estimate of a fold or test
clip is also scored by it (``sig``, ``bak``, ``ovrl``), beside the noisy input's and the clean
reference's OVRL. With DeepFilterNet3, each trained model's :data:`GATED` combination with it
(the one ``denoise.py`` ships) is scored too, as a change against the two's mean.

Every row names the ``--experiment``, the ``--change`` it makes to its ``--baseline`` experiment
(of ``--baseline-model`` when the change is the model itself), the recipe it trained with and
the code that computed it (``HEAD``); a row of the same recordings, backend, model, experiment,
seed, share, fold and clip as one in ``--csv`` replaces it, the others are kept. ``--summary``
prints each entry's scores and every change's paired differences with the decisions recorded
in ``results/decisions.csv``; ``--markdown`` prints the tables of ``benchmarks/README.md``
instead (``experiment_log``). ``python -m benchmarks.filing`` files a finished run, written to
a ``--csv`` of its own, into the results with its command and decisions.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import time
from pathlib import Path

import numpy as np

import cross_validation as cv
import dsp_helpers as dsp
import models_tf
from benchmarks import experiment_log

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULTS_CSV = RESULTS_DIR / "crossval.csv"  # every cross-validation row
DECISIONS_CSV = RESULTS_DIR / "decisions.csv"  # whether each change was adopted, per model
COMMANDS_CSV = RESULTS_DIR / "commands.csv"  # the command that wrote each change's rows
HEAD = "HEAD"  # the code column of the rows this code computes
TRAINED = {"cnn1d": models_tf.build_cnn1d, "cnn2d": models_tf.build_cnn2d,
           "fc": models_tf.build_fc}
ENSEMBLE = "ensemble"  # the mean of the cnn1d and cnn2d estimates
ENSEMBLED = ("cnn1d", "cnn2d")
REFERENCES = ("RNNoise", "DeepFilterNet3")
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


@dataclasses.dataclass(frozen=True)
class Run:
    """How one run cross-validates: ``folds`` folds of the pair (``only_folds``, numbered from
    1: those only), each of ``models`` trained with ``experiment``'s recipe once per seed of
    ``seeds``; ``score_training`` also scores each trained model on the audio it trained on;
    ``label`` names the recordings in the rows (``None``: their ``source``)."""

    models: tuple[str, ...]
    experiment: Experiment
    seeds: tuple[int, ...] = (0,)
    folds: int = 5
    only_folds: tuple[int, ...] = ()
    score_training: bool = False
    label: str | None = None


#: The combination of each trained model with DeepFilterNet3 that ``denoise.py`` ships
#: (``dsp_helpers.gated_mean``), compared with the two's mean: ``(name, change in words)``.
GATED = ("gated mean p25", "the mean in DeepFilterNet3's louder three quarters of frames, "
                           "DeepFilterNet3 alone in the quietest quarter")
GATED_REFERENCE = "DeepFilterNet3"


def fold_ranges(length: int, folds: int) -> list[tuple[int, int]]:
    """``folds`` contiguous sample ranges ``[start, stop)`` covering ``length`` samples, with
    inner edges on hop boundaries; the last range ends at ``length``."""
    hops = length // dsp.HOP_LENGTH
    if folds < 2 or folds > hops:
        raise ValueError(f"need between 2 and {hops} folds for {length} samples, got {folds}")
    edges = [round(hops * index / folds) * dsp.HOP_LENGTH for index in range(folds)] + [length]
    return list(zip(edges[:-1], edges[1:]))


def training_ranges(length: int, fold: tuple[int, int]) -> list[tuple[int, int]]:
    """The non-empty sample ranges ``[start, stop)`` of a ``length``-sample pair outside
    ``fold``: what a model trains on when ``fold`` is scored."""
    start, stop = fold
    return [(a, b) for a, b in ((0, start), (stop, length)) if b > a]


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


def dnsmos_columns(clip: str, signal: np.ndarray) -> dict:
    """``{"sig", "bak", "ovrl"}`` of ``signal`` as it would be played
    (:func:`dsp_helpers.dnsmos_by_clip`), or ``None`` each where DNSMOS cannot run here, the
    signal is too short for it or ``clip`` is the long training audio
    (:data:`cross_validation.TRAINING_CLIP`, not scored: it would cost minutes)."""
    scored = {} if clip == cv.TRAINING_CLIP or dsp.dnsmos_unavailable_reason() else \
        dsp.dnsmos_by_clip({clip: signal}).get(clip, {})
    return {key: scored.get(key) for key in ("sig", "bak", "ovrl")}


def _clip_baselines(clips: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict]:
    """Per clip ``(noisy, clean)``: the noisy input's SNR and the reference's (clean magnitude,
    noisy phase), the ``noisy_snr_db`` and ``ceiling_snr_db`` columns, and the noisy input's and
    the clean reference's DNSMOS OVRL (``noisy_ovrl``, ``clean_ovrl``)."""
    return {clip: {"noisy_snr_db": dsp.snr_db(reference, noisy),
                   "ceiling_snr_db": dsp.snr_db(reference,
                                                dsp.oracle_reconstruction(reference, noisy)),
                   "noisy_ovrl": dnsmos_columns(clip, noisy)["ovrl"],
                   "clean_ovrl": dnsmos_columns(clip, reference)["ovrl"]}
            for clip, (noisy, reference) in clips.items()}


@dataclasses.dataclass(frozen=True)
class Scored:
    """What one fold scores: ``clips`` ``{clip: (noisy, clean)}``, their ``baselines``
    (:func:`_clip_baselines`) and the ``columns`` every row of the fold shares (recordings,
    backend, code, fold)."""

    clips: dict[str, tuple[np.ndarray, np.ndarray]]
    baselines: dict[str, dict]
    columns: dict

    def with_clips(self, clips: dict[str, tuple[np.ndarray, np.ndarray]]) -> Scored:
        """These clips and ``clips`` besides."""
        return dataclasses.replace(self, clips={**self.clips, **clips},
                                   baselines={**self.baselines, **_clip_baselines(clips)})

    def rows(self, model: str, experiment: Experiment, estimates: dict[str, np.ndarray],
             seed: int = 0, recipe: models_tf.Recipe | None = None, seconds: float | None = None,
             samples: int | None = None) -> list[dict]:
        """One row (:data:`cross_validation.COLUMNS`) per clip of ``estimates`` ``{clip:
        (samples,) estimate}``, printed as it is scored; ``recipe``, ``seconds`` and
        ``samples`` (of training audio) for a trained model."""
        rows = []
        for clip, estimate in estimates.items():
            row = {**self.columns, "model": model, "experiment": experiment.name,
                   "change": experiment.change, "baseline": experiment.baseline,
                   "baseline_model": experiment.baseline_model, "seed": seed, "share": 1.0,
                   "clip": clip, "snr_db": dsp.snr_db(self.clips[clip][1], estimate),
                   **dnsmos_columns(clip, estimate), **self.baselines[clip],
                   "train_seconds": seconds, "train_samples": samples,
                   **{name: recipe and getattr(recipe, name) for name in RECIPE_COLUMNS}}
            rows.append({column: row[column] for column in cv.COLUMNS})
            ovrl = "" if row["ovrl"] is None else (f", OVRL {row['ovrl']:.2f} (noisy "
                                                   f"{row['noisy_ovrl']:.2f})")
            print(f"fold {row['fold']} {model:>14s} {experiment.name} seed {seed} {clip:>10s}: "
                  f"{row['snr_db']:6.2f} dB (noisy {row['noisy_snr_db']:5.2f}){ovrl}", flush=True)
        return rows


def _reference_rows(scored: Scored, models: tuple[str, ...]) -> tuple[dict, list[dict]]:
    """Each reference denoiser of ``models`` that runs here, on the fold's clips:
    ``({name: {clip: estimate}}, rows)``."""
    estimates, rows = {}, []
    for name in [model for model in models if model in REFERENCES]:
        denoise = reference_denoiser(name)
        if denoise is not None:
            estimates[name] = {clip: denoise(noisy) for clip, (noisy, _) in scored.clips.items()}
            rows += scored.rows(name, Experiment(PRETRAINED), estimates[name])
    return estimates, rows


def _trained_rows(scored: Scored, run: Run, seed: int, clean: np.ndarray,
                  dirty: np.ndarray) -> tuple[dict, list[dict]]:
    """Each trained model of ``run``, trained with ``seed`` on the ``(samples,)`` pair
    ``clean``/``dirty`` and scored on ``scored``'s clips: ``({name: {clip: estimate}}, rows)``."""
    estimates, rows = {}, []
    for name in [model for model in run.models if model in TRAINED]:
        model = TRAINED[name](seed=seed)
        recipe = run.experiment.recipe(model)
        trained = models_tf.train_denoiser(model, clean, dirty, recipe, seed=seed, progress=True)
        if models_tf.context_frames(model) == 1:  # a network without a past
            recipe = dataclasses.replace(recipe, past_dropout=0.0)
        estimates[name] = {clip: models_tf.denoise_waveform(model, noisy)
                           for clip, (noisy, _) in scored.clips.items()}
        rows += scored.rows(name, run.experiment, estimates[name], seed, recipe,
                            round(trained.seconds, 2), len(clean))
    return estimates, rows


def _combined_rows(scored: Scored, experiment: Experiment, seed: int, estimates: dict,
                   references: dict) -> list[dict]:
    """The ensemble of the two CNNs on every clip they denoised, and each trained model's
    waveform mean with each reference's on the clips the reference denoised, and its
    :data:`GATED` combination with :data:`GATED_REFERENCE`'s."""
    rows = []
    if all(name in estimates for name in ENSEMBLED):
        # a change of model is the trained models' own; the ensemble has no baseline
        ensemble = Experiment(experiment.name) if experiment.baseline_model else experiment
        rows += scored.rows(ENSEMBLE, ensemble, {
            clip: np.mean([estimates[name][clip] for name in ENSEMBLED], axis=0)
            for clip in estimates[ENSEMBLED[0]]}, seed)
    for name, reference in references.items():
        for trained, estimate in estimates.items():
            mean = f"{trained}+{name} mean"
            rows += scored.rows(mean, Experiment(experiment.name),
                                {clip: 0.5 * (estimate[clip] + reference[clip])
                                 for clip in reference}, seed)
            if name == GATED_REFERENCE:
                rows += scored.rows(
                    f"{trained}+{name} {GATED[0]}",
                    Experiment(experiment.name, GATED[1], experiment.name, mean),
                    {clip: dsp.gated_mean(estimate[clip], reference[clip])
                     for clip in reference}, seed)
    return rows


def _fold_rows(recordings: dsp.Recordings, run: Run, clean: np.ndarray, dirty: np.ndarray,
               fold: tuple[int, int], columns: dict) -> list[dict]:
    """Every row of one ``fold`` of the pair: the references', then per seed the trained
    models' and their combinations'."""
    clips = scored_clips(recordings, clean, dirty, fold)
    scored = Scored(clips, _clip_baselines(clips), columns)
    references, rows = _reference_rows(scored, run.models)
    training = training_ranges(len(clean), fold)
    train_clean, train_dirty = join_ranges(clean, training), join_ranges(dirty, training)
    if run.score_training:
        scored = scored.with_clips({cv.TRAINING_CLIP: (train_dirty, train_clean)})
    for seed in run.seeds:
        estimates, trained = _trained_rows(scored, run, seed, train_clean, train_dirty)
        rows += trained + _combined_rows(scored, run.experiment, seed, estimates, references)
    return rows


def cross_validate(recordings: dsp.Recordings, run: Run,
                   csv_path: Path | None = None) -> list[dict]:
    """Train and score ``run`` on every fold of the recordings' training pair; returns one row
    (:data:`cross_validation.COLUMNS`) per scored clip. With ``csv_path``, the rows are also
    written there (:func:`write_rows`) after every fold, so an interrupted run keeps what it
    measured."""
    clean = dsp.load_audio(recordings.train_clean, verbose=False)
    dirty = dsp.load_audio(recordings.train_dirty, verbose=False)
    columns = {"recordings": run.label or recordings.source,
               "backend": models_tf.keras.backend.backend(), "code": HEAD}
    rows = []
    for index, fold in enumerate(fold_ranges(len(clean), run.folds), start=1):
        if not run.only_folds or index in run.only_folds:
            rows += _fold_rows(recordings, run, clean, dirty, fold, {**columns, "fold": index})
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


def _parser() -> argparse.ArgumentParser:
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
    parser.add_argument("--only-folds", nargs="+", type=int, default=[], metavar="K",
                        help="run these folds only (numbered from 1; default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--score-training", action="store_true",
                        help=f"also score each model on the audio it trained on (clip "
                             f"'{cv.TRAINING_CLIP}')")
    parser.add_argument("--csv", type=Path, default=RESULTS_CSV)
    parser.add_argument("--summary", nargs="*", type=Path, metavar="CSV",
                        help="only print the summary of these CSV files (default: --csv)")
    parser.add_argument("--markdown", action="store_true",
                        help="with --summary: print benchmarks/README.md's tables instead")
    return parser


def main() -> None:
    parser = _parser()
    args = parser.parse_args()
    if args.summary is not None:
        rows = [row for path in args.summary or [args.csv] for row in cv.read_results(path)]
        decisions = cv.read_decisions(DECISIONS_CSV)
        print(experiment_log.markdown(rows, decisions, experiment_log.read_commands(COMMANDS_CSV))
              if args.markdown else experiment_log.summary(rows, decisions))
        return
    if not args.experiment:
        parser.error("--experiment NAME is required to run (or --summary to read)")
    if args.baseline_model and not args.baseline:
        parser.error("--baseline-model needs --baseline")
    experiment = Experiment(args.experiment, args.change, args.baseline, args.baseline_model,
                            args.epochs, args.epoch_scale, args.batch_size, args.learning_rate,
                            args.past_dropout)
    run = Run(tuple(args.models), experiment, tuple(args.seeds), args.folds,
              tuple(args.only_folds), args.score_training, args.recordings)
    recordings = dsp.find_recordings(args.audio_dir)
    print(recordings.describe(), flush=True)
    start = time.perf_counter()
    rows = cross_validate(recordings, run, args.csv)
    print(f"\n{len(rows)} rows written to {args.csv} in {time.perf_counter() - start:.0f} s\n")
    print(experiment_log.summary(rows, cv.read_decisions(DECISIONS_CSV)))


if __name__ == "__main__":
    main()
