"""How fast each CNN trains, against this machine's matmul peak, and where an epoch's time goes.

    python -m benchmarks.speed [--audio-dir audio] [--epochs 6] [--models cnn1d cnn2d]

Per network (``models_tf.build_cnn1d``, ``build_cnn2d``) trained by ``models_tf.train_denoiser``
(its recipe, ``--epochs`` epochs) on the training pair ``dsp_helpers.find_recordings`` finds:

* **seconds per epoch**: the median of the epochs after the first (which builds the graph);
* **achieved GFLOP/s**: the training FLOPs of one example times the examples of an epoch, over
  the seconds per epoch. :func:`forward_flops` counts them from the model's layers: a
  convolution's output positions × kernel size × input channels × filters × 2, a dense layer's
  inputs × units × 2 (a multiply and an add each; biases, batch normalisation, activations and
  pooling are left out). Training counts forward + backward as 3 × forward: the backward pass
  takes one product like the forward's for the input's gradient and one for the weights';
* **the matmul peak**: ``tf.linalg.matmul`` of two 2048 × 2048 float32 matrices (2 × 2048³
  FLOPs), best of :data:`REPEATS` calls in the same run, and the share of it achieved;
* **where an epoch's time goes**: (a) drawing its examples (``RemixedEpochs.epoch`` and
  ``next_epoch``, the mean over :data:`DRAWN_EPOCHS` epochs); (b) one training step (forward,
  backward and the optimizer: Keras' ``train_step``) on one minibatch, a ``tf.function``, times
  the minibatches of an epoch; (c) by layer with weights, its forward pass and its forward and
  backward pass (the gradients of its input and trainable weights; training never needs the
  first conv's input gradient) on its real input for one minibatch, each a ``tf.function``; (d)
  the rest: the epoch's seconds less (a) and (b). (b) and (c) are the best of :data:`REPEATS`
  calls less an empty ``tf.function`` call's time (printed), which the epoch's steps, all in one
  call, do not pay each.

Times are the CPU's (a GPU's calls may return before their work ends). Run
``python ../shared/tools/cpu-speed`` beside it, alone, for the machine's speed factor."""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

import dsp_helpers as dsp
import models_tf
import keras  # noqa: E402  (after models_tf, which quiets TensorFlow's start-up)
import tensorflow as tf  # noqa: E402

BUILDERS = {"cnn1d": models_tf.build_cnn1d, "cnn2d": models_tf.build_cnn2d}
REPEATS = 10  # a timing is the best of this many calls, after one that traces the function
DRAWN_EPOCHS = 4  # epochs whose drawing is timed
MATMUL_SIZE = 2048
COUNTED = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Dense)


def layer_flops(layer: keras.layers.Layer) -> int:
    """Forward FLOPs of ``layer`` for one example: output positions × kernel size × input
    channels × filters × 2 for a convolution, inputs × units × 2 for a dense layer, else 0."""
    if not isinstance(layer, COUNTED):
        return 0
    return 2 * math.prod(layer.output.shape[1:-1]) * math.prod(layer.kernel.shape)


def forward_flops(model: keras.Model) -> int:
    """Forward FLOPs of ``model`` for one example (training: 3 × this)."""
    return sum(layer_flops(layer) for layer in model.layers)


def best_seconds(function, *args) -> float:
    """The fastest of :data:`REPEATS` calls of ``function(*args)``, after one more."""
    function(*args)
    seconds = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function(*args)
        seconds.append(time.perf_counter() - start)
    return min(seconds)


def matmul_gflops() -> float:
    """GFLOP/s of ``tf.linalg.matmul`` on two :data:`MATMUL_SIZE`-square float32 matrices."""
    first, second = (tf.random.normal((MATMUL_SIZE, MATMUL_SIZE), seed=seed) for seed in (1, 2))
    return 2 * MATMUL_SIZE**3 / best_seconds(tf.function(tf.linalg.matmul), first, second) / 1e9


def drawn_epoch(model: keras.Model, clean: np.ndarray, dirty: np.ndarray,
                epochs: int) -> tuple[float, np.ndarray, np.ndarray]:
    """``(mean seconds, inputs, targets)`` of drawing :data:`DRAWN_EPOCHS` epochs as
    ``train_denoiser`` draws them for the trained ``model``; the last epoch's examples."""
    examples = models_tf.RemixedEpochs(
        clean, dirty - clean, models_tf.context_frames(model), 0, models_tf.silence_level(model),
        epochs, models_tf.recipe_for(model).past_dropout)
    seconds = []
    for _ in range(DRAWN_EPOCHS):
        start = time.perf_counter()
        inputs, targets = examples.epoch()
        examples.next_epoch()
        seconds.append(time.perf_counter() - start)
    return statistics.mean(seconds), inputs, targets


def _forward_and_backward(layer: keras.layers.Layer):
    """A ``tf.function`` of ``(input, output gradient)``: ``layer``'s forward pass and the
    gradients of its input and trainable weights."""

    @tf.function
    def both(inputs, upstream):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs, training=True)
        return tape.gradient(outputs, [inputs, *layer.trainable_weights],
                             output_gradients=upstream)

    return both


