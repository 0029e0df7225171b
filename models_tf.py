"""Keras 1D and 2D CNN denoisers of STFT magnitudes, their training and their use: from one
noisy spectrum ``(513, 1)`` (1D CNN) or the 20 latest ``(20, 513, 1)`` (2D CNN), a sigmoid gain
per bin times the current noisy spectrum, the clean magnitude estimate ``(B, 513)``."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

import dsp_helpers as dsp


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# TensorFlow's x86 build runs oneDNN's kernels only on CPUs with AVX-512 and the like, Eigen's
# elsewhere; on an AVX2 CPU oneDNN's train these networks 1.3 to 1.8 times as fast (other float
# rounding; cross-validated: benchmarks/README.md, "Training speed, measured"). TensorFlow
# reads it once, at its import: set TF_ENABLE_ONEDNN_OPTS=0 before importing this module to
# keep Eigen's.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
with dsp.native_output_silenced((2,)):  # TensorFlow's C++ start-up lines ignore the log level
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")

FLOOR_BELOW_MEDIAN_DB = 40.0  # the log's floor, relative to the median noisy training magnitude
SILENCE_BELOW_FLOOR_DB = 20.0  # the 2D CNN's silent padding frames, relative to the log's floor
PREDICT_FRAMES = 1024  # frames denoised per call into the network


# --- Layers and dimension arithmetic ---

def typical_magnitude(magnitude: np.ndarray) -> float:
    """The median of STFT magnitudes; raises ``ValueError`` if it is not positive (silence)."""
    median = float(np.median(magnitude))
    if not median > 0.0:
        raise ValueError(f"the median training magnitude is {median:g}: is the training "
                         f"recording silent?")
    return median


@keras.saving.register_keras_serializable(package="denoising")
class LogMagnitude(keras.layers.Layer):
    """``log(magnitude + floor)``; :meth:`adapt` sets ``floor`` relative to the training median."""

    def build(self, input_shape):
        self.floor = self.add_weight(shape=(), name="floor", trainable=False,
                                     initializer=keras.initializers.Constant(1e-3))

    def adapt(self, magnitude: np.ndarray) -> None:
        """Set the floor from training magnitudes (any shape, non-negative)."""
        if not self.built:
            self.build(np.shape(magnitude))
        self.floor.assign(typical_magnitude(magnitude) * 10.0 ** (-FLOOR_BELOW_MEDIAN_DB / 20.0))

    def call(self, magnitude):
        return keras.ops.log(magnitude + self.floor)


@keras.saving.register_keras_serializable(package="denoising")
class CurrentFrameRepeated(keras.layers.Layer):
    """Images ``(B, frames, 513, 1)`` with every frame replaced by the last (current) one."""

    def call(self, images):
        return keras.ops.repeat(images[:, -1:], images.shape[1], axis=1)


@keras.saving.register_keras_serializable(package="denoising")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """``BatchNormalization`` training with TensorFlow's faster fused kernel (same results)."""

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
    """A valid convolution, ReLU and max-pooling; sizes are ints or ``(frames, bins)`` pairs."""

    filters: int
    kernel: int | tuple[int, int]
    stride: int | tuple[int, int] = 1
    pool: int | tuple[int, int] = 1


def valid_output_length(length: int, size: int, stride: int = 1) -> int:
    """Length after a valid convolution or pooling: ``floor((length - size) / stride) + 1``."""
    if size > length:
        raise ValueError(f"a window of {size} does not fit in a length of {length}")
    return (length - size) // stride + 1


