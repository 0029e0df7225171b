"""The notebook's figures, audio players and Markdown tables, and the gate that stops a report
whose training failed. Every plot draws into the given ``ax=``/``axes=`` (else a new figure),
returns ``(figure, axes)`` and, given ``filename=``, also saves the figure there."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import librosa
import matplotlib.pyplot as plt
from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter
import numpy as np
import soundfile as sf

import cross_validation as cv
import dsp_helpers as dsp

import librosa.display  # noqa: E402

# librosa.display imports tqdm.auto (via pooch), which warns in a notebook without ipywidgets
warnings.filterwarnings("ignore", message="IProgress not found")

FIGURE_DPI = 90
TRAINING_SIGNAL = "training signal"  # the notebook's name of the training pair's clip


# --- Figures ---

def _axes_for(axes, count: int, figsize, across: bool = False, **subplots):
    """``(figure, axes)``: the given ``count`` axes, else a new figure's in a column (row)."""
    if axes is None:
        shape = (1, count) if across else (count, 1)
        figure, grid = plt.subplots(*shape, figsize=figsize, squeeze=False, **subplots)
        return figure, grid.ravel()
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
    """Save ``figure`` as ``filename``, creating its folder, atomically; returns the path."""
    path = Path(filename)
    path.parent.mkdir(parents=True, exist_ok=True)
    with dsp.replaced_atomically(path) as temporary:
        figure.savefig(temporary, dpi=FIGURE_DPI, bbox_inches="tight")
    return path


