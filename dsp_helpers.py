"""Audio I/O, the recordings, the handout's STFT (16 kHz, ``n_fft=1024``, hop 512, Hann; one
``(frames, 513)`` spectrum per row), quality measures and a Wiener baseline."""

from __future__ import annotations

import contextlib
import errno
import functools
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


# --- Reading and writing audio ---

def load_audio(path, verbose: bool = True) -> np.ndarray:
    """A mono float32 ``(samples,)`` signal at :data:`SAMPLE_RATE` Hz, with ``verbose`` notes
    on stderr; :class:`AudioFileError` for a missing, empty, unreadable or non-finite file."""
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
    if file_rate != SAMPLE_RATE:
        if verbose:
            print(f"note: {path.name}: resampled from {file_rate} Hz to {SAMPLE_RATE} Hz",
                  file=sys.stderr)
        mono = librosa.resample(mono, orig_sr=file_rate, target_sr=SAMPLE_RATE)
    return np.ascontiguousarray(mono, dtype=np.float32)


_UNKNOWN_DATA_SIZES = (0, 0xFFFFFFFF)  # what streaming writers leave in an unfinished header


def wav_header_frames(path) -> int | None:
    """The frames a RIFF/WAVE header says its ``data`` chunk holds, or ``None`` if unknown."""
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
def native_output_silenced(descriptors=(1, 2)):
    """Send file ``descriptors`` (where C, C++ and Rust code writes) to ``os.devnull``."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(fd) for fd in descriptors]
    except OSError:  # no usable descriptors (e.g. a windowed Windows interpreter)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in descriptors:
            os.dup2(devnull, fd)
        yield
    finally:
        for fd, copy in zip(descriptors, saved):
            os.dup2(copy, fd)
        for fd in (*saved, devnull):
            os.close(fd)


@contextlib.contextmanager
def replaced_atomically(path) -> Iterator[Path]:
    """Yield an empty temporary file beside ``path`` (same suffix, a new file's permissions) that
    replaces ``path`` when the block ends, and is removed if it raises anything."""
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
    """Write a ``(samples,)`` signal as clipped 16-bit WAV atomically, or raise ``OSError``.

    Notebook: §7.1."""
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


def excerpt(signal: np.ndarray, seconds: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The first ``seconds`` (at most) of a ``(samples,)`` signal at ``sample_rate`` Hz.

    Notebook: §2, §4.4, §5.4 (and §6.2 through ``report_helpers.listening_rows``)."""
    return signal[:int(round(seconds * sample_rate))]


# --- Finding the recordings: the course files when supplied, else the stand-in set ---

@dataclass
class NoisyClip:
    """A noisy test recording, its clean reference and its speaker note, where known."""

    noisy: Path
    clean: Path | None = None
    speaker: str | None = None


@dataclass
class Recordings:
    """A training pair and the test clips, by name (``test_01``)."""

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
    """``{test clip name: speaker note}`` from the stand-in set's ``manifest.json``."""
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
    """The course files in ``audio_dir``, else ``audio_dir/standin``; raises
    :class:`RecordingSetError` for a partial set."""
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
    """:func:`find_recordings`, ignoring the course files if ``HOMEWORK2_RECORDINGS=standin``.

    Notebook: §1."""
    choice = os.environ.get(RECORDINGS_VARIABLE, "")
    if choice not in ("", "standin"):
        raise ValueError(f"{RECORDINGS_VARIABLE}={choice!r} is not understood: set it to "
                         f"'standin' to use the shipped stand-in recordings, or leave it unset "
                         f"or empty to use the course files when present")
    return find_recordings(audio_dir, ignore_course_files=choice == "standin")


def load_pair(clean_path, noisy_path) -> tuple[np.ndarray, np.ndarray]:
    """A clean recording and its noisy version: two ``(samples,)`` signals of equal length.

    Notebook: §2."""
    clean, noisy = load_audio(clean_path), load_audio(noisy_path)
    if len(clean) != len(noisy):
        raise AudioFileError(f"{noisy_path}: {len(noisy)} samples, but its clean version "
                             f"{Path(clean_path).name} has {len(clean)}; they must be aligned")
    return clean, noisy


def load_test_clips(recordings: Recordings) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Every test clip as ``name -> (noisy, clean or None)``, each ``(samples,)``.

    Notebook: §2."""
    clips = {}
    for name, clip in recordings.tests.items():
        clean, noisy = (load_pair(clip.clean, clip.noisy) if clip.clean
                        else (None, load_audio(clip.noisy)))
        clips[name] = (noisy, clean)
    return clips


# --- STFT, framing and reconstruction ---

def stft_frames(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude ``(frames, 513)`` float32 and unit-modulus phase ``(frames, 513)`` complex64
    of a ``(samples,)`` signal, with ``frames = 1 + samples // 512`` (centred frames).

    Notebook: §3."""
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {signal.shape}")
    spectrum = librosa.stft(signal, n_fft=N_FFT, hop_length=HOP_LENGTH, window="hann").T
    return np.abs(spectrum).astype(np.float32), np.exp(1j * np.angle(spectrum)).astype(np.complex64)


def silence_frames(count: int, seed: int = 0, level: float = SILENCE_MAGNITUDE) -> np.ndarray:
    """``count`` "silent" spectra of small random magnitudes in [0, level): ``(count, 513)``."""
    return np.random.default_rng(seed).uniform(0.0, level, (count, N_BINS)).astype(np.float32)


def frame_windows(magnitude: np.ndarray, window: int = WINDOW_FRAMES, pad: bool = True,
                  seed: int = 0, silence_level: float = SILENCE_MAGNITUDE) -> np.ndarray:
    """Equations (2)-(3): a read-only view ``(frames, window, 513)`` of windows (padded with
    silence), or ``(frames - window + 1, window, 513)`` without ``pad``.

    Notebook: §5.1."""
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
    """Inverse STFT of ``magnitude * phase`` (both ``(frames, 513)``) to ``(length,)`` samples."""
    if magnitude.shape != phase.shape:
        raise ValueError(f"magnitude {magnitude.shape} and phase {phase.shape} differ in shape")
    spectrum = (np.asarray(magnitude) * np.asarray(phase)).T
    signal = librosa.istft(spectrum, n_fft=N_FFT, hop_length=HOP_LENGTH, window="hann",
                           length=length)
    return signal.astype(np.float32)


MAGNITUDE_TARGETS = ("magnitude", "phase_sensitive")


def target_magnitude(clean_magnitude: np.ndarray, clean_phase: np.ndarray,
                     noisy_phase: np.ndarray, kind: str = "magnitude") -> np.ndarray:
    """The magnitude to play with the noisy phase, ``(frames, 513)`` float32: the clean ``|S|``
    or, ``"phase_sensitive"``, ``max(0, |S| cos(angle S - angle X))``.

    Notebook: §4.2."""
    if kind not in MAGNITUDE_TARGETS:
        raise ValueError(f"unknown magnitude target {kind!r}; choose one of {MAGNITUDE_TARGETS}")
    clean_magnitude = np.asarray(clean_magnitude, dtype=np.float32)
    if kind == "magnitude":
        return clean_magnitude
    cosine = np.real(np.asarray(clean_phase) * np.conj(noisy_phase))
    return np.maximum(clean_magnitude * cosine, 0.0).astype(np.float32)


#: The share of frames, the quietest by the pretrained denoiser's output, where
#: :func:`gated_mean` keeps that denoiser alone.
GATED_QUIET_SHARE = 0.25


def gated_mean(trained: np.ndarray, reference: np.ndarray,
               quiet_share: float = GATED_QUIET_SHARE) -> np.ndarray:
    """Two denoisers' ``(samples,)`` estimates of one recording combined frame by frame: their
    mean in the frames where ``reference``'s energy is at or above its ``quiet_share``
    quantile over frames, ``reference`` alone in the quieter ones (the pauses, where residual
    noise is heard). STFT frames as :func:`stft_frames`, overlap-added back; same length.

    Notebook: §7.1."""
    trained, reference = (np.asarray(signal, dtype=np.float32) for signal in (trained, reference))
    if trained.shape != reference.shape or trained.ndim != 1:
        raise ValueError(f"gated_mean needs two 1-D estimates of equal length, got "
                         f"{trained.shape} and {reference.shape}")
    if not 0.0 <= quiet_share < 1.0:
        raise ValueError(f"quiet_share must be in [0, 1), got {quiet_share}")
    first, second = (librosa.stft(signal, n_fft=N_FFT, hop_length=HOP_LENGTH, window="hann")
                     for signal in (trained, reference))
    energy = np.sum(np.abs(second) ** 2, axis=0)
    weight = np.where(energy >= np.quantile(energy, quiet_share), 0.5, 0.0)
    combined = weight * first + (1.0 - weight) * second
    return librosa.istft(combined, n_fft=N_FFT, hop_length=HOP_LENGTH, window="hann",
                         length=len(reference)).astype(np.float32)


def oracle_reconstruction(clean: np.ndarray, noisy: np.ndarray,
                          kind: str = "magnitude") -> np.ndarray:
    """The inverse STFT of :func:`target_magnitude` ``kind`` with the noisy phase (the ceiling).

    Notebook: §4.4."""
    clean_magnitude, clean_phase = stft_frames(clean)
    noisy_phase = stft_frames(noisy)[1]
    magnitude = target_magnitude(clean_magnitude, clean_phase, noisy_phase, kind)
    return reconstruct(magnitude, noisy_phase, len(noisy))


# --- Quality ---

def _signal_pair(metric: str, reference, estimate) -> tuple[np.ndarray, np.ndarray]:
    """Both signals as float64, or a ``ValueError`` if their shapes differ."""
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape:
        raise ValueError(f"{metric} needs signals of equal length, got {reference.shape} "
                         f"(reference) and {estimate.shape} (estimate)")
    return reference, estimate


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Equation (1), ``10 log10(sum s^2 / sum (s - s_hat)^2)`` dB, of equal-length signals:
    ``inf`` for a perfect estimate, ``-inf`` for a silent reference with any error.

    Notebook: §2."""
    reference, estimate = _signal_pair("SNR", reference, estimate)
    signal_energy = float(np.sum(reference ** 2))
    error_energy = float(np.sum((reference - estimate) ** 2))
    if error_energy == 0.0:
        return math.inf
    if signal_energy == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal_energy / error_energy)


def stoi_score(reference: np.ndarray, estimate: np.ndarray,
               sample_rate: int = SAMPLE_RATE) -> float:
    """STOI (Taal et al., 2011) of equal-length signals by ``pystoi``: about 0 to 1."""
    from pystoi import stoi

    reference, estimate = _signal_pair("STOI", reference, estimate)
    return float(stoi(reference, estimate, sample_rate, extended=False))


def quality_scores(reference: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
    """``snr_db`` and ``stoi`` of an estimate against its clean reference.

    Notebook: §7.1."""
    return {"snr_db": snr_db(reference, estimate), "stoi": stoi_score(reference, estimate)}


# --- A perceptual score without a reference: DNSMOS (Reddy et al., 2022), by speechmos ---

#: The shortest signal :func:`dnsmos_scores` accepts, in seconds. DNSMOS scores 9.01-s windows
#: and speechmos repeats a shorter clip until it fills one; below about 2 s the scores depend on
#: where the clip was cut (1-s excerpts of clean stand-in speech scored up to 1.2 lower in OVRL
#: than the 9-s window they came from, 2-s excerpts within 0.2).
DNSMOS_MIN_SECONDS = 2.0
#: Keys of :func:`dnsmos_scores`, as speechmos names them.
_DNSMOS_KEYS = {"sig": "sig_mos", "bak": "bak_mos", "ovrl": "ovrl_mos", "p808": "p808_mos"}
# Where onnxruntime 1.32.0 has a wheel for Python 3.11 (requirements.txt's markers).
_ONNXRUNTIME_PLATFORMS = {("linux", "x86_64"), ("linux", "aarch64"), ("darwin", "arm64"),
                          ("win32", "amd64"), ("win32", "arm64")}


@functools.lru_cache(maxsize=None)
def dnsmos_unavailable_reason() -> str | None:
    """``None`` if :func:`dnsmos_scores` can run here, else a one-line reason. Never raises."""
    import platform

    try:
        from speechmos import dnsmos  # imports onnxruntime, librosa and requests
        models = Path(dnsmos.__file__).parent / "dnsmos_models"
        missing = [name for name in ("sig_bak_ovr.onnx", "model_v8.onnx")
                   if not (models / name).is_file()]
        if missing:
            return f"speechmos is installed without its model {missing[0]} (in {models})"
        return None
    except Exception as error:  # noqa: BLE001 - the point is to report, not to raise
        if (sys.platform, platform.machine().lower()) not in _ONNXRUNTIME_PLATFORMS:
            return (f"onnxruntime has no wheel for this platform "
                    f"({sys.platform} {platform.machine()})")
        if isinstance(error, ImportError):
            return (f"{error.name or 'speechmos'} is not installed "
                    f"(pip install -r requirements.txt)")
        return f"speechmos failed to load: {type(error).__name__}: {error}".splitlines()[0]


def dnsmos_input(signal) -> np.ndarray:
    """``signal`` (at :data:`SAMPLE_RATE` Hz) as the float32 ``(samples,)`` array
    :func:`dnsmos_scores` scores, or a ``ValueError`` naming what is wrong: not 1-D (mono),
    empty or shorter than :data:`DNSMOS_MIN_SECONDS`, NaN or infinite, or beyond full scale."""
    try:
        signal = np.asarray(signal, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"DNSMOS needs a 1-D array of samples ({error})") from None
    if signal.ndim != 1:
        raise ValueError(f"DNSMOS needs a mono (samples,) signal, got shape {signal.shape}"
                         + (" (mix the channels down first)" if signal.ndim == 2 else ""))
    if signal.size == 0:
        raise ValueError("DNSMOS cannot score an empty signal (0 samples)")
    seconds = signal.size / SAMPLE_RATE
    if seconds < DNSMOS_MIN_SECONDS:
        raise ValueError(f"too short for DNSMOS: {signal.size} samples ({seconds:.2f} s), "
                         f"needs at least {DNSMOS_MIN_SECONDS:g} s")
    if not np.all(np.isfinite(signal)):
        raise ValueError("DNSMOS cannot score a signal holding NaN or infinite samples")
    peak = float(np.max(np.abs(signal)))
    if peak > 1.0:
        raise ValueError(f"DNSMOS needs samples within full scale [-1, 1], got a peak of "
                         f"{peak:.3g}")
    return signal


def dnsmos_scores(signal) -> dict[str, float]:
    """DNSMOS of a 16 kHz mono float signal within [-1, 1], at least
    :data:`DNSMOS_MIN_SECONDS` long, by speechmos' bundled ONNX models, without a reference:
    ``{"sig", "bak", "ovrl"}`` (P.835: speech, background, overall) and ``"p808"`` (P.808 MOS),
    each about 1 (bad) to 5 (excellent). Deterministic; the level matters (speechmos does not
    normalise), so score signals as a listener gets them.

    A clip shorter than 9.01 s is repeated until it fills one window; a longer one is scored in
    9.01-s windows a second apart and averaged, the last second or two left out (speechmos'
    and DNSMOS' own rule). ``ValueError`` for a bad signal (see :func:`dnsmos_input`),
    ``RuntimeError`` with :func:`dnsmos_unavailable_reason` where speechmos cannot run."""
    signal = dnsmos_input(signal)
    if reason := dnsmos_unavailable_reason():
        raise RuntimeError(f"DNSMOS is unavailable here ({reason})")
    from speechmos import dnsmos

    scores = dnsmos.run(signal, SAMPLE_RATE)
    return {key: float(scores[name]) for key, name in _DNSMOS_KEYS.items()}


def dnsmos_by_clip(signals: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """``{clip: dnsmos_scores}`` of each ``(samples,)`` signal as it is played (clipped to full
    scale), leaving out clips shorter than :data:`DNSMOS_MIN_SECONDS`; ``RuntimeError`` where
    DNSMOS is unavailable (:func:`dnsmos_unavailable_reason`). Notebook: §6.2, §7.1."""
    return {clip: dnsmos_scores(np.clip(signal, -1.0, 1.0)) for clip, signal in signals.items()
            if len(signal) >= DNSMOS_MIN_SECONDS * SAMPLE_RATE}


def snr_by_clip(references: dict[str, np.ndarray], estimates: dict[str, np.ndarray]
                ) -> dict[str, float]:
    """``{clip: snr_db}`` for every clip of ``references``; ``KeyError`` for a missing estimate.

    Notebook: §4.4, §5.4, §7.4."""
    missing = [clip for clip in references if clip not in estimates]
    if missing:
        raise KeyError(f"no estimate for {', '.join(missing)}")
    return {clip: snr_db(reference, estimates[clip]) for clip, reference in references.items()}


# --- A classical baseline: a Wiener gain with the noise estimated from the noisy signal ---

def noise_power_estimate(noisy_magnitude: np.ndarray, percentile: float = 10.0) -> np.ndarray:
    """Noise power per bin ``(513,)``: a low ``percentile`` of its power, corrected for bias."""
    from scipy.stats import chi2

    power = noisy_magnitude.astype(np.float64) ** 2
    bias = np.full(power.shape[1], -math.log(1.0 - percentile / 100.0))
    bias[[0, -1]] = chi2.ppf(percentile / 100.0, df=1)  # DC and Nyquist bins are real-valued
    return np.percentile(power, percentile, axis=0) / bias + 1e-12


def wiener_denoise(noisy: np.ndarray, smoothing: float = 0.98, gain_floor: float = 0.1,
                   percentile: float = 10.0) -> np.ndarray:
    """Denoise a ``(samples,)`` signal with a Wiener gain per bin, the a-priori SNR by Ephraim
    and Malah's decision-directed rule.

    Notebook: §7.1."""
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