def _as_tuple(value, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


def dimension_table(input_shape: tuple[int, ...], blocks: list[ConvBlock]) -> list[dict]:
    """Per layer, by the handout's arithmetic: ``layer``, ``kernel``, ``stride``, ``shape`` and
    ``reach`` (per axis, the last input index that its last position sees).
    Notebook: §4.1, §5.2."""
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
    for layer, size in (("flatten", flat), ("dense (gain)", dsp.N_BINS)):
        rows.append({"layer": layer, "kernel": "", "stride": "", "shape": (size,), "reach": ""})
    return rows


# --- The two networks ---

DEFAULT_CNN1D_BLOCKS = (ConvBlock(32, 9, 2), ConvBlock(64, 7, 2), ConvBlock(64, 5, 2))
# The 20 frames merged two at a time, then five rows at a time, then the last two.
DEFAULT_CNN2D_BLOCKS = (ConvBlock(16, (2, 9), (2, 2)), ConvBlock(32, (5, 7), (5, 2)),
                        ConvBlock(32, (2, 5), (1, 2)))


def _gain_network(input_shape: tuple[int, ...], hidden_layers: Callable, name: str,
                  seed: int, past_frames: bool = True) -> keras.Model:
    """Log → standardised bins → ``hidden_layers`` → sigmoid gain × current noisy frame."""
    keras.utils.set_random_seed(seed)  # the initial weights
    dims = len(input_shape)
    noisy = keras.Input(shape=tuple(input_shape) + (1,), name="noisy_magnitude")
    features = noisy if past_frames else CurrentFrameRepeated(name="current_frame_only")(noisy)
    features = LogMagnitude(name="log_magnitude")(features)
    features = keras.layers.Normalization(axis=dims, name="standardise_bins")(features)
    features = keras.layers.Flatten(name="flatten")(hidden_layers(features))
    gain = keras.layers.Dense(dsp.N_BINS, activation="sigmoid", name="dense_gain")(features)
    current = noisy
    if dims == 2:  # keep only the last (current) frame of the image
        current = keras.layers.Cropping2D(((input_shape[0] - 1, 0), (0, 0)),
                                          name="current_frame")(noisy)
    current = keras.layers.Reshape((dsp.N_BINS,), name="current_spectrum")(current)
    clean_estimate = keras.layers.Multiply(name="clean_magnitude")([gain, current])
    return keras.Model(noisy, clean_estimate, name=name)


def _conv_network(input_shape: tuple[int, ...], blocks, name: str, seed: int,
                  past_frames: bool = True) -> keras.Model:
    """A :func:`_gain_network` of valid strided convolutions, batch normalisation and ReLUs."""
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
    """Check Keras' shapes against :func:`dimension_table`; the 2D CNN must see its last frame."""
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
    """The 1D CNN of Problem 1, ``(513, 1)`` to ``(B, 513)``; ``seed`` fixes the weights.
    Notebook: §4.1."""
    return _conv_network((dsp.N_BINS,), blocks, "cnn1d", seed)


def build_cnn2d(blocks=DEFAULT_CNN2D_BLOCKS, window: int = dsp.WINDOW_FRAMES,
                seed: int = 0, past_frames: bool = True) -> keras.Model:
    """The 2D CNN of Problem 2, ``(window, 513, 1)`` to ``(B, 513)``; without ``past_frames``
    it sees the current frame ``window`` times (:class:`CurrentFrameRepeated`). Notebook: §5.2."""
    return _conv_network((window, dsp.N_BINS), blocks, "cnn2d", seed, past_frames)


def past_frames_removed(model: keras.Model) -> keras.Model:
    """The 2D CNN ``model`` (of the default blocks) seeing only the current frame;
    ``ValueError`` if it cannot. Notebook: §7.4."""
    frames = context_frames(model)
    if frames == 1:
        raise ValueError(f"{model.name} sees one frame: it has no past frames to remove")
    copy = build_cnn2d(window=frames, past_frames=False)
    try:
        copy.set_weights(model.get_weights())
    except ValueError as error:
        raise ValueError(f"{model.name} was not built from these blocks: {error}") from None
    return copy


def build_fc(hidden_units=(1024, 1024), seed: int = 0) -> keras.Model:
    """Homework 1's fully connected network: :func:`build_cnn1d` with ``Dense`` ReLU layers.
    Notebook: §7.1."""

    def dense_layers(features):
        features = keras.layers.Flatten(name="spectrum")(features)
        for index, units in enumerate(hidden_units, start=1):
            features = keras.layers.Dense(units, activation="relu", name=f"dense{index}")(features)
        return features

    return _gain_network((dsp.N_BINS,), dense_layers, "fc", seed)


@dataclass(frozen=True)
class Recipe:
    """How :func:`train_denoiser` trains: Adam's rate falls on a half cosine over ``epochs``, and
    the share of 2D-CNN windows stripped of their past from ``past_dropout`` to none."""

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


# The budgets cross-validation on the course pair chose (benchmarks/README.md); the FC baseline
# takes the 1D CNN's.
CNN1D_RECIPE = Recipe(epochs=42)
CNN2D_RECIPE = Recipe(epochs=70, past_dropout=1.0)
FC_RECIPE = Recipe(epochs=42, batch_size=64)  # with the CNNs' 32 the FC network scored lower
RECIPES = {"cnn1d": CNN1D_RECIPE, "cnn2d": CNN2D_RECIPE, "fc": FC_RECIPE}


def recipe_for(model: keras.Model) -> Recipe:
    """The adopted :class:`Recipe` of ``model``, by its name (``cnn1d``, ``cnn2d`` or ``fc``)."""
    if model.name not in RECIPES:
        raise ValueError(f"no recipe for a model named {model.name!r}; pass one of "
                         f"{sorted(RECIPES)} or a Recipe")
    return RECIPES[model.name]


def default_epochs(model: keras.Model, scale: float = 1.0) -> int:
    """``scale`` times :func:`recipe_for` ``model``'s epochs, rounded, at least 1.
    Notebook: §4.3, §5.3, §7.1."""
    if not scale > 0.0:
        raise ValueError(f"the epoch scale must be positive, got {scale}")
    return max(1, round(scale * recipe_for(model).epochs))


def padding_level(noisy_magnitude: np.ndarray) -> float:
    """The level of the silent frames a network trained on ``noisy_magnitude`` (any shape) pads
    its first images with: :data:`SILENCE_BELOW_FLOOR_DB` under the log floor that training
    sets, so :func:`silence_level` of the trained model. Notebook: §5.1."""
    below_median_db = FLOOR_BELOW_MEDIAN_DB + SILENCE_BELOW_FLOOR_DB
    return typical_magnitude(noisy_magnitude) * 10.0 ** (-below_median_db / 20.0)


def silence_level(model: keras.Model) -> float:
    """The padding frames' level, :data:`SILENCE_BELOW_FLOOR_DB` under the model's log floor."""
    floor = float(keras.ops.convert_to_numpy(model.get_layer("log_magnitude").floor))
    return floor * 10.0 ** (-SILENCE_BELOW_FLOOR_DB / 20.0)


def context_frames(model: keras.Model) -> int:
    """How many consecutive frames one input of ``model`` holds: 1 (1D CNN) or 20 (2D CNN)."""
    shape = model.input_shape
    return 1 if len(shape) == 3 else shape[1]


def as_model_input(windows: np.ndarray, frames: int) -> np.ndarray:
    """Windows ``(B, frames, 513)`` as model input, ``(B, 513, 1)`` or ``(B, frames, 513, 1)``."""
    if frames == 1:
        return windows.reshape(len(windows), dsp.N_BINS, 1)
    return windows[..., np.newaxis]


# --- Training ---

class RemixedEpochs:
    """Each epoch's windows and phase-sensitive targets, shuffled; odd epochs re-mix the noise
    shifted at random, and ``past_dropout`` strips windows of their past, less every epoch."""

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
        """Padded noisy input and target of the speech plus the noise shifted by ``shift``."""
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
        """The current epoch's model inputs and targets ``(count, 513)``."""
        source = np.tile(np.arange(self.frames), (self.count, 1))  # frame j of each window
        if self.past_dropout:
            rate = self.past_dropout * max(0.0, 1.0 - self.number / self.decay_epochs)
            dropped = self.rng.random(self.count) < rate
            source[dropped] = self.frames - 1  # every frame of a dropped window is its last
        windows = self.padded_input[self.order[:, np.newaxis] + source]  # one gather, no copy back
        return as_model_input(windows, self.frames), self.target[self.order]

    def next_epoch(self) -> None:
        """Move on to the next epoch, alternating a re-mix and the recorded mixture."""
        self.number += 1
        if self.number % 2 == 1:
            self._use(self._mixture(shift=int(self.rng.integers(len(self.noise)))))
        else:
            self._use(self.recorded)


@dataclass
class TrainingRun:
    """Per-epoch ``history``, wall-clock ``seconds``, epochs and each epoch's seconds of a
    :func:`train_denoiser` run, and ``budget_epochs``, its recipe's epochs (more than
    ``epochs`` where ``epochs=`` trained fewer)."""

    history: dict[str, list[float]]
    seconds: float
    epochs: int
    epoch_seconds: list[float]
    budget_epochs: int

    def seconds_per_epoch(self) -> float:
        """The median of the epochs after the first (which traces the TensorFlow function);
        the first epoch's seconds if it was the only one."""
        return float(np.median(self.epoch_seconds[1:] or self.epoch_seconds))

    def estimated_seconds(self, epochs: int) -> float:
        """Seconds ``epochs`` epochs would take at this run's pace: its first epoch, then
        :meth:`seconds_per_epoch` each (the time between epochs, a few ms, left out)."""
        return self.epoch_seconds[0] + (epochs - 1) * self.seconds_per_epoch()

    def summary(self) -> str:
        """The epochs and seconds trained and, where they are fewer than the recipe's, what its
        whole budget would take at this pace. Notebook: §4.3, §5.3, §7.1."""
        text = f"{self.epochs} epochs in {self.seconds:.1f} s"
        if self.budget_epochs > self.epochs:
            text += (f" ({self.seconds_per_epoch():.2f} s per epoch after the first); the "
                     f"recipe's {self.budget_epochs} would take about "
                     f"{self.estimated_seconds(self.budget_epochs):.0f} s here")
        return text + "; kept the last weights"


@keras.saving.register_keras_serializable(package="denoising")
class FusedAdam(keras.optimizers.Adam):
    """Keras' ``Adam``, each variable updated by TensorFlow's single fused kernel
    (``ResourceApplyAdam``: the same formula in one pass over the weights, not ten; results
    differ from ``Adam``'s by float rounding). Other backends, or ``amsgrad``, use ``Adam``'s."""

    def update_step(self, gradient, variable, learning_rate):
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle, beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype), beta1=beta_1,
            beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))


