"""Unit tests of models_tf: the two CNNs, their dimension arithmetic, training, saving and
denoising (whole and in segments). Training runs are tiny (3 s of synthetic audio, a one-block
network, the ``quick_epochs`` of conftest)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import dsp_helpers as dsp
import models_tf as M

keras = M.keras

# One small convolution block per network keeps every training run short.
SMALL_1D = (M.ConvBlock(4, 9, 4),)
SMALL_2D = (M.ConvBlock(4, (4, 8), (4, 8)),)


def _random_magnitudes(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 2.0, shape).astype(np.float32)


# --------------------------------------------------------------------------------------------
# The networks
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_models():
    return {1: M.build_cnn1d(), 2: M.build_cnn2d()}


def test_cnn1d_shapes(default_models):
    model = default_models[1]
    assert model.input_shape == (None, 513, 1)
    assert model.output_shape == (None, 513)
    output = model.predict_on_batch(_random_magnitudes((5, 513, 1)))
    assert output.shape == (5, 513)
    assert np.all(np.isfinite(output)) and np.all(output >= 0)


def test_cnn2d_shapes(default_models):
    model = default_models[2]
    assert model.input_shape == (None, 20, 513, 1)
    assert model.output_shape == (None, 513)
    output = model.predict_on_batch(_random_magnitudes((3, 20, 513, 1)))
    assert output.shape == (3, 513)
    assert np.all(np.isfinite(output)) and np.all(output >= 0)


def test_context_frames(default_models):
    assert M.context_frames(default_models[1]) == 1
    assert M.context_frames(default_models[2]) == 20


def test_default_epochs_give_the_2d_cnn_the_larger_budget(default_models):
    assert M.default_epochs(default_models[1]) == 42
    assert M.default_epochs(M.build_fc((8,))) == 42
    assert M.default_epochs(default_models[2]) == 70
    assert M.default_epochs(default_models[1], 0.5) == 21
    assert M.default_epochs(default_models[2], 0.5) == 35
    assert M.default_epochs(default_models[2], 0.001) == 1


def test_default_epochs_refuse_a_scale_that_is_not_positive(default_models):
    with pytest.raises(ValueError, match="epoch scale must be positive, got 0"):
        M.default_epochs(default_models[1], 0.0)


def test_output_is_a_gain_on_the_current_noisy_frame(default_models):
    """The estimate is (non-negative gain) x (last input frame): bins that are zero in the
    current frame stay zero, whatever the earlier frames hold."""
    silent_bins = np.arange(0, 513, 7)
    spectrum = _random_magnitudes((4, 513, 1), seed=1)
    spectrum[:, silent_bins] = 0.0
    output = default_models[1].predict_on_batch(spectrum)
    assert np.all(output[:, silent_bins] == 0.0)
    assert np.all(np.delete(output, silent_bins, axis=1) > 0.0)

    image = _random_magnitudes((4, 20, 513, 1), seed=2)
    image[:, -1, silent_bins] = 0.0  # only the current (last) frame
    output = default_models[2].predict_on_batch(image)
    assert np.all(output[:, silent_bins] == 0.0)
    assert np.all(np.delete(output, silent_bins, axis=1) > 0.0)


def test_sigmoid_gain_bounds_the_estimate():
    """The estimate lies between 0 and the current noisy spectrum."""
    spectrum = _random_magnitudes((8, 513, 1), seed=6)
    output = M.build_cnn1d(SMALL_1D, seed=0).predict_on_batch(spectrum)
    assert np.all(output >= 0)
    assert np.all(output <= spectrum[..., 0] * (1 + 1e-6))
    image = _random_magnitudes((8, 20, 513, 1), seed=7)
    output = M.build_cnn2d(SMALL_2D, seed=0).predict_on_batch(image)
    assert np.all(output >= 0)
    assert np.all(output <= image[:, -1, :, 0] * (1 + 1e-6))


def test_builders_reject_an_empty_block_list():
    with pytest.raises(ValueError, match="at least one convolution block"):
        M.build_cnn1d(blocks=[])


def test_cnn2d_estimate_depends_on_the_earlier_frames(default_models):
    image = _random_magnitudes((1, 20, 513, 1), seed=3)
    changed = image.copy()
    changed[:, :19] = _random_magnitudes((1, 19, 513, 1), seed=4)
    a, b = (default_models[2].predict_on_batch(x) for x in (image, changed))
    assert not np.allclose(a, b)


def test_cnn2d_without_past_frames_sees_the_current_frame_repeated():
    """Without ``past_frames`` the 2D CNN ignores the 19 earlier frames and gives, with the same
    weights, exactly what the full network gives for the current frame repeated 20 times."""
    image = _random_magnitudes((3, 20, 513, 1), seed=3)
    changed = image.copy()
    changed[:, :19] = _random_magnitudes((3, 19, 513, 1), seed=4)
    repeated = np.repeat(image[:, -1:], 20, axis=1)
    full = M.build_cnn2d(SMALL_2D, seed=5)
    blind = M.build_cnn2d(SMALL_2D, seed=5, past_frames=False)
    assert [w.shape for w in blind.get_weights()] == [w.shape for w in full.get_weights()]
    np.testing.assert_array_equal(blind.predict_on_batch(image), blind.predict_on_batch(changed))
    np.testing.assert_allclose(blind.predict_on_batch(image), full.predict_on_batch(repeated),
                               rtol=1e-6)


def test_past_frames_removed_keeps_the_weights_and_drops_the_context():
    trained = M.build_cnn2d(seed=6)
    blind = M.past_frames_removed(trained)
    image = _random_magnitudes((2, 20, 513, 1), seed=7)
    np.testing.assert_allclose(blind.predict_on_batch(image),
                               trained.predict_on_batch(np.repeat(image[:, -1:], 20, axis=1)),
                               rtol=1e-6)


def test_cnn2d_without_past_frames_saves_and_loads(tmp_path):
    model = M.build_cnn2d(SMALL_2D, seed=8, past_frames=False)
    M.save_denoiser(model, tmp_path / "cnn2d.keras")
    loaded = keras.saving.load_model(tmp_path / "cnn2d.keras")  # default safe_mode=True
    image = _random_magnitudes((2, 20, 513, 1), seed=9)
    np.testing.assert_array_equal(loaded.predict_on_batch(image), model.predict_on_batch(image))


def test_past_frames_removed_refuses_a_one_frame_network_and_other_blocks():
    with pytest.raises(ValueError, match="cnn1d sees one frame: it has no past frames to remove"):
        M.past_frames_removed(M.build_cnn1d(SMALL_1D))
    with pytest.raises(ValueError, match="cnn2d was not built from these blocks"):
        M.past_frames_removed(M.build_cnn2d(SMALL_2D))


# --------------------------------------------------------------------------------------------
# Dimension arithmetic
# --------------------------------------------------------------------------------------------

def _keras_shapes(model):
    return {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}


def _assert_table_matches_keras(model, input_shape, blocks):
    rows = M.dimension_table(input_shape, blocks)
    shapes = _keras_shapes(model)
    assert rows[0]["layer"] == "input" and rows[0]["shape"] == tuple(input_shape) + (1,)
    assert rows[0]["shape"] == tuple(model.input_shape[1:])
    checked = 0
    for row in rows[1:-2]:
        assert shapes[row["layer"]] == row["shape"], row["layer"]
        checked += 1
    assert checked == len(blocks) + sum(
        any(p > 1 for p in M._as_tuple(b.pool, len(input_shape))) for b in blocks)
    assert rows[-2]["layer"] == "flatten" and shapes["flatten"] == rows[-2]["shape"]
    assert rows[-1]["shape"] == (513,) == tuple(model.output_shape[1:])


def test_dimension_table_of_the_default_cnn1d(default_models):
    rows = M.dimension_table((513,), M.DEFAULT_CNN1D_BLOCKS)
    _assert_table_matches_keras(default_models[1], (513,), M.DEFAULT_CNN1D_BLOCKS)
    # 513 -> (513-9)//2+1 = 253 -> (253-7)//2+1 = 124 -> (124-5)//2+1 = 60; 60 x 64 = 3840
    assert [row["shape"] for row in rows] == [(513, 1), (253, 32), (124, 64), (60, 64), (3840,),
                                              (513,)]


def test_dimension_table_of_the_default_cnn2d(default_models):
    rows = M.dimension_table((20, 513), M.DEFAULT_CNN2D_BLOCKS)
    _assert_table_matches_keras(default_models[2], (20, 513), M.DEFAULT_CNN2D_BLOCKS)
    # (20, 513) -> conv (2, 9) / (2, 2): (18//2+1, 504//2+1) = (10, 253)
    #           -> conv (5, 7) / (5, 2): (5//5+1, 246//2+1) = (2, 124)
    #           -> conv (2, 5) / (1, 2): (0//1+1, 119//2+1) = (1, 60); 60 x 32 = 1920
    assert [row["shape"] for row in rows] == [(20, 513, 1), (10, 253, 16), (2, 124, 32),
                                              (1, 60, 32), (1920,), (513,)]
    # every layer's last position still depends on the last (current) frame
    assert [row["reach"] for row in rows[:-2]] == [(19, 512), (19, 512), (19, 512), (19, 508)]


def _reach_by_hand(length, steps):
    """The last input index that the last output position depends on, walking back through
    ``steps`` ((kernel, stride) per layer, first layer first) one layer at a time: position
    ``p`` of a layer reads positions ``p * stride .. p * stride + kernel - 1`` of its input."""
    lengths = [length]
    for kernel, stride in steps:
        lengths.append((lengths[-1] - kernel) // stride + 1)
    position = lengths[-1] - 1
    for kernel, stride in reversed(steps):
        position = position * stride + kernel - 1
    return position


def _steps(blocks, axis, dims):
    """(kernel, stride) along ``axis`` of every convolution and pooling of ``blocks``."""
    steps = []
    for block in blocks:
        steps.append((M._as_tuple(block.kernel, dims)[axis], M._as_tuple(block.stride, dims)[axis]))
        pool = M._as_tuple(block.pool, dims)
        if any(p > 1 for p in pool):
            steps.append((pool[axis], pool[axis]))
    return steps


def test_reach_of_the_default_cnn1d():
    """Position 59 (the last) of conv3 reads 59*2 .. 59*2+4 of conv2, so at most 122; that
    reads conv1 up to 122*2+6 = 250, which reads the input up to 250*2+8 = 508: the top four
    bins (509-512) never reach the 1D network's convolutions."""
    rows = {row["layer"]: row for row in M.dimension_table((513,), M.DEFAULT_CNN1D_BLOCKS)}
    assert rows["input"]["reach"] == (512,)
    assert rows["conv1"]["reach"] == (512,)  # 252*2+8
    assert rows["conv2"]["reach"] == (512,)  # 123*2+6 = 252 of conv1
    assert rows["conv3"]["reach"] == (508,)
    assert rows["flatten"]["reach"] == "" and rows["dense (gain)"]["reach"] == ""


