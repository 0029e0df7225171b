"""Tests of the DNSMOS scores in dsp_helpers.py (``dnsmos_scores``, by speechmos' ONNX models).

Scoring is skipped with :func:`dsp_helpers.dnsmos_unavailable_reason` where onnxruntime has no
wheel; the input checks run everywhere. Each score takes about half a second per 9-s window, so
the signals are a few seconds long.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import dsp_helpers as dsp

needs_dnsmos = pytest.mark.skipif(dsp.dnsmos_unavailable_reason() is not None,
                                  reason=str(dsp.dnsmos_unavailable_reason()))
KEYS = ["sig", "bak", "ovrl", "p808"]


@pytest.fixture(scope="module")
def speech(standin_dir):
    """The stand-in's clean test_s_01.wav (4.6 s; peak 0.34)."""
    return dsp.load_audio(standin_dir / "test_s_01.wav", verbose=False)


@pytest.fixture(scope="module")
def speech_scores(speech):
    return dsp.dnsmos_scores(speech)


# --- Scores ---

@needs_dnsmos
def test_scores_are_four_floats_on_the_mos_scale(speech_scores):
    assert list(speech_scores) == KEYS
    assert all(type(value) is float and 1.0 <= value <= 5.0 for value in speech_scores.values())


@needs_dnsmos
def test_the_same_input_gives_the_same_scores(speech, speech_scores):
    assert dsp.dnsmos_scores(speech.copy()) == speech_scores
    assert dsp.dnsmos_scores(speech.astype(np.float64)) == speech_scores  # scored as float32


@needs_dnsmos
def test_white_noise_scores_below_clean_speech(speech_scores):
    noise = 0.1 * np.random.default_rng(0).standard_normal(3 * dsp.SAMPLE_RATE)
    scores = dsp.dnsmos_scores(noise)
    for key in KEYS:  # measured: noise 1.14 / 1.10 / 1.10 / 2.12 against 3.56 / 4.14 / 3.31 / 3.70
        assert scores[key] < speech_scores[key] - 1.0, key


@needs_dnsmos
def test_the_stand_ins_noisy_clip_scores_below_its_clean_reference(standin_dir, speech_scores):
    """test_x_01 is test_s_01 with noise added: the background score falls most."""
    scores = dsp.dnsmos_scores(dsp.load_audio(standin_dir / "test_x_01.wav", verbose=False))
    # measured: BAK 2.34 against 4.14, OVRL 2.43 against 3.31
    assert scores["bak"] < speech_scores["bak"] - 1.0
    assert scores["ovrl"] < speech_scores["ovrl"] - 0.5


@needs_dnsmos
def test_a_quieter_copy_scores_about_the_same_and_a_very_quiet_one_lower(speech, speech_scores):
    """The level is not normalised: 20 dB quieter changes little, 40 dB quieter (a peak of
    0.003) loses speech quality in the P.835 scores."""
    quieter = dsp.dnsmos_scores(0.1 * speech)  # measured: within 0.02 of each score
    for key in KEYS:
        assert quieter[key] == pytest.approx(speech_scores[key], abs=0.1), key
    very_quiet = dsp.dnsmos_scores(0.01 * speech)  # measured: SIG 2.98, OVRL 2.48
    assert very_quiet["sig"] < speech_scores["sig"] - 0.3
    assert very_quiet["ovrl"] < speech_scores["ovrl"] - 0.3


@needs_dnsmos
def test_clips_of_any_length_from_the_minimum_up_are_scored(speech, standin_dir):
    """Shorter than one 9.01-s window (repeated to fill it), exactly the minimum, and longer
    than a window (12.4 s: scored in windows a second apart)."""
    shortest = speech[:int(dsp.DNSMOS_MIN_SECONDS * dsp.SAMPLE_RATE)]
    longer = dsp.load_audio(standin_dir / "test_s_02.wav", verbose=False)
    assert len(longer) > 9.01 * dsp.SAMPLE_RATE
    for signal in (shortest, longer):
        scores = dsp.dnsmos_scores(signal)
        assert all(np.isfinite(value) and 1.0 <= value <= 5.0 for value in scores.values())