class _EpochProgress:
    """One line that advances once per epoch with the loss and the time so far:
    ``keras.utils.Progbar`` in a terminal; in a Jupyter kernel a text display updated in place,
    so that a saved notebook keeps the last line only."""

    def __init__(self, epochs: int):
        self.epochs, self.started = epochs, time.perf_counter()
        self.bar = self.line = None
        ipython = sys.modules.get("IPython")
        if getattr(ipython and ipython.get_ipython(), "kernel", None) is not None:  # Jupyter
            from IPython.display import Pretty, display

            self.pretty = Pretty
            self.line = display(Pretty(f"epoch 0/{epochs}"), display_id=True)
        else:
            self.bar = keras.utils.Progbar(epochs, interval=0.0, unit_name="epoch")

    def update(self, epoch: int, loss: float) -> None:
        """After ``epoch`` (counted from 1) with training loss ``loss``."""
        if self.bar is not None:
            self.bar.update(epoch, [("loss", loss)])
            return
        seconds = time.perf_counter() - self.started
        self.line.update(self.pretty(f"epoch {epoch}/{self.epochs}: loss {loss:.4f}, "
                                     f"{seconds:.0f} s ({seconds / epoch:.2f} s per epoch)"))


def _epoch_trainer(model: keras.Model, batch_size: int) -> Callable:
    """``train(inputs, targets)``: one epoch of ``model.train_step`` (the step ``fit`` runs) on
    consecutive minibatches of ``batch_size``, the last one smaller, all in one TensorFlow call."""

    @tf.function(reduce_retracing=True)
    def train(inputs, targets):
        for start in tf.range(0, tf.shape(inputs)[0], batch_size):
            model.train_step((inputs[start:start + batch_size], targets[start:start + batch_size]))

    return train


