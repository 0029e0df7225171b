"""Report helpers for the speech-denoising homework: figures, audio players and Markdown tables
for the notebook, and the gate that stops a report whose training failed.

The signal work (audio I/O, STFT, metrics) is in :mod:`dsp_helpers`; this module only draws,
embeds and formats what that work produced.

Figures compose: every plotting function draws into the axes it is given (``ax=`` or
``axes=``), or into a new figure when given none, and returns ``(figure, axes)``. Nothing is shown
or saved behind the caller's back: ``filename=``, a full path, saves the figure there as well.
Time axes are in seconds.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import librosa
import matplotlib.pyplot as plt
from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter
import numpy as np
import soundfile as sf

import dsp_helpers as dsp

import librosa.display  # noqa: E402

# librosa.display's plots import pooch, which imports tqdm.auto; in a notebook without
# ipywidgets, tqdm then warns that its widget progress bar is missing. Nothing here draws one.
warnings.filterwarnings("ignore", message="IProgress not found")

FIGURE_DPI = 110


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

def _column_of_axes(axes, count: int, figsize: tuple[float, float], **subplots):
    """``(figure, axes)`` with ``count`` axes: the given ``axes`` (which must number ``count``),
    else a new figure of ``count`` axes in one column."""
    if axes is None:
        figure, grid = plt.subplots(count, 1, figsize=figsize, squeeze=False, **subplots)
        return figure, grid[:, 0]
    axes = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
    if len(axes) != count:
        raise ValueError(f"need {count} axes, one per item, got {len(axes)}")
    return axes[0].figure, axes


def _one_axis(ax, figsize: tuple[float, float]):
    """``(figure, ax)``: the given axes and its figure, else a new figure with one axes."""
    if ax is None:
        return plt.subplots(figsize=figsize)
    return ax.figure, ax


def save_figure(figure, filename) -> Path:
    """Save ``figure`` as ``filename`` (a full path; the format follows its suffix), creating its
    folder if needed, atomically (:func:`dsp_helpers.replaced_atomically`): a failed save leaves
    an existing file as it was. Returns the path."""
    path = Path(filename)
    path.parent.mkdir(parents=True, exist_ok=True)
    with dsp.replaced_atomically(path) as temporary:
        figure.savefig(temporary, dpi=FIGURE_DPI, bbox_inches="tight")
    return path


def save_json(path, data) -> Path:
    """Write ``data`` to ``path`` as JSON indented by 2 with a trailing newline, creating its
    folder if needed, atomically (:func:`dsp_helpers.replaced_atomically`): a failed write, say
    of a value JSON cannot hold, leaves an existing file as it was. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with dsp.replaced_atomically(path) as temporary, open(temporary, "w") as file:
        json.dump(data, file, indent=2)
        file.write("\n")
    return path


def _finish(figure, axes, title: str | None, filename):
    if title:
        figure.suptitle(title)
    if filename:
        save_figure(figure, filename)
    return figure, axes


def plot_spectrograms(signals: Mapping[str, np.ndarray], *, title: str | None = None,
                      axes=None, filename=None, sample_rate: int = dsp.SAMPLE_RATE):
    """Log-magnitude spectrograms (dB re the loudest bin of all) of named ``(samples,)`` signals,
    one per axes, on a shared colour scale; time in seconds, frequency in Hz.

    ``axes``: one axes per signal (default: a new figure, one column). Returns
    ``(figure, axes)``; ``filename`` also saves the figure there.
    """
    spectra = {name: librosa.amplitude_to_db(dsp.stft_frames(signal)[0].T, ref=1.0)
               for name, signal in signals.items()}
    figure, axes = _column_of_axes(axes, len(spectra), (10, 2.4 * len(spectra)), sharex=True)
    top = max(spectrum.max() for spectrum in spectra.values())
    for axis, (name, spectrum) in zip(axes, spectra.items()):
        image = librosa.display.specshow(spectrum, sr=sample_rate, hop_length=dsp.HOP_LENGTH,
                                         x_axis="s", y_axis="hz", ax=axis,
                                         vmin=top - 80, vmax=top, cmap="magma")
        axis.set_title(name, fontsize=10)
        axis.label_outer()
    figure.colorbar(image, ax=list(axes), format="%+.0f dB", pad=0.01)
    return _finish(figure, axes, title, filename)


