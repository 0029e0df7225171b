"""Denoise speech recordings from the command line with the trained CNNs (``--help``). Every
input and output is checked before anything is written or TensorFlow is imported; a bad one stops
the run with a one-line ``error: ...`` on stderr and exit status 2. ``--score`` adds each input's
and output's DNSMOS (SIG, BAK, OVRL) to the file's stdout line."""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import dsp_helpers as dsp

COMBINED_MODEL = "cnn1d+DeepFilterNet3"  # dsp_helpers.gated_mean of the two; see --help
MODEL_NAMES = ("cnn1d", "cnn2d", COMBINED_MODEL)
DEFAULT_MODEL = "cnn1d"  # as good as the 2D CNN on the course folds, and faster; see --help
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent / "models"
SEGMENT_SAMPLES = 30 * dsp.SAMPLE_RATE // dsp.HOP_LENGTH * dsp.HOP_LENGTH  # 30 s, whole hops
MAX_PEAK = 100.0  # 40 dB above full scale; louder samples are integer-scaled floats, not audio
EXIT_BAD_INPUT = 2

DESCRIPTION = """\
Remove noise from speech recordings with the convolutional networks trained in homework2.ipynb,
which estimate the clean STFT magnitude of every frame and keep the noisy phase.

input:  a WAV or FLAC file (any format libsndfile reads) of at least 1024 samples at 16 kHz;
        channels are mixed to mono and other rates resampled to 16 kHz, each with a note.
output: a 16 kHz mono 16-bit WAV as long as the input: -o names the file, or an existing folder
        (required for several inputs) that gets <input stem>_denoised.wav. Existing files are
        replaced only with --force, inputs never, and each output is moved into place once
        complete, so a failed or interrupted run leaves any previous file as it was.

stdout has one line per output written; notes, the model used and errors go to stderr. With
--score the line ends with the input's and the output's DNSMOS scores (see below).
"""

EPILOG = """\
which model: without --model, the 1D CNN (cnn1d): in cross-validation on the course pair's
  first 80 % it denoised held-out folds as well as the 2D CNN (a tie at the recipes' budgets,
  by SNR and by DNSMOS OVRL), and it is faster.
  cnn1d+DeepFilterNet3: the 1D CNN's and the pretrained DeepFilterNet3's waveforms averaged,
  except in DeepFilterNet3's quietest quarter of frames (the pauses, where leftover noise is
  heard), which keep DeepFilterNet3 alone. On the course pair's held-out folds (first 80 %, 5
  folds) it scored 16.26 dB and OVRL 2.97, DeepFilterNet3 alone 15.26 dB and OVRL 3.02
  (+1.00 ± 0.09 dB, -0.05 ± 0.04 OVRL: cleaner by equation (1), a tie to DNSMOS's ear), the
  1D CNN alone 15.91 dB and OVRL 2.57. Only where DeepFilterNet3's wheel installs.

scores (--score): DNSMOS P.835 (Reddy et al., 2022; speechmos' ONNX models), an estimate of
  listeners' ratings from 1 (bad) to 5 (excellent) that needs no clean reference: SIG the speech,
  BAK the background (higher: less noise heard), OVRL overall. Each file's line then ends with
    ; DNSMOS input SIG x.xx BAK x.xx OVRL x.xx, output SIG x.xx BAK x.xx OVRL x.xx
  (the output as written, 16-bit). Scoring is not counted in the real-time factor; on one slow
  CPU core it took 0.5 s for a 10-s file and 3.7 s for a 20-s one (DNSMOS scores 9-s windows a
  second apart). It needs inputs of at least 2 s and onnxruntime's wheel (Linux x86_64 /
  aarch64, macOS 14+ on Apple silicon, Windows); elsewhere --score stops with one line saying
  why, before anything is written.

progress: a progress bar on stderr when it is a terminal; for each file, the real-time factor
  (processing seconds per second of audio; below 1 is faster than real time).

limits: the shipped models learned one male speaker and one kind of noise; other voices, noises
  and microphones are denoised less well. To retrain on your own pair, put it into audio/ under
  the course's file names and re-run homework2.ipynb, which re-saves models/*.keras.

exit status: 0 done; 2 bad input or arguments (nothing written); 1 a file could not be written;
  130 interrupted.
"""


class UsageError(Exception):
    """An argument, output path or model file cannot be used; the message is one line naming it."""


