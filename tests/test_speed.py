"""benchmarks/speed.py: the FLOP count from a model's layers against hand arithmetic, and the
report of a two-epoch run on a short synthetic pair."""

from __future__ import annotations

import re

import keras
import pytest

import models_tf
from benchmarks import speed


def test_flops_are_counted_from_the_layers():
    """Conv1D (10, 1) -> (8, 4), kernel 3: 8 positions x 3 x 1 x 4 x 2 = 192; Dense 32 -> 120:
    7,680; Conv2D (6, 5, 4) -> (3, 3, 3), kernel 2 x 3, stride (2, 1): 9 x 6 x 4 x 3 x 2 =
    1,296; Dense 27 -> 5: 270; the input, batch normalisation, reshaping and flattening count
    nothing."""
    inputs = keras.Input((10, 1))
    features = keras.layers.Conv1D(4, 3)(inputs)
    features = keras.layers.BatchNormalization()(features)
    features = keras.layers.Reshape((6, 5, 4))(keras.layers.Dense(120)(
        keras.layers.Flatten()(features)))
    features = keras.layers.Conv2D(3, (2, 3), strides=(2, 1))(features)
    outputs = keras.layers.Dense(5)(keras.layers.Flatten()(features))
    model = keras.Model(inputs, outputs)
    assert [speed.layer_flops(layer) for layer in model.layers] == [
        0, 192, 0, 0, 7680, 0, 1296, 0, 270]
    assert speed.forward_flops(model) == 192 + 7680 + 1296 + 270


def test_the_1d_cnn_costs_ten_million_flops_forward():
    """Valid convolutions of stride 2 take 513 bins to 253, 124 and 60; the dense layer sees
    60 x 64 = 3,840 features."""
    conv = 253 * 9 * 1 * 32 + 124 * 7 * 32 * 64 + 60 * 5 * 64 * 64
    assert speed.forward_flops(models_tf.build_cnn1d()) == 2 * (conv + 3840 * 513) == 10_098_496


def test_the_report_of_a_short_run_accounts_for_every_layer_with_weights(noisy_pair,
                                                                          monkeypatch):
    monkeypatch.setattr(speed, "REPEATS", 2)
    monkeypatch.setattr(speed, "DRAWN_EPOCHS", 2)
    clean, dirty = noisy_pair
    report = speed.network_report("cnn1d", clean, dirty, epochs=2, peak=100.0)
    lines = report.splitlines()
    assert lines[0] == "cnn1d: 2,007,365 parameters; 94 examples per epoch in 3 minibatches of 32"
    assert lines[1] == "  training FLOPs per example: 30.30 M (3 × forward 10.10 M)"
    epoch = float(re.search(r"seconds per epoch: ([\d.]+)", report).group(1))
    achieved, share = map(float, re.search(r"achieved: ([\d.]+) GFLOP/s, ([\d.]+) %",
                                           report).groups())
    assert achieved == pytest.approx(30.30e6 * 94 / epoch / 1e9, rel=0.02)
    assert share == pytest.approx(achieved, abs=0.1)  # of a peak of 100 GFLOP/s
    shares = [float(value) for value in re.findall(r"s +(-?[\d.]+) %", report)]
    assert len(shares) == 3 and sum(shares) == pytest.approx(100.0, abs=0.2)
    layers = [line.split()[0] for line in lines if re.match(r" {4}(conv|batch_norm|dense)", line)]
    assert layers == ["conv1", "batch_norm1", "conv2", "batch_norm2", "conv3", "batch_norm3",
                      "dense_gain"]
    assert "the whole step" in lines[-1]
