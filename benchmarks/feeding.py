"""Time one training epoch of a CNN fed several ways, each in a fresh process.

    python -m benchmarks.feeding [--audio-dir audio] [--model cnn1d] [--epochs 6] [--batch-size N]

* ``arrays``: what :func:`models_tf.train_denoiser` does, one ``fit`` call per epoch on the
  arrays of :meth:`models_tf.RemixedEpochs.epoch`, :data:`models_tf.STEPS_PER_EXECUTION`
  minibatch steps per call into TensorFlow;
* ``arrays-one-step``: the same with one step per call (Keras' default), which gives the same
  weights;
* ``pydataset``: the same examples in minibatches from a ``keras.utils.PyDataset``, which Keras
  hands to TensorFlow through ``tf.data.Dataset.from_generator``;
* ``arrays-after-pydataset``: ``arrays`` again, in a process that first trained one epoch from the
  PyDataset (a fresh network each time);
* ``arrays-keras-batch-norm``: ``arrays`` with Keras' own ``BatchNormalization`` layers instead of
  :class:`models_tf.FusedBatchNormalization` (the same function, computed by separate
  operations).

``arrays-one-step``, ``pydataset`` and ``arrays-after-pydataset`` take one step per call.

Prints the median seconds per epoch after the first (which builds the graph). The network is
trained on the whole training pair as :func:`models_tf.train_denoiser` trains it, minus the
loss scaling, the learning-rate schedule and past-frame dropout, which do not change the cost of
a step; ``--batch-size`` replaces its recipe's minibatch size (:func:`models_tf.recipe_for`).
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time

MODES = ("arrays", "arrays-one-step", "pydataset", "arrays-after-pydataset",
         "arrays-keras-batch-norm")


def seconds_per_epoch(audio_dir: str, model_name: str, mode: str, epochs: int,
                      batch_size: int | None = None) -> float:
    import keras

    import dsp_helpers as dsp
    import models_tf

    if mode == "arrays-keras-batch-norm":  # the builders look the layer up when they run
        models_tf.FusedBatchNormalization = keras.layers.BatchNormalization
    recordings = dsp.find_recordings(audio_dir)
    clean, dirty = dsp.load_pair(recordings.train_clean, recordings.train_dirty)
    build = {"cnn1d": models_tf.build_cnn1d, "cnn2d": models_tf.build_cnn2d}[model_name]
    batch_size = batch_size or models_tf.RECIPES[model_name].batch_size

    class EpochBatches(keras.utils.PyDataset):
        def __init__(self, examples: models_tf.RemixedEpochs):
            super().__init__()
            self.examples = examples
            self.inputs, self.targets = examples.epoch()

        def __len__(self):
            return math.ceil(len(self.targets) / batch_size)

        def __getitem__(self, index):
            rows = slice(index * batch_size, (index + 1) * batch_size)
            return self.inputs[rows], self.targets[rows]

        def on_epoch_end(self):
            self.examples.next_epoch()
            self.inputs, self.targets = self.examples.epoch()

    def fresh(steps_per_execution=1):
        model = build()
        model.compile(optimizer="adam", loss="mse", steps_per_execution=steps_per_execution)
        examples = models_tf.RemixedEpochs(clean, dirty - clean, models_tf.context_frames(model),
                                           seed=0)
        return model, examples

    if mode == "arrays-after-pydataset":
        model, examples = fresh()
        model.fit(EpochBatches(examples), epochs=1, verbose=0)
    model, examples = fresh(models_tf.STEPS_PER_EXECUTION
                            if mode in ("arrays", "arrays-keras-batch-norm") else 1)
    times = []
    if mode == "pydataset":
        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.start)

        model.fit(EpochBatches(examples), epochs=epochs, verbose=0, callbacks=[Timer()])
    else:
        for _ in range(epochs):
            start = time.perf_counter()
            inputs, targets = examples.epoch()
            model.fit(inputs, targets, batch_size=batch_size, shuffle=False, verbose=0)
            examples.next_epoch()
            times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--audio-dir", default="audio")
    parser.add_argument("--model", default="cnn1d", choices=("cnn1d", "cnn2d"))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int,
                        help="examples per minibatch (default: the model's recipe)")
    parser.add_argument("--mode", choices=MODES, help="measure this mode in this process only")
    args = parser.parse_args()
    if args.mode:
        seconds = seconds_per_epoch(args.audio_dir, args.model, args.mode, args.epochs,
                                    args.batch_size)
        print(f"{seconds:.3f}")
        return
    print(f"{args.model}: seconds per training epoch (median of epochs 2-{args.epochs})")
    batch_option = ["--batch-size", str(args.batch_size)] if args.batch_size else []
    for mode in MODES:
        result = subprocess.run([sys.executable, "-m", "benchmarks.feeding", "--mode", mode,
                                 "--model", args.model, "--epochs", str(args.epochs),
                                 "--audio-dir", args.audio_dir, *batch_option],
                                capture_output=True, text=True, check=True)
        print(f"  {mode:24s} {result.stdout.split()[-1]} s")


if __name__ == "__main__":
    main()