@dataclass(frozen=True)
class Job:
    """One recording to denoise and where its result goes."""

    source: Path
    target: Path


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one ``error: ...`` line, like every other error."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"error: {message}; see {self.prog} --help\n")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line: ``inputs``, ``output``, ``model``, ``force``, ``score``,
    ``models_dir``."""
    parser = ArgumentParser(prog="denoise.py", description=DESCRIPTION, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", type=Path, metavar="NOISY",
                        help="noisy recording(s) to denoise")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUT",
                        help="output WAV file for one input, or an existing folder")
    parser.add_argument("--model", choices=MODEL_NAMES, default=DEFAULT_MODEL,
                        help="cnn1d (one spectrum at a time), cnn2d (the 20 latest spectra) or "
                             "cnn1d+DeepFilterNet3; default: %(default)s, see below")
    parser.add_argument("--force", action="store_true",
                        help="replace output files that already exist")
    parser.add_argument("--score", action="store_true",
                        help="also print each input's and output's DNSMOS (SIG, BAK, OVRL; 1-5, "
                             "no clean reference needed) on its stdout line; see below")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, metavar="DIR",
                        help="folder holding cnn1d.keras and cnn2d.keras "
                             "(default: models/ next to this script)")
    return parser.parse_args(argv)


# --- Checking inputs and outputs, before anything is written ---

def plan_jobs(inputs: list[Path], output: Path, force: bool) -> list[Job]:
    """Each input's checked output (``<stem>_denoised.wav`` in ``output`` if a folder)."""
    as_folder = len(inputs) > 1 or output.is_dir() or str(output).endswith(("/", "\\"))
    if as_folder:
        check_output_folder(output)
        targets = [output / f"{source.stem}_denoised.wav" for source in inputs]
    else:
        check_output_file(output)
        targets = [output]
    jobs = [Job(source, target) for source, target in zip(inputs, targets)]
    for job in jobs:
        check_target(job.target, inputs, force)
    check_distinct_targets(jobs)
    return jobs


def check_output_folder(folder: Path) -> None:
    """The folder that several outputs go into must exist already."""
    if not folder.exists():
        raise UsageError(f"{folder}: output folder does not exist (create it first; with "
                         f"several inputs, -o must name an existing folder)")
    if not folder.is_dir():
        raise UsageError(f"{folder}: is a file, not a folder (with several inputs, -o must name "
                         f"an existing folder)")
    check_writable(folder)


def check_output_file(path: Path) -> None:
    """A single output must be a ``.wav`` file in an existing folder."""
    if path.suffix.lower() != ".wav":
        raise UsageError(f"{path}: the output must be a .wav file")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"{path}: output folder {folder} does not exist (create it first)")
    check_writable(folder)


def check_writable(folder: Path) -> None:
    """Outputs can only go into a folder this user may write to."""
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{folder}: output folder is not writable")


def check_target(target: Path, inputs: list[Path], force: bool) -> None:
    """An output may replace an existing file only with ``--force``, and never an input."""
    if any(same_file(target, source) for source in inputs):
        raise UsageError(f"{target}: is one of the inputs; refusing to overwrite it")
    if target.is_dir():
        raise UsageError(f"{target}: is a folder, not a file")
    if target.exists() and not force:
        raise UsageError(f"{target}: already exists (pass --force to replace it)")


def same_file(first: Path, second: Path) -> bool:
    """Whether two paths name the same file (by identity when both exist, else by location)."""
    if first.exists() and second.exists():
        return first.samefile(second)
    return first.resolve() == second.resolve()


def check_distinct_targets(jobs: list[Job]) -> None:
    """Two inputs must not write the same output (same stem, or the same input twice)."""
    seen = {}
    for job in jobs:
        key = job.target.resolve()
        if key in seen:
            raise UsageError(f"{job.target}: would be written for both {seen[key]} and "
                             f"{job.source}; denoise them in separate runs")
        seen[key] = job.source


def check_input(path: Path, score: bool = False) -> None:
    """Raise :class:`dsp.AudioFileError` for a recording that is unreadable, shorter than one
    STFT frame (with ``score``, than DNSMOS needs), or far beyond full scale (integer-scaled
    samples in a float file)."""
    signal = dsp.load_audio(path, verbose=False)
    if len(signal) < dsp.N_FFT:
        raise dsp.AudioFileError(f"{path}: too short to denoise ({len(signal)} samples at 16 kHz; "
                                 f"needs at least {dsp.N_FFT}, one STFT frame)")
    if score and len(signal) < dsp.DNSMOS_MIN_SECONDS * dsp.SAMPLE_RATE:
        raise dsp.AudioFileError(f"{path}: too short to score with --score "
                                 f"({len(signal) / dsp.SAMPLE_RATE:.2f} s; DNSMOS needs at least "
                                 f"{dsp.DNSMOS_MIN_SECONDS:g} s)")
    peak = float(np.max(np.abs(signal)))
    if peak > MAX_PEAK:
        raise dsp.AudioFileError(f"{path}: samples far outside [-1, 1] (peak {peak:.3g}); "
                                 f"a float file holding integer-scaled samples?")


# --- Loading the model ---

def model_file(models_dir: Path, name: str) -> Path:
    """The saved model file for ``name``; raises :class:`UsageError` when it is missing."""
    path = models_dir / f"{name}.keras"
    if not path.is_file():
        raise UsageError(f"{path}: model file not found (the notebook homework2.ipynb saves it; "
                         f"see --help)")
    return path


