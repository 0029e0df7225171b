"""Checks of the shipped stand-in recordings in audio/standin/ against their manifest and the
facts the homework relies on (16 kHz mono PCM16, the 1,258,899-sample training pair, dirty =
clean + noise exactly)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import dsp_helpers as dsp

STANDIN_DIR = Path(__file__).resolve().parents[1] / "audio" / "standin"
MANIFEST = STANDIN_DIR / "manifest.json"
TRAIN_PAIR = ("train_clean_male.wav", "train_dirty_male.wav")
TEST_PAIRS = (("test_s_01.wav", "test_x_01.wav"), ("test_s_02.wav", "test_x_02.wav"))
ALL_FILES = TRAIN_PAIR + tuple(name for pair in TEST_PAIRS for name in pair)
TRAIN_SAMPLES = 1_258_899

pytestmark = pytest.mark.skipif(
    not STANDIN_DIR.is_dir(),
    reason=f"{STANDIN_DIR} is absent: build it with tools/build_standin.py")


@pytest.fixture(scope="module")
def manifest():
    assert MANIFEST.exists(), f"{MANIFEST} is missing"
    return json.loads(MANIFEST.read_text())


@pytest.fixture(scope="module")
def pairs(manifest):
    """Manifest entries keyed by the clean file's name."""
    return {entry["clean"]: entry for entry in manifest["pairs"]}


def _read_int16(name):
    samples, rate = sf.read(STANDIN_DIR / name, dtype="int16")
    return samples, rate


def test_the_set_is_complete():
    missing = [name for name in ALL_FILES if not (STANDIN_DIR / name).exists()]
    assert not missing, f"missing from {STANDIN_DIR}: {missing}"


def test_find_recordings_uses_the_standin_set_here():
    found = dsp.find_recordings(STANDIN_DIR.parent)
    if found.source == "course":
        pytest.skip("course recordings are present in audio/, so they are used instead")
    assert found.source == "standin"
    assert found.directory == STANDIN_DIR
    assert {name: (clip.noisy.name, clip.clean.name) for name, clip in found.tests.items()} == {
        "test_01": ("test_x_01.wav", "test_s_01.wav"),
        "test_02": ("test_x_02.wav", "test_s_02.wav")}


@pytest.mark.parametrize("name", ALL_FILES)
def test_file_format_is_16k_mono_pcm16(name):
    info = sf.info(STANDIN_DIR / name)
    assert info.samplerate == 16_000
    assert info.channels == 1
    assert info.format == "WAV"
    assert info.subtype == "PCM_16"


def test_training_pair_has_the_course_length():
    for name in TRAIN_PAIR:
        assert sf.info(STANDIN_DIR / name).frames == TRAIN_SAMPLES
        assert len(dsp.load_audio(STANDIN_DIR / name)) == TRAIN_SAMPLES
    magnitude, _ = dsp.stft_frames(dsp.load_audio(STANDIN_DIR / TRAIN_PAIR[1]))
    assert magnitude.shape == (2_459, 513)
    assert dsp.frame_windows(magnitude, pad=False).shape[0] == 2_440


@pytest.mark.parametrize("clean, noisy", TEST_PAIRS)
def test_test_pairs_have_equal_lengths_of_3_to_16_seconds(clean, noisy):
    clean_frames = sf.info(STANDIN_DIR / clean).frames
    assert sf.info(STANDIN_DIR / noisy).frames == clean_frames
    assert 3.0 <= clean_frames / 16_000 <= 16.0


@pytest.mark.parametrize("clean, noisy", (TRAIN_PAIR,) + TEST_PAIRS)
def test_manifest_describes_each_pair(pairs, clean, noisy):
    entry = pairs[clean]
    assert entry["dirty"] == noisy
    assert entry["sample_rate"] == 16_000
    assert entry["samples"] == sf.info(STANDIN_DIR / clean).frames
    assert entry["duration_s"] == pytest.approx(entry["samples"] / 16_000)