def _adapt_input_compression(model: keras.Model, noisy_magnitude: np.ndarray) -> None:
    """Fit the log floor and per-bin standardisation to noisy spectra ``(frames, 513)``."""
    log_magnitude = model.get_layer("log_magnitude")
    log_magnitude.adapt(noisy_magnitude)
    log_spectra = keras.ops.convert_to_numpy(log_magnitude(noisy_magnitude))
    shape = (-1, dsp.N_BINS, 1) if context_frames(model) == 1 else (-1, 1, dsp.N_BINS, 1)
    model.get_layer("standardise_bins").adapt(log_spectra.reshape(shape))


def train_denoiser(model: keras.Model, clean: np.ndarray, dirty: np.ndarray,
                   recipe: Recipe | None = None, *, seed: int = 0, epochs: int | None = None,
                   progress: bool = False) -> TrainingRun:
    """Train ``model`` on a pair of ``(samples,)`` signals with ``recipe`` (default: its own),
    seeded; the squared error is in units of :func:`typical_magnitude` squared. Each epoch
    (drawn by :class:`RemixedEpochs`) is one call of Keras' own ``train_step`` loop: the
    weights ``fit`` would give, without its per-call overhead. With ``progress``, one progress
    line advances once per epoch (:class:`_EpochProgress`). Notebook: §4.3, §5.3, §7.1."""
    clean = np.asarray(clean, dtype=np.float32)
    dirty = np.asarray(dirty, dtype=np.float32)
    if clean.shape != dirty.shape or clean.ndim != 1:
        raise ValueError(f"training pair must be two 1-D signals of equal length, got "
                         f"{clean.shape} and {dirty.shape}")
    recipe = recipe_for(model) if recipe is None else recipe
    budget_epochs = recipe.epochs
    if epochs is not None:
        recipe = replace(recipe, epochs=epochs)
    keras.utils.set_random_seed(seed)
    training_magnitude = dsp.stft_frames(dirty)[0]
    _adapt_input_compression(model, training_magnitude)
    examples = RemixedEpochs(clean, dirty - clean, context_frames(model), seed,
                             silence_level(model), recipe.epochs, recipe.past_dropout)
    model.compile(optimizer=FusedAdam(recipe.learning_rate), loss="mse",
                  loss_weights=[typical_magnitude(training_magnitude) ** -2])
    model.optimizer.build(model.trainable_variables)
    train_epoch = _epoch_trainer(model, recipe.batch_size)
    shown = _EpochProgress(recipe.epochs) if progress else None
    history: dict[str, list[float]] = {"loss": [], "learning_rate": []}
    epoch_seconds = []
    start = time.perf_counter()
    for epoch in range(recipe.epochs):
        began = time.perf_counter()
        rate = recipe.learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / recipe.epochs))
        model.optimizer.learning_rate = rate  # a half cosine from the peak to 0
        model.reset_metrics()
        train_epoch(*examples.epoch())
        history["loss"].append(float(model.get_metrics_result()["loss"]))
        history["learning_rate"].append(rate)
        examples.next_epoch()
        epoch_seconds.append(time.perf_counter() - began)
        if shown is not None:
            shown.update(epoch + 1, history["loss"][-1])
    return TrainingRun(history, time.perf_counter() - start, recipe.epochs, epoch_seconds,
                       budget_epochs)