def test_reach_matches_what_the_keras_convolutions_depend_on(default_models):
    """Empirically: changing input bins beyond the reach leaves the last position of the last
    convolution unchanged; changing the bin at the reach changes it."""
    for frames, model in default_models.items():
        input_shape = (513,) if frames == 1 else (20, 513)
        last_conv = M.dimension_table(input_shape, M.DEFAULT_CNN1D_BLOCKS if frames == 1
                                      else M.DEFAULT_CNN2D_BLOCKS)[-3]
        reach_bin = last_conv["reach"][-1]
        probe = keras.Model(model.input, model.get_layer(last_conv["layer"]).output)
        x = _random_magnitudes((1,) + input_shape + (1,), seed=8) + 0.1
        base = probe.predict_on_batch(x)[0, ..., -1, :]  # the last position along bins

        def changed(index):
            y = x.copy()
            y[0, ..., index, 0] *= 5.0
            return np.abs(probe.predict_on_batch(y)[0, ..., -1, :] - base).max()

        for beyond in range(reach_bin + 1, 513):
            assert changed(beyond) == 0.0, (frames, beyond)
        assert changed(reach_bin) > 0.0, frames
        if frames == 2:  # the current frame reaches the last position along time
            y = x.copy()
            y[0, -1] *= 5.0
            assert not np.array_equal(probe.predict_on_batch(y), probe.predict_on_batch(x))


@pytest.mark.parametrize("input_shape, blocks", [
    ((513,), M.DEFAULT_CNN1D_BLOCKS),
    ((20, 513), M.DEFAULT_CNN2D_BLOCKS),
    ((20, 513), (M.ConvBlock(4, (5, 7), (2, 3)),)),
    ((20, 513), (M.ConvBlock(4, (4, 7), (2, 3)), M.ConvBlock(4, (2, 5), (2, 2)))),
    ((20, 513), (M.ConvBlock(8, (4, 5), 1, pool=2),)),
    ((20, 513), (M.ConvBlock(8, (3, 5), 1, pool=(2, 3)), M.ConvBlock(4, (2, 4), (1, 2), pool=2))),
    ((513,), (M.ConvBlock(6, 10, 3, pool=2), M.ConvBlock(5, 3, 2))),
    ((12, 513), (M.ConvBlock(4, (3, 9), (3, 4)),)),
])
def test_reach_of_every_layer_matches_the_arithmetic_by_hand(input_shape, blocks):
    dims = len(input_shape)
    rows = M.dimension_table(input_shape, blocks)[1:-2]
    steps = [_steps(blocks, axis, dims) for axis in range(dims)]
    for count, row in enumerate(rows, start=1):
        assert row["reach"] == tuple(_reach_by_hand(length, axis_steps[:count])
                                     for length, axis_steps in zip(input_shape, steps)), row


def test_reach_shows_a_stride_that_skips_the_last_frame():
    """(20 - 5) mod 2 = 1: a (5, 7) kernel at stride (2, 3) has 8 positions along time, the
    last at frames 14-18, so frame 19 is never seen; along frequency 169 positions, the last at
    bins 504-510."""
    rows = M.dimension_table((20, 513), [M.ConvBlock(4, (5, 7), (2, 3))])
    assert rows[1]["layer"] == "conv1" and rows[1]["shape"] == (8, 169, 4)
    assert rows[1]["reach"] == (18, 510)