def load_denoiser(path: Path):
    """Load a saved model (in safe mode) and check that it is a denoiser with finite weights."""
    if not zipfile.is_zipfile(path):
        raise UsageError(f"{path}: not a Keras model file (not a .keras zip archive)")
    import models_tf  # TensorFlow takes seconds to import: only once everything else checked out
    try:
        model = models_tf.keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a damaged archive
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise UsageError(f"{path}: not a loadable Keras model ({reason})") from None
    inputs, outputs = tuple(model.input_shape[1:]), tuple(model.output_shape[1:])
    if inputs[-2:] != (dsp.N_BINS, 1) or len(inputs) > 3 or outputs != (dsp.N_BINS,):
        raise UsageError(f"{path}: not a denoiser (input {inputs}, output {outputs}; "
                         f"expected spectra of {dsp.N_BINS} bins)")
    if not all(np.all(np.isfinite(weights)) for weights in model.get_weights()):
        raise UsageError(f"{path}: the model has NaN or infinite weights")
    return model


# --- Denoising ---

def progress_bar(label: str, total_samples: int, stream=None):
    """A callback ``(done, total)`` drawing a progress bar on a terminal ``stream``, else None."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    from models_tf import keras  # loaded already: only called once a model is

    stream.write(f"{label}\n")
    with contextlib.redirect_stdout(stream):  # the bar picks its display mode from "stdout"
        bar = keras.utils.Progbar(total_samples / dsp.SAMPLE_RATE, unit_name="s of audio")

    def update(done: int, total: int) -> None:
        with contextlib.redirect_stdout(stream):
            bar.update(done / dsp.SAMPLE_RATE, finalize=done >= total)

    return update


def denoise_file(model, job: Job, force: bool, reference=None, score: bool = False) -> str:
    """Denoise one recording into its output, combined with ``reference(noisy)`` if given
    (:func:`dsp_helpers.gated_mean`); returns a summary with the real-time factor and, with
    ``score``, both files' DNSMOS."""
    start = time.perf_counter()
    import models_tf  # imported by load_denoiser already

    noisy = dsp.load_audio(job.source)
    progress = progress_bar(job.source.name, len(noisy))
    denoised = models_tf.denoise_in_segments(model, noisy, SEGMENT_SAMPLES, progress)
    if reference is not None:
        denoised = dsp.gated_mean(denoised, reference(noisy))
    try:
        dsp.save_audio(job.target, denoised, overwrite=force)
    except OSError as error:
        raise OSError(f"{job.target}: cannot write ({error.strerror or error})") from None
    seconds = time.perf_counter() - start
    duration = len(noisy) / dsp.SAMPLE_RATE
    summary = (f"{job.source} -> {job.target}: {duration:.1f} s of audio in {seconds:.1f} s "
               f"(real-time factor {seconds / duration:.3f})")
    if score:
        summary += "; DNSMOS " + dnsmos_comparison(job, noisy)
    return summary


def dnsmos_comparison(job: Job, noisy: np.ndarray) -> str:
    """``input SIG s BAK b OVRL o, output SIG ...``: DNSMOS of the input as denoised (clipped to
    full scale, with a note, where resampling or a float file went beyond it) and of the output
    as written."""
    clipped = np.clip(noisy, -1.0, 1.0)
    if beyond := int(np.count_nonzero(clipped != noisy)):
        print(f"note: {job.source}: {beyond} samples beyond full scale clipped to [-1, 1] for "
              f"DNSMOS", file=sys.stderr)
    scores = {"input": dsp.dnsmos_scores(clipped),
              "output": dsp.dnsmos_scores(dsp.load_audio(job.target, verbose=False))}
    return ", ".join(f"{which} SIG {values['sig']:.2f} BAK {values['bak']:.2f} "
                     f"OVRL {values['ovrl']:.2f}" for which, values in scores.items())


# --- The command ---

def run(args: argparse.Namespace) -> None:
    """Check every output, the model file, every input and whether DNSMOS can run (with
    ``--score``), then load the model and denoise."""
    jobs = plan_jobs(args.inputs, args.output, args.force)
    network, _, name = args.model.partition("+")
    reference = None
    if name:
        import reference_denoisers  # SciPy takes a second to import: only when asked for
        if reason := reference_denoisers.unavailable_reason(name):
            raise UsageError(f"--model {args.model}: {name} is unavailable here ({reason}); "
                             f"use --model {network}")
        reference = functools.partial(reference_denoisers.denoise_reference, name)
    if args.score and (reason := dsp.dnsmos_unavailable_reason()):
        raise UsageError(f"--score: DNSMOS is unavailable here ({reason}); run without --score")
    path = model_file(args.models_dir, network)
    for job in jobs:
        check_input(job.source, args.score)
    model = load_denoiser(path)
    print(f"model: {args.model} ({path})", file=sys.stderr, flush=True)
    for job in jobs:
        print(denoise_file(model, job, args.force, reference, args.score), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status. Errors are one line on stderr, no traceback."""
    args = parse_arguments(argv)
    try:
        run(args)
    except (dsp.AudioFileError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
