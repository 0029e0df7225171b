"""Keras 1D and 2D CNN denoisers in the STFT magnitude domain, their training and their use.

Both networks map noisy magnitude spectra to the clean magnitude of one frame, ``(B, 513)``:

* :func:`build_cnn1d` (Problem 1) sees one noisy spectrum, ``(513, 1)`` in Keras'
  channels-last layout (the handout's ``[B x 1 x 1 x 513]`` without the height axis).
* :func:`build_cnn2d` (Problem 2) sees an image of the 20 latest spectra, ``(20, 513, 1)``
  (the handout's ``[B x 1 x 20 x 513]``), and estimates the clean spectrum of the last one.

Each network compresses its input with a logarithm, standardises every frequency bin, runs
valid (unpadded) strided convolutions, flattens, and ends in ``Dense(513)`` with a sigmoid: a
gain between 0 and 1 for every bin, which multiplies the current noisy spectrum. The product
is the network's output, the clean magnitude estimate.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

import dsp_helpers as dsp


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send the process's native stderr (file descriptor 2) to /dev/null for a moment.

    TensorFlow's C++ core prints start-up lines (CUDA probing, oneDNN notices) before its log
    level can be set, so ``TF_CPP_MIN_LOG_LEVEL`` alone does not keep them out of a notebook.
    """
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
with _native_stderr_silenced():
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")

# Minibatch steps per call into TensorFlow's compiled training loop: the same updates in the same
# order as one step per call (the weights come out bit for bit the same), with less Python work
# between steps (`python -m benchmarks.feeding` times it).
STEPS_PER_EXECUTION = 16
# Examples per minibatch (default_batch_size): for the CNNs 32 beat 64 in cross-validation
# (benchmarks/crossval.py, variants batch-32-epochs-x0.5 and batch-32; the notebook's §7.3), while
# the FC baseline lost with 32 and keeps 64.
BATCH_SIZE = 32
FC_BATCH_SIZE = 64
# Adam's peak learning rate, decayed to 0 along a half cosine: with minibatches of 32, half of it
# tied and twice it lost in cross-validation (variants batch-32-epochs-x0.5-lr-1e-3 and -4e-3).
LEARNING_RATE = 2e-3
# Past-frame dropout of the 2D CNN's training images (RemixedEpochs): every image stripped of its
# past in the first epoch, none in the last, linearly in between. It beat the plain recipe in
# cross-validation and tied on the training part (variant batch-32-epochs-x0.5-past-dropout-decay).
PAST_DROPOUT = 1.0
# Epoch budgets (default_epochs): twice the former 60 and 100 beat them in cross-validation for
# both CNNs (variant batch-32-past-dropout-decay-epochs-x2); the FC baseline shares the 1D CNN's,
# which won for it too, by a hair (variant no-validation-epochs-x2).
EPOCHS_ONE_SPECTRUM = 120
EPOCHS_WINDOW = 200
FLOOR_BELOW_MEDIAN_DB = 40.0  # the log's floor, relative to the median noisy training magnitude
SILENCE_BELOW_FLOOR_DB = 20.0  # the 2D CNN's silent padding frames, relative to the log's floor


# --------------------------------------------------------------------------------------------
# Layers and dimension arithmetic
# --------------------------------------------------------------------------------------------

def typical_magnitude(magnitude: np.ndarray) -> float:
    """The median of a recording's STFT magnitudes (any shape): its level, in the units of the
    magnitudes. Raises ``ValueError`` if it is not positive (a silent recording)."""
    median = float(np.median(magnitude))
    if not median > 0.0:
        raise ValueError(f"the median training magnitude is {median:g}: is the training "
                         f"recording silent?")
    return median


@keras.saving.register_keras_serializable(package="denoising")
class LogMagnitude(keras.layers.Layer):
    """``log(magnitude + floor)``: compresses the spectra's dynamic range; shape unchanged.

    ``floor`` is a non-trainable weight (saved with the model). :meth:`adapt` sets it
    :data:`FLOOR_BELOW_MEDIAN_DB` below the median of the training magnitudes, so the
    compression is the same for a loud and a quiet recording of the same sound: scaling the
    training input by ``g`` only shifts its log by ``log g``, which the per-bin standardisation
    that follows removes. Until adapted, the floor is ``initial_floor``.
    """

    def __init__(self, initial_floor: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.initial_floor = initial_floor

    def build(self, input_shape):
        self.floor = self.add_weight(shape=(), name="floor", trainable=False,
                                     initializer=keras.initializers.Constant(self.initial_floor))

    def adapt(self, magnitude: np.ndarray) -> None:
        """Set the floor from training magnitudes (any shape, non-negative)."""
        if not self.built:
            self.build(np.shape(magnitude))
        self.floor.assign(typical_magnitude(magnitude) * 10.0 ** (-FLOOR_BELOW_MEDIAN_DB / 20.0))

    def call(self, magnitude):
        return keras.ops.log(magnitude + self.floor)

    def get_config(self):
        return {**super().get_config(), "initial_floor": self.initial_floor}


@keras.saving.register_keras_serializable(package="denoising")
class CurrentFrameRepeated(keras.layers.Layer):
    """Images ``(B, frames, 513, 1)`` with every frame replaced by the last (current) one: the
    2D CNN's input stripped of what its past frames say. Shape unchanged; no weights."""

    def call(self, images):
        return keras.ops.repeat(images[:, -1:], images.shape[1], axis=1)


@keras.saving.register_keras_serializable(package="denoising")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """Keras' ``BatchNormalization`` whose training step, on the TensorFlow backend, runs as
    TensorFlow's fused kernel (the batch statistics, the normalisation and its gradient each in
    one pass) instead of Keras' separate operations: the same function and the same moving
    statistics, to float rounding, in about half the CPU time on the 2D CNN's large first maps
    (``python -m benchmarks.feeding`` times both). Inputs ``(B, L, C)`` or
    ``(B, H, W, C)``, normalised per channel (the last axis). At inference, on other backends,
    and in any other configuration, it is Keras' layer.
    """

    def _fusable(self, inputs, training, mask) -> bool:
        return (bool(training) and self.trainable and keras.backend.backend() == "tensorflow"
                and mask is None and not self.renorm and self.center and self.scale
                and len(inputs.shape) in (3, 4) and self.axis in (-1, len(inputs.shape) - 1)
                and inputs.dtype == "float32")

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        images = inputs if len(inputs.shape) == 4 else tf.expand_dims(inputs, 1)
        outputs, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
            images, self.gamma, self.beta, epsilon=self.epsilon, is_training=True)
        # TensorFlow returns the Bessel-corrected variance; Keras averages the biased one
        count = tf.cast(tf.size(images) // tf.shape(images)[-1], images.dtype)
        variance = unbiased_variance * (count - 1.0) / count
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum
                                    + variance * (1.0 - self.momentum))
        return outputs if len(inputs.shape) == 4 else tf.squeeze(outputs, 1)