@pytest.mark.parametrize("blocks, last_frame", [
    ((M.ConvBlock(4, (5, 7), (2, 3)),), 18),
    ((M.ConvBlock(4, (4, 7), (2, 3)), M.ConvBlock(4, (2, 5), (2, 2))), 17),
    ((M.ConvBlock(4, (4, 5), 1, pool=2),), 18),
])
def test_build_cnn2d_rejects_blocks_that_miss_the_current_frame(blocks, last_frame):
    assert M.dimension_table((20, 513), blocks)[-3]["reach"][0] == last_frame
    with pytest.raises(ValueError, match="never frame 19") as error:
        M.build_cnn2d(blocks)
    assert f"0–{last_frame} only" in str(error.value)


@pytest.mark.parametrize("blocks", [
    (M.ConvBlock(4, (5, 7), (3, 3)),),                               # (20-5) % 3 == 0
    (M.ConvBlock(4, (4, 7), (2, 3)), M.ConvBlock(4, (3, 5), (2, 2))),
    (M.ConvBlock(4, (3, 5), 1, pool=2),),
    SMALL_2D,
])
def test_build_cnn2d_accepts_blocks_that_reach_the_current_frame(blocks):
    assert M.dimension_table((20, 513), blocks)[-3]["reach"][0] == 19
    model = M.build_cnn2d(blocks)
    assert model.output_shape == (None, 513)


def test_build_cnn2d_checks_the_last_frame_of_a_shorter_window():
    blocks = (M.ConvBlock(4, (3, 5), (2, 2)),)  # (10-3) % 2 = 1: frames 0-8 of 10
    with pytest.raises(ValueError, match="never frame 9"):
        M.build_cnn2d(blocks, window=10)
    assert M.build_cnn2d(blocks, window=11).input_shape == (None, 11, 513, 1)


@pytest.mark.parametrize("blocks", [
    (M.ConvBlock(8, 5, 1, pool=2),),
    (M.ConvBlock(8, 5, 1, pool=3), M.ConvBlock(4, 4, 3, pool=2)),
    (M.ConvBlock(6, 10, 3, pool=2), M.ConvBlock(5, 3, 2)),
])
def test_dimension_table_with_pooling_cnn1d(blocks):
    model = M.build_cnn1d(blocks)
    _assert_table_matches_keras(model, (513,), blocks)
    layers = [row["layer"] for row in M.dimension_table((513,), blocks)]
    assert "pool1" in layers


@pytest.mark.parametrize("blocks", [
    (M.ConvBlock(8, (3, 5), 1, pool=2),),
    (M.ConvBlock(8, (3, 5), 1, pool=(2, 3)), M.ConvBlock(4, (2, 4), (1, 2), pool=2)),
])
def test_dimension_table_with_pooling_cnn2d(blocks):
    model = M.build_cnn2d(blocks)
    _assert_table_matches_keras(model, (20, 513), blocks)


def test_dimension_table_single_pooled_block_numbers():
    rows = M.dimension_table((513,), [M.ConvBlock(8, 5, 1, pool=2)])
    assert [(r["layer"], r["shape"]) for r in rows] == [
        ("input", (513, 1)), ("conv1", (509, 8)), ("pool1", (254, 8)), ("flatten", (2032,)),
        ("dense (gain)", (513,))]


@pytest.mark.parametrize("kernel", [1, 2, 9, 100, 512, 513])
def test_valid_output_length_unit_stride_is_513_minus_D_plus_1(kernel):
    assert M.valid_output_length(513, kernel) == 513 - kernel + 1


@pytest.mark.parametrize("length, size, stride, expected", [
    (513, 9, 2, 253),   # (504)//2 + 1
    (513, 8, 2, 253),   # (505)//2 + 1: an odd remainder is dropped
    (253, 7, 2, 124),
    (7, 3, 2, 3),
    (9, 2, 2, 4),       # pooling an odd length by 2 drops the last sample
    (11, 3, 3, 3),
    (169, 5, 2, 83),
    (5, 5, 1, 1),       # kernel exactly as long as the input
    (5, 5, 3, 1),
])
def test_valid_output_length_strided(length, size, stride, expected):
    assert M.valid_output_length(length, size, stride) == expected
    assert expected == (length - size) // stride + 1
    # and Keras agrees, for convolution and for pooling of the same size and step
    conv = keras.layers.Conv1D(1, size, strides=stride, padding="valid")
    assert conv.compute_output_shape((None, length, 1))[1] == expected
    pool = keras.layers.MaxPooling1D(size, strides=stride, padding="valid")
    assert pool.compute_output_shape((None, length, 1))[1] == expected


def test_valid_output_length_rejects_a_kernel_longer_than_the_input():
    with pytest.raises(ValueError, match="does not fit"):
        M.valid_output_length(5, 7)
    with pytest.raises(ValueError):
        M.valid_output_length(513, 514, 2)


def test_dimension_table_rejects_a_kernel_longer_than_the_feature_map():
    with pytest.raises(ValueError):
        M.dimension_table((20, 513), [M.ConvBlock(4, (21, 3))])
    with pytest.raises(ValueError):  # fits the input but not the first block's output (8 frames)
        M.dimension_table((20, 513), [M.ConvBlock(4, (5, 7), (2, 3)), M.ConvBlock(4, (9, 3))])
    with pytest.raises(ValueError):
        M.build_cnn1d([M.ConvBlock(4, 600)])


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def train_small(quick_epochs):
    """Factory: ``train_small(build, blocks, pair, seed=0, build_seed=0, **recipe)`` ->
    ``(model, run)``, a small network (built with ``build_seed``, or the builder's default seed
    for ``None``) trained on ``pair`` with a :class:`Recipe` of ``quick_epochs`` epochs in
    minibatches of 16 unless ``recipe`` says otherwise (``recipe=None``: the model's own)."""
    def train(build, blocks, pair, seed=0, build_seed=0, **recipe):
        clean, dirty = pair
        model = build(blocks) if build_seed is None else build(blocks, seed=build_seed)
        if "recipe" in recipe:
            return model, M.train_denoiser(model, clean, dirty, recipe["recipe"], seed=seed,
                                           epochs=quick_epochs)
        recipe = M.Recipe(**{"epochs": quick_epochs, "batch_size": 16, **recipe})
        return model, M.train_denoiser(model, clean, dirty, recipe, seed=seed)
    return train


@pytest.fixture(scope="module")
def trained(noisy_pair, train_small):
    """A 1D and a 2D network, each trained a few epochs on the 3 s synthetic pair."""
    return {1: train_small(M.build_cnn1d, SMALL_1D, noisy_pair)[0],
            2: train_small(M.build_cnn2d, SMALL_2D, noisy_pair)[0]}


@pytest.mark.parametrize("build, blocks", [(M.build_cnn1d, SMALL_1D), (M.build_cnn2d, SMALL_2D)],
                         ids=["cnn1d", "cnn2d"])