def plot_waveforms(signals: Mapping[str, np.ndarray], *, title: str | None = None, axes=None,
                   filename=None, sample_rate: int = dsp.SAMPLE_RATE):
    """Waveforms of named ``(samples,)`` signals, one per axes, time in seconds.

    ``axes``: one axes per signal (default: a new figure, one column, shared axes). Returns
    ``(figure, axes)``; ``filename`` also saves the figure there.
    """
    new_figure = axes is None
    figure, axes = _column_of_axes(axes, len(signals), (10, 1.6 * len(signals)),
                                   sharex=True, sharey=True)
    for axis, (name, signal) in zip(axes, signals.items()):
        librosa.display.waveshow(np.asarray(signal, dtype=np.float32), sr=sample_rate,
                                 ax=axis, color="tab:blue", axis="s")
        axis.set_title(name, fontsize=10)
        axis.label_outer()
    if new_figure:
        figure.tight_layout()
    return _finish(figure, axes, title, filename)


def plot_training_curves(histories: Mapping[str, Mapping], *, axes=None, filename=None):
    """Training and validation loss per epoch for named Keras-style histories (dicts with a
    ``loss`` list and, when a validation part was held out, a ``val_loss`` list, in units of
    the median noisy magnitude squared, as ``models_tf.train_denoiser`` records them), one per
    axes, on log scales, with the epoch whose weights were kept (the best validation epoch, or
    the last one without validation) marked.

    ``axes``: one axes per history (default: a new figure, side by side). Returns
    ``(figure, axes)``; ``filename`` also saves the figure there.
    """
    new_figure = axes is None
    if new_figure:
        figure, grid = plt.subplots(1, len(histories), figsize=(5 * len(histories), 3.2),
                                    squeeze=False)
        axes = grid[0]
    else:
        figure, axes = _column_of_axes(axes, len(histories), None)
    for axis, (name, history) in zip(axes, histories.items()):
        epochs = np.arange(1, len(history["loss"]) + 1)
        axis.semilogy(epochs, history["loss"], label="training (recorded / re-mixed alternate)")
        kept = history.get("val_loss", history["loss"])
        if "val_loss" in history:
            axis.semilogy(epochs, kept, label="validation (held out)")
        best = int(np.argmin(kept)) if "val_loss" in history else len(kept) - 1
        axis.plot(epochs[best], kept[best], "ko", label="kept weights")
        axis.set(title=name, xlabel="epoch", ylabel="mean squared error (median $|X|^2$ = 1)")
        axis.legend(fontsize=8)
    if new_figure:
        figure.tight_layout()
    return _finish(figure, axes, None, filename)


def plot_input_image(window: np.ndarray, *, title: str | None = None, ax=None, filename=None,
                     sample_rate: int = dsp.SAMPLE_RATE):
    """One 2D-CNN input, a ``(frames, 513)`` magnitude image, in dB: frequency bins across, and
    down the side each frame's time in seconds from the last (current) frame, which is at 0.

    Returns ``(figure, ax)``; ``filename`` also saves the figure there.
    """
    window = np.asarray(window)
    figure, ax = _one_axis(ax, (10, 2.6))
    hop_seconds = dsp.HOP_LENGTH / sample_rate
    first = -(len(window) - 1) * hop_seconds  # frame 0's time; the last frame is at 0 s
    extent = (-0.5, window.shape[1] - 0.5, hop_seconds / 2, first - hop_seconds / 2)
    image = ax.imshow(librosa.amplitude_to_db(window, ref=1.0), aspect="auto", origin="upper",
                      cmap="magma", interpolation="nearest", extent=extent)
    ax.set(xlabel="frequency bin", ylabel="time from the current frame (s)", title=title)
    figure.colorbar(image, ax=ax, format="%+.0f dB", pad=0.01)
    return _finish(figure, ax, None, filename)


