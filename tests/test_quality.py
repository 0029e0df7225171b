"""Unit tests of the quality measures (the SNR of equation (1), STOI,
``quality_scores``) and of the classical baseline (``noise_power_estimate``,
``wiener_denoise``) in dsp_helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

import dsp_helpers as dsp


@pytest.fixture(scope="module")
def speech(standin_dir, speech_like):
    """The stand-in clean test clip ``test_s_01.wav`` (about 4.6 s) as float64, or a synthetic
    speech-like signal of the same length if the stand-in set has not been built."""
    path = standin_dir / "test_s_01.wav"
    if path.exists():
        return dsp.load_audio(path, verbose=False).astype(np.float64)
    return speech_like(73_000, seed=21).astype(np.float64)


def _white_noise(reference, snr_db, seed=0):
    """Gaussian white noise scaled so that ``reference`` is ``snr_db`` dB above it (exactly,
    by equation (1) on the sums)."""
    noise = np.random.default_rng(seed).standard_normal(len(reference))
    return noise * np.sqrt(np.sum(np.square(reference, dtype=np.float64)) / np.sum(noise ** 2)
                           / 10 ** (snr_db / 10))


# --------------------------------------------------------------------------------------------
# SNR, equation (1)
# --------------------------------------------------------------------------------------------

def test_snr_of_ten_percent_error_is_exactly_20_db():
    s = np.random.default_rng(0).standard_normal(10_000)
    assert dsp.snr_db(s, s + 0.1 * s) == pytest.approx(20.0, abs=1e-9)
    assert dsp.snr_db(s, s - 0.1 * s) == pytest.approx(20.0, abs=1e-9)
    assert dsp.snr_db(s, np.zeros_like(s)) == pytest.approx(0.0, abs=1e-12)


def test_snr_matches_equation_1():
    rng = np.random.default_rng(1)
    s, e = rng.standard_normal(5_000), rng.standard_normal(5_000) * 0.3
    expected = 10 * np.log10(np.sum(s ** 2) / np.sum(e ** 2))
    assert dsp.snr_db(s, s + e) == pytest.approx(expected, abs=1e-9)
    assert isinstance(dsp.snr_db(s, s + e), float)


def test_snr_of_identical_signals_is_inf():
    s = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    assert dsp.snr_db(s, s.copy()) == math.inf
    assert dsp.snr_db(np.zeros(10), np.zeros(10)) == math.inf


def test_snr_of_silent_reference_with_error_is_minus_inf_not_nan():
    value = dsp.snr_db(np.zeros(100), np.full(100, 1e-3))
    assert not math.isnan(value)
    assert value == -math.inf


def test_snr_length_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as error:
        dsp.snr_db(np.zeros(1000), np.zeros(999))
    assert "(1000,)" in str(error.value) and "(999,)" in str(error.value)


# --------------------------------------------------------------------------------------------
# STOI
# --------------------------------------------------------------------------------------------

def test_stoi_of_speech_with_itself_is_one(speech):
    value = dsp.stoi_score(speech, speech.copy())
    assert isinstance(value, float)
    assert 0.999 < value <= 1.0 + 1e-9


def test_stoi_of_speech_in_heavy_noise_is_clearly_lower(speech):
    assert dsp.stoi_score(speech, speech + _white_noise(speech, -5.0)) < 0.8


def test_stoi_rises_as_the_noise_falls(speech):
    scores = [dsp.stoi_score(speech, speech + _white_noise(speech, snr, seed=2))
              for snr in (-5.0, 0.0, 5.0, 10.0, 20.0)]
    assert all(a < b for a, b in zip(scores, scores[1:])), scores
    assert scores[-1] < 1.0


def test_stoi_accepts_float32_signals(speech):
    clean = speech.astype(np.float32)
    noisy = (speech + _white_noise(speech, 0.0)).astype(np.float32)
    assert dsp.stoi_score(clean, noisy) == pytest.approx(
        dsp.stoi_score(clean.astype(np.float64), noisy.astype(np.float64)), abs=1e-9)


def test_stoi_length_mismatch_names_both_shapes(speech):
    with pytest.raises(ValueError) as error:
        dsp.stoi_score(speech, speech[:-1])
    assert str(speech.shape) in str(error.value) and str(speech[:-1].shape) in str(error.value)


# --------------------------------------------------------------------------------------------
# All the scores at once
# --------------------------------------------------------------------------------------------

def test_quality_scores_are_the_two_measures(speech):
    estimate = 0.8 * speech + _white_noise(speech, 3.0, seed=3)
    scores = dsp.quality_scores(speech, estimate)
    assert list(scores) == ["snr_db", "stoi"]
    assert scores == {"snr_db": dsp.snr_db(speech, estimate),
                      "stoi": dsp.stoi_score(speech, estimate)}
    assert all(isinstance(value, float) for value in scores.values())


def test_quality_scores_rejects_mismatched_lengths(speech):
    with pytest.raises(ValueError):
        dsp.quality_scores(speech, speech[:-10])


# --------------------------------------------------------------------------------------------
# Noise estimate and Wiener baseline
# --------------------------------------------------------------------------------------------

def _white_noise_power_per_bin(sigma):
    """Expected ``|X_f|^2`` of white noise of variance ``sigma^2`` under the handout's STFT:
    ``sigma^2 * sum(w^2)`` for the (periodic) Hann window of 1024 that librosa uses."""
    window = scipy.signal.get_window("hann", dsp.N_FFT)
    return sigma ** 2 * float(np.sum(window ** 2))


@pytest.fixture(scope="module")
def white_noise_magnitude():
    """STFT magnitudes of 10 s of white Gaussian noise with sigma 0.05: ``(313, 513)``."""
    noise = 0.05 * np.random.default_rng(7).standard_normal(10 * dsp.SAMPLE_RATE)
    return dsp.stft_frames(noise)[0]


def test_white_noise_power_per_bin_formula(white_noise_magnitude):
    """The reference the estimate is judged against: the mean power of the interior bins."""
    power = white_noise_magnitude[2:-2, 1:-1].astype(np.float64) ** 2
    assert power.mean() / _white_noise_power_per_bin(0.05) == pytest.approx(1.0, abs=0.02)


def test_noise_power_estimate_of_white_noise_is_unbiased(white_noise_magnitude):
    estimate = dsp.noise_power_estimate(white_noise_magnitude)
    assert estimate.shape == (513,)
    assert np.all(np.isfinite(estimate)) and np.all(estimate > 0)
    ratio = estimate / _white_noise_power_per_bin(0.05)
    assert ratio[1:-1].mean() == pytest.approx(1.0, abs=0.1)
    assert np.median(ratio[1:-1]) == pytest.approx(1.0, abs=0.1)
    # without the percentile's bias correction it would be about 10 x too low
    assert np.percentile(white_noise_magnitude.astype(np.float64) ** 2, 10, axis=0)[1:-1].mean() \
        < 0.2 * _white_noise_power_per_bin(0.05)


@pytest.mark.parametrize("percentile", [5.0, 20.0])
def test_noise_power_estimate_corrects_other_percentiles(white_noise_magnitude, percentile):
    ratio = (dsp.noise_power_estimate(white_noise_magnitude, percentile)
             / _white_noise_power_per_bin(0.05))
    assert ratio[1:-1].mean() == pytest.approx(1.0, abs=0.1)


def test_noise_power_estimate_of_white_noise_at_dc_and_nyquist(white_noise_magnitude):
    ratio = dsp.noise_power_estimate(white_noise_magnitude) / _white_noise_power_per_bin(0.05)
    assert ratio[0] > 0.5 and ratio[-1] > 0.5


def test_noise_power_estimate_scales_with_the_noise_power(white_noise_magnitude):
    estimate = dsp.noise_power_estimate(white_noise_magnitude)
    np.testing.assert_allclose(dsp.noise_power_estimate(10.0 * white_noise_magnitude),
                               100.0 * estimate, rtol=1e-5)


def test_wiener_denoise_improves_speech_in_white_noise(speech):
    noisy = (speech + _white_noise(speech, 0.0, seed=4)).astype(np.float32)
    denoised = dsp.wiener_denoise(noisy)
    assert denoised.shape == noisy.shape and denoised.dtype == np.float32
    assert np.all(np.isfinite(denoised))
    assert dsp.snr_db(speech, noisy) == pytest.approx(0.0, abs=1e-3)
    assert dsp.snr_db(speech, denoised) > dsp.snr_db(speech, noisy) + 3.0


@pytest.mark.parametrize("length", [20_001, 16_384, 3_000])
def test_wiener_denoise_keeps_the_length(speech, length):
    noisy = (speech[:length] + _white_noise(speech[:length], 5.0, seed=5)).astype(np.float32)
    assert dsp.wiener_denoise(noisy).shape == (length,)


def test_wiener_denoise_of_silence_is_finite_silence():
    denoised = dsp.wiener_denoise(np.zeros(16_000, dtype=np.float32))
    assert denoised.shape == (16_000,)
    assert np.all(np.isfinite(denoised))
    assert np.max(np.abs(denoised)) < 1e-6


def test_snr_by_clip_scores_every_clip_with_a_reference():
    reference = np.ones(100)
    references = {"a": reference, "b": 2 * reference}
    estimates = {"b": 2 * reference * 0.9, "a": reference * 0.5, "c": reference}
    assert dsp.snr_by_clip(references, estimates) == pytest.approx(
        {"a": 10 * np.log10(1 / 0.25), "b": 10 * np.log10(1 / 0.01)})
    assert list(dsp.snr_by_clip(references, estimates)) == ["a", "b"]
    with pytest.raises(KeyError, match="no estimate for b"):
        dsp.snr_by_clip(references, {"a": reference})
