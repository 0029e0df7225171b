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
                  seed: int, past_frames: bool = True) -> keras.Model:
    """What every network here shares: (for a window of frames without ``past_frames``,
    :class:`CurrentFrameRepeated`) → log → per-bin standardisation → ``hidden_layers`` →
    flatten → ``Dense(513, sigmoid)`` gain × current noisy frame."""
    keras.utils.set_random_seed(seed)  # the initial weights
    dims = len(input_shape)
    noisy = keras.Input(shape=tuple(input_shape) + (1,), name="noisy_magnitude")
    features = noisy if past_frames else CurrentFrameRepeated(name="current_frame_only")(noisy)
    features = LogMagnitude(name="log_magnitude")(features)
    features = keras.layers.Normalization(axis=dims, name="standardise_bins")(features)
    features = keras.layers.Flatten(name="flatten")(hidden_layers(features))
    gain = keras.layers.Dense(dsp.N_BINS, activation="sigmoid", name="dense_gain")(features)
    if dims == 2:  # keep only the last (current) frame of the image
        current = keras.layers.Cropping2D(((input_shape[0] - 1, 0), (0, 0)),
                                          name="current_frame")(noisy)
    else:
        current = noisy
    current = keras.layers.Reshape((dsp.N_BINS,), name="current_spectrum")(current)
    clean_estimate = keras.layers.Multiply(name="clean_magnitude")([gain, current])
    return keras.Model(noisy, clean_estimate, name=name)


def _conv_network(input_shape: tuple[int, ...], blocks, name: str, seed: int,
                  past_frames: bool = True) -> keras.Model:
    """A :func:`_gain_network` whose hidden layers are valid, strided convolutions, each followed
    by batch normalisation (faster, steadier training) and a ReLU."""
    blocks = list(blocks)
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

    model = _gain_network(input_shape, convolutions, name, seed, past_frames)
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


def build_cnn1d(blocks=DEFAULT_CNN1D_BLOCKS, seed: int = 0) -> keras.Model:
    """The 1D CNN of Problem 1: input ``(513, 1)``, output the clean magnitude ``(B, 513)``.

    ``blocks`` lists the convolutions along frequency (K kernels of size D, stride, pool);
    ``seed`` fixes the initial weights.
    """
    return _conv_network((dsp.N_BINS,), blocks, "cnn1d", seed)


def build_cnn2d(blocks=DEFAULT_CNN2D_BLOCKS, window: int = dsp.WINDOW_FRAMES,
                seed: int = 0, past_frames: bool = True) -> keras.Model:
    """The 2D CNN of Problem 2: input ``(window, 513, 1)`` (the ``window`` latest noisy spectra),
    output the clean magnitude of the last frame ``(B, 513)``.

    Without ``past_frames`` the network sees the current frame ``window`` times instead
    (:class:`CurrentFrameRepeated`): the same layers and weights, no temporal context.
    """
    return _conv_network((window, dsp.N_BINS), blocks, "cnn2d", seed, past_frames)


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


def build_fc(hidden_units=(1024, 1024), seed: int = 0) -> keras.Model:
    """Homework 1's fully connected network, as a baseline for the CNNs: one spectrum
    ``(513, 1)`` in, the same input compression and gain output as :func:`build_cnn1d`, with
    ``Dense`` ReLU layers of ``hidden_units`` instead of convolutions."""

    def dense_layers(features):
        features = keras.layers.Flatten(name="spectrum")(features)
        for index, units in enumerate(hidden_units, start=1):
            features = keras.layers.Dense(units, activation="relu", name=f"dense{index}")(features)
        return features

    return _gain_network((dsp.N_BINS,), dense_layers, "fc", seed)


@dataclass(frozen=True)
class Recipe:
    """How :func:`train_denoiser` trains a network; every choice here won its cross-validation
    (``benchmarks/README.md``).

    ``epochs``: the budget, along which Adam's learning rate decays from ``learning_rate`` to 0
    on a half cosine. ``batch_size``: examples per minibatch. ``past_dropout``: the share of a
    window network's training images stripped of their past frames (each replaced by the
    current frame) in the first epoch, falling linearly to none in the last; a network that
    sees one frame has no past, and ignores it.
    """

    epochs: int
    batch_size: int = 32
    learning_rate: float = 2e-3
    past_dropout: float = 0.0

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"a recipe needs at least one epoch and one example per minibatch, "
                             f"got epochs={self.epochs}, batch_size={self.batch_size}")
        if not self.learning_rate > 0.0:
            raise ValueError(f"the learning rate must be positive, got {self.learning_rate}")
        if not 0.0 <= self.past_dropout <= 1.0:
            raise ValueError(f"past_dropout must be in [0, 1], got {self.past_dropout}")


