"""Measure both CNNs against the noisy input and the ceiling, on whichever recordings are in use.

    python -m benchmarks.bench_models [--audio-dir audio] [--epochs N]

For each model: train on the whole training pair (as the notebook does) and score the training
signal and every test clip with a clean reference; then train a fresh copy on the first 80 % of
the pair and score the unseen last 20 %. The pretrained reference denoisers (RNNoise,
DeepFilterNet3; not trained on these recordings) are scored on the same clips. Prints SNRs by
equation (1), each row's share of the reference's gain over the noisy input (the reference
being the clean magnitude with the noisy phase), the training time and the steady-state
denoising speed (a second pass over the same clips, so graph building is not counted).
"""

from __future__ import annotations

import argparse
import time

import dsp_helpers as dsp
import models_tf
import reference_denoisers
from benchmarks.sweep import held_out_start

BUILDERS = {"cnn1d": models_tf.build_cnn1d, "cnn2d": models_tf.build_cnn2d}


def score(estimates: dict[str, "np.ndarray"], references: dict[str, "np.ndarray"]) -> dict:
    return {name: dsp.snr_db(references[name], estimate) for name, estimate in estimates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--audio-dir", default="audio")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epoch budget (default: models_tf.default_epochs, 42 for the 1D CNN "
                             "and 70 for the 2D CNN)")
    parser.add_argument("--models", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    args = parser.parse_args()

    recordings = dsp.find_recordings(args.audio_dir)
    print(recordings.describe())
    clean = dsp.load_audio(recordings.train_clean)
    dirty = dsp.load_audio(recordings.train_dirty)
    split = held_out_start(len(clean))
    references = {"train": clean, "last 20%": clean[split:]}
    noisy = {"train": dirty, "last 20%": dirty[split:]}
    for name, clip in recordings.tests.items():
        if clip.clean is not None:
            references[name] = dsp.load_audio(clip.clean)
            noisy[name] = dsp.load_audio(clip.noisy)

    rows = {"noisy": score(noisy, references)}
    for row, kind in (("ceiling", "magnitude"), ("PS oracle", "phase_sensitive")):
        rows[row] = score({k: dsp.oracle_reconstruction(references[k], noisy[k], kind)
                           for k in noisy}, references)
    for name in reference_denoisers.REFERENCE_DENOISERS:
        reason = reference_denoisers.unavailable_reason(name)
        if reason:
            print(f"{name}: n/a ({reason})")
            continue
        rows[name] = score({k: reference_denoisers.denoise_reference(name, v)
                            for k, v in noisy.items()}, references)
    extras = {}
    for name in args.models:
        model = BUILDERS[name]()
        run = models_tf.train_denoiser(model, clean, dirty, epochs=args.epochs)
        def denoise_all():
            return {k: models_tf.denoise_waveform(model, v) for k, v in noisy.items()
                    if k != "last 20%"}

        denoise_all()  # untimed: TensorFlow builds a graph for every new input shape
        start = time.perf_counter()
        estimates = denoise_all()
        speed = sum(len(v) for k, v in noisy.items() if k != "last 20%") / dsp.SAMPLE_RATE
        speed /= time.perf_counter() - start
        held_out_model = BUILDERS[name]()
        held_out_run = models_tf.train_denoiser(held_out_model, clean[:split], dirty[:split],
                                                epochs=args.epochs)
        estimates["last 20%"] = models_tf.denoise_waveform(held_out_model, noisy["last 20%"])
        rows[name] = score(estimates, references)
        extras[name] = (model.count_params(), run, held_out_run, speed)

    columns = list(references)
    print("\nSNR by equation (1), dB  [share of the ceiling's gain over the noisy input]")
    print("ceiling: clean magnitude with the noisy phase; PS oracle: the phase-sensitive magnitude,"
          " the best any magnitude can do with the noisy phase")
    print(f"{'':14s}" + "".join(f"{c:>20s}" for c in columns))
    for row, values in rows.items():
        cells = []
        for c in columns:
            gain = rows["ceiling"][c] - rows["noisy"][c]
            share = (values[c] - rows["noisy"][c]) / gain
            cells.append(f"{values[c]:8.2f} [{share:6.1%}]" if row != "noisy"
                         else f"{values[c]:8.2f}         ")
        print(f"{row:14s}" + "".join(f"{cell:>20s}" for cell in cells))
    print()
    for name, (params, run, held_out_run, speed) in extras.items():
        print(f"{name}: {params:,} parameters; full pair: {run.summary()}; "
              f"80% split: {held_out_run.summary()}; denoising {speed:.0f}x real time")


if __name__ == "__main__":
    main()