def save_json(path, data) -> Path:
    """Write ``data`` as indented JSON, creating the folder, atomically; returns the path.

    Notebook: §7.1 (``figures/results.json``)."""
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
    """Spectrograms in dB of named ``(samples,)`` signals, one per axes, on one colour scale.

    Notebook: §4.4, §5.4."""
    spectra = {name: librosa.amplitude_to_db(dsp.stft_frames(signal)[0].T, ref=1.0)
               for name, signal in signals.items()}
    figure, axes = _axes_for(axes, len(spectra), (10, 2.4 * len(spectra)), sharex=True)
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

    Notebook: §2."""
    new_figure = axes is None
    figure, axes = _axes_for(axes, len(signals), (10, 1.6 * len(signals)), sharex=True,
                             sharey=True)
    for axis, (name, signal) in zip(axes, signals.items()):
        librosa.display.waveshow(np.asarray(signal, dtype=np.float32), sr=sample_rate,
                                 ax=axis, color="tab:blue", axis="s")
        axis.set_title(name, fontsize=10)
        axis.label_outer()
    if new_figure:
        figure.tight_layout()
    return _finish(figure, axes, title, filename)


def plot_training_curves(histories: Mapping[str, Mapping], *, axes=None, filename=None):
    """Training loss per epoch of named histories (``{"loss": [...]}``), side by side.

    Notebook: §4.3, §5.3."""
    new_figure = axes is None
    figure, axes = _axes_for(axes, len(histories), (5 * len(histories), 3.2), across=True)
    for axis, (name, history) in zip(axes, histories.items()):
        epochs = np.arange(1, len(history["loss"]) + 1)
        axis.semilogy(epochs, history["loss"], label="training (recorded / re-mixed alternate)")
        axis.plot(epochs[-1], history["loss"][-1], "ko", label="kept weights")
        axis.set(title=name, xlabel="epoch", ylabel="mean squared error (median $|X|^2$ = 1)")
        axis.legend(fontsize=8)
    if new_figure:
        figure.tight_layout()
    return _finish(figure, axes, None, filename)


def plot_input_image(window: np.ndarray, *, title: str | None = None, ax=None, filename=None,
                     sample_rate: int = dsp.SAMPLE_RATE):
    """One 2D-CNN input, a ``(frames, 513)`` image, in dB against seconds before the last frame.

    Notebook: §5.1."""
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


def plot_sweep(rows: Sequence[Mapping[str, str]], *, title: str | None = None, axes=None,
               filename=None):
    """The sweep (``sweep.csv`` rows) on four axes: held-out SNR against parameters, then the
    1D CNN's against D, K and stride varied from D = 9, K = 16, stride 2.

    Notebook: §7.3."""
    cnn1d = [row for row in rows if row["model"] == "cnn1d"]
    cnn2d = [row for row in rows if row["model"] == "cnn2d"]
    best_2d = max(cnn2d, key=lambda row: float(row["held_out_snr_db"]))
    figure, axes = _axes_for(axes, 4, (14, 3.8), across=True, sharey=True, layout="constrained")
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


def snr_and_ovrl(played: Mapping[str, Mapping[str, np.ndarray]],
                 heard: Mapping[str, Mapping[str, Mapping[str, float]]],
                 clean: str) -> dict[str, dict[str, tuple[float, float]]]:
    """``{clip: {row: (SNR dB, OVRL)}}`` for every clip the ``clean`` row of ``played``
    ``{row: {clip: signal}}`` holds: each other row's equation (1) against it, on the same
    samples DNSMOS scored (``heard`` ``{row: {clip: scores}}``), where both exist.

    Notebook: §7.1."""
    return {clip: {row: (dsp.snr_db(reference, clips[clip]), heard[row][clip]["ovrl"])
                   for row, clips in played.items()
                   if row != clean and clip in clips and clip in heard.get(row, {})}
            for clip, reference in played[clean].items()}


def plot_snr_against_ovrl(points: Mapping[str, Mapping[str, tuple[float, float]]], *,
                          clean_ovrl: Mapping[str, float] | None = None,
                          marked: Sequence[str] = (), title: str | None = None, axes=None,
                          filename=None):
    """Per clip, one axes: each row's ``(SNR dB, DNSMOS OVRL)`` from ``{clip: {row: (snr,
    ovrl)}}``, every row in the same colour on every axes; the ``marked`` rows (e.g. the noisy
    input, the noisy-phase ceiling) in black, and ``clean_ovrl`` ``{clip: OVRL}``, the clean
    recording's score, as a dashed line.

    Notebook: §7.1."""
    figure, axes = _axes_for(axes, len(points), (5.2 * len(points), 4.2), across=True,
                             layout="constrained")
    rows = list(dict.fromkeys(row for clip_points in points.values() for row in clip_points))
    colours = iter(plt.get_cmap("tab10").colors)
    style = {row: ({"color": "black", "marker": "xP*sD"[list(marked).index(row) % 5], "s": 70}
                   if row in marked else {"color": next(colours), "marker": "o", "s": 45})
             for row in rows}
    for axis, (clip, clip_points) in zip(axes, points.items()):
        for row, (snr, ovrl) in clip_points.items():
            axis.scatter(snr, ovrl, label=row, **style[row])
        if clean_ovrl and clip in clean_ovrl:
            axis.axhline(clean_ovrl[clip], color="black", linestyle="--", linewidth=1,
                         label="clean recording (no SNR: it is the reference)")
        axis.set(title=clip, xlabel="SNR by equation (1), dB", ylabel="DNSMOS OVRL (1-5)")
        axis.grid(alpha=0.3)
    handles = {label: handle for axis in axes
               for handle, label in zip(*axis.get_legend_handles_labels())}
    figure.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=3,
                  fontsize=8)
    return _finish(figure, axes, title, filename)


# --- Listening ---

def audio_player_html(signal: np.ndarray, sample_rate: int = dsp.SAMPLE_RATE) -> str:
    """An HTML ``<audio>`` player of a ``(samples,)`` signal, peak-normalised, as 16-bit FLAC."""
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
    """An HTML grid of players from ``{row: {column: (samples,) signal or None (empty)}}``.

    Notebook: §6.2."""
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
                   seconds: float | None = 15.0, sample_rate: int = dsp.SAMPLE_RATE
                   ) -> dict[str, dict[str, np.ndarray]]:
    """:func:`audio_table` rows (clips) of ``{column: {clip: signal or None}}``: the first
    ``seconds`` of each signal (``None``: all of it), leaving out ``None`` and excerpts already
    in the table.

    Notebook: §6.2."""
    seen = set()
    clips = list(dict.fromkeys(clip for signals in versions.values() for clip in signals))
    rows = {}
    for clip in clips:
        row = {}
        for label, signals in versions.items():
            signal = signals.get(clip)
            if signal is None:
                continue
            cut = signal if seconds is None else dsp.excerpt(signal, seconds, sample_rate)
            key = clip_fingerprint(cut)
            if key not in seen:
                seen.add(key)
                row[label] = cut
        if row:
            rows[clip] = row
    return rows


# --- Tables and figures of merit ---

def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A Markdown table; floats are written with two decimals, ``None`` as "n/a".

    Notebook: §2, §7.1."""
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
    """A Markdown table of ``metric`` from ``{row: {clip: {metric: value}}}``: the ``clips`` that
    have a value ("n/a" where a row has none), then ``extra`` columns ``{header: {row: value}}``.

    Notebook: §6.1, §7.4."""
    clips = list(clips) if clips is not None else list(
        dict.fromkeys(clip for row in scores.values() for clip in row))
    kept = [clip for clip in clips
            if any(row.get(clip, {}).get(metric) is not None for row in scores.values())]
    extra = extra or {}
    rows = [[name, *(row.get(clip, {}).get(metric) for clip in kept),
             *(column.get(name, "") for column in extra.values())]
            for name, row in scores.items()]
    return markdown_table([label or metric, *kept, *extra], rows)