def save_denoiser(model: keras.Model, path) -> None:
    """Save ``model`` to a ``.keras`` file, atomically, without the optimizer's state.
    Notebook: §7.1."""
    with dsp.replaced_atomically(path) as temporary:  # named *.keras, as Keras requires
        keras.Model(model.inputs, model.outputs, name=model.name).save(temporary)


# --- Denoising ---

def denoise_magnitude(model: keras.Model, noisy_magnitude: np.ndarray) -> np.ndarray:
    """Clean magnitudes ``(frames, 513)`` of noisy ones, :data:`PREDICT_FRAMES` at a time."""
    frames = context_frames(model)
    windows = dsp.frame_windows(noisy_magnitude, frames, pad=frames > 1,  # a view, no copy
                                silence_level=silence_level(model))
    estimate = np.empty(noisy_magnitude.shape, dtype=np.float32)
    for start in range(0, len(windows), PREDICT_FRAMES):
        chunk = as_model_input(windows[start:start + PREDICT_FRAMES], frames)
        estimate[start:start + PREDICT_FRAMES] = model.predict_on_batch(chunk)
    return estimate


def denoise_waveform(model: keras.Model, noisy: np.ndarray) -> np.ndarray:
    """Denoise a ``(samples,)`` signal, keeping the noisy phase; same length.
    Notebook: §4.4, §5.4, §7.1, §7.4."""
    noisy_magnitude, noisy_phase = dsp.stft_frames(noisy)
    estimate = denoise_magnitude(model, noisy_magnitude)
    return dsp.reconstruct(estimate, noisy_phase, len(noisy))


def denoise_in_segments(model: keras.Model, signal: np.ndarray, segment_samples: int,
                        progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """:func:`denoise_waveform` (to rounding) in segments of ``segment_samples``, with context;
    ``progress(samples done, total)`` after each."""
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