CNN1D_RECIPE = Recipe(epochs=120)
CNN2D_RECIPE = Recipe(epochs=200, past_dropout=1.0)
FC_RECIPE = Recipe(epochs=120, batch_size=64)  # with the CNNs' 32 the FC network scored lower
RECIPES = {"cnn1d": CNN1D_RECIPE, "cnn2d": CNN2D_RECIPE, "fc": FC_RECIPE}


def recipe_for(model: keras.Model) -> Recipe:
    """The adopted :class:`Recipe` of ``model``, by its name (``cnn1d``, ``cnn2d`` or ``fc``)."""
    if model.name not in RECIPES:
        raise ValueError(f"no recipe for a model named {model.name!r}; pass one of "
                         f"{sorted(RECIPES)} or a Recipe")
    return RECIPES[model.name]


def default_epochs(model: keras.Model, scale: float = 1.0) -> int:
    """``scale`` times the epoch budget of :func:`recipe_for` ``model`` (rounded, at least 1; the
    notebook's ``EPOCH_SCALE``)."""
    if not scale > 0.0:
        raise ValueError(f"the epoch scale must be positive, got {scale}")
    return max(1, round(scale * recipe_for(model).epochs))


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

class RemixedEpochs:
    """The training examples of each epoch, ``(noisy input, target spectrum)`` pairs drawn from
    one training pair, one per frame, in a new random order every epoch.

    Inputs are :func:`as_model_input` windows of ``frames`` consecutive noisy spectra (with
    ``frames - 1`` silent frames below ``silence_level`` prepended), targets the phase-sensitive
    magnitude (:func:`dsp_helpers.target_magnitude`) of each window's last frame, ``(B, 513)``.
    Even epochs (0, 2, 4, ...) use the recorded mixture ``clean + noise``; odd epochs re-mix the
    clean speech with the noise circularly shifted by a random offset: the same speech under new
    noise placements. With ``past_dropout`` (past-frame dropout), each window of epoch ``e`` is
    replaced, with probability ``past_dropout * (1 - e / (epochs - 1))``, by its last frame
    repeated ``frames`` times, so that the network also learns to denoise a frame without its
    past; a window of one frame has no past, so it does nothing then.

    :meth:`epoch` materialises the whole epoch (for the 2D CNN, 20 × 513 float32 values per
    frame: about 100 MB for a minute of audio), so that Keras batches it from arrays rather
    than through a Python generator (``python -m benchmarks.feeding`` times both).
    """

    def __init__(self, clean: np.ndarray, noise: np.ndarray, frames: int, seed: int,
                 silence_level: float = dsp.SILENCE_MAGNITUDE, epochs: int = 1,
                 past_dropout: float = 0.0):
        if not 0.0 <= past_dropout <= 1.0:
            raise ValueError(f"past_dropout must be in [0, 1], got {past_dropout}")
        self.past_dropout = past_dropout if frames > 1 else 0.0
        self.decay_epochs = max(epochs - 1, 1)
        self.clean, self.noise, self.frames = clean, noise, frames
        self.silence_level = silence_level
        self.rng = np.random.default_rng(seed)
        self.clean_magnitude, self.clean_phase = dsp.stft_frames(clean)
        self.count = len(self.clean_magnitude)
        self.number = 0
        self.recorded = self._mixture(shift=0)
        self._use(self.recorded)

    def _mixture(self, shift: int) -> tuple[np.ndarray, np.ndarray]:
        """Padded noisy input ``(frames - 1 + count, 513)`` and target ``(count, 513)`` of the
        clean speech plus the noise circularly shifted by ``shift`` samples."""
        noisy_magnitude, noisy_phase = dsp.stft_frames(self.clean + np.roll(self.noise, shift))
        silence = dsp.silence_frames(self.frames - 1, int(self.rng.integers(2**31)),
                                     self.silence_level)
        target = dsp.target_magnitude(self.clean_magnitude, self.clean_phase, noisy_phase,
                                      "phase_sensitive")
        return np.concatenate([silence, noisy_magnitude]), target

    def _use(self, mixture: tuple[np.ndarray, np.ndarray]) -> None:
        self.padded_input, self.target = mixture
        self.order = self.rng.permutation(self.count)

    def epoch(self) -> tuple[np.ndarray, np.ndarray]:
        """The current epoch's inputs, ``(count, 513, 1)`` or ``(count, frames, 513, 1)``, and
        targets ``(count, 513)``, in the epoch's random order."""
        source = np.tile(np.arange(self.frames), (self.count, 1))  # frame j of each window
        if self.past_dropout:
            rate = self.past_dropout * max(0.0, 1.0 - self.number / self.decay_epochs)
            dropped = self.rng.random(self.count) < rate
            source[dropped] = self.frames - 1  # every frame of a dropped window is its last
        windows = self.padded_input[self.order[:, np.newaxis] + source]  # one gather, no copy back
        return as_model_input(windows, self.frames), self.target[self.order]

    def next_epoch(self) -> None:
        """Move on to the next epoch: a re-mix after a recorded epoch and the recorded mixture
        after a re-mix, in a new order."""
        self.number += 1
        if self.number % 2 == 1:
            self._use(self._mixture(shift=int(self.rng.integers(len(self.noise)))))
        else:
            self._use(self.recorded)


