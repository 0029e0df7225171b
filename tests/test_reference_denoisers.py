"""Tests for reference_denoisers.py: the pretrained RNNoise and DeepFilterNet3 wrappers.

A model whose package is not installed (or has no wheel for this platform) is skipped with the
reason :func:`reference_denoisers.unavailable_reason` gives; the input checks run everywhere.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference_denoisers as rd

SAMPLE_RATE = 16_000
NAMES = list(rd.REFERENCE_DENOISERS)
# Minimum SNR gain (dB) on a speech-like signal in white noise at 5 dB. Measured (seed 0, 2 s):
# RNNoise +6.0 dB, DeepFilterNet3 +7.6 dB; the margins leave room for other platforms.
MIN_SNR_GAIN_DB = {"RNNoise": 4.0, "DeepFilterNet3": 5.0}


def snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    """Eq. (1): 10 log10(sum s^2 / sum (s - s_hat)^2)."""
    clean = np.asarray(clean, dtype=np.float64)
    error = clean - np.asarray(estimate, dtype=np.float64)
    return float(10 * np.log10(np.sum(clean ** 2) / np.sum(error ** 2)))


def add_white_noise(clean: np.ndarray, snr: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(clean.size)
    noise *= np.sqrt(np.sum(clean.astype(np.float64) ** 2) / np.sum(noise ** 2) / 10 ** (snr / 10))
    return clean + noise


def peak_lag(output: np.ndarray, reference: np.ndarray, max_lag: int) -> int:
    """The lag (samples; positive = output late) at which their cross-correlation peaks."""
    n = len(reference)
    lags = np.arange(-max_lag, max_lag + 1)
    values = [np.dot(output[max(0, lag):n + min(0, lag)], reference[max(0, -lag):n - max(0, lag)])
              for lag in lags]
    return int(lags[int(np.argmax(values))])


def voiced_bursts(samples: int) -> np.ndarray:
    """Hann-shaped 200 ms bursts of harmonic complexes (f0 120-180 Hz, up to 4 kHz), peak 0.3.

    Voiced, so both models treat the bursts as speech (a pure sine they suppress as noise), and
    the burst envelopes make the cross-correlation peak unique, not one pitch period off.
    """
    t = np.arange(samples) / SAMPLE_RATE
    signal = np.zeros(samples)
    length = int(0.2 * SAMPLE_RATE)
    starts = range(int(0.1 * SAMPLE_RATE), samples - length, int(0.3 * SAMPLE_RATE))
    for k, start in enumerate(starts):
        f0 = (120, 150, 180, 135)[k % 4]
        tone = sum(np.sin(2 * np.pi * h * f0 * t[:length]) / h for h in range(1, 4000 // f0 + 1))
        signal[start:start + length] += np.hanning(length) * tone
    return 0.3 * signal / np.max(np.abs(signal))


def require(name: str) -> None:
    reason = rd.unavailable_reason(name)
    if reason is not None:
        pytest.skip(f"{name}: {reason}")


def test_names_and_delays_are_declared():
    assert NAMES == ["RNNoise", "DeepFilterNet3"]
    assert all(isinstance(label, str) and label for label in rd.REFERENCE_DENOISERS.values())
    # 48 kHz delays, fixed by construction (module docstring): whole 16 kHz samples.
    assert rd.MODEL_DELAYS == {"RNNoise": 960, "DeepFilterNet3": 1440}


def test_unavailable_reason_never_raises():
    for name in NAMES:
        reason = rd.unavailable_reason(name)
        assert reason is None or (isinstance(reason, str) and "\n" not in reason)
    assert "unknown" in rd.unavailable_reason("NoSuchModel")
    assert "unknown" in rd.unavailable_reason(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_preserves_length_and_returns_float32(name):
    require(name)
    samples = int(1.3 * SAMPLE_RATE) + 7  # 20807: no whole number of 10 ms frames at 16 or 48 kHz
    noisy = add_white_noise(np.random.default_rng(1).uniform(-0.1, 0.1, samples), 10.0, seed=2)
    out = rd.denoise_reference(name, noisy)
    assert out.shape == (samples,)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))
    # Other rates are resampled through 48 kHz too.
    assert rd.denoise_reference(name, noisy[:11_025], sample_rate=22_050).shape == (11_025,)
    assert rd.denoise_reference(name, np.zeros(0)).shape == (0,)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name, speech_like):
    require(name)
    noisy = add_white_noise(speech_like(16_000, seed=4).astype(np.float64), 5.0, seed=5)
    np.testing.assert_array_equal(rd.denoise_reference(name, noisy),
                                  rd.denoise_reference(name, noisy))


@pytest.mark.parametrize("name", NAMES)
def test_output_is_aligned_with_the_input(name):
    require(name)
    clean = voiced_bursts(int(1.5 * SAMPLE_RATE))
    noisy = clean + 0.03 * np.random.default_rng(6).standard_normal(clean.size)  # about 7 dB
    out = rd.denoise_reference(name, noisy)
    # +-50 ms covers the uncompensated delays (20 / 30 ms at 48 kHz = 320 / 480 samples here).
    assert abs(peak_lag(out, clean, max_lag=800)) <= 1


@pytest.mark.parametrize("name", NAMES)
def test_improves_snr_of_noisy_speech_like_signal(name, speech_like):
    require(name)
    clean = speech_like(2 * SAMPLE_RATE, seed=0).astype(np.float64)
    noisy = add_white_noise(clean, 5.0, seed=7)
    before = snr_db(clean, noisy)
    after = snr_db(clean, rd.denoise_reference(name, noisy))
    assert before == pytest.approx(5.0, abs=1e-6)
    assert after >= before + MIN_SNR_GAIN_DB[name], (before, after)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("signal, sample_rate, match", [
    (np.zeros((2, 1600)), SAMPLE_RATE, "1-D"),
    (np.zeros((1600, 1)), SAMPLE_RATE, "1-D"),
    (np.array([0.0, np.nan, 0.1]), SAMPLE_RATE, "NaN"),
    (np.array([0.0, np.inf]), SAMPLE_RATE, "NaN or infinite"),
    (np.array(["a", "b"]), SAMPLE_RATE, "real numbers"),
    (np.zeros(1600), 0, "sample_rate"),
    (np.zeros(1600), 16_000.5, "sample_rate"),
    (np.zeros(1600), -16_000, "sample_rate"),
])
def test_bad_input_raises_value_error(name, signal, sample_rate, match):
    with pytest.raises(ValueError, match=match):
        rd.denoise_reference(name, signal, sample_rate=sample_rate)


def test_unknown_name_raises_value_error():
    with pytest.raises(ValueError, match="unknown reference denoiser"):
        rd.denoise_reference("NoSuchModel", np.zeros(1600))