@dataclass(frozen=True)
class ConvBlock:
    """One valid convolution (``filters`` kernels of size ``kernel``, step ``stride``), with a
    ReLU, optionally followed by a max-pooling of size and step ``pool``.

    Sizes are ints for the 1D network (along frequency) and ``(frames, bins)`` pairs for the 2D
    network.
    """

    filters: int
    kernel: int | tuple[int, int]
    stride: int | tuple[int, int] = 1
    pool: int | tuple[int, int] = 1


def valid_output_length(length: int, size: int, stride: int = 1) -> int:
    """Length after a valid convolution or pooling: ``floor((length - size) / stride) + 1``.

    With ``stride = 1`` this is the handout's ``513 - D + 1``.
    """
    if size > length:
        raise ValueError(f"a window of {size} does not fit in a length of {length}")
    return (length - size) // stride + 1


def _as_tuple(value, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


def dimension_table(input_shape: tuple[int, ...], blocks: list[ConvBlock]) -> list[dict]:
    """The feature-map shape after every layer, by the handout's arithmetic.

    ``input_shape`` is the spatial shape, ``(513,)`` or ``(20, 513)``. Returns one dict per layer
    with ``layer``, ``kernel``, ``stride``, ``shape`` (spatial dims plus channels) and ``reach``:
    per axis, the last input index (frame or bin) that the layer's last position depends on. A
    strided valid convolution skips the input's trailing ``(L - D) mod s`` positions; ``reach``
    shows whether that ever cut off the end of the input. The table ends with the flattened
    size and the ``Dense(513)`` output.
    """
    dims = len(input_shape)
    shape = tuple(input_shape)
    # the input index reached by position p of the current map is scale * p + offset, per axis
    scale, offset = (1,) * dims, (0,) * dims

    def row(layer, kernel, stride, channels):
        reach = tuple(a * (n - 1) + b for a, b, n in zip(scale, offset, shape))
        return {"layer": layer, "kernel": kernel, "stride": stride, "shape": shape + (channels,),
                "reach": reach}

    rows = [row("input", "", "", 1)]
    for index, block in enumerate(blocks, start=1):
        steps = [("conv", _as_tuple(block.kernel, dims), _as_tuple(block.stride, dims))]
        pool = _as_tuple(block.pool, dims)
        if any(p > 1 for p in pool):
            steps.append(("pool", pool, pool))
        for kind, kernel, stride in steps:
            shape = tuple(valid_output_length(n, k, s) for n, k, s in zip(shape, kernel, stride))
            offset = tuple(a * (k - 1) + b for a, b, k in zip(scale, offset, kernel))
            scale = tuple(a * s for a, s in zip(scale, stride))
            rows.append(row(f"{kind}{index}", kernel, stride, block.filters))
    flat = math.prod(shape) * blocks[-1].filters
    rows.append({"layer": "flatten", "kernel": "", "stride": "", "shape": (flat,), "reach": ""})
    rows.append({"layer": "dense (gain)", "kernel": "", "stride": "", "shape": (dsp.N_BINS,),
                 "reach": ""})
    return rows


# --------------------------------------------------------------------------------------------
# The two networks
# --------------------------------------------------------------------------------------------

DEFAULT_CNN1D_BLOCKS = (ConvBlock(32, 9, 2), ConvBlock(64, 7, 2), ConvBlock(64, 5, 2))
# The 20 frames merged two at a time (ten rows), then five rows at a time (two rows), then the
# last two: the frame being denoised shares its first features with one earlier frame only.
DEFAULT_CNN2D_BLOCKS = (ConvBlock(16, (2, 9), (2, 2)), ConvBlock(32, (5, 7), (5, 2)),
                        ConvBlock(32, (2, 5), (1, 2)))


def _gain_network(input_shape: tuple[int, ...], hidden_layers: Callable, name: str,
                  seed: int, dropout: float = 0.0, gain_limit: float = 1.0,
                  past_frames: bool = True) -> keras.Model:
    """What every network here shares: (for a window of frames without ``past_frames``,
    :class:`CurrentFrameRepeated`) → log → per-bin standardisation → ``hidden_layers`` →
    flatten → (``Dropout(dropout)`` during training, if ``dropout > 0``) → ``Dense(513,
    sigmoid)`` gain (times ``gain_limit`` if it is not 1, so gains run from 0 to
    ``gain_limit``) × current noisy frame."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout}")
    if not gain_limit > 0.0:
        raise ValueError(f"{name}: gain_limit must be positive, got {gain_limit}")
    keras.utils.set_random_seed(seed)  # the initial weights
    dims = len(input_shape)
    noisy = keras.Input(shape=tuple(input_shape) + (1,), name="noisy_magnitude")
    features = noisy if past_frames else CurrentFrameRepeated(name="current_frame_only")(noisy)
    features = LogMagnitude(name="log_magnitude")(features)
    features = keras.layers.Normalization(axis=dims, name="standardise_bins")(features)
    features = keras.layers.Flatten(name="flatten")(hidden_layers(features))
    if dropout > 0.0:
        features = keras.layers.Dropout(dropout, seed=seed, name="dropout")(features)
    gain = keras.layers.Dense(dsp.N_BINS, activation="sigmoid", name="dense_gain")(features)
    if gain_limit != 1.0:
        gain = keras.layers.Rescaling(gain_limit, name="gain_limit")(gain)
    if dims == 2:  # keep only the last (current) frame of the image
        current = keras.layers.Cropping2D(((input_shape[0] - 1, 0), (0, 0)),
                                          name="current_frame")(noisy)
    else:
        current = noisy
    current = keras.layers.Reshape((dsp.N_BINS,), name="current_spectrum")(current)
    clean_estimate = keras.layers.Multiply(name="clean_magnitude")([gain, current])
    return keras.Model(noisy, clean_estimate, name=name)


def _scaled_counts(counts, width: float) -> list[int]:
    """Kernels or units per layer, ``counts``, times ``width``: rounded, at least 1 each."""
    if not width > 0.0:
        raise ValueError(f"width must be positive, got {width}")
    return [max(1, round(count * width)) for count in counts]


def widened(blocks, width: float) -> list[ConvBlock]:
    """``blocks`` with ``width`` times as many kernels in every layer (rounded, at least 1)."""
    filters = _scaled_counts([block.filters for block in blocks], width)
    return [replace(block, filters=count) for block, count in zip(blocks, filters)]


def _conv_network(input_shape: tuple[int, ...], blocks, name: str, seed: int,
                  dropout: float = 0.0, width: float = 1.0, gain_limit: float = 1.0,
                  past_frames: bool = True) -> keras.Model:
    """A :func:`_gain_network` whose hidden layers are valid, strided convolutions, each followed
    by batch normalisation (faster, steadier training) and a ReLU; ``width`` scales the number
    of kernels of every layer (:func:`widened`)."""
    blocks = widened(blocks, width)
    if not blocks:
        raise ValueError(f"{name}: needs at least one convolution block")
    dims = len(input_shape)
    conv = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D}[dims]
    pool = {1: keras.layers.MaxPooling1D, 2: keras.layers.MaxPooling2D}[dims]

    def convolutions(features):
        for index, block in enumerate(blocks, start=1):
            features = conv(block.filters, block.kernel, strides=block.stride, padding="valid",
                            name=f"conv{index}")(features)
            features = FusedBatchNormalization(name=f"batch_norm{index}")(features)
            features = keras.layers.Activation("relu", name=f"relu{index}")(features)
            if any(p > 1 for p in _as_tuple(block.pool, dims)):
                features = pool(block.pool, padding="valid", name=f"pool{index}")(features)
        return features

    model = _gain_network(input_shape, convolutions, name, seed, dropout, gain_limit,
                          past_frames)
    _check_dimensions(model, input_shape, blocks)
    return model


def _check_dimensions(model: keras.Model, input_shape, blocks) -> None:
    """Sanity checks: Keras' layer shapes equal the handout's arithmetic, and for the 2D CNN the
    convolutions reach the last input frame, whose clean spectrum the network estimates."""
    table = dimension_table(input_shape, blocks)
    for row in table[1:-1]:
        keras_shape = tuple(model.get_layer(row["layer"]).output.shape[1:])
        if keras_shape != row["shape"]:
            raise AssertionError(f"{row['layer']}: Keras gives {keras_shape}, "
                                 f"arithmetic gives {row['shape']}")
    last_frame = table[-3]["reach"][0]
    if len(input_shape) == 2 and last_frame != input_shape[0] - 1:
        raise ValueError(f"the convolutions see frames 0–{last_frame} only, never frame "
                         f"{input_shape[0] - 1}, the one being denoised: choose kernels and "
                         f"strides along time with (length - kernel) divisible by the stride")


def build_cnn1d(blocks=DEFAULT_CNN1D_BLOCKS, seed: int = 0, dropout: float = 0.0,
                width: float = 1.0, gain_limit: float = 1.0) -> keras.Model:
    """The 1D CNN of Problem 1: input ``(513, 1)``, output the clean magnitude ``(B, 513)``.

    ``blocks`` lists the convolutions along frequency (K kernels of size D, stride, pool);
    ``seed`` fixes the initial weights; ``dropout`` is the rate before the output layer;
    ``width`` scales every layer's number of kernels; ``gain_limit`` is the largest gain the
    output can apply to the noisy spectrum.
    """
    return _conv_network((dsp.N_BINS,), blocks, "cnn1d", seed, dropout, width, gain_limit)


def build_cnn2d(blocks=DEFAULT_CNN2D_BLOCKS, window: int = dsp.WINDOW_FRAMES,
                seed: int = 0, dropout: float = 0.0, width: float = 1.0,
                gain_limit: float = 1.0, past_frames: bool = True) -> keras.Model:
    """The 2D CNN of Problem 2: input ``(window, 513, 1)`` (the ``window`` latest noisy spectra),
    output the clean magnitude of the last frame ``(B, 513)``.

    Without ``past_frames`` the network sees the current frame ``window`` times instead
    (:class:`CurrentFrameRepeated`): the same layers and weights, no temporal context.
    """
    return _conv_network((window, dsp.N_BINS), blocks, "cnn2d", seed, dropout, width,
                         gain_limit, past_frames)


def past_frames_removed(model: keras.Model, blocks=DEFAULT_CNN2D_BLOCKS) -> keras.Model:
    """A copy of the trained 2D CNN ``model`` (built from ``blocks``) that sees only the current
    frame: :func:`build_cnn2d` without ``past_frames``, with ``model``'s weights. Raises
    ``ValueError`` if ``model`` does not see a window of frames or was built from other blocks."""
    frames = context_frames(model)
    if frames == 1:
        raise ValueError(f"{model.name} sees one frame: it has no past frames to remove")
    copy = build_cnn2d(blocks, window=frames, past_frames=False)
    try:
        copy.set_weights(model.get_weights())
    except ValueError as error:
        raise ValueError(f"{model.name} was not built from these blocks: {error}") from None
    return copy


def build_fc(hidden_units=(1024, 1024), seed: int = 0, dropout: float = 0.0,
             width: float = 1.0, gain_limit: float = 1.0) -> keras.Model:
    """Homework 1's fully connected network, as a baseline for the CNNs: one spectrum
    ``(513, 1)`` in, the same input compression and gain output as :func:`build_cnn1d`, with
    ``Dense`` ReLU layers of ``hidden_units`` (times ``width``) instead of convolutions."""
    hidden_units = _scaled_counts(hidden_units, width)

    def dense_layers(features):
        features = keras.layers.Flatten(name="spectrum")(features)
        for index, units in enumerate(hidden_units, start=1):
            features = keras.layers.Dense(units, activation="relu", name=f"dense{index}")(features)
        return features

    return _gain_network((dsp.N_BINS,), dense_layers, "fc", seed, dropout, gain_limit)


def default_batch_size(model: keras.Model) -> int:
    """The minibatch size :func:`train_denoiser` gives ``model`` unless told otherwise:
    :data:`FC_BATCH_SIZE` for the FC baseline (:func:`build_fc`), :data:`BATCH_SIZE` for the
    CNNs."""
    return FC_BATCH_SIZE if model.name == "fc" else BATCH_SIZE


def default_epochs(model: keras.Model, scale: float = 1.0) -> int:
    """The epoch budget :func:`train_denoiser` gives ``model`` unless told otherwise:
    :data:`EPOCHS_ONE_SPECTRUM` for a network that sees one spectrum, :data:`EPOCHS_WINDOW` for
    one that sees a window of frames (the 2D CNN), times ``scale`` (rounded, at least 1; the
    notebook's ``EPOCH_SCALE`` is 0.35)."""
    if not scale > 0.0:
        raise ValueError(f"the epoch scale must be positive, got {scale}")
    epochs = EPOCHS_ONE_SPECTRUM if context_frames(model) == 1 else EPOCHS_WINDOW
    return max(1, round(scale * epochs))


def silence_level(model: keras.Model) -> float:
    """Upper bound of the random magnitudes in the silent frames padded before a recording's
    first frame for the 2D CNN: :data:`SILENCE_BELOW_FLOOR_DB` under the model's log floor, so
    that after the logarithm they sit at the floor whatever the recording's level."""
    floor = float(keras.ops.convert_to_numpy(model.get_layer("log_magnitude").floor))
    return floor * 10.0 ** (-SILENCE_BELOW_FLOOR_DB / 20.0)


def context_frames(model: keras.Model) -> int:
    """How many consecutive frames one input of ``model`` holds: 1 (1D CNN) or 20 (2D CNN)."""
    shape = model.input_shape
    return 1 if len(shape) == 3 else shape[1]


def as_model_input(windows: np.ndarray, frames: int) -> np.ndarray:
    """Windows ``(B, frames, 513)`` as the model's input: ``(B, 513, 1)`` for one frame,
    ``(B, frames, 513, 1)`` otherwise."""
    if frames == 1:
        return windows.reshape(len(windows), dsp.N_BINS, 1)
    return windows[..., np.newaxis]


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

def piecewise_gains(length: int, spread_db: float, rng: np.random.Generator,
                    piece: int = dsp.SAMPLE_RATE) -> np.ndarray:
    """Gains ``(length,)`` constant over consecutive pieces of ``piece`` samples (the last may be
    shorter), each drawn uniformly between ``-spread_db`` and ``+spread_db`` dB; all ones when
    ``spread_db`` is 0."""
    if spread_db < 0.0 or piece <= 0:
        raise ValueError(f"need spread_db >= 0 and piece > 0, got {spread_db} and {piece}")
    levels_db = rng.uniform(-spread_db, spread_db, math.ceil(length / piece)) if spread_db else \
        np.zeros(math.ceil(length / piece))
    return np.repeat(10.0 ** (levels_db / 20.0), piece)[:length].astype(np.float32)


def pieces_reversed(signal: np.ndarray, rng: np.random.Generator, piece: int = dsp.SAMPLE_RATE,
                    probability: float = 0.5) -> np.ndarray:
    """A copy of ``signal`` ``(samples,)`` in which each consecutive piece of ``piece`` samples
    (the last may be shorter) is played backwards with ``probability``, independently."""
    if piece <= 0 or not 0.0 <= probability <= 1.0:
        raise ValueError(f"need piece > 0 and probability in [0, 1], got {piece} and {probability}")
    reversed_signal = np.array(signal, copy=True)
    starts = range(0, len(signal), piece)
    for start, flip in zip(starts, rng.random(len(starts)) < probability):
        if flip:
            reversed_signal[start:start + piece] = signal[start:start + piece][::-1]
    return reversed_signal


# Which epochs train on the recorded mixture rather than a re-mix (RemixedEpochs' ``recorded``):
# every other one (0, 2, 4, ...), or the first only. Either may end on a recorded tail
# (RemixedEpochs' ``recorded_tail``).
RECORDED_SCHEDULES = ("alternate", "first")


class RemixedEpochs:
    """The training examples of each epoch, ``(noisy input, target spectrum)`` pairs drawn from
    one training pair, one per frame, in a new random order every epoch.

    Inputs are :func:`as_model_input` windows of ``frames`` consecutive noisy spectra (with
    ``frames - 1`` silent frames below ``silence_level`` prepended), targets the ``target`` kind of
    :func:`dsp_helpers.target_magnitude` for each window's last frame, ``(B, 513)``. The epochs
    ``recorded`` names (:data:`RECORDED_SCHEDULES`: ``"alternate"``, 0, 2, 4, ...; ``"first"``,
    epoch 0 only) use the recorded mixture ``clean + noise``, and so do the last
    ``round(recorded_tail * epochs)`` of a budget of ``epochs``. With ``augment``, the other epochs
    re-mix the clean speech with the noise circularly shifted by a random offset: the same
    speech under new noise placements, each second of the noise scaled by
    :func:`piecewise_gains` of ``noise_gain_db``, with ``noise_reversal`` each second of the
    shifted noise played backwards or not at random (:func:`pieces_reversed`), the speech sped
    up or slowed down by a rate drawn uniformly within ``1 ± speech_rate_spread``
    (:func:`dsp_helpers.speed_changed`, its targets computed from the changed speech). Without
    it, every epoch uses the recorded mixture. With ``past_dropout`` (past-frame dropout), each
    window of an epoch is replaced, with this probability, by its last frame repeated
    ``frames`` times, so that the network also learns to denoise a frame without its past; a
    window of one frame has no past, so it does nothing then. With ``past_dropout_decay`` that
    probability stays at ``past_dropout`` for the first ``round(past_dropout_hold * epochs)``
    epochs, then falls linearly to 0 in epoch ``round(past_dropout_until * epochs) - 1`` (by
    default the last of ``epochs``) and stays 0. With ``past_dropout_partial`` a dropped window
    keeps its latest ``k`` frames, ``k`` drawn uniformly from 1 to ``frames - 1``, and each older
    frame becomes a copy of the oldest one kept.

    :meth:`epoch` materialises the whole epoch (for the 2D CNN, 20 × 513 float32 values per
    frame: about 100 MB for a minute of audio), so that Keras batches it from arrays rather
    than through a Python generator, which is how it feeds a ``keras.utils.PyDataset`` to
    TensorFlow (``python -m benchmarks.feeding`` times both).
    """

    def __init__(self, clean: np.ndarray, noise: np.ndarray, frames: int, augment: bool,
                 seed: int, target: str = "phase_sensitive",
                 silence_level: float = dsp.SILENCE_MAGNITUDE, noise_gain_db: float = 0.0,
                 speech_rate_spread: float = 0.0, noise_reversal: bool = False,
                 recorded: str = "alternate", recorded_tail: float = 0.0,
                 epochs: int | None = None, past_dropout: float = 0.0,
                 past_dropout_decay: bool = False, past_dropout_hold: float = 0.0,
                 past_dropout_until: float = 1.0, past_dropout_partial: bool = False):
        if not 0.0 <= speech_rate_spread < 0.5:
            raise ValueError(f"speech_rate_spread must be in [0, 0.5), got {speech_rate_spread}")
        if recorded not in RECORDED_SCHEDULES:
            raise ValueError(f"recorded must be one of {RECORDED_SCHEDULES}, got {recorded!r}")
        if not 0.0 <= recorded_tail <= 1.0:
            raise ValueError(f"recorded_tail must be in [0, 1], got {recorded_tail}")
        if recorded_tail and epochs is None:
            raise ValueError("a recorded_tail needs the epoch budget (epochs)")
        if not 0.0 <= past_dropout <= 1.0:
            raise ValueError(f"past_dropout must be in [0, 1], got {past_dropout}")
        if past_dropout_decay and epochs is None:
            raise ValueError("a past_dropout_decay needs the epoch budget (epochs)")
        if not 0.0 <= past_dropout_hold < past_dropout_until <= 1.0:
            raise ValueError(f"past_dropout_hold and past_dropout_until must satisfy "
                             f"0 <= hold < until <= 1, got {past_dropout_hold} and "
                             f"{past_dropout_until}")
        self.past_dropout = past_dropout if frames > 1 else 0.0
        self.past_dropout_partial = past_dropout_partial
        self.past_dropout_held = round(past_dropout_hold * epochs) if past_dropout_decay else 0
        self.past_dropout_epochs = max(round(past_dropout_until * epochs) - 1
                                       - self.past_dropout_held, 1) \
            if past_dropout_decay else math.inf
        self.recorded_schedule = recorded
        self.first_of_tail = (epochs - round(recorded_tail * epochs)) if recorded_tail \
            else math.inf
        self.clean, self.noise, self.frames = clean, noise, frames
        self.noise_gain_db, self.speech_rate_spread = noise_gain_db, speech_rate_spread
        self.noise_reversal = noise_reversal
        self.silence_level = silence_level
        self.augment, self.target_kind = augment, target
        self.rng = np.random.default_rng(seed)
        self.clean_magnitude, self.clean_phase = dsp.stft_frames(clean)
        self.count = len(self.clean_magnitude)
        self.number = 0
        self.recorded = self._mixture(shift=0)
        self._use(self.recorded)

    def _mixture(self, shift: int, gain_db: float = 0.0, speech_rate: float = 1.0,
                 reverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Padded noisy input ``(frames - 1 + count, 513)`` and target ``(count, 513)`` of the
        clean speech played ``speech_rate`` times faster plus the noise circularly shifted by
        ``shift`` samples, its pieces reversed at random if ``reverse``
        (:func:`pieces_reversed`) and scaled by :func:`piecewise_gains` of ``gain_db``."""
        noise = np.roll(self.noise, shift)
        if reverse:
            noise = pieces_reversed(noise, self.rng)
        if gain_db:
            noise = noise * piecewise_gains(len(noise), gain_db, self.rng)
        clean, clean_magnitude, clean_phase = self.clean, self.clean_magnitude, self.clean_phase
        if speech_rate != 1.0:
            clean = dsp.speed_changed(self.clean, speech_rate, len(self.clean))
            clean_magnitude, clean_phase = dsp.stft_frames(clean)
        noisy_magnitude, noisy_phase = dsp.stft_frames(clean + noise)
        silence = dsp.silence_frames(self.frames - 1, int(self.rng.integers(2**31)),
                                     self.silence_level)
        target = dsp.target_magnitude(clean_magnitude, clean_phase, noisy_phase,
                                      self.target_kind)
        return np.concatenate([silence, noisy_magnitude]), target

    def _use(self, mixture: tuple[np.ndarray, np.ndarray]) -> None:
        self.padded_input, self.target = mixture
        self.order = self.rng.permutation(self.count)

    def epoch(self) -> tuple[np.ndarray, np.ndarray]:
        """The current epoch's inputs, ``(count, 513, 1)`` or ``(count, frames, 513, 1)``, and
        targets ``(count, 513)``, in the epoch's random order."""
        source = np.tile(np.arange(self.frames), (self.count, 1))  # frame j of each window
        if self.past_dropout:
            decayed = max(0, self.number - self.past_dropout_held) / self.past_dropout_epochs
            rate = self.past_dropout * max(0.0, 1.0 - decayed)
            dropped = self.rng.random(self.count) < rate
            # a dropped window keeps its latest k frames (k = 1: the current frame alone), and
            # its frame j becomes its frame max(j, frames - k)
            kept = (self.rng.integers(1, self.frames, dropped.sum())
                    if self.past_dropout_partial else np.ones(dropped.sum(), dtype=int))
            source[dropped] = np.maximum(source[dropped], self.frames - kept[:, np.newaxis])
        windows = self.padded_input[self.order[:, np.newaxis] + source]  # one gather, no copy back
        return as_model_input(windows, self.frames), self.target[self.order]

    def next_epoch(self) -> None:
        """Move on to the next epoch: a re-mix (with ``augment``, in the epochs the ``recorded``
        schedule and tail leave to them) or the recorded mixture, in a new order."""
        self.number += 1
        if self.augment and self.number < self.first_of_tail and (
                self.recorded_schedule == "first" or self.number % 2 == 1):
            spread = self.speech_rate_spread
            self._use(self._mixture(shift=int(self.rng.integers(len(self.noise))),
                                    gain_db=self.noise_gain_db, reverse=self.noise_reversal,
                                    speech_rate=self.rng.uniform(1 - spread, 1 + spread)
                                    if spread else 1.0))
        else:
            self._use(self.recorded)


@dataclass
class TrainingRun:
    """What :func:`train_denoiser` measured: per-epoch ``history`` (``loss``, ``learning_rate``
    and, when a validation part was held out, ``val_loss``), wall-clock ``seconds``, epochs run
    and the epoch whose weights were kept (the last one when nothing was held out)."""

    history: dict[str, list[float]]
    seconds: float
    epochs: int
    best_epoch: int

    def summary(self) -> str:
        if "val_loss" not in self.history:
            return f"{self.epochs} epochs in {self.seconds:.1f} s; kept the last weights"
        best = self.history["val_loss"][self.best_epoch - 1]
        return (f"{self.epochs} epochs in {self.seconds:.1f} s; kept epoch {self.best_epoch} "
                f"(validation loss {best:.4g})")


def hop_aligned_split(length: int, held_out_fraction: float) -> int:
    """Sample index that leaves the last ``held_out_fraction`` of a signal out, on a hop
    boundary."""
    if not 0.0 < held_out_fraction < 1.0:
        raise ValueError(f"held_out_fraction must be in (0, 1), got {held_out_fraction}")
    return int(length * (1.0 - held_out_fraction)) // dsp.HOP_LENGTH * dsp.HOP_LENGTH


VALIDATION_SCHEMES = ("blocks", "tail", "none")


def validation_ranges(length: int, scheme: str, fraction: float = 0.1,
                      blocks: int = 8) -> list[tuple[int, int]]:
    """The sample ranges ``[start, stop)`` of a ``length``-sample training pair held out for
    validation, on hop boundaries, in order.

    ``"tail"``: the last ``fraction``, one contiguous stretch. ``"blocks"``: ``blocks`` equal
    blocks, ``fraction`` in all, centred in ``blocks`` equal parts of the pair, so that validation
    samples every stretch of a recording whose noise comes and goes. ``"none"``: nothing.
    """
    if scheme not in VALIDATION_SCHEMES:
        raise ValueError(f"unknown validation scheme {scheme!r}; choose one of "
                         f"{VALIDATION_SCHEMES}")
    if scheme == "none":
        return []
    if scheme == "tail":
        return [(hop_aligned_split(length, fraction), length)]
    if not 0.0 < fraction < 1.0 or blocks < 1:
        raise ValueError(f"need 0 < fraction < 1 and at least one block, got {fraction} and "
                         f"{blocks}")
    hops = length // dsp.HOP_LENGTH
    block_hops = max(1, round(hops * fraction / blocks))
    if block_hops * blocks * 2 > hops:
        raise ValueError(f"{blocks} validation blocks of {block_hops} hops do not fit in "
                         f"{length} samples")
    starts = [round(hops * (index + 0.5) / blocks - block_hops / 2) for index in range(blocks)]
    return [(start * dsp.HOP_LENGTH, (start + block_hops) * dsp.HOP_LENGTH) for start in starts]


def join_ranges(signal: np.ndarray, ranges: list[tuple[int, int]]) -> np.ndarray:
    """The sample ``ranges`` ``[start, stop)`` of a ``(samples,)`` signal joined end to end
    (empty when there are none)."""
    return np.concatenate([signal[start:stop] for start, stop in ranges] or [signal[:0]])


def split_for_validation(signals: tuple[np.ndarray, ...], ranges: list[tuple[int, int]]
                         ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Cut ``(samples,)`` signals of one pair into a training part and a validation part.

    The validation part is the concatenation of ``ranges`` (from :func:`validation_ranges`),
    the training part the concatenation of what lies between them. Each part is then framed as
    a recording of its own, so no STFT frame, and no 20-frame image, of one part holds a
    sample of the other. Returns ``(training signals, validation signals)``, each a tuple
    like ``signals``.
    """
    edges = [0] + [edge for start_stop in ranges for edge in start_stop] + [len(signals[0])]
    keep = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)
            if edges[i + 1] > edges[i]]
    return (tuple(join_ranges(signal, keep) for signal in signals),
            tuple(join_ranges(signal, ranges) for signal in signals))


def _adapt_input_compression(model: keras.Model, noisy_magnitude: np.ndarray) -> None:
    """Fit the model's log floor and per-bin standardisation to noisy training spectra
    ``(frames, 513)``."""
    log_magnitude = model.get_layer("log_magnitude")
    log_magnitude.adapt(noisy_magnitude)
    log_spectra = keras.ops.convert_to_numpy(log_magnitude(noisy_magnitude))
    shape = (-1, dsp.N_BINS, 1) if context_frames(model) == 1 else (-1, 1, dsp.N_BINS, 1)
    model.get_layer("standardise_bins").adapt(log_spectra.reshape(shape))


def train_denoiser(model: keras.Model, clean: np.ndarray, dirty: np.ndarray, *,
                   epochs: int | None = None, batch_size: int | None = None,
                   learning_rate: float = LEARNING_RATE,
                   validation: str = "none", validation_fraction: float = 0.1,
                   validation_blocks: int = 8, augment: bool = True, patience: int = 20,
                   seed: int = 0, target: str = "phase_sensitive",
                   noise_gain_db: float = 0.0, speech_rate_spread: float = 0.0,
                   noise_reversal: bool = False, recorded: str = "alternate",
                   recorded_tail: float = 0.0, weight_decay: float = 0.0,
                   past_dropout: float = PAST_DROPOUT,
                   past_dropout_decay: bool = True,
                   past_dropout_hold: float = 0.0,
                   past_dropout_until: float = 1.0,
                   past_dropout_partial: bool = False) -> TrainingRun:
    """Train ``model`` (either CNN) on a training pair of ``(samples,)`` signals.

    :func:`validation_ranges` of the ``validation`` scheme are held out (see
    :func:`split_for_validation`: no frame or image mixes the two parts). The rest trains on
    :class:`RemixedEpochs` (the recorded mixture in the epochs of the ``recorded`` schedule and
    in the last ``recorded_tail`` fraction of the budget, re-mixes in the others if ``augment``,
    whose noise pieces are scaled by up to ``noise_gain_db`` and, with ``noise_reversal``,
    played backwards at random, and whose speech is sped up or slowed down by up to
    ``speech_rate_spread``, and the 2D CNN's windows stripped of their past frames with
    probability ``past_dropout``, falling to 0 along the budget with ``past_dropout_decay``,
    from ``past_dropout_hold`` of it to ``past_dropout_until``; with ``past_dropout_partial``,
    of a random number of their oldest frames only) in minibatches of ``batch_size``
    (``None``: :func:`default_batch_size`) with the mean squared error between the output and
    the ``target`` kind of :func:`dsp_helpers.target_magnitude`, in units of
    :func:`typical_magnitude` of the noisy input squared (so a quiet recording trains as a loud
    one does; in raw units its tiny gradients would meet Adam's epsilon), Adam (with decoupled
    ``weight_decay`` if it is positive), and a learning rate that decays from ``learning_rate``
    to 0 along a half cosine over ``epochs`` (``None``: :func:`default_epochs`). With a
    validation part, training stops early after ``patience`` epochs without improvement of the
    validation loss and the best weights are restored; with ``validation="none"`` it runs the
    whole budget and keeps the last weights. Seeded: a rerun on one machine gives the same
    numbers.
    """
    clean = np.asarray(clean, dtype=np.float32)
    dirty = np.asarray(dirty, dtype=np.float32)
    if clean.shape != dirty.shape or clean.ndim != 1:
        raise ValueError(f"training pair must be two 1-D signals of equal length, got "
                         f"{clean.shape} and {dirty.shape}")
    keras.utils.set_random_seed(seed)
    frames = context_frames(model)
    epochs = default_epochs(model) if epochs is None else epochs
    batch_size = default_batch_size(model) if batch_size is None else batch_size
    ranges = validation_ranges(len(clean), validation, validation_fraction, validation_blocks)
    (train_clean, train_dirty), (held_clean, held_dirty) = split_for_validation(
        (clean, dirty), ranges)
    training_magnitude = dsp.stft_frames(train_dirty)[0]
    _adapt_input_compression(model, training_magnitude)
    padding = silence_level(model)
    examples = RemixedEpochs(train_clean, train_dirty - train_clean, frames, augment, seed,
                             target, padding, noise_gain_db, speech_rate_spread, noise_reversal,
                             recorded, recorded_tail, epochs, past_dropout,
                             past_dropout_decay, past_dropout_hold, past_dropout_until,
                             past_dropout_partial)
    optimizer = keras.optimizers.Adam(learning_rate, weight_decay=weight_decay or None)
    model.compile(optimizer=optimizer, loss="mse",
                  loss_weights=[typical_magnitude(training_magnitude) ** -2],
                  steps_per_execution=STEPS_PER_EXECUTION)

    def cosine_decay(epoch, _):
        return learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))

    scheduler = keras.callbacks.LearningRateScheduler(cosine_decay)
    validation_data = None
    if ranges:
        validation_magnitude, validation_phase = dsp.stft_frames(held_dirty)
        validation_data = (
            as_model_input(dsp.frame_windows(validation_magnitude, frames, pad=frames > 1,
                                             silence_level=padding), frames),
            dsp.target_magnitude(*dsp.stft_frames(held_clean), validation_phase, target))
    record: dict[str, list[float]] = {}
    best_loss, best_weights, best_epoch = math.inf, None, 0
    start = time.perf_counter()
    for epoch in range(epochs):  # one fit per epoch: each epoch brings its own examples
        inputs, targets = examples.epoch()
        history = model.fit(inputs, targets, batch_size=batch_size, shuffle=False,
                            validation_data=validation_data, initial_epoch=epoch,
                            epochs=epoch + 1, callbacks=[scheduler], verbose=0)
        for key, values in history.history.items():
            record.setdefault(key, []).extend(float(value) for value in values)
        examples.next_epoch()
        if ranges:
            if record["val_loss"][-1] < best_loss:
                best_loss, best_weights, best_epoch = record["val_loss"][-1], \
                    model.get_weights(), epoch + 1
            elif epoch + 1 - best_epoch >= patience:
                break
    if ranges:
        model.set_weights(best_weights)
    seconds = time.perf_counter() - start
    epochs_run = len(record["loss"])
    return TrainingRun(record, seconds, epochs_run, best_epoch if ranges else epochs_run)


def save_denoiser(model: keras.Model, path) -> None:
    """Save a trained ``model`` for denoising to a ``.keras`` file, loadable with
    ``keras.saving.load_model``: its layers and weights (the input compression's floor and
    statistics included), without the optimizer. ``model.save`` would also store Adam's two
    running moments per weight, three times the weights' size, which denoising never reads."""
    keras.Model(model.inputs, model.outputs, name=model.name).save(path)


# --------------------------------------------------------------------------------------------
# Denoising
# --------------------------------------------------------------------------------------------

def denoise_magnitude(model: keras.Model, noisy_magnitude: np.ndarray, chunk_frames: int = 1024,
                      progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Clean magnitude estimate ``(frames, 513)`` for noisy spectra ``(frames, 513)``.

    Works through the frames ``chunk_frames`` at a time, so only one chunk of model inputs
    (at most ``chunk_frames x 20 x 513`` floats for the 2D CNN) exists at once. ``progress``,
    if given, is called after each chunk with ``(frames done, frames in all)``.
    """
    frames = context_frames(model)
    windows = dsp.frame_windows(noisy_magnitude, frames, pad=frames > 1,  # a view, no copy
                                silence_level=silence_level(model))
    estimate = np.empty(noisy_magnitude.shape, dtype=np.float32)
    for start in range(0, len(windows), chunk_frames):
        chunk = as_model_input(windows[start:start + chunk_frames], frames)
        estimate[start:start + chunk_frames] = model.predict_on_batch(chunk)
        if progress is not None:
            progress(min(start + chunk_frames, len(windows)), len(windows))
    return estimate


def denoise_waveform(model: keras.Model, noisy: np.ndarray, chunk_frames: int = 1024,
                     progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Denoise a ``(samples,)`` signal: STFT, clean-magnitude estimate, inverse STFT with the
    noisy phase. Returns ``(samples,)`` of the input's length."""
    noisy_magnitude, noisy_phase = dsp.stft_frames(noisy)
    estimate = denoise_magnitude(model, noisy_magnitude, chunk_frames, progress)
    return dsp.reconstruct(estimate, noisy_phase, len(noisy))


def denoise_in_segments(model: keras.Model, signal: np.ndarray, segment_samples: int,
                        progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Denoise a ``(samples,)`` signal segment by segment; equal to :func:`denoise_waveform` of
    the whole (up to float32 rounding, since the network sees other batch sizes), with memory
    that grows with the signal's length only by the signal itself.

    Each segment is denoised with enough of the signal around it that every STFT frame, and every
    window of frames the model sees, is the one the whole signal gives: ``frames x hop`` samples
    before (the 2D CNN looks 19 frames back), at least one STFT frame so that no piece is shorter
    than a frame, and one hop after. Only the segment's own samples are kept.
    ``segment_samples`` must be a multiple of the hop. ``progress(done, total)`` is called with
    samples after each segment.
    """
    if segment_samples <= 0 or segment_samples % dsp.HOP_LENGTH:
        raise ValueError(f"segment_samples must be a positive multiple of {dsp.HOP_LENGTH}, "
                         f"got {segment_samples}")
    before = max(context_frames(model) * dsp.HOP_LENGTH, dsp.N_FFT)
    after = dsp.HOP_LENGTH
    denoised = np.empty_like(signal)
    for start in range(0, len(signal), segment_samples):
        stop = min(start + segment_samples, len(signal))
        first = max(start - before, 0)
        piece = denoise_waveform(model, signal[first:stop + after])
        denoised[start:stop] = piece[start - first:stop - first]
        if progress is not None:
            progress(stop, len(signal))
    return denoised
