"""Signal helpers for the speech-denoising homework: audio I/O, the recordings, the STFT,
framing, reconstruction, quality measures and a classical (Wiener) baseline.

Figures, audio players and tables are in :mod:`report_helpers`; nothing here draws or formats.

Everything here follows the handout (``homework2.md``): 16 kHz mono audio, an STFT with
``n_fft=1024``, ``hop_length=512`` and a Hann window, magnitudes transposed so that each row is
one spectrum of 513 bins, and the SNR of equation (1).

Shapes use ``samples`` for time-domain signals and ``(frames, 513)`` for spectrograms.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import struct
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

SAMPLE_RATE = 16_000
N_FFT = 1024
HOP_LENGTH = 512
N_BINS = N_FFT // 2 + 1  # 513
WINDOW_FRAMES = 20
SILENCE_MAGNITUDE = 1e-4

COURSE_TRAIN_FILES = ("train_clean_male.wav", "train_dirty_male.wav")
COURSE_TEST_FILES = ("test_x_01.wav", "test_x_02.wav")
RECORDINGS_VARIABLE = "HOMEWORK2_RECORDINGS"  # read by select_recordings


class AudioFileError(ValueError):
    """A recording cannot be used; the message is one line naming the file and the problem."""


class RecordingSetError(ValueError):
    """The folder of recordings is incomplete; the message lists what is missing."""


# --------------------------------------------------------------------------------------------
# Reading and writing audio
# --------------------------------------------------------------------------------------------

def load_audio(path, sample_rate: int = SAMPLE_RATE, verbose: bool = True) -> np.ndarray:
    """Read an audio file as a mono float32 signal at ``sample_rate`` Hz.

    Multi-channel files are averaged to mono; other sample rates are resampled (with a one-line
    ``note:`` on stderr when ``verbose``). Returns an array of shape ``(samples,)`` with values
    in [-1, 1] for PCM input.

    A WAV file cut short (its header promises more frames than it holds, see
    :func:`wav_header_frames`) gives the frames that are there, with a note on stderr when
    ``verbose``.

    Raises :class:`AudioFileError` with a one-line message naming the file when it is missing,
    empty, not audio, has no samples, or holds NaN/inf samples.
    """
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: file not found")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: file is empty (0 bytes)")
    try:
        signal, file_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        reason = str(error).splitlines()[-1] if str(error) else type(error).__name__
        raise AudioFileError(f"{path}: not a readable audio file ({reason})") from None
    if signal.shape[0] == 0:
        raise AudioFileError(f"{path}: holds no audio samples")
    if not np.all(np.isfinite(signal)):
        raise AudioFileError(f"{path}: contains NaN or infinite samples")
    promised = wav_header_frames(path)
    if promised is not None and promised > signal.shape[0] and verbose:
        print(f"note: {path.name}: header promises {promised} frames but only {signal.shape[0]} "
              f"are present; using those", file=sys.stderr)
    mono = signal.mean(axis=1) if signal.shape[1] > 1 else signal[:, 0]
    if signal.shape[1] > 1 and verbose:
        print(f"note: {path.name}: mixed {signal.shape[1]} channels down to mono",
              file=sys.stderr)
    if file_rate != sample_rate:
        if verbose:
            print(f"note: {path.name}: resampled from {file_rate} Hz to {sample_rate} Hz",
                  file=sys.stderr)
        mono = librosa.resample(mono, orig_sr=file_rate, target_sr=sample_rate)
    return np.ascontiguousarray(mono, dtype=np.float32)


_UNKNOWN_DATA_SIZES = (0, 0xFFFFFFFF)  # what streaming writers leave in an unfinished header


def wav_header_frames(path) -> int | None:
    """How many frames the header of a RIFF/WAVE file says its ``data`` chunk holds.

    ``None`` when ``path`` is not a RIFF/WAVE file, its header is cut before the ``data`` chunk,
    or the chunk's size is a placeholder (0 or 0xFFFFFFFF, as streaming writers leave it). Reads
    only the chunk headers, never the samples.
    """
    block_align = None
    with open(path, "rb") as file:
        riff = file.read(12)  # "RIFF", the file's size, "WAVE"
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            return None
        while True:
            header = file.read(8)
            if len(header) < 8:
                return None
            chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk_id == b"data":
                if block_align is None or size in _UNKNOWN_DATA_SIZES:
                    return None
                return size // block_align
            if chunk_id == b"fmt ":
                fmt = file.read(size)
                if len(fmt) < 14:
                    return None
                block_align = struct.unpack("<H", fmt[12:14])[0] or None
                file.seek(size % 2, 1)  # chunks are padded to an even size
            else:
                file.seek(size + size % 2, 1)


@contextlib.contextmanager
def replaced_atomically(path) -> Iterator[Path]:
    """Write ``path`` all at once: yields a new, empty temporary file in ``path``'s folder, whose
    name ends in ``path``'s suffix (for writers that take the format from it), for the caller to
    write. When the block ends normally the temporary file replaces ``path`` in one step
    (``os.replace``); when it raises anything, ``KeyboardInterrupt`` included, the temporary
    file is removed, ``path`` is left as it was and the exception propagates. Each call has its
    own temporary file, so concurrent writers of one path never mix: the last to finish wins.
    The file gets the permissions a newly created file would (``0o666`` less the umask)."""
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                    suffix=f".tmp{path.suffix}")
    os.close(handle)
    temporary = Path(name)
    try:
        umask = os.umask(0)  # the only way to read it is to set it
        os.umask(umask)
        temporary.chmod(0o666 & ~umask)
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def save_audio(path, signal: np.ndarray, sample_rate: int = SAMPLE_RATE,
               overwrite: bool = False) -> Path:
    """Write a ``(samples,)`` float signal as 16-bit PCM WAV, clipping to [-1, 1], atomically
    (:func:`replaced_atomically`): a failed write leaves an existing file as it was.

    Refuses to replace an existing file unless ``overwrite`` is true. Raises ``OSError`` when
    the file cannot be written (a full disk included).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists (pass overwrite=True to replace it)")
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim != 1 or not np.all(np.isfinite(signal)):
        raise ValueError(f"{path}: expected a finite 1-D signal, got shape {signal.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as temporary:
        try:
            sf.write(temporary, np.clip(signal, -1.0, 1.0), sample_rate, subtype="PCM_16")
        except sf.LibsndfileError as error:  # how libsndfile reports a full disk, among others
            raise OSError(errno.EIO, str(error), str(path)) from None
    return path


def excerpt(signal: np.ndarray, seconds: float, start_seconds: float = 0.0,
            sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """At most ``seconds`` of ``signal`` starting at ``start_seconds``: ``(samples,)``."""
    start = int(round(start_seconds * sample_rate))
    return signal[start:start + int(round(seconds * sample_rate))]


# --------------------------------------------------------------------------------------------
# Finding the recordings: the course files when a user supplies them, else the stand-in set
# --------------------------------------------------------------------------------------------

@dataclass
class NoisyClip:
    """A noisy test recording, its clean reference when one exists, and who speaks in it
    relative to the training pair, when that is known."""

    noisy: Path
    clean: Path | None = None
    speaker: str | None = None


@dataclass
class Recordings:
    """The files one run uses: a training pair and the test clips, keyed by name (``test_01``)."""

    source: str  # "course" or "standin"
    directory: Path
    train_clean: Path
    train_dirty: Path
    tests: dict[str, NoisyClip] = field(default_factory=dict)
    course_files_ignored: bool = False  # the stand-in set chosen whatever the folder holds

    def describe(self) -> str:
        """A short banner naming the set in use and its files."""
        if self.source == "course":
            head = f"Using the course recordings found in {self.directory}/."
        elif self.course_files_ignored:
            head = (f"Using the shipped stand-in recordings in {self.directory}/ "
                    f"({RECORDINGS_VARIABLE}=standin: course files in {self.directory.parent}/ "
                    f"are not used).")
        else:
            head = (f"Using the shipped stand-in recordings in {self.directory}/ "
                    f"(put the course files {', '.join(COURSE_TRAIN_FILES + COURSE_TEST_FILES)} "
                    f"into {self.directory.parent}/ to use them instead).")
        lines = [head, f"  training pair: {self.train_clean.name}, {self.train_dirty.name}"]
        for name, clip in self.tests.items():
            notes = [clip.clean.name if clip.clean else "no clean reference"]
            if clip.speaker:
                notes.append(f"speaker: {clip.speaker}")
            lines.append(f"  {name}: {clip.noisy.name} ({'; '.join(notes)})")
        return "\n".join(lines)


def _standin_speakers(directory: Path) -> dict[str, str]:
    """``{test clip name: speaker note}`` from the stand-in set's ``manifest.json``: whether a
    clip's speech comes from the same source (and speaker) as the training pair's."""
    manifest = directory / "manifest.json"
    if not manifest.exists():
        return {}
    pairs = {pair["dirty"]: pair["speech"]["package"]
             for pair in json.loads(manifest.read_text())["pairs"]}
    training = pairs.get(COURSE_TRAIN_FILES[1])
    return {f"test_{Path(name).stem[len('test_x_'):]}":
            "the training speaker" if package == training else "a different speaker"
            for name, package in pairs.items() if name.startswith("test_x_")}


def _test_clips(directory: Path, speakers: dict[str, str]) -> dict[str, NoisyClip]:
    """Pair every ``test_x_NN.wav`` in ``directory`` with ``test_s_NN.wav`` when present."""
    clips = {}
    for noisy in sorted(directory.glob("test_x_*.wav")):
        suffix = noisy.stem[len("test_x_"):]
        clean = directory / f"test_s_{suffix}.wav"
        name = f"test_{suffix}"
        clips[name] = NoisyClip(noisy, clean if clean.exists() else None, speakers.get(name))
    return clips


def find_recordings(audio_dir="audio", ignore_course_files: bool = False) -> Recordings:
    """Locate the recordings: the course files in ``audio_dir`` if present, else the stand-in set.

    The course set is used when all of ``train_clean_male.wav``, ``train_dirty_male.wav``,
    ``test_x_01.wav`` and ``test_x_02.wav`` are in ``audio_dir`` (any ``test_s_NN.wav`` clean
    references found there are used too). If only some of them are there, a
    :class:`RecordingSetError` lists the missing ones. With none of them, the stand-in set in
    ``audio_dir/standin`` is used. Each test clip's ``speaker`` says whether the training
    speaker or another one speaks in it where that is known: for the stand-in set from its
    ``manifest.json`` (the course does not say, so its clips have none). With
    ``ignore_course_files`` the stand-in set is used whatever ``audio_dir`` holds.
    """
    audio_dir = Path(audio_dir)
    required = COURSE_TRAIN_FILES + COURSE_TEST_FILES
    present = [] if ignore_course_files else [
        name for name in required if (audio_dir / name).exists()]
    if present:
        missing = [name for name in required if name not in present]
        if missing:
            raise RecordingSetError(
                f"{audio_dir}: incomplete course recordings, missing {', '.join(missing)} "
                f"(add them, or remove {', '.join(present)} to use the stand-in set)")
        directory, source = audio_dir, "course"
    else:
        directory, source = audio_dir / "standin", "standin"
        absent = [name for name in required if not (directory / name).exists()]
        if absent:
            raise RecordingSetError(f"{directory}: stand-in set is missing {', '.join(absent)}")
    speakers = {} if source == "course" else _standin_speakers(directory)
    return Recordings(source, directory, directory / COURSE_TRAIN_FILES[0],
                      directory / COURSE_TRAIN_FILES[1], _test_clips(directory, speakers),
                      ignore_course_files)


def select_recordings(audio_dir="audio") -> Recordings:
    """The recordings a report runs on, as the environment variable ``HOMEWORK2_RECORDINGS``
    (:data:`RECORDINGS_VARIABLE`) says: unset or empty, :func:`find_recordings` of ``audio_dir``
    (the course files when present); ``standin``, the shipped stand-in set in
    ``audio_dir/standin`` even when the course files are in ``audio_dir`` (the test run sets it,
    so that the notebook's checks see the same recordings on every machine). Any other value
    raises a one-line ``ValueError``."""
    choice = os.environ.get(RECORDINGS_VARIABLE, "")
    if choice not in ("", "standin"):
        raise ValueError(f"{RECORDINGS_VARIABLE}={choice!r} is not understood: set it to "
                         f"'standin' to use the shipped stand-in recordings, or leave it unset "
                         f"or empty to use the course files when present")
    return find_recordings(audio_dir, ignore_course_files=choice == "standin")


def load_pair(clean_path, noisy_path) -> tuple[np.ndarray, np.ndarray]:
    """Load a clean recording and its noisy version, which must be sample-aligned:
    two ``(samples,)`` signals of equal length."""
    clean, noisy = load_audio(clean_path), load_audio(noisy_path)
    if len(clean) != len(noisy):
        raise AudioFileError(f"{noisy_path}: {len(noisy)} samples, but its clean version "
                             f"{Path(clean_path).name} has {len(clean)}; they must be aligned")
    return clean, noisy


def load_test_clips(recordings: Recordings) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Every test clip as ``name -> (noisy, clean or None)``, each ``(samples,)``."""
    clips = {}
    for name, clip in recordings.tests.items():
        if clip.clean is None:
            clips[name] = (load_audio(clip.noisy), None)
        else:
            clean, noisy = load_pair(clip.clean, clip.noisy)
            clips[name] = (noisy, clean)
    return clips


# --------------------------------------------------------------------------------------------
# STFT, framing and reconstruction
# --------------------------------------------------------------------------------------------

def stft_frames(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude and phase of the handout's STFT, one spectrum per row.

    ``signal``: ``(samples,)``. Returns ``magnitude`` ``(frames, 513)`` float32 and
    ``phase`` ``(frames, 513)`` complex64 of unit modulus, with ``frames = 1 + samples // 512``
    (librosa centres the frames).
    """
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {signal.shape}")
    spectrum = librosa.stft(signal, n_fft=N_FFT, hop_length=HOP_LENGTH, window="hann").T
    magnitude = np.abs(spectrum)
    phase = np.exp(1j * np.angle(spectrum)).astype(np.complex64)
    return magnitude.astype(np.float32), phase


def silence_frames(count: int, seed: int = 0, level: float = SILENCE_MAGNITUDE) -> np.ndarray:
    """``count`` "silent" spectra of small random magnitudes in [0, level): ``(count, 513)``."""
    return np.random.default_rng(seed).uniform(0.0, level, (count, N_BINS)).astype(np.float32)


def frame_windows(magnitude: np.ndarray, window: int = WINDOW_FRAMES, pad: bool = True,
                  seed: int = 0, silence_level: float = SILENCE_MAGNITUDE) -> np.ndarray:
    """Images of ``window`` consecutive spectra for the 2D CNN, equations (2) and (3).

    ``magnitude``: ``(frames, 513)``. Window ``t`` holds frames ``t .. t + window - 1`` and is
    paired with the clean spectrum of its last frame. With ``pad`` (the handout's recommended
    option) ``window - 1`` silent frames (:func:`silence_frames` below ``silence_level``,
    seeded) are prepended, giving
    ``(frames, window, 513)``: one image per frame. Without it the result is
    ``(frames - window + 1, window, 513)``. The result is a read-only strided view, no copy.
    """
    magnitude = np.asarray(magnitude, dtype=np.float32)
    if magnitude.ndim != 2:
        raise ValueError(f"expected (frames, bins) magnitudes, got shape {magnitude.shape}")
    if pad:
        magnitude = np.concatenate([silence_frames(window - 1, seed, silence_level), magnitude])
    if magnitude.shape[0] < window:
        raise ValueError(f"need at least {window} frames for one window, got {magnitude.shape[0]}")
    windows = np.lib.stride_tricks.sliding_window_view(magnitude, window, axis=0)
    return np.moveaxis(windows, -1, 1)  # (images, bins, window) -> (images, window, bins)


def reconstruct(magnitude: np.ndarray, phase: np.ndarray, length: int) -> np.ndarray:
    """Inverse STFT of ``magnitude * phase`` (both ``(frames, 513)``) to ``(length,)`` samples.

    ``length`` is the original signal's length; without it librosa returns only the samples that
    whole frames cover.
    """
    if magnitude.shape != phase.shape:
        raise ValueError(f"magnitude {magnitude.shape} and phase {phase.shape} differ in shape")
    spectrum = (np.asarray(magnitude) * np.asarray(phase)).T
    signal = librosa.istft(spectrum, n_fft=N_FFT, hop_length=HOP_LENGTH, window="hann",
                           length=length)
    return signal.astype(np.float32)


MAGNITUDE_TARGETS = ("magnitude", "phase_sensitive")


def target_magnitude(clean_magnitude: np.ndarray, clean_phase: np.ndarray,
                     noisy_phase: np.ndarray, kind: str = "magnitude") -> np.ndarray:
    r"""The magnitude to play with the noisy phase, ``(frames, 513)`` float32.

    ``"magnitude"``: the clean magnitude :math:`|S|`. ``"phase_sensitive"``: the part of the
    clean spectrum along the noisy phase, :math:`\max(0, |S|\cos(\angle S - \angle X))`. Of all
    non-negative magnitudes :math:`m`, it puts :math:`m\,e^{j\angle X}` closest to :math:`S` in
    every bin, since :math:`|m e^{j\angle X} - S|^2 = (m - |S|\cos\Delta)^2 + |S|^2\sin^2\Delta`.
    Phases are unit-modulus complex arrays as :func:`stft_frames` returns them.
    """
    if kind not in MAGNITUDE_TARGETS:
        raise ValueError(f"unknown magnitude target {kind!r}; choose one of {MAGNITUDE_TARGETS}")
    clean_magnitude = np.asarray(clean_magnitude, dtype=np.float32)
    if kind == "magnitude":
        return clean_magnitude
    cosine = np.real(np.asarray(clean_phase) * np.conj(noisy_phase))
    return np.maximum(clean_magnitude * cosine, 0.0).astype(np.float32)


def oracle_reconstruction(clean: np.ndarray, noisy: np.ndarray,
                          kind: str = "magnitude") -> np.ndarray:
    """An oracle that knows the clean signal but keeps the noisy phase: the inverse STFT of
    :func:`target_magnitude` of ``kind`` with the noisy phase, ``(samples,)``.

    ``"magnitude"`` (clean magnitude, noisy phase) is the ceiling the handout's networks aim at;
    ``"phase_sensitive"`` is the best any magnitude can do with the noisy phase.
    """
    clean_magnitude, clean_phase = stft_frames(clean)
    noisy_phase = stft_frames(noisy)[1]
    magnitude = target_magnitude(clean_magnitude, clean_phase, noisy_phase, kind)
    return reconstruct(magnitude, noisy_phase, len(noisy))


# --------------------------------------------------------------------------------------------
# Quality
# --------------------------------------------------------------------------------------------

def _signal_pair(metric: str, reference, estimate) -> tuple[np.ndarray, np.ndarray]:
    """Both signals as float64 arrays, or a ValueError if their shapes differ."""
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape:
        raise ValueError(f"{metric} needs signals of equal length, got {reference.shape} "
                         f"(reference) and {estimate.shape} (estimate)")
    return reference, estimate


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Equation (1): ``10 log10( sum s(t)^2 / sum (s(t) - s_hat(t))^2 )`` in dB.

    Both signals are ``(samples,)`` of equal length. A perfect estimate gives ``inf``; a silent
    reference with any error gives ``-inf`` (never NaN).
    """
    reference, estimate = _signal_pair("SNR", reference, estimate)
    signal_energy = float(np.sum(reference ** 2))
    error_energy = float(np.sum((reference - estimate) ** 2))
    if error_energy == 0.0:
        return math.inf
    if signal_energy == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal_energy / error_energy)


def si_sdr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., 2019).

    The reference is first scaled to best match the estimate, ``alpha = <s_hat, s> / <s, s>``;
    then ``10 log10(|alpha s|^2 / |alpha s - s_hat|^2)``. Unlike equation (1) it ignores the
    estimate's overall gain. Signals are ``(samples,)`` of equal length.
    """
    reference, estimate = _signal_pair("SI-SDR", reference, estimate)
    reference_energy = float(np.dot(reference, reference))
    if reference_energy == 0.0:
        return -math.inf if np.any(estimate) else math.inf
    projection = float(np.dot(estimate, reference))
    if projection == 0.0:  # nothing of the reference in the estimate (e.g. silence)
        return -math.inf
    if np.array_equal(estimate, reference):
        return math.inf
    return snr_db((projection / reference_energy) * reference, estimate)


def stoi_score(reference: np.ndarray, estimate: np.ndarray,
               sample_rate: int = SAMPLE_RATE) -> float:
    """Short-time objective intelligibility (Taal et al., 2011), about 0 (unintelligible) to 1,
    computed by the ``pystoi`` package on ``(samples,)`` signals of equal length."""
    from pystoi import stoi

    reference, estimate = _signal_pair("STOI", reference, estimate)
    return float(stoi(reference, estimate, sample_rate, extended=False))


def quality_scores(reference: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
    """Every metric of this project for one ``(samples,)`` estimate against its clean reference:
    ``snr_db`` (equation (1)), ``si_sdr_db`` and ``stoi``."""
    return {"snr_db": snr_db(reference, estimate), "si_sdr_db": si_sdr_db(reference, estimate),
            "stoi": stoi_score(reference, estimate)}


def snr_by_clip(references: dict[str, np.ndarray], estimates: dict[str, np.ndarray]
                ) -> dict[str, float]:
    """:func:`snr_db` of ``estimates[clip]`` against ``references[clip]`` for every clip of
    ``references`` (``{clip name: (samples,) signal}``), in that order. Raises ``KeyError``
    naming a clip that has a reference but no estimate."""
    missing = [clip for clip in references if clip not in estimates]
    if missing:
        raise KeyError(f"no estimate for {', '.join(missing)}")
    return {clip: snr_db(reference, estimates[clip]) for clip, reference in references.items()}


# --------------------------------------------------------------------------------------------
# A classical baseline: Wiener-style gain with a noise estimate from the noisy signal itself
# --------------------------------------------------------------------------------------------

def noise_power_estimate(noisy_magnitude: np.ndarray, percentile: float = 10.0) -> np.ndarray:
    """Noise power per bin ``(513,)`` from noisy magnitudes ``(frames, 513)``.

    Takes a low ``percentile`` over time of each bin's power, on the assumption that a bin's
    quietest frames hold noise only. The power of noise in one bin is exponentially distributed,
    so its ``p``-th percentile is ``-ln(1 - p/100)`` times its mean: dividing by that factor
    removes the bias of picking the quietest frames. The DC and Nyquist bins are real, so
    their power follows a chi-squared law with one degree of freedom and gets its own factor.
    """
    from scipy.stats import chi2

    power = noisy_magnitude.astype(np.float64) ** 2
    bias = np.full(power.shape[1], -math.log(1.0 - percentile / 100.0))
    bias[[0, -1]] = chi2.ppf(percentile / 100.0, df=1)  # DC and Nyquist bins are real-valued
    return np.percentile(power, percentile, axis=0) / bias + 1e-12


def wiener_denoise(noisy: np.ndarray, smoothing: float = 0.98, gain_floor: float = 0.1,
                   percentile: float = 10.0) -> np.ndarray:
    """Denoise a ``(samples,)`` signal with no training: a Wiener gain per time-frequency bin.

    With noise power ``N_f`` (:func:`noise_power_estimate`) and noisy power ``P_{t,f}``, the
    a-priori SNR follows the decision-directed rule of Ephraim and Malah,
    ``xi_t = smoothing * |S_hat_{t-1}|^2 / N + (1 - smoothing) * max(P_t / N - 1, 0)``, the gain is
    ``max(xi / (1 + xi), gain_floor)``, and the result is reconstructed with the noisy phase.
    """
    magnitude, phase = stft_frames(noisy)
    power = magnitude.astype(np.float64) ** 2
    noise = noise_power_estimate(magnitude, percentile)
    estimate = np.empty_like(power)
    previous_clean_power = np.zeros(magnitude.shape[1])
    for frame, frame_power in enumerate(power):  # a recursive filter: each frame needs the last
        prior_snr = (smoothing * previous_clean_power / noise
                     + (1.0 - smoothing) * np.maximum(frame_power / noise - 1.0, 0.0))
        gain = np.maximum(prior_snr / (1.0 + prior_snr), gain_floor)
        estimate[frame] = gain * magnitude[frame]
        previous_clean_power = estimate[frame] ** 2
    return reconstruct(estimate.astype(np.float32), phase, len(noisy))