def plot_grouped_bars(values: Mapping[str, Mapping[str, float]], ylabel: str, *,
                      title: str | None = None, ax=None, filename=None):
    """Bars of ``values[group][category]``: one cluster per category, one colour per group; a
    group without a value for a category leaves a gap. Returns ``(figure, ax)``; ``filename``
    also saves the figure there."""
    groups = list(values)
    categories = list(dict.fromkeys(c for group in values.values() for c in group))
    width = 0.8 / len(groups)
    figure, ax = _one_axis(ax, (10, 3.8))
    for index, group in enumerate(groups):
        positions = np.arange(len(categories)) + (index - (len(groups) - 1) / 2) * width
        heights = [values[group].get(category, np.nan) for category in categories]
        ax.bar(positions, heights, width, label=group)
    ax.set_xticks(np.arange(len(categories)), categories)
    ax.set(ylabel=ylabel, title=title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=min(len(groups), 5), loc="upper center",
              bbox_to_anchor=(0.5, -0.12))
    return _finish(figure, ax, None, filename)


def plot_learning_curve(curves: Mapping[str, Sequence[tuple[float, float, float]]], *,
                        title: str | None = None, ylabel: str = "SNR on the held-out fold (dB)",
                        ax=None, filename=None):
    """SNR on held-out speech (or, with another ``ylabel``, a difference of SNRs) against the
    seconds of training audio, one line with error bars per model: ``curves[model]`` is
    ``[(seconds, mean in dB, standard error)]``. Returns ``(figure, ax)``; ``filename`` also
    saves the figure there."""
    figure, ax = _one_axis(ax, (6, 3.6))
    for model, points in curves.items():
        seconds, means, errors = zip(*points)
        ax.errorbar(seconds, means, yerr=errors, marker="o", capsize=3, label=model)
    ax.set(xlabel="training audio (s)", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(figure, ax, None, filename)


def plot_sweep(rows: Sequence[Mapping[str, str]], *, title: str | None = None, axes=None,
               filename=None):
    """The hyper-parameter sweep (``benchmarks/results/sweep.csv``, its rows as
    ``csv.DictReader`` gives them): the held-out SNR of every point against its parameter count,
    then the 1D CNN's against its first layer's kernel size D, its kernel count K and its stride,
    each varied from the centre point D = 9, K = 16, stride 2 with the others fixed, with the
    best 2D point as a dashed line.

    ``title``: default, the recordings, the recipe and the noisy input's SNR, read from the rows.
    ``axes``: four axes (default: a new figure, side by side, one SNR scale). Returns
    ``(figure, axes)``; ``filename`` also saves the figure there.
    """
    cnn1d = [row for row in rows if row["model"] == "cnn1d"]
    cnn2d = [row for row in rows if row["model"] == "cnn2d"]
    best_2d = max(cnn2d, key=lambda row: float(row["held_out_snr_db"]))
    if axes is None:
        figure, axes = plt.subplots(1, 4, figsize=(14, 3.8), sharey=True, layout="constrained")
    else:
        figure, axes = _column_of_axes(axes, 4, None)
    for points, marker, label in ((cnn1d, "o", "1D CNN"), (cnn2d, "s", "2D CNN")):
        axes[0].scatter([int(row["params"]) for row in points],
                        [float(row["held_out_snr_db"]) for row in points], marker=marker,
                        label=label)
    axes[0].set(xscale="log", xlabel="parameters", ylabel="SNR on the unseen last 20 % (dB)")
    axes[0].xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes[0].xaxis.set_major_formatter(EngFormatter(sep=""))
    axes[0].xaxis.set_minor_formatter(NullFormatter())
    axes[0].legend(fontsize=8)
    centre = {"D": 9, "K": 16, "stride": 2}
    for axis, (name, label) in zip(axes[1:], (("D", "kernel size D (first layer)"),
                                              ("K", "kernels K (first layer; later 2K)"),
                                              ("stride", "stride (every layer)"))):
        others = [key for key in centre if key != name]
        series = sorted((int(row[name]), float(row["held_out_snr_db"])) for row in cnn1d
                        if row["stride"] and all(int(row[key]) == centre[key] for key in others))
        axis.plot(*zip(*series), "o-", label="1D CNN")
        axis.axhline(float(best_2d["held_out_snr_db"]), color="tab:orange", linestyle="--",
                     label=f"2D CNN, {best_2d['variant']}")
        axis.set(xlabel=label, xticks=[x for x, _ in series])
        axis.legend(fontsize=8)
    if title is None:
        first = rows[0]
        title = (f"{first['recordings']} recordings, every point {first['epochs']} epochs in "
                 f"minibatches of {first['batch_size']}; the noisy input scores "
                 f"{float(first['noisy_snr_db']):.2f} dB")
    return _finish(figure, axes, title, filename)


# --------------------------------------------------------------------------------------------
# Listening
# --------------------------------------------------------------------------------------------

def audio_player_html(signal: np.ndarray, sample_rate: int = dsp.SAMPLE_RATE) -> str:
    """An HTML ``<audio>`` player with a ``(samples,)`` signal embedded in it as lossless FLAC.

    The clip is peak-normalised for listening (a silent clip stays silent). FLAC keeps every
    sample of the 16-bit clip in fewer bytes than a WAV, so a notebook can carry more listening
    examples; every current browser plays it.
    """
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim != 1 or not np.all(np.isfinite(signal)):
        raise ValueError(f"cannot embed audio of shape {signal.shape} with non-finite samples"
                         if signal.ndim == 1 else f"expected a 1-D signal, got {signal.shape}")
    peak = float(np.max(np.abs(signal), initial=0.0))
    buffer = io.BytesIO()
    sf.write(buffer, signal / peak if peak > 0 else signal, sample_rate, format="FLAC",
             subtype="PCM_16")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<audio controls="controls" preload="none" src="data:audio/flac;base64,{data}"></audio>'


def audio_table(rows: Mapping[str, Mapping[str, np.ndarray | None]],
                sample_rate: int = dsp.SAMPLE_RATE):
    """A grid of labelled audio players for a notebook: one row per clip, one column per version.

    ``rows`` maps a row label to ``{column label: (samples,) signal or None}``; ``None`` leaves
    the cell empty (say, a clip with no clean reference). The audio is embedded as FLAC data, so
    it plays in the saved notebook without running it. Each clip is peak-normalised for
    listening (a silent clip stays silent); compare levels with the SNR figures instead.
    """
    from IPython.display import HTML

    columns = list(dict.fromkeys(column for row in rows.values() for column in row))
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = []
    for label, row in rows.items():
        cells = []
        for column in columns:
            signal = row.get(column)
            player = "" if signal is None else audio_player_html(signal, sample_rate)
            cells.append(f"<td style='padding:2px'>{player}</td>")
        heading = f"<th style='text-align:left'>{html.escape(label)}</th>"
        body.append(f"<tr>{heading}{''.join(cells)}</tr>")
    return HTML(f"<table><tr><th></th>{head}</tr>{''.join(body)}</table>")


def clip_fingerprint(signal: np.ndarray) -> bytes:
    """A digest of a ``(samples,)`` clip's float32 samples: equal clips, equal digests."""
    samples = np.ascontiguousarray(signal, dtype=np.float32)
    return hashlib.blake2b(samples.tobytes(), digest_size=16).digest()


def listening_rows(versions: Mapping[str, Mapping[str, np.ndarray | None]],
                   seconds: float = 15.0, *, row_seconds: Mapping[str, float] | None = None,
                   row_labels: Mapping[str, str] | None = None, embedded: set | None = None,
                   sample_rate: int = dsp.SAMPLE_RATE) -> dict[str, dict[str, np.ndarray]]:
    """Rows for :func:`audio_table`: one per clip, one column per version, no clip twice.

    ``versions`` maps a column label to ``{clip name: (samples,) signal or None}``; the rows are
    the clip names in the order they first appear. Each cell holds the first ``seconds`` of its
    signal (``row_seconds[clip]`` where given). A cell whose excerpt has been placed already,
    earlier in this table or in an earlier one that shared the same ``embedded`` set (which is
    updated in place, see :func:`clip_fingerprint`), is left out, as is a ``None`` signal; a
    column or row left with no clip is dropped. ``row_labels`` renames rows (clip name ->
    label).
    """
    row_seconds = row_seconds or {}
    row_labels = row_labels or {}
    seen = embedded if embedded is not None else set()
    clips = list(dict.fromkeys(clip for signals in versions.values() for clip in signals))
    rows = {}
    for clip in clips:
        row = {}
        for label, signals in versions.items():
            signal = signals.get(clip)
            if signal is None:
                continue
            cut = dsp.excerpt(signal, row_seconds.get(clip, seconds), sample_rate=sample_rate)
            key = clip_fingerprint(cut)
            if key not in seen:
                seen.add(key)
                row[label] = cut
        if row:
            rows[row_labels.get(clip, clip)] = row
    return rows


# --------------------------------------------------------------------------------------------
# Tables and figures of merit
# --------------------------------------------------------------------------------------------

def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A Markdown table; floats are written with two decimals, ``None`` as "n/a"."""
    def cell(value):
        if value is None:
            return "n/a"
        if isinstance(value, float):
            return f"{value:.2f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def metric_table(scores: Mapping[str, Mapping[str, Mapping[str, float]]], metric: str, *,
                 label: str | None = None, clips: Sequence[str] | None = None,
                 extra: Mapping[str, Mapping[str, object]] | None = None) -> str:
    """A Markdown table of one ``metric``: a row per entry of ``scores``, a column per clip.

    ``scores`` maps a row label to ``{clip name: {metric name: value}}`` (as
    :func:`dsp_helpers.quality_scores` gives per clip). The columns are ``clips`` (default:
    every clip in ``scores``, in order of first appearance), leaving out any clip that no row
    has a value of ``metric`` for, such as a test clip without a clean reference; a row without
    a value for a kept clip shows "n/a". ``extra`` adds columns after the clips,
    ``{header: {row label: value}}``, empty where a row has none. ``label`` heads the first
    column (default: ``metric``).
    """
    clips = list(clips) if clips is not None else list(
        dict.fromkeys(clip for row in scores.values() for clip in row))
    kept = [clip for clip in clips
            if any(row.get(clip, {}).get(metric) is not None for row in scores.values())]
    extra = extra or {}
    rows = [[name, *(row.get(clip, {}).get(metric) for clip in kept),
             *(column.get(name, "") for column in extra.values())]
            for name, row in scores.items()]
    return markdown_table([label or metric, *kept, *extra], rows)


def share_of_ceiling(value: float, noisy: float, ceiling: float) -> float:
    """The share of a reference's gain over the noisy input that a result achieves:
    ``(value - noisy) / (ceiling - noisy)``, all in the same unit (say SNR in dB). 0 is no better
    than the noisy input, 1 as good as the reference, above 1 better. NaN when the reference is
    no better than the noisy input (there is no gain to share)."""
    gain = ceiling - noisy
    if not gain > 0.0:
        return math.nan
    return (value - noisy) / gain


def verdict_text(first: str, first_snr: Mapping[str, float], second: str,
                 second_snr: Mapping[str, float], cross_validated: tuple[float, float, int],
                 source: str) -> str:
    """Which of two networks wins, in Markdown, from their SNRs (dB) per clip and their
    cross-validated paired difference ``(mean, standard error, runs)`` of ``first - second``
    (runs: the folds times the seeds).

    Per clip, the difference ``first - second`` is compared with twice the standard deviation
    of the per-run differences (the spread between two single training runs); overall, the
    cross-validated mean is compared with twice its standard error. ``source`` names where the
    cross-validation comes from.
    """
    mean, error, runs = cross_validated
    spread = error * math.sqrt(runs)
    lines = []
    for clip in first_snr:
        if clip in second_snr:
            difference = first_snr[clip] - second_snr[clip]
            beyond = "beyond" if abs(difference) > 2 * spread else "within"
            lines.append(f"* {clip}: {first} − {second} = {difference:+.2f} dB ({beyond} twice "
                         f"the run-to-run spread, ±{2 * spread:.2f} dB)")
    lines.append(f"* cross-validated ({runs} paired runs, folds × seeds; {source}): "
                 f"{first} − {second} = {mean:+.2f} ± {error:.2f} dB (mean ± standard error)")
    if abs(mean) > 2 * error:
        winner, loser = (first, second) if mean > 0 else (second, first)
        verdict = (f"the **{winner}** beats the {loser} on held-out speech by "
                   f"{abs(mean):.2f} dB, more than twice the standard error.")
    else:
        verdict = (f"**neither network is reliably better**: the cross-validated difference is "
                   f"within twice its standard error.")
    return "\n".join(lines) + f"\n\n**Verdict:** {verdict}"


def result_entry(scores: Mapping[str, Mapping[str, float]], test_clips: Sequence[str],
                 training: str = "training signal", **extra) -> dict:
    """One row of the notebook's ``results.json``: ``train_snr_db`` from ``scores[training]``
    (``None`` for a row not run on the training signal), then ``test_snr_db``,
    ``test_si_sdr_db`` and ``test_stoi`` as ``{clip: value or None}`` for every name in
    ``test_clips`` (``None`` for a clip without a score), then ``extra``. ``scores`` maps a clip
    to its :func:`dsp_helpers.quality_scores`."""
    entry = {"train_snr_db": scores.get(training, {}).get("snr_db")}
    for metric in ("snr_db", "si_sdr_db", "stoi"):
        entry[f"test_{metric}"] = {clip: scores.get(clip, {}).get(metric) for clip in test_clips}
    return {**entry, **extra}


def format_dimension_table(rows: Sequence[Mapping]) -> str:
    """``models_tf.dimension_table`` rows as a Markdown table: layer, kernel, stride, output
    shape and the input span each layer's last position sees ("frames 0–19, bins 0–512")."""
    def cell(value):
        return " × ".join(map(str, value)) if isinstance(value, tuple) else str(value)

    def reach(value):
        if not value:
            return ""
        names = ("frames", "bins")[-len(value):]
        return ", ".join(f"{name} 0–{last}" for name, last in zip(names, value))

    return markdown_table(["layer", "kernel", "stride", "output shape", "input seen"],
                          [[cell(row["layer"]), cell(row["kernel"]), cell(row["stride"]),
                            cell(row["shape"]), reach(row["reach"])] for row in rows])


def require_improvement(name: str, snr: float, noisy_snr: float, margin_db: float = 3.0) -> None:
    """Stop a run whose denoised SNR does not beat the noisy input's by ``margin_db`` dB."""
    if not snr >= noisy_snr + margin_db:
        raise AssertionError(f"{name}: {snr:.2f} dB does not beat the noisy input "
                             f"({noisy_snr:.2f} dB) by {margin_db} dB; training failed")