def layer_seconds(model: keras.Model, batch: tf.Tensor, overhead: float) -> list[tuple]:
    """``(name, forward FLOPs, forward s, forward and backward s)`` of each layer with weights,
    on its input from the minibatch ``batch``, the seconds less ``overhead``."""
    layers = [layer for layer in model.layers if layer.trainable_weights]
    inputs = keras.Model(model.inputs, [layer.input for layer in layers])(batch)
    rows = []
    for layer, layer_input in zip(layers, inputs):
        upstream = tf.random.normal(tf.shape(layer(layer_input, training=True)), seed=3)
        forward = best_seconds(tf.function(lambda x, f=layer: f(x, training=True)), layer_input)
        both = best_seconds(_forward_and_backward(layer), layer_input, upstream)
        rows.append((layer.name, layer_flops(layer) * len(batch), forward - overhead,
                     both - overhead))
    return rows


def _layer_lines(rows: list[tuple], step: float) -> list[str]:
    """The by-layer table: ms and GFLOP/s (3 × the forward FLOPs) per layer, their sum and the
    whole training step."""
    lines = [f"    {'layer':<14}{'forward ms':>11}{'fwd+bwd ms':>11}{'fwd+bwd GFLOP/s':>16}"]
    for name, flops, forward, both in rows:
        rate = f"{3 * flops / both / 1e9:16.1f}" if flops else ""
        lines.append(f"    {name:<14}{forward * 1e3:11.3f}{both * 1e3:11.3f}{rate}")
    total = sum(row[3] for row in rows)
    lines += [f"    {'sum':<14}{sum(row[2] for row in rows) * 1e3:11.3f}{total * 1e3:11.3f}",
              f"    the whole step {step * 1e3:.3f} ms: {abs(step - total) * 1e3:.3f} ms "
              f"{'more' if step >= total else 'less'} than the sum (the loss, the optimizer and "
              f"the layers without weights; less: the layers timed alone ran slower)"]
    return lines


def network_report(name: str, clean: np.ndarray, dirty: np.ndarray, epochs: int,
                   peak: float) -> str:
    """The speed of network ``name`` trained ``epochs`` epochs on ``clean``/``dirty``, against
    the matmul ``peak`` (GFLOP/s), and where its epoch's time goes."""
    model = BUILDERS[name]()
    run = models_tf.train_denoiser(model, clean, dirty, seed=0, epochs=epochs)
    epoch = run.seconds_per_epoch()
    drawing, inputs, targets = drawn_epoch(model, clean, dirty, epochs)
    size = models_tf.recipe_for(model).batch_size
    batch, batch_targets = tf.constant(inputs[:size]), tf.constant(targets[:size])
    overhead = best_seconds(tf.function(lambda x: x), batch)
    step = best_seconds(tf.function(lambda x, y: model.train_step((x, y))), batch,
                        batch_targets) - overhead
    steps = math.ceil(len(inputs) / size)
    flops = 3 * forward_flops(model)
    achieved = flops * len(inputs) / epoch / 1e9
    share = (lambda seconds: f"{seconds:8.3f} s {100 * seconds / epoch:6.1f} %")
    return "\n".join([
        f"{name}: {model.count_params():,} parameters; {len(inputs):,} examples per epoch in "
        f"{steps} minibatches of {size}",
        f"  training FLOPs per example: {flops / 1e6:.2f} M (3 × forward {flops / 3e6:.2f} M)",
        f"  seconds per epoch: {epoch:.3f} (median of epochs 2 to {epochs})",
        f"  achieved: {achieved:.1f} GFLOP/s, {100 * achieved / peak:.1f} % of the matmul peak",
        "  where an epoch's time goes:",
        f"    {'(a) drawing the examples':<32}{share(drawing)}",
        f"    {f'(b) {steps} steps × {step * 1e3:.3f} ms':<32}{share(steps * step)}",
        f"    {'(d) the rest':<32}{share(epoch - steps * step - drawing)}",
        f"  (c) by layer, one minibatch of {size} (an empty tf.function call, "
        f"{overhead * 1e6:.0f} µs, subtracted):",
        *_layer_lines(layer_seconds(model, batch, overhead), step)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audio-dir", default="audio",
                        help="folder of the recordings (default: audio, or its stand-in set)")
    parser.add_argument("--epochs", type=int, default=6, help="epochs trained (at least 2)")
    parser.add_argument("--models", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch builds the graph")
    recordings = dsp.find_recordings(args.audio_dir)
    clean, dirty = dsp.load_pair(recordings.train_clean, recordings.train_dirty)
    print(f"python -m benchmarks.speed {' '.join(sys.argv[1:] if argv is None else argv)}\n"
          f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"TensorFlow {tf.__version__} (TF_ENABLE_ONEDNN_OPTS="
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS')}); the {recordings.source} training pair, "
          f"{len(clean) / dsp.SAMPLE_RATE:.1f} s\nRun `python ../shared/tools/cpu-speed` beside "
          f"this, alone, for the machine's speed factor.", flush=True)
    peak = matmul_gflops()
    print(f"matmul peak: {MATMUL_SIZE} × {MATMUL_SIZE} float32, best of {REPEATS}: "
          f"{peak:.1f} GFLOP/s\n", flush=True)
    for name in args.models:
        print(network_report(name, clean, dirty, args.epochs, peak) + "\n", flush=True)


if __name__ == "__main__":
    main()