def dnsmos_table(scores: Mapping[str, Mapping[str, float]]) -> str:
    """A Markdown table of one clip's DNSMOS ``{row: {"sig", "bak", "ovrl"}}``.

    Notebook: §6.2."""
    return markdown_table(["", "SIG (speech)", "BAK (background)", "OVRL (overall)"],
                          [[row, values["sig"], values["bak"], values["ovrl"]]
                           for row, values in scores.items()])


def played_versions(versions: Mapping[str, Mapping[str, np.ndarray | None]],
                    excerpts: Mapping[str, float]) -> dict[str, dict[str, np.ndarray]]:
    """``{row: {clip: signal}}`` as the report plays them: the first ``excerpts[clip]`` seconds
    of the clips named there, the others whole, ``None`` left out.

    Notebook: §6.2, §7.1."""
    return {row: {clip: dsp.excerpt(signal, excerpts[clip]) if clip in excerpts else signal
                  for clip, signal in clips.items() if signal is not None}
            for row, clips in versions.items()}


def clip_quality_table(clip: str, quality: Mapping[str, Mapping[str, Mapping[str, float]]],
                       heard: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    """A Markdown table of one clip: per row, SNR and STOI from ``quality`` ``{row: {clip:
    {"snr_db", "stoi"}}}`` and DNSMOS SIG, BAK, OVRL from ``heard`` ``{row: {clip: scores}}``,
    "n/a" where a row lacks one; rows with neither are left out.

    Notebook: §7.1."""
    rows = []
    for row in dict.fromkeys([*quality, *heard]):
        measured = {**quality.get(row, {}).get(clip, {}), **heard.get(row, {}).get(clip, {})}
        if measured:
            rows.append([row, *(measured.get(key) for key in ("snr_db", "stoi", "sig", "bak",
                                                              "ovrl"))])
    return markdown_table(["", "SNR (dB)", "STOI", "SIG (speech)", "BAK (background)",
                           "OVRL (overall)"], rows)


def _names(rows: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    rows = list(rows)
    return rows[0] if len(rows) == 1 else ", ".join(rows[:-1]) + " and " + rows[-1]


def listening_paragraph(clip: str, scores: Mapping[str, Mapping[str, float]], noisy: str,
                        clean: str | None = None, margin: float = 0.1) -> str:
    """What DNSMOS says a listener hears in ``clip``, in Markdown, from ``{row: {"sig", "bak",
    "ovrl"}}`` of the ``noisy`` input, the optional ``clean`` recording and the denoisers (every
    other row): which removes the most and the least background (BAK), which cost the speech
    (SIG lower than the input's by more than ``margin``), and their ranking by OVRL.

    Notebook: §6.2."""
    base = scores[noisy]
    denoisers = {row: values for row, values in scores.items() if row not in (noisy, clean)}
    if not denoisers:
        raise ValueError(f"{clip}: no denoiser's scores besides {noisy!r} and {clean!r}")
    text = [f"**{clip}.** The noisy input scores OVRL {base['ovrl']:.2f} (speech SIG "
            f"{base['sig']:.2f}, background BAK {base['bak']:.2f})"
            + (f"; the clean recording OVRL {scores[clean]['ovrl']:.2f}." if clean else ".")]
    by_bak = sorted(denoisers, key=lambda row: denoisers[row]["bak"], reverse=True)
    text.append(f"*Background:* {by_bak[0]} removes the most noise (BAK "
                f"{base['bak']:.2f} → {denoisers[by_bak[0]]['bak']:.2f})"
                + (f", {by_bak[-1]} the least ({denoisers[by_bak[-1]]['bak']:.2f})."
                   if len(by_bak) > 1 else "."))
    louder = [row for row in by_bak if denoisers[row]["bak"] <= base["bak"]]
    if louder:
        text.append(f"{_names(louder)} leave{'s' if len(louder) == 1 else ''} the background "
                    f"no quieter than the input.")
    costly = [row for row in denoisers if denoisers[row]["sig"] < base["sig"] - margin]
    clearer = [row for row in denoisers if denoisers[row]["sig"] > base["sig"] + margin]
    if costly:
        text.append(f"*Speech:* {_names(costly)} cost{'s' if len(costly) == 1 else ''} the "
                    f"speech (SIG " + ", ".join(f"{denoisers[row]['sig']:.2f}" for row in costly)
                    + f" against the input's {base['sig']:.2f}).")
    else:
        text.append(f"*Speech:* no denoiser lowers SIG by more than {margin:g} from the "
                    f"input's {base['sig']:.2f}.")
    if clearer:
        text.append(f"{_names(clearer)} raise{'s' if len(clearer) == 1 else ''} it by more "
                    f"than {margin:g}.")
    ranking = sorted(denoisers, key=lambda row: denoisers[row]["ovrl"], reverse=True)
    worse = [row for row in ranking if denoisers[row]["ovrl"] < base["ovrl"]]
    text.append("*Overall:* " + ", ".join(f"{row} {denoisers[row]['ovrl']:.2f}" for row in ranking)
                + (f"; {_names(worse)} below the noisy input." if worse
                   else "; every denoiser above the noisy input."))
    return " ".join(text)


def both_measures(rows: Sequence[Mapping], first: tuple[str, str], second: tuple[str, str]
                  ) -> str:
    """The paired difference ``first - second`` of two ``(model, experiment)`` entries on the
    folds, in SNR and, where both were scored by DNSMOS, in OVRL:
    ``+1.23 ± 0.34 dB (better), -0.29 ± 0.04 OVRL (worse)``.

    Notebook: §7.1."""
    text = str(cv.paired_difference(rows, first, second))
    try:
        return f"{text}, {cv.paired_difference(rows, first, second, metric='ovrl')}"
    except ValueError:  # one side not scored by DNSMOS
        return text


def verdict_text(first: str, second: str, difference) -> str:
    """Which network wins by the cross-validated ``difference`` ``first - second``, in Markdown.

    Notebook: §6.3."""
    if difference.verdict == "tie":
        decision = "a **tie**: the difference is within twice its standard error"
    else:
        winner = first if difference.verdict == "better" else second
        decision = f"the **{winner}** is better, by more than twice the standard error"
    return (f"**Verdict{' by ear (DNSMOS)' if difference.unit == 'OVRL' else ''}:** {first} − "
            f"{second} = {difference.mean:+.2f} ± {difference.error:.2f} {difference.unit} "
            f"on the held-out folds ({difference.folds} folds, {difference.seeds} seed(s) "
            f"averaged within each): {decision}.")


def run_difference_text(first: str, second: str,
                        run_snr: Mapping[str, Mapping[str, float]]) -> str:
    """This run's per-clip SNR differences ``first - second`` (``run_snr[name][clip]``, dB), shown
    beside :func:`verdict_text`, not used to choose.

    Notebook: §6.3."""
    clips = [clip for clip in run_snr[first] if clip in run_snr[second]]
    per_clip = ", ".join(f"{clip} {run_snr[first][clip] - run_snr[second][clip]:+.2f} dB"
                         for clip in clips)
    return (f"This run, one training per network: {first} − {second} = {per_clip} "
            f"(shown, not used to choose).")


def precomputed_note(rows: Sequence[Mapping], recordings_in_use: str) -> str:
    """One line: "Precomputed on" the recordings of ``rows``, each with its relation to the
    recordings this notebook runs on, ``recordings_in_use`` (``course``: the pair in audio/, of
    which ``course-80`` is the first 80 %; or ``standin``).

    Notebook: §1, §4.3, §6.3, §7.1, §7.2, §7.3."""
    names = {"standin": "the shipped stand-in recordings", "course": "the course recordings",
             "course-80": "the first 80 % of the course training pair"}
    sources = sorted({row["recordings"] for row in rows})

    def relation(source: str) -> str:
        if source == recordings_in_use:
            return "the recordings this notebook runs on"
        if (source, recordings_in_use) == ("course-80", "course"):
            return "the first 80 % of the pair in audio/"
        return "not the recordings this notebook runs on"

    if len(sources) == 1:
        return f"Precomputed on {names.get(sources[0], sources[0])}, {relation(sources[0])}."
    return "Precomputed on " + " and on ".join(
        f"{names.get(source, source)} ({relation(source)})" for source in sources) + "."


def adoption_text(change) -> str:
    """A ``cross_validation.Change``'s decisions as one Markdown cell: the models it was adopted
    for in bold (else "no"), then each recorded reason and any model without a decision, one per
    line (``<br>``): ``**cnn1d-K16**<br>cnn1d-K16: simpler``."""
    adopted = ", ".join(change.adopted)
    lines = [f"**{adopted}**" if adopted else "no"]
    lines += [f"{model}: {decision.reason}" for model, decision in change.decisions.items()
              if decision.reason]
    undecided = [model for model in change.differences if model not in change.decisions]
    if undecided:
        lines.append(f"no decision recorded for {', '.join(undecided)}")
    return "<br>".join(lines)


def recipe_change_table(changes: Sequence, rows: Sequence[Mapping]) -> str:
    """``cross_validation.recipe_changes`` (with their decisions) as a Markdown table: each
    model's paired difference in SNR and, where measured, in DNSMOS OVRL; adoption by
    :func:`adoption_text`; epochs from ``rows``.

    Notebook: §7.2."""
    table = []
    for change in changes:
        against = change.baseline + (f" ({change.baseline_model})" if change.baseline_model
                                      else "")
        differences = "; ".join(
            f"{model} {difference}" + (f", {change.ovrl_differences[model]}"
                                       if model in change.ovrl_differences else "")
            for model, difference in change.differences.items())
        runs = {f"{d.folds} × {d.seeds}" for d in change.differences.values()}
        epochs = {f"{row['model']} {row['epochs']}" for row in rows
                  if row["experiment"] == change.experiment and row["model"] in change.differences
                  and row["epochs"] and row["recordings"] == change.recordings}
        table.append([change.change, against, change.recordings, adoption_text(change),
                      differences, ", ".join(sorted(runs)), ", ".join(sorted(epochs))])
    return markdown_table(["change tried", "against", "recordings", "adopted for",
                           "paired differences on the folds (mean ± s.e.)", "folds × seeds",
                           "epochs"], table)


def result_entry(scores: Mapping[str, Mapping[str, float]], test_clips: Sequence[str],
                 **extra) -> dict:
    """A ``results.json`` entry: ``train_snr_db`` (of clip :data:`TRAINING_SIGNAL`, ``None``
    if unscored), ``test_snr_db``, ``test_stoi`` and ``test_ovrl`` (DNSMOS; ``{clip: value or
    None}`` for ``test_clips``) from ``{clip: {"snr_db", "stoi", "ovrl", ...}}``, then ``extra``.

    Notebook: §7.1."""
    entry = {"train_snr_db": scores.get(TRAINING_SIGNAL, {}).get("snr_db")}
    for metric in ("snr_db", "stoi", "ovrl"):
        entry[f"test_{metric}"] = {clip: scores.get(clip, {}).get(metric) for clip in test_clips}
    return {**entry, **extra}


def format_dimension_table(rows: Sequence[Mapping]) -> str:
    """``models_tf.dimension_table`` rows as a Markdown table ("frames 0–19, bins 0–512").

    Notebook: §4.1, §5.2."""
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
    """Stop a run whose denoised SNR does not beat the noisy input's by ``margin_db`` dB.

    Notebook: §4.4, §5.4."""
    if not snr >= noisy_snr + margin_db:
        raise AssertionError(f"{name}: {snr:.2f} dB does not beat the noisy input "
                             f"({noisy_snr:.2f} dB) by {margin_db} dB; training failed")