def test_training_lowers_the_loss(train_small, quick_epochs, noisy_pair, build, blocks):
    _, run = train_small(build, blocks, noisy_pair)
    loss = run.history["loss"]
    assert len(loss) == quick_epochs == run.epochs
    assert all(np.isfinite(loss))
    assert loss[-1] < 0.8 * loss[0]
    assert run.seconds > 0
    assert run.summary().startswith(f"{quick_epochs} epochs in ")


@pytest.mark.parametrize("given, expected", [(None, "1"), ("0", "0")], ids=["unset", "user's 0"])
def test_models_tf_turns_on_onednn_unless_the_user_chose(given, expected):
    """TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, at its import, which models_tf performs."""
    env = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
    if given is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = given
    script = ("import os, sys, models_tf; "
              "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], 'tensorflow' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", script], cwd=os.path.dirname(M.__file__),
                           env=env, capture_output=True, text=True, check=True).stdout.split()
    assert shown == [expected, "True"]


def test_training_run_estimates_what_the_recipes_budget_would_take():
    run = M.TrainingRun({"loss": []}, seconds=6.3, epochs=4, epoch_seconds=[3.0, 1.0, 1.2, 1.1],
                        budget_epochs=10)
    assert run.seconds_per_epoch() == pytest.approx(1.1)  # the median after the first
    assert run.estimated_seconds(10) == pytest.approx(3.0 + 9 * 1.1)
    assert run.summary() == ("4 epochs in 6.3 s (1.10 s per epoch after the first); the "
                             "recipe's 10 would take about 13 s here; kept the last weights")
    whole = M.TrainingRun({"loss": []}, seconds=6.3, epochs=4, epoch_seconds=[3.0, 1.0, 1.2, 1.1],
                          budget_epochs=4)
    assert whole.summary() == "4 epochs in 6.3 s; kept the last weights"
    single = M.TrainingRun({"loss": []}, seconds=2.5, epochs=1, epoch_seconds=[2.5],
                           budget_epochs=3)
    assert single.seconds_per_epoch() == 2.5 and single.estimated_seconds(3) == 7.5


def test_training_fewer_epochs_than_the_recipe_keeps_its_budget(train_small, noisy_pair,
                                                                 quick_epochs):
    _, run = train_small(M.build_cnn1d, SMALL_1D, noisy_pair,
                         recipe=M.Recipe(epochs=quick_epochs + 3, batch_size=16))
    assert (run.epochs, run.budget_epochs) == (quick_epochs, quick_epochs + 3)
    assert len(run.history["loss"]) == len(run.epoch_seconds) == quick_epochs
    assert f"the recipe's {quick_epochs + 3} would take about " in run.summary()


