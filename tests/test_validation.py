"""Where train_denoiser's validation part falls, and that it never leaks into training."""

from __future__ import annotations

import numpy as np
import pytest

import dsp_helpers as dsp
import models_tf as M

HOP = 512
LENGTH = 1_258_899  # the course's training pair


def test_tail_is_the_last_tenth_on_a_hop_boundary():
    assert M.validation_ranges(LENGTH, "tail") == [(M.hop_aligned_split(LENGTH, 0.1), LENGTH)]


def test_no_validation_holds_nothing_out():
    assert M.validation_ranges(LENGTH, "none") == []


def test_blocks_are_spread_through_the_pair():
    ranges = M.validation_ranges(LENGTH, "blocks", 0.1, 8)
    assert len(ranges) == 8
    assert all(start % HOP == 0 and stop % HOP == 0 for start, stop in ranges)
    sizes = {stop - start for start, stop in ranges}
    assert sizes == {31 * HOP}  # round(2458 hops * 0.1 / 8)
    assert sum(stop - start for start, stop in ranges) == pytest.approx(0.1 * LENGTH, rel=0.02)
    part = LENGTH / 8
    for index, (start, stop) in enumerate(ranges):  # block k lies inside the k-th eighth
        assert index * part <= start < stop <= (index + 1) * part


def test_blocks_are_disjoint_from_the_training_samples():
    ranges = M.validation_ranges(40 * HOP + 100, "blocks", 0.2, 4)
    index = np.arange(40 * HOP + 100)
    (training,), (validation,) = M.split_for_validation((index,), ranges)
    assert len(training) + len(validation) == len(index)
    assert not set(training.tolist()) & set(validation.tolist())
    assert np.all(np.diff(training) > 0) and np.all(np.diff(validation) > 0)  # order kept
    assert validation.tolist() == [i for start, stop in ranges for i in range(start, stop)]


def test_split_cuts_every_signal_of_a_pair_the_same_way():
    clean, dirty = np.arange(20 * HOP), -np.arange(20 * HOP)
    (train_clean, train_dirty), (held_clean, held_dirty) = M.split_for_validation(
        (clean, dirty), M.validation_ranges(20 * HOP, "tail"))
    assert np.array_equal(train_dirty, -train_clean) and np.array_equal(held_dirty, -held_clean)
    assert held_clean[0] == M.hop_aligned_split(20 * HOP, 0.1)


def test_validation_images_hold_no_training_frame(speech_like):
    """A marker put on every training sample never reaches a validation STFT frame (nor,
    therefore, any of the 20 frames of a validation image), and vice versa."""
    length = 64 * HOP
    ranges = M.validation_ranges(length, "blocks", 0.25, 4)
    held = np.zeros(length, dtype=bool)
    for start, stop in ranges:
        held[start:stop] = True
    marker = np.where(held, 0.0, 1.0).astype(np.float32)  # 1 on training samples only
    _, (validation_marker,) = M.split_for_validation((marker,), ranges)
    assert np.max(M.dsp.stft_frames(validation_marker)[0]) == 0.0
    (training_marker,), _ = M.split_for_validation((1.0 - marker,), ranges)
    assert np.max(M.dsp.stft_frames(training_marker)[0]) == 0.0


@pytest.mark.parametrize("scheme, fraction, blocks, message", [
    ("middle", 0.1, 8, "unknown validation scheme 'middle'"),
    ("blocks", 0.0, 8, "0 < fraction < 1"),
    ("blocks", 0.1, 0, "at least one block"),
    ("blocks", 0.9, 8, "do not fit"),
])
def test_bad_validation_settings_are_refused(scheme, fraction, blocks, message):
    with pytest.raises(ValueError, match=message):
        M.validation_ranges(64 * HOP, scheme, fraction, blocks)


def test_training_without_validation_keeps_the_last_weights(noisy_pair):
    clean, dirty = noisy_pair
    model = M.build_cnn1d(seed=0)
    run = M.train_denoiser(model, clean, dirty, epochs=3, validation="none")
    assert "val_loss" not in run.history and len(run.history["loss"]) == 3
    assert run.epochs == run.best_epoch == 3
    assert run.summary().endswith("kept the last weights")


@pytest.fixture(scope="module")
def pair_with_a_noisy_last_tenth(speech_like):
    """``(clean, dirty)``: 96 hops of speech-like signal under white noise 20 dB louder in the
    last tenth than in the rest."""
    clean = speech_like(96 * HOP, seed=3)
    noise = np.random.default_rng(4).standard_normal(len(clean)).astype(np.float32) * 0.02
    noise[-len(clean) // 10:] *= 10.0
    return clean, clean + noise


def _rotation_gap(pair, **options):
    """SNR on the whole pair of a 1D CNN trained on the pair, minus that of one trained on the
    pair rotated by half its length (so the noisy tenth lies in the middle)."""
    clean, dirty = pair
    scores = []
    for shift in (0, 48 * HOP):
        model = M.build_cnn1d(seed=0)
        M.train_denoiser(model, np.roll(clean, shift), np.roll(dirty, shift), epochs=6,
                         batch_size=16, **options)
        scores.append(M.dsp.snr_db(clean, M.denoise_waveform(model, dirty)))
    return scores[0] - scores[1]


def test_the_default_recipe_does_not_depend_on_where_the_noisiest_stretch_falls(
        pair_with_a_noisy_last_tenth):
    assert abs(_rotation_gap(pair_with_a_noisy_last_tenth)) < 0.5


def test_a_validation_tail_on_the_noisiest_stretch_does(pair_with_a_noisy_last_tenth):
    """The test above has the power to fail: with the last tenth held out for validation, the
    network never trains on the loud noise, and the rotated pair's network does better."""
    assert _rotation_gap(pair_with_a_noisy_last_tenth, validation="tail") < -2.0


def test_early_stopping_waits_patience_epochs_and_restores_the_best_weights(noisy_pair):
    """A learning rate far too high makes the validation loss stop improving: training stops
    ``patience`` epochs after the best one, and the model is left with that epoch's weights
    (its loss on the validation part is the one recorded for that epoch)."""
    clean, dirty = noisy_pair
    model = M.build_cnn1d(seed=0)
    run = M.train_denoiser(model, clean, dirty, epochs=12, validation="blocks", patience=2,
                           learning_rate=1.0, augment=False)
    assert run.epochs < 12 and run.epochs == run.best_epoch + 2
    assert run.summary().endswith(f"kept epoch {run.best_epoch} (validation loss "
                                  f"{run.history['val_loss'][run.best_epoch - 1]:.4g})")
    _, (held_clean, held_dirty) = M.split_for_validation(
        (clean, dirty), M.validation_ranges(len(clean), "blocks"))
    magnitude, phase = dsp.stft_frames(held_dirty)
    target = dsp.target_magnitude(*dsp.stft_frames(held_clean), phase, "phase_sensitive")
    loss = model.evaluate(M.as_model_input(magnitude, 1), target, verbose=0)
    assert loss == pytest.approx(run.history["val_loss"][run.best_epoch - 1], rel=1e-4)