@pytest.mark.parametrize("clean, noisy", (TRAIN_PAIR,) + TEST_PAIRS)
def test_dirty_is_clean_plus_the_recorded_noise(pairs, clean, noisy):
    entry = pairs[clean]
    s, _ = _read_int16(clean)
    x, _ = _read_int16(noisy)
    noise = x.astype(np.int64) - s.astype(np.int64)  # exact integer arithmetic
    assert np.any(noise != 0)
    # the manifest's noise energy is sum((x - s)^2) on the int16/32768 scale
    energy = float(np.sum(noise ** 2)) / 32768 ** 2
    assert energy == pytest.approx(entry["noise_energy"], rel=1e-9)
    # and its SNR is equation (1) on the files as load_audio reads them
    snr = dsp.snr_db(dsp.load_audio(STANDIN_DIR / clean), dsp.load_audio(STANDIN_DIR / noisy))
    assert snr == pytest.approx(entry["snr_db"], abs=0.01)
    assert snr == pytest.approx(entry["target_snr_db"], abs=0.05)
    # the noise is a separate signal, not a scaled copy of the speech
    s64, n64 = s.astype(np.float64), noise.astype(np.float64)
    correlation = np.dot(s64, n64) / np.sqrt(np.dot(s64, s64) * np.dot(n64, n64))
    assert abs(correlation) < 0.1


def test_training_snr_is_about_the_course_figure(pairs):
    clean = dsp.load_audio(STANDIN_DIR / TRAIN_PAIR[0])
    dirty = dsp.load_audio(STANDIN_DIR / TRAIN_PAIR[1])
    snr = dsp.snr_db(clean, dirty)
    assert 5.5 <= snr <= 7.5
    assert 5.5 <= pairs[TRAIN_PAIR[0]]["snr_db"] <= 7.5


@pytest.mark.parametrize("name", ALL_FILES)
def test_sha256_matches_the_manifest(pairs, name):
    recorded = {file: digest for entry in pairs.values()
                for file, digest in entry["sha256"].items()}
    assert name in recorded, f"{name} has no sha256 in the manifest"
    assert hashlib.sha256((STANDIN_DIR / name).read_bytes()).hexdigest() == recorded[name]


def test_manifest_lists_exactly_the_shipped_pairs(manifest):
    listed = {(entry["clean"], entry["dirty"]) for entry in manifest["pairs"]}
    assert listed == {TRAIN_PAIR, *TEST_PAIRS}


@pytest.mark.parametrize("name", ALL_FILES)
def test_files_are_not_clipped_or_silent(name):
    samples, _ = _read_int16(name)
    peak = int(np.max(np.abs(samples.astype(np.int32))))
    assert 0 < peak < 32767
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 100  # above -50 dBFS


def _snr_per_tenth(clean, dirty):
    """Equation (1) on each tenth in order, tenth k = samples [k n // 10, (k+1) n // 10), as the
    manifest defines it."""
    edges = [len(clean) * k // 10 for k in range(11)]
    return [dsp.snr_db(clean[a:b], dirty[a:b]) for a, b in zip(edges, edges[1:])]


@pytest.mark.parametrize("clean, noisy", (TRAIN_PAIR,) + TEST_PAIRS)
def test_manifest_gives_the_measured_snr_of_each_tenth(pairs, clean, noisy):
    measured = _snr_per_tenth(dsp.load_audio(STANDIN_DIR / clean),
                              dsp.load_audio(STANDIN_DIR / noisy))
    assert pairs[clean]["snr_db_per_tenth"] == pytest.approx(measured, abs=0.001)


def test_training_noise_comes_in_bursts_like_the_course(pairs):
    """The course's training pair has noise in bursts: per-tenth SNR from 1.6 to 18.8 dB around
    6.5 dB overall. The stand-in's level must swing as widely, with the overall SNR kept."""
    clean = dsp.load_audio(STANDIN_DIR / TRAIN_PAIR[0])
    dirty = dsp.load_audio(STANDIN_DIR / TRAIN_PAIR[1])
    assert dsp.snr_db(clean, dirty) == pytest.approx(6.5, abs=0.01)
    tenths = _snr_per_tenth(clean, dirty)
    assert min(tenths) < 3.0
    assert max(tenths) > 15.0
    # near-quiet stretches, but the noise never drops to (nearly) digital silence: no run of
    # 20 ms frames below -70 dBFS lasts 1 s (the figure the manifest records is the measured one)
    noise = dirty - clean
    frames = noise[:len(noise) // 320 * 320].reshape(-1, 320)
    quiet = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-20) < -70
    longest = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        longest = max(longest, run)
    assert longest * 0.02 < 1.0
    assert longest * 0.02 == pytest.approx(
        pairs[TRAIN_PAIR[0]]["checks"]["longest_quiet_s"]["noise_below_-70dBFS"])