def test_seeded_training_is_reproducible(train_small, noisy_pair):
    """Same seed for the build and the run (re-mixes included): identical histories and
    identical weights."""
    first_model, first = train_small(M.build_cnn1d, SMALL_1D, noisy_pair)
    second_model, second = train_small(M.build_cnn1d, SMALL_1D, noisy_pair)
    assert first.history == second.history
    for a, b in zip(first_model.get_weights(), second_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    _, other = train_small(M.build_cnn1d, SMALL_1D, noisy_pair, seed=1, build_seed=1)
    assert other.history["loss"] != first.history["loss"]


def test_every_epoch_takes_one_step_per_minibatch(train_small, noisy_pair, quick_epochs):
    """A whole epoch runs in one call into TensorFlow, yet trains on all of its frames once:
    ceil(frames / batch) optimizer steps, the last minibatch smaller."""
    batch_size = 5
    steps = -(-len(dsp.stft_frames(noisy_pair[1])[0]) // batch_size)  # 94 frames: 19 steps
    assert steps * batch_size != len(dsp.stft_frames(noisy_pair[1])[0])
    model, _ = train_small(M.build_cnn1d, SMALL_1D, noisy_pair, batch_size=batch_size)
    assert model.optimizer.iterations.numpy() == quick_epochs * steps


def test_each_network_has_its_recipe():
    """The adopted recipes: 42 epochs for a one-spectrum network, 70 for the 2D CNN, which
    alone has past-frame dropout; minibatches of 32 for the CNNs and 64 for the FC baseline."""
    models = {"cnn1d": M.build_cnn1d(SMALL_1D), "cnn2d": M.build_cnn2d(SMALL_2D),
              "fc": M.build_fc(SMALL_FC)}
    assert {name: M.recipe_for(model) for name, model in models.items()} == {
        "cnn1d": M.Recipe(epochs=42, batch_size=32, learning_rate=2e-3, past_dropout=0.0),
        "cnn2d": M.Recipe(epochs=70, batch_size=32, learning_rate=2e-3, past_dropout=1.0),
        "fc": M.Recipe(epochs=42, batch_size=64, learning_rate=2e-3, past_dropout=0.0)}
    with pytest.raises(ValueError, match="no recipe for a model named 'other'"):
        M.recipe_for(M.keras.Sequential(name="other"))


@pytest.mark.parametrize("options, message", [
    ({"epochs": 0}, "at least one epoch"), ({"epochs": 3, "batch_size": 0}, "at least one epoch"),
    ({"epochs": 3, "learning_rate": 0.0}, "learning rate must be positive"),
    ({"epochs": 3, "past_dropout": 1.5}, r"past_dropout must be in \[0, 1\], got 1.5")])
def test_recipe_rejects_bad_values(options, message):
    with pytest.raises(ValueError, match=message):
        M.Recipe(**options)


def test_a_model_trains_with_its_own_recipe_by_default(train_small, noisy_pair, quick_epochs):
    frames = len(dsp.stft_frames(noisy_pair[1])[0])  # 94: 3 minibatches of 32, 2 of 64
    for build, blocks, batch_size in ((M.build_cnn1d, SMALL_1D, 32), (M.build_fc, SMALL_FC, 64)):
        model, run = train_small(build, blocks, noisy_pair, recipe=None)
        assert run.epochs == quick_epochs
        assert model.optimizer.iterations.numpy() == quick_epochs * -(-frames // batch_size)


def test_past_frame_dropout_changes_only_the_2d_cnn(train_small, noisy_pair):
    """Past-frame dropout changes a 2D CNN's weights; a one-frame network trains to the same
    weights with or without it."""
    def weights(build, blocks, **options):
        model, _ = train_small(build, blocks, noisy_pair, **options)
        return model.get_weights()

    for a, b in zip(weights(M.build_cnn1d, SMALL_1D), weights(M.build_cnn1d, SMALL_1D,
                                                               past_dropout=1.0)):
        np.testing.assert_array_equal(a, b)
    none, dropping = (weights(M.build_cnn2d, SMALL_2D, past_dropout=rate) for rate in (0.0, 1.0))
    assert any(not np.array_equal(a, b) for a, b in zip(none, dropping))


def test_default_seeds_make_runs_reproducible(train_small, noisy_pair):
    """Built and trained with the default seeds, two runs give identical histories."""
    _, first = train_small(M.build_cnn1d, SMALL_1D, noisy_pair, build_seed=None)
    _, second = train_small(M.build_cnn1d, SMALL_1D, noisy_pair, build_seed=None)
    assert first.history == second.history


def test_training_adapts_the_standardisation(trained, noisy_pair):
    """After training, the log floor sits 40 dB below the median noisy training magnitude and
    the per-bin standardisation holds the statistics of the log noisy spectra."""
    clean, dirty = noisy_pair
    magnitude = dsp.stft_frames(dirty)[0].astype(np.float64)  # by default, all of it trains
    floor = np.median(magnitude) / 100.0
    log_spectra = np.log(magnitude + floor)
    for frames in (1, 2):
        assert float(trained[frames].get_layer("log_magnitude").floor) == pytest.approx(floor,
                                                                                        rel=1e-5)
        layer = trained[frames].get_layer("standardise_bins")
        np.testing.assert_allclose(np.asarray(layer.mean).reshape(-1), log_spectra.mean(axis=0),
                                   rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(np.asarray(layer.variance).reshape(-1),
                                   log_spectra.var(axis=0), rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize("frames", [1, 2])
def test_training_does_not_depend_on_the_recording_level(train_small, noisy_pair, frames):
    """The same pair 40 dB quieter trains to the same network: the same loss curve, and
    estimates 40 dB quieter. (Without the loss in units of the typical magnitude, Adam's
    epsilon dominates the quiet pair's tiny gradients and the two runs part ways.)"""
    clean, dirty = noisy_pair
    gain = 1e-2
    build, blocks = (M.build_cnn1d, SMALL_1D) if frames == 1 else (M.build_cnn2d, SMALL_2D)
    loud_model, loud = train_small(build, blocks, (clean, dirty))
    quiet_model, quiet = train_small(build, blocks, (gain * clean, gain * dirty))
    np.testing.assert_allclose(quiet.history["loss"], loud.history["loss"], rtol=1e-3)
    shape = (8, 513, 1) if frames == 1 else (8, 20, 513, 1)
    batch = _random_magnitudes(shape, seed=3)
    np.testing.assert_allclose(quiet_model.predict_on_batch(gain * batch),
                               gain * loud_model.predict_on_batch(batch), rtol=1e-2)


def test_silent_padding_sits_20_db_under_the_log_floor(trained):
    for frames in (1, 2):
        floor = float(trained[frames].get_layer("log_magnitude").floor)
        assert M.silence_level(trained[frames]) == pytest.approx(floor / 10.0, rel=1e-6)


def test_remixed_epochs_pad_with_silence_below_the_given_level(remix_signals):
    clean, noise = remix_signals
    examples = M.RemixedEpochs(clean, noise, 20, seed=0, silence_level=1e-6)
    silence = examples.padded_input[:19]
    assert np.all((silence >= 0) & (silence < 1e-6)) and silence.max() > 0


def test_typical_magnitude_is_the_median():
    assert M.typical_magnitude(np.array([[0.0, 5.0, 1.0], [2.0, 9.0, 3.0]])) == 2.5


def test_typical_magnitude_rejects_a_silent_recording():
    with pytest.raises(ValueError, match="median training magnitude is 0: is the training "
                                         "recording silent"):
        M.typical_magnitude(np.zeros((10, 513)))


def test_train_denoiser_rejects_mismatched_signals(noisy_pair):
    clean, dirty = noisy_pair
    model = M.build_cnn1d(SMALL_1D)
    with pytest.raises(ValueError, match="equal length"):
        M.train_denoiser(model, clean, dirty[:-1], epochs=1)


# --------------------------------------------------------------------------------------------
# Saving and loading
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("frames", [1, 2])
def test_save_denoiser_round_trips_the_network_without_the_optimizer(trained, tmp_path, frames):
    """What the notebook saves loads back (Keras' default safe mode) as the same network:
    identical weights and predictions, the same silence level, uncompiled, and smaller than
    ``model.save``'s file, which also holds Adam's state."""
    model = trained[frames]
    full, lean = tmp_path / "full.keras", tmp_path / f"{model.name}.keras"
    model.save(full)
    M.save_denoiser(model, lean)
    loaded = keras.saving.load_model(lean)  # default safe_mode=True
    assert loaded.name == model.name and not loaded.compiled
    assert loaded.input_shape == model.input_shape
    assert M.silence_level(loaded) == M.silence_level(model)
    shape = (6, 513, 1) if frames == 1 else (6, 20, 513, 1)
    batch = _random_magnitudes(shape, seed=5)
    np.testing.assert_array_equal(loaded.predict_on_batch(batch), model.predict_on_batch(batch))
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    noisy = _random_magnitudes((50, 513), seed=6)
    np.testing.assert_array_equal(M.denoise_magnitude(loaded, noisy),
                                  M.denoise_magnitude(model, noisy))
    weights = sum(w.nbytes for w in model.get_weights())
    assert lean.stat().st_size < 1.1 * weights + 100_000 < full.stat().st_size


def test_log_magnitude_layer_adds_its_adapted_floor():
    """The floor sits FLOOR_BELOW_MEDIAN_DB under the median of the magnitudes it adapts to."""
    layer = M.LogMagnitude(name="log")
    layer.adapt(np.array([[0.5, 50.0, 5000.0]], dtype=np.float32))  # median 50: floor 0.5
    np.testing.assert_allclose(np.asarray(layer(np.array([[0.5, 1.5]], dtype=np.float32))),
                               np.log([[1.0, 2.0]]), rtol=1e-6)
    clone = M.LogMagnitude.from_config(layer.get_config())
    assert clone.name == "log"


def test_log_magnitude_adapt_sets_the_floor_40_db_below_the_median():
    layer = M.LogMagnitude(name="log")
    layer.adapt(np.array([[1.0, 3.0, 200.0], [2.0, 0.0, 4.0]], dtype=np.float32))  # median 2.5
    assert float(layer.floor) == pytest.approx(0.025, rel=1e-6)
    np.testing.assert_allclose(np.asarray(layer(np.array([[0.0, 0.975]], dtype=np.float32))),
                               np.log([[0.025, 1.0]]), rtol=1e-6)


def test_log_magnitude_adapt_rejects_silence():
    layer = M.LogMagnitude(name="log")
    with pytest.raises(ValueError, match="is the training recording silent"):
        layer.adapt(np.zeros((4, 513), dtype=np.float32))


def _batch_norm_pair(shape, seed=3):
    """Keras' BatchNormalization and the fused one, built for ``shape`` with the same
    (non-trivial) scale and offset, and an input of that shape far from zero mean, unit variance."""
    rng = np.random.default_rng(seed)
    layers = (keras.layers.BatchNormalization(), M.FusedBatchNormalization())
    for layer in layers:
        layer.build(shape)
        layer.gamma.assign(np.linspace(0.5, 2.0, shape[-1]).astype(np.float32))
        layer.beta.assign(np.linspace(-1.0, 1.0, shape[-1]).astype(np.float32))
    inputs = (3.0 * rng.standard_normal(shape) + 1.0).astype(np.float32)
    targets = rng.standard_normal(shape).astype(np.float32)
    return layers, M.tf.constant(inputs), M.tf.constant(targets)


@pytest.mark.parametrize("shape", [(16, 10, 37, 8), (16, 41, 6)], ids=["2d", "1d"])
def test_fused_batch_norm_computes_what_keras_batch_norm_computes(shape):
    """Training step: the same outputs, gradients (inputs, scale, offset) and moving statistics
    (TensorFlow's fused kernel returns the Bessel-corrected variance; Keras averages the biased
    one); at inference, the same outputs."""
    layers, inputs, weights = _batch_norm_pair(shape)
    results = []
    for layer in layers:
        with M.tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs, training=True)
            loss = M.tf.reduce_sum(outputs * weights)
        gradients = tape.gradient(loss, [inputs, layer.gamma, layer.beta])
        results.append([outputs, *gradients, layer.moving_mean, layer.moving_variance,
                        layer(inputs, training=False)])
    assert float(np.std(results[0][0])) == pytest.approx(1.25, abs=0.5)  # normalised, then scaled
    for keras_value, fused_value in zip(*results):
        np.testing.assert_allclose(np.asarray(fused_value), np.asarray(keras_value),
                                   rtol=1e-4, atol=1e-5)


def test_fused_batch_norm_falls_back_to_keras_where_it_cannot_fuse():
    layers, inputs, _ = _batch_norm_pair((4, 5, 3))
    fused = layers[1]
    assert fused._fusable(inputs, True, None)
    assert not fused._fusable(inputs, False, None)  # inference: Keras' layer
    assert not fused._fusable(inputs, True, M.tf.ones((4, 5)))  # a mask
    assert not fused._fusable(M.tf.ones((4, 3)), True, None)  # no spatial axis
    assert not M.FusedBatchNormalization(axis=1)._fusable(inputs, True, None)  # not channels last


def test_convolution_blocks_use_the_fused_batch_norm(default_models):
    for model in (default_models[1], default_models[2]):
        norms = [layer for layer in model.layers if "batch_norm" in layer.name]
        assert len(norms) == 3 and all(isinstance(layer, M.FusedBatchNormalization)
                                       for layer in norms)


# --------------------------------------------------------------------------------------------
# Denoising
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("frames", [1, 2])
@pytest.mark.parametrize("length", [48_123, 5_000])  # 5,000 samples: 10 frames, < one image
def test_denoise_waveform_preserves_length(trained, speech_like, frames, length):
    noise = 0.02 * np.random.default_rng(6).standard_normal(length).astype(np.float32)
    noisy = speech_like(length, seed=6) + noise
    denoised = M.denoise_waveform(trained[frames], noisy)
    assert denoised.shape == (length,)
    assert denoised.dtype == np.float32
    assert np.all(np.isfinite(denoised))


def test_denoise_magnitude_of_the_2d_model_on_a_short_clip(trained, noisy_pair):
    magnitude, _ = dsp.stft_frames(noisy_pair[1][:5_000])
    assert magnitude.shape == (10, 513)
    estimate = M.denoise_magnitude(trained[2], magnitude)
    assert estimate.shape == (10, 513)
    assert np.all(np.isfinite(estimate)) and np.all(estimate >= 0)


@pytest.mark.parametrize("frames", [1, 2])
def test_denoise_magnitude_chunking_changes_nothing(trained, noisy_pair, frames, monkeypatch):
    magnitude, _ = dsp.stft_frames(noisy_pair[1])
    assert len(magnitude) == 94
    whole = M.denoise_magnitude(trained[frames], magnitude)
    for chunk in (7, 32, 93):
        monkeypatch.setattr(M, "PREDICT_FRAMES", chunk)
        # the model runs on different batch sizes, so allow float32 round-off only
        np.testing.assert_allclose(M.denoise_magnitude(trained[frames], magnitude),
                                   whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("frames", [1, 2])
def test_denoise_magnitude_row_t_comes_from_the_image_ending_at_frame_t(trained, noisy_pair,
                                                                       frames):
    model = trained[frames]
    magnitude, _ = dsp.stft_frames(noisy_pair[1][:16_000])
    estimate = M.denoise_magnitude(model, magnitude)
    windows = dsp.frame_windows(magnitude, M.context_frames(model), pad=frames > 1,
                                silence_level=M.silence_level(model))
    for t in (0, 5, 19, len(magnitude) - 1):
        single = model.predict_on_batch(M.as_model_input(windows[t:t + 1],
                                                         M.context_frames(model)))
        np.testing.assert_allclose(estimate[t], single[0], rtol=1e-5, atol=1e-6)


def test_trained_model_improves_snr_on_its_training_pair(trained, noisy_pair):
    clean, dirty = noisy_pair
    assert dsp.snr_db(clean, M.denoise_waveform(trained[1], dirty)) > dsp.snr_db(clean, dirty)


@pytest.mark.parametrize("frames", [1, 2])
@pytest.mark.parametrize("length", [dsp.N_FFT, 5_000, 40_000])
def test_denoising_in_segments_equals_denoising_whole(trained, noisy_pair, frames, length):
    """Segment borders leave no trace, even one hop apart and for the 2D CNN's 20-frame context."""
    model, noisy = trained[frames], noisy_pair[1][:length]
    whole = M.denoise_waveform(model, noisy)
    for segment in (dsp.HOP_LENGTH, 7 * dsp.HOP_LENGTH, 40 * dsp.HOP_LENGTH):
        # equal up to float32 rounding: the network's batch size changes its summation order
        np.testing.assert_allclose(M.denoise_in_segments(model, noisy, segment), whole,
                                   rtol=0, atol=1e-6)


def test_denoising_in_segments_reports_progress_in_samples(trained, noisy_pair):
    calls = []
    noisy = noisy_pair[1][:20_000]
    M.denoise_in_segments(trained[1], noisy, 16 * dsp.HOP_LENGTH,
                          lambda done, total: calls.append((done, total)))
    assert calls == [(8_192, 20_000), (16_384, 20_000), (20_000, 20_000)]


@pytest.mark.parametrize("segment", [0, 1000, -512])
def test_denoising_in_segments_needs_whole_hops(trained, noisy_pair, segment):
    with pytest.raises(ValueError, match="multiple of 512"):
        M.denoise_in_segments(trained[1], noisy_pair[1], segment)


def test_as_model_input_shapes():
    windows = np.zeros((4, 1, 513), dtype=np.float32)
    assert M.as_model_input(windows, 1).shape == (4, 513, 1)
    windows = np.zeros((4, 20, 513), dtype=np.float32)
    assert M.as_model_input(windows, 20).shape == (4, 20, 513, 1)


# --------------------------------------------------------------------------------------------
# RemixedEpochs
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def remix_signals(speech_like):
    rng = np.random.default_rng(12)
    # 32 frames; a faint floor so that no two clean spectra are identical (silent frames would be)
    clean = speech_like(16_000, seed=11) + 1e-3 * rng.standard_normal(16_000).astype(np.float32)
    noise = (0.05 * rng.standard_normal(16_000)).astype(np.float32)
    return clean, noise


def _row_index(rows, reference):
    """For every row of ``rows``, the index of the identical row of ``reference``."""
    lookup = {row.tobytes(): i for i, row in enumerate(reference)}
    return np.array([lookup[row.tobytes()] for row in rows])


@pytest.mark.parametrize("frames", [1, 20])
def test_remixed_epochs_shapes(remix_signals, frames):
    clean, noise = remix_signals
    examples = M.RemixedEpochs(clean, noise, frames, seed=0)
    x, y = examples.epoch()  # 32 frames, one example each
    assert x.shape == ((32, 513, 1) if frames == 1 else (32, 20, 513, 1))
    assert y.shape == (32, 513)
    assert x.dtype == y.dtype == np.float32


@pytest.mark.parametrize("frames", [1, 20])
def test_remixed_epochs_epoch0_is_the_recorded_mixture(remix_signals, frames):
    clean, noise = remix_signals
    examples = M.RemixedEpochs(clean, noise, frames, seed=0)
    inputs, targets = examples.epoch()
    noisy_magnitude, noisy_phase = dsp.stft_frames(clean + noise)
    images = inputs.reshape(len(inputs), frames, 513)
    rows = _row_index(images[:, -1], noisy_magnitude)  # each frame once, shuffled
    assert sorted(rows) == list(range(32))
    assert not np.array_equal(rows, np.arange(32))
    expected = dsp.target_magnitude(*dsp.stft_frames(clean), noisy_phase, "phase_sensitive")
    np.testing.assert_array_equal(targets, expected[rows])  # the phase-sensitive magnitude
    for image, t in zip(images, rows):
        np.testing.assert_array_equal(image[-1], noisy_magnitude[t])  # the current frame
        if t >= frames - 1:
            np.testing.assert_array_equal(image, noisy_magnitude[t - frames + 1:t + 1])
        else:
            assert np.all(image[:frames - 1 - t] < dsp.SILENCE_MAGNITUDE)


def test_past_dropout_strips_windows_of_their_past(remix_signals):
    """Each window is the plain one or its last frame repeated, with the same target; with a
    rate of 1 every window is stripped."""
    clean, noise = remix_signals
    plain_inputs, plain_targets = M.RemixedEpochs(clean, noise, 20, seed=0).epoch()
    inputs, targets = M.RemixedEpochs(clean, noise, 20, seed=0,
                                      past_dropout=0.5).epoch()
    np.testing.assert_array_equal(targets, plain_targets)
    stripped = np.repeat(plain_inputs[:, -1:], 20, axis=1)
    kept = np.all(inputs == plain_inputs, axis=(1, 2, 3))
    dropped = np.all(inputs == stripped, axis=(1, 2, 3))
    assert np.all(kept ^ dropped) and kept.any() and dropped.any()
    inputs, _ = M.RemixedEpochs(clean, noise, 20, seed=0, past_dropout=1.0).epoch()
    np.testing.assert_array_equal(inputs, stripped)


def test_past_dropout_leaves_one_frame_inputs_and_their_order_alone(remix_signals):
    clean, noise = remix_signals
    plain = M.RemixedEpochs(clean, noise, 1, seed=0)
    dropping = M.RemixedEpochs(clean, noise, 1, seed=0, past_dropout=0.5)
    for _ in range(3):
        for a, b in zip(plain.epoch(), dropping.epoch()):
            np.testing.assert_array_equal(a, b)
        plain.next_epoch()
        dropping.next_epoch()


def test_past_dropout_decay_falls_from_the_rate_to_none_in_the_last_epoch(remix_signals):
    """Rate 1 with the decay over 5 epochs: every window stripped in epoch 0, none in epoch 4."""
    clean, noise = remix_signals
    examples = M.RemixedEpochs(clean, noise, 20, seed=0, epochs=5, past_dropout=1.0)
    stripped = []
    for _ in range(5):
        inputs, _ = examples.epoch()
        stripped.append(np.all(inputs == inputs[:, -1:], axis=(1, 2, 3)).mean())
        examples.next_epoch()
    assert stripped[0] == 1.0 and stripped[-1] == 0.0
    assert stripped[0] > stripped[2] > stripped[-1]


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_past_dropout_rejects_a_rate_outside_0_1(remix_signals, rate):
    clean, noise = remix_signals
    with pytest.raises(ValueError, match=f"past_dropout must be in \\[0, 1\\], got {rate}"):
        M.RemixedEpochs(clean, noise, 20, seed=0, past_dropout=rate)


def _current_frame_values(examples, frames):
    """All values of every input's current (last) frame in one epoch, sorted."""
    inputs, _ = examples.epoch()
    return np.sort(inputs.reshape(len(inputs), frames, 513)[:, -1], axis=None)


@pytest.mark.parametrize("frames", [1, 20])
def test_remixed_epochs_alternate_recorded_and_remixed_epochs(remix_signals, frames):
    """Epochs 0, 2, 4 hold the recorded mixture and epochs 1, 3 new ones,
    each a circular shift of the same noise under the same speech."""
    clean, noise = remix_signals
    examples = M.RemixedEpochs(clean, noise, frames, seed=0)
    recorded = np.sort(dsp.stft_frames(clean + noise)[0], axis=None)
    epochs = []
    for _ in range(5):
        epochs.append(_current_frame_values(examples, frames))
        examples.next_epoch()
    for epoch in (0, 2, 4):
        np.testing.assert_array_equal(epochs[epoch], recorded)
    for epoch in (1, 3):
        assert not np.array_equal(epochs[epoch], recorded)
    assert not np.array_equal(epochs[1], epochs[3])  # a different shift each time


@pytest.mark.parametrize("frames", [1, 20])
def test_remixed_epochs_with_silent_noise_target_the_input(remix_signals, frames):
    """Without noise the noisy phase is the clean phase, so the phase-sensitive target is the
    clean magnitude, which is also each input's current frame, in every epoch."""
    clean, _ = remix_signals
    examples = M.RemixedEpochs(clean, np.zeros_like(clean), frames, seed=3)
    for _ in range(3):
        inputs, targets = examples.epoch()
        current = inputs.reshape(len(inputs), frames, 513)[:, -1]
        np.testing.assert_allclose(current, targets, rtol=1e-5, atol=1e-7)
        examples.next_epoch()


# --------------------------------------------------------------------------------------------
# The fully connected baseline (homework 1)
# --------------------------------------------------------------------------------------------

SMALL_FC = (32,)


@pytest.fixture(scope="module")
def trained_fc(noisy_pair, train_small):
    """A small fully connected network and its run: a few epochs on the 3 s synthetic pair."""
    return train_small(M.build_fc, SMALL_FC, noisy_pair)


def test_fc_shapes_and_context():
    model = M.build_fc((16, 8), seed=0)
    assert model.name == "fc"
    assert model.input_shape == (None, 513, 1)
    assert model.output_shape == (None, 513)
    assert M.context_frames(model) == 1
    assert [model.get_layer(f"dense{i}").units for i in (1, 2)] == [16, 8]


def test_fc_estimate_is_a_gain_on_the_input_spectrum():
    spectrum = _random_magnitudes((8, 513, 1), seed=9)
    spectrum[:, ::5] = 0.0
    output = M.build_fc((16, 8), seed=0).predict_on_batch(spectrum)
    assert output.shape == (8, 513)
    assert np.all(np.isfinite(output)) and np.all(output >= 0)
    assert np.all(output <= spectrum[..., 0] * (1 + 1e-6))
    assert np.all(output[:, ::5] == 0.0)


@pytest.mark.parametrize("hidden_units", [(16, 8), (32,), (1024, 1024)])
def test_fc_parameter_count(hidden_units):
    """Dense layers: inputs x units + units each; the gain layer 513 x last + 513. The
    standardisation keeps a mean and a variance per bin and a sample count, the log its floor:
    513 x 2 + 2 non-trainable weights."""
    model = M.build_fc(hidden_units, seed=0)
    widths = (513,) + tuple(hidden_units) + (513,)
    trainable = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    if hidden_units == (16, 8):
        assert trainable == 513 * 16 + 16 + 16 * 8 + 8 + 8 * 513 + 513 == 12_977
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == trainable
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == 513 * 2 + 2
    assert model.count_params() == trainable + 513 * 2 + 2


def test_fc_build_is_seeded():
    a, b, c = M.build_fc((16, 8), seed=0), M.build_fc((16, 8), seed=0), M.build_fc((16, 8), seed=1)
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.get_layer("dense1").get_weights()[0],
                              c.get_layer("dense1").get_weights()[0])


def test_fc_training_lowers_the_loss(trained_fc, quick_epochs):
    _, run = trained_fc
    loss = run.history["loss"]
    assert run.epochs == len(loss) == quick_epochs
    assert all(np.isfinite(loss))
    assert loss[-1] < 0.9 * loss[0]


def test_fc_save_and_load_gives_identical_predictions(trained_fc, tmp_path):
    model, _ = trained_fc
    path = tmp_path / "fc.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.input_shape == (None, 513, 1) and M.context_frames(loaded) == 1
    batch = _random_magnitudes((6, 513, 1), seed=10)
    np.testing.assert_array_equal(loaded.predict_on_batch(batch), model.predict_on_batch(batch))
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fc_denoises_a_waveform_of_any_length(trained_fc, noisy_pair):
    model, _ = trained_fc
    _, dirty = noisy_pair
    denoised = M.denoise_waveform(model, dirty[:20_001])
    assert denoised.shape == (20_001,) and denoised.dtype == np.float32
    assert np.all(np.isfinite(denoised))


def _sorted_rows(spectra):
    """The rows of ``(frames, 513)`` spectra in lexicographic order (an epoch's order undone)."""
    return spectra[np.lexsort(spectra.T[::-1])]



def test_fused_adam_follows_keras_adam_to_float_rounding():
    """The same gradients through ``FusedAdam`` and Keras' ``Adam`` give the same weights up to
    float32 rounding, over steps whose gradients span eight orders of magnitude."""
    rng = np.random.default_rng(0)
    start = rng.normal(size=(40, 30)).astype(np.float32)
    gradients = [rng.normal(size=start.shape).astype(np.float32) * 10.0 ** -scale
                 for scale in np.linspace(0, 8, 12)]
    results = []
    for optimizer in (M.keras.optimizers.Adam(2e-3), M.FusedAdam(2e-3)):
        variable = M.keras.Variable(start.copy())
        optimizer.build([variable])
        for gradient in gradients:
            optimizer.apply([M.tf.constant(gradient)], [variable])
        results.append(variable.numpy())
    assert not np.array_equal(results[1], start)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)


def test_training_shows_one_progress_line_that_advances_per_epoch(train_small, noisy_pair,
                                                                  quick_epochs, capsys):
    model = M.build_cnn1d(SMALL_1D)
    run = M.train_denoiser(model, *noisy_pair, M.Recipe(epochs=quick_epochs, batch_size=16),
                           progress=True)
    shown = capsys.readouterr().out
    assert shown.count("\n") == 1  # one line, rewritten in place after every epoch
    assert shown.count("loss:") == quick_epochs
    assert f"{quick_epochs}/{quick_epochs}" in shown
    assert len(run.epoch_seconds) == quick_epochs and all(s > 0 for s in run.epoch_seconds)
    M.train_denoiser(M.build_cnn1d(SMALL_1D), *noisy_pair, M.Recipe(epochs=1, batch_size=16))
    assert capsys.readouterr().out == ""


def test_training_gives_the_weights_of_keras_fit_epoch_by_epoch(noisy_pair):
    """train_denoiser's one call per epoch of Keras' train_step is ``fit`` without its overhead:
    the same epochs through ``fit``, one call per epoch, give bit-identical weights."""
    recipe = M.Recipe(epochs=3, batch_size=16, learning_rate=1e-3)
    clean, dirty = noisy_pair
    ours = M.build_cnn1d(SMALL_1D, seed=3)
    M.train_denoiser(ours, clean, dirty, recipe, seed=3)

    model = M.build_cnn1d(SMALL_1D, seed=3)
    M.keras.utils.set_random_seed(3)
    magnitude = dsp.stft_frames(dirty)[0]
    M._adapt_input_compression(model, magnitude)
    examples = M.RemixedEpochs(clean, dirty - clean, 1, 3, M.silence_level(model), recipe.epochs)
    model.compile(optimizer=M.FusedAdam(recipe.learning_rate), loss="mse",
                  loss_weights=[M.typical_magnitude(magnitude) ** -2])
    schedule = M.keras.callbacks.LearningRateScheduler(
        lambda epoch, _: recipe.learning_rate * 0.5 * (1 + np.cos(np.pi * epoch / recipe.epochs)))
    for epoch in range(recipe.epochs):
        model.fit(*examples.epoch(), batch_size=recipe.batch_size, shuffle=False,
                  initial_epoch=epoch, epochs=epoch + 1, callbacks=[schedule], verbose=0)
        examples.next_epoch()
    for a, b in zip(ours.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_padding_level_is_the_trained_models_silence_level(trained, noisy_pair):
    """60 dB under the median training magnitude: 20 dB under the log floor training sets."""
    magnitude = dsp.stft_frames(noisy_pair[1])[0]
    expected = float(np.median(magnitude)) * 1e-3
    assert M.padding_level(magnitude) == pytest.approx(expected, rel=1e-6)
    assert M.silence_level(trained[2]) == pytest.approx(M.padding_level(magnitude), rel=1e-5)


def test_in_a_notebook_progress_is_one_display_updated_in_place(monkeypatch, noisy_pair):
    """Under a Jupyter kernel the progress line is an IPython display that each epoch updates,
    so a saved notebook holds its last state only."""
    shown = []

    class Handle:
        def update(self, text):
            shown.append(str(text.data))

    ipython = pytest.importorskip("IPython")
    display = pytest.importorskip("IPython.display")
    monkeypatch.setattr(ipython, "get_ipython", lambda: type("Shell", (), {"kernel": object()})())
    monkeypatch.setattr(display, "display",
                        lambda obj, display_id: shown.append(obj.data) or Handle())
    M.train_denoiser(M.build_cnn1d(SMALL_1D), *noisy_pair, M.Recipe(epochs=2, batch_size=16),
                     progress=True)
    assert shown[0] == "epoch 0/2"
    assert [line.split(":")[0] for line in shown[1:]] == ["epoch 1/2", "epoch 2/2"]
    assert all(re.fullmatch(r"epoch \d/2: loss \d+\.\d{4}, \d+ s \(\d+\.\d\d s per epoch\)", line)
               for line in shown[1:])

