"""Shared fixtures for the unit tests.

* Matplotlib runs on the non-interactive Agg backend, so no window or display is needed. It is
  chosen in this process only, not through ``MPLBACKEND``, which the notebook's kernel would
  inherit.
* Values several test files share live here once: the stand-in folder (``standin_dir``), the
  length of the course's training recording (``training_length``) and the epochs of the short
  training runs (``QUICK_EPOCHS``, as the ``quick_epochs`` fixture).
* The root ``conftest.py`` points ``HOMEWORK2_OUTPUT_DIR`` at a temporary folder for the whole
  session and sets ``HOMEWORK2_RECORDINGS=standin``; the unit tests write only under pytest's
  temporary folders.
* ``fail_after_writing`` makes a writer fail after putting its bytes on disk, for the tests of
  atomic writes.
* The repository root is put on ``sys.path``, so ``import dsp_helpers`` works however pytest is
  started (``python -m pytest`` or the ``pytest`` script, from the root or elsewhere).
* ``speech_like`` makes a seeded synthetic voiced signal (harmonics of a gliding pitch under a
  syllable-rate envelope), for tests that need speech-like audio without the recordings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib  # noqa: E402

matplotlib.use("Agg", force=True)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
STANDIN_DIR = REPO_ROOT / "audio" / "standin"
SAMPLE_RATE = 16_000
TRAINING_SAMPLES = 1_258_899  # the course's training recording (and the stand-in's)
TRAINING_FRAMES = 1 + TRAINING_SAMPLES // 512  # 2,459 STFT frames
QUICK_EPOCHS = 3  # the epochs of every short training run in the tests

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def make_speech_like(samples: int, seed: int = 0, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A ``(samples,)`` float32 voiced, speech-like signal, peak about 0.3.

    Harmonics (1/k roll-off up to 4 kHz) of a pitch that glides around 90-180 Hz, shaped by a
    syllable-rate (3-6 Hz) envelope with quiet pauses, so it has onsets, silences and a varying
    spectrum. Seeded: the same arguments give the same signal.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / sample_rate
    f0 = 130 + 35 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    harmonics = min(30, int(4000 // 170))
    voiced = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, harmonics + 1))
    syllables = np.sin(2 * np.pi * rng.uniform(3.0, 6.0) * t + rng.uniform(0, 2 * np.pi))
    envelope = 0.02 + np.clip(syllables, 0.0, None) ** 1.5  # pauses ~34 dB down, never 0
    envelope *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.37 * t)  # slow loudness drift
    signal = envelope * voiced
    return (0.3 * signal / max(np.max(np.abs(signal)), 1e-12)).astype(np.float32)


def pytest_configure(config):
    # Keras 3.15's TensorFlow backend calls np.array(x) on tensors during fit(); NumPy 2.4 warns
    # about it on every epoch. Third-party noise, not a finding of these tests.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def standin_dir() -> Path:
    return STANDIN_DIR


@pytest.fixture(scope="session")
def training_length() -> tuple[int, int]:
    """``(samples, STFT frames)`` of the course's training recording: 1,258,899 and 2,459."""
    return TRAINING_SAMPLES, TRAINING_FRAMES


@pytest.fixture(scope="session")
def quick_epochs() -> int:
    """How many epochs the tests' short training runs take."""
    return QUICK_EPOCHS


@pytest.fixture(scope="session")
def speech_like():
    """Factory: ``speech_like(samples, seed=0)`` -> float32 speech-like signal."""
    return make_speech_like


@pytest.fixture(scope="session")
def noisy_pair():
    """``(clean, dirty)``: 3 s of speech-like signal and the same plus seeded white noise at
    about 5 dB SNR, both float32 ``(48000,)``."""
    clean = make_speech_like(3 * SAMPLE_RATE, seed=1)
    noise = np.random.default_rng(2).standard_normal(len(clean)).astype(np.float32)
    noise *= np.sqrt(np.sum(clean.astype(np.float64) ** 2) / np.sum(noise.astype(np.float64) ** 2)
                     / 10 ** (5.0 / 10))
    return clean, (clean + noise).astype(np.float32)


@pytest.fixture
def write_wav(tmp_path):
    """Factory: ``write_wav(name, signal, rate=16000, subtype="PCM_16", folder=tmp_path)``
    writes a WAV and returns its path. ``signal`` is ``(samples,)`` or ``(samples, channels)``."""
    def write(name, signal, rate=SAMPLE_RATE, subtype="PCM_16", folder=None):
        path = Path(folder or tmp_path) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.asarray(signal), rate, subtype=subtype)
        return path
    return write


@pytest.fixture
def fail_after_writing(monkeypatch):
    """Factory: ``fail_after_writing(owner, name, error)`` patches the writer ``owner.name`` (a
    function, or a method of a class) to do its work and then raise ``error``: a write that fails
    with its bytes already on disk."""
    def patch(owner, name, error):
        write = getattr(owner, name)

        def write_then_fail(*args, **kwargs):
            write(*args, **kwargs)
            raise error

        monkeypatch.setattr(owner, name, write_then_fail)
    return patch


@pytest.fixture(autouse=True)
def _close_figures():
    """The plotting helpers return their figures open, for the caller to show or compose; close
    them after every test so none leak into the next."""
    yield
    import matplotlib.pyplot as plt
    plt.close("all")