@dataclass
class TrainingRun:
    """What :func:`train_denoiser` measured: per-epoch ``history`` (``loss`` and
    ``learning_rate``), wall-clock ``seconds`` and the epochs run; the last epoch's weights are
    kept."""

    history: dict[str, list[float]]
    seconds: float
    epochs: int

    def summary(self) -> str:
        return f"{self.epochs} epochs in {self.seconds:.1f} s; kept the last weights"


def _adapt_input_compression(model: keras.Model, noisy_magnitude: np.ndarray) -> None:
    """Fit the model's log floor and per-bin standardisation to noisy training spectra
    ``(frames, 513)``."""
    log_magnitude = model.get_layer("log_magnitude")
    log_magnitude.adapt(noisy_magnitude)
    log_spectra = keras.ops.convert_to_numpy(log_magnitude(noisy_magnitude))
    shape = (-1, dsp.N_BINS, 1) if context_frames(model) == 1 else (-1, 1, dsp.N_BINS, 1)
    model.get_layer("standardise_bins").adapt(log_spectra.reshape(shape))


def train_denoiser(model: keras.Model, clean: np.ndarray, dirty: np.ndarray,
                   recipe: Recipe | None = None, *, seed: int = 0,
                   epochs: int | None = None) -> TrainingRun:
    """Train ``model`` (any network of this module) on a training pair of ``(samples,)`` signals
    with ``recipe`` (``None``: :func:`recipe_for` the model), for ``epochs`` instead of the
    recipe's budget if given.

    The examples are :class:`RemixedEpochs` of the pair; the loss is the mean squared error
    between the output and the phase-sensitive magnitude, in units of :func:`typical_magnitude`
    of the noisy input squared (so a quiet recording trains as a loud one does; in raw units its
    tiny gradients would meet Adam's epsilon). Adam's learning rate decays from the recipe's to 0
    along a half cosine over the budget; the whole budget runs and the last weights are kept.
    Seeded: a rerun on one machine gives the same numbers.
    """
    clean = np.asarray(clean, dtype=np.float32)
    dirty = np.asarray(dirty, dtype=np.float32)
    if clean.shape != dirty.shape or clean.ndim != 1:
        raise ValueError(f"training pair must be two 1-D signals of equal length, got "
                         f"{clean.shape} and {dirty.shape}")
    recipe = recipe_for(model) if recipe is None else recipe
    if epochs is not None:
        recipe = replace(recipe, epochs=epochs)
    keras.utils.set_random_seed(seed)
    training_magnitude = dsp.stft_frames(dirty)[0]
    _adapt_input_compression(model, training_magnitude)
    examples = RemixedEpochs(clean, dirty - clean, context_frames(model), seed,
                             silence_level(model), recipe.epochs, recipe.past_dropout)
    model.compile(optimizer=keras.optimizers.Adam(recipe.learning_rate), loss="mse",
                  loss_weights=[typical_magnitude(training_magnitude) ** -2],
                  steps_per_execution=STEPS_PER_EXECUTION)

    def cosine_decay(epoch, _):
        return recipe.learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / recipe.epochs))

    scheduler = keras.callbacks.LearningRateScheduler(cosine_decay)
    record: dict[str, list[float]] = {}
    start = time.perf_counter()
    for epoch in range(recipe.epochs):  # one fit per epoch: each epoch brings its own examples
        inputs, targets = examples.epoch()
        history = model.fit(inputs, targets, batch_size=recipe.batch_size, shuffle=False,
                            initial_epoch=epoch, epochs=epoch + 1, callbacks=[scheduler],
                            verbose=0)
        for key, values in history.history.items():
            record.setdefault(key, []).extend(float(value) for value in values)
        examples.next_epoch()
    return TrainingRun(record, time.perf_counter() - start, recipe.epochs)


def save_denoiser(model: keras.Model, path) -> None:
    """Save a trained ``model`` for denoising to a ``.keras`` file, loadable with
    ``keras.saving.load_model``: its layers and weights (the input compression's floor and
    statistics included), without the optimizer. ``model.save`` would also store Adam's two
    running moments per weight, three times the weights' size, which denoising never reads.
    Written atomically (:func:`dsp_helpers.replaced_atomically`): a failed save leaves an
    existing file as it was."""
    with dsp.replaced_atomically(path) as temporary:  # named *.keras, as Keras requires
        keras.Model(model.inputs, model.outputs, name=model.name).save(temporary)


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