# --- Bad input: a ValueError naming the problem, before speechmos is called ---

@pytest.mark.parametrize("signal, message", [
    (np.zeros(0, np.float32), "empty signal"),
    (np.zeros(dsp.SAMPLE_RATE, np.float32), r"too short for DNSMOS: 16000 samples \(1\.00 s\), "
                                            r"needs at least 2 s"),
    (np.zeros((3 * dsp.SAMPLE_RATE, 2), np.float32), r"mono .*shape \(48000, 2\).*mix the "
                                                     r"channels down"),
    (np.zeros((1, 3 * dsp.SAMPLE_RATE), np.float32), r"mono .*shape \(1, 48000\)"),
    (np.float32(0.5), r"mono .*shape \(\)"),
    (["not", "audio"], "1-D array of samples"),
], ids=["empty", "one-second", "stereo", "row", "scalar", "strings"])
def test_a_badly_shaped_or_too_short_signal_is_refused(signal, message):
    with pytest.raises(ValueError, match=message):
        dsp.dnsmos_scores(signal)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_refused(bad_value):
    signal = np.zeros(3 * dsp.SAMPLE_RATE, np.float32)
    signal[1234] = bad_value
    with pytest.raises(ValueError, match="NaN or infinite"):
        dsp.dnsmos_scores(signal)


def test_samples_beyond_full_scale_are_refused():
    signal = np.zeros(3 * dsp.SAMPLE_RATE, np.float32)
    signal[100] = -1.5
    with pytest.raises(ValueError, match=r"within full scale \[-1, 1\], got a peak of 1\.5"):
        dsp.dnsmos_scores(signal)
    signal[100] = -1.0
    assert dsp.dnsmos_input(signal) is not None  # full scale itself is fine


# --- Where speechmos cannot run ---

def test_unavailable_reason_is_none_or_one_line():
    reason = dsp.dnsmos_unavailable_reason()
    assert reason is None or (reason and "\n" not in reason)


def test_importing_dsp_helpers_does_not_import_speechmos():
    """Importing the module stays cheap: onnxruntime loads on the first score only."""
    import subprocess

    code = ("import sys, dsp_helpers; "
            "print(sorted({'speechmos', 'onnxruntime'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(dsp.__file__).parent, check=True)
    assert result.stdout.strip() == "[]"


def test_scoring_where_unavailable_raises_with_the_reason(monkeypatch):
    monkeypatch.setattr(dsp, "dnsmos_unavailable_reason",
                        lambda: "onnxruntime has no wheel for this platform (darwin x86_64)")
    with pytest.raises(RuntimeError, match=r"DNSMOS is unavailable here \(onnxruntime has no "
                                           r"wheel for this platform \(darwin x86_64\)\)"):
        dsp.dnsmos_scores(np.zeros(3 * dsp.SAMPLE_RATE, np.float32))


def test_a_missing_package_is_named(monkeypatch):
    """With speechmos not importable on a supported platform, the reason says to install it."""
    monkeypatch.setitem(sys.modules, "speechmos", None)  # makes ``import speechmos`` fail
    dsp.dnsmos_unavailable_reason.cache_clear()
    try:
        reason = dsp.dnsmos_unavailable_reason()
    finally:
        dsp.dnsmos_unavailable_reason.cache_clear()
    import platform
    if (sys.platform, platform.machine().lower()) in dsp._ONNXRUNTIME_PLATFORMS:
        assert reason == "speechmos is not installed (pip install -r requirements.txt)"
    else:
        assert reason.startswith("onnxruntime has no wheel for this platform")


@needs_dnsmos
def test_dnsmos_by_clip_scores_each_clip_as_played_and_leaves_out_short_ones(speech, speech_scores):
    loud = speech * 4.0  # peaks above full scale: scored clipped, as a player would play it
    scores = dsp.dnsmos_by_clip({"speech": speech, "short": speech[:16_000], "loud": loud})
    assert list(scores) == ["speech", "loud"]
    assert scores["speech"] == speech_scores
    assert scores["loud"] == dsp.dnsmos_scores(np.clip(loud, -1.0, 1.0))
