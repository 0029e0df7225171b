"""Hyper-parameter sweep of the 1D CNN (kernel size D, number of kernels K, stride) and a few
2D CNN layouts, each trained with the same recipe and scored on unseen speech.

    python -m benchmarks.sweep [--audio-dir audio] [--epochs 30] [--batch-size 64]
                               [--points LABEL ...] [--csv benchmarks/results/sweep.csv]

Every point trains on the first 80 % of the training pair with ``--epochs`` epochs in
minibatches of ``--batch-size`` (``models_tf.Recipe``'s other values: no past-frame dropout) and
is scored by equation (1) on the last 20 %, which no point ever trains on. Besides strides, two
points reduce the maps with max-pooling (stride-1 convolutions, each followed by a max-pooling
of 2); the 2D max-pooling point is the former layout in fours with pooling. ``--points`` runs
only the points with those labels and replaces their rows, keeping the others (of the same
recipe). Writes ``--csv`` (with the recordings and the recipe in every row), which the
notebook draws (``report_helpers.plot_sweep``).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import dsp_helpers as dsp
import models_tf
from models_tf import ConvBlock

SWEEP_CSV = Path(__file__).resolve().parent / "results" / "sweep.csv"
HELD_OUT_FRACTION = 0.2
# The 2D CNN's layout before cross-validation replaced it: the 20 frames merged four at a time by
# the first layer, then the five rows into one.
CNN2D_TIME_FOURS = (ConvBlock(16, (4, 9), (4, 2)), ConvBlock(32, (5, 7), (1, 2)),
                    ConvBlock(32, (1, 5), (1, 2)))


def cnn1d_blocks(kernel: int, kernels: int, stride: int) -> tuple[ConvBlock, ...]:
    """The default 1D layout, three layers, with the first layer's D and K and every layer's
    stride changed (later layers use 2K kernels and sizes 7 and 5, as in the default)."""
    return (ConvBlock(kernels, kernel, stride), ConvBlock(2 * kernels, 7, stride),
            ConvBlock(2 * kernels, 5, stride))


CNN1D_POINTS = sorted({(d, 16, 2) for d in (3, 5, 9, 17, 33)}
                      | {(9, k, 2) for k in (4, 8, 16, 32)}
                      | {(9, 16, s) for s in (2, 3, 4)})
CNN2D_POINTS = {
    "in pairs (default)": models_tf.DEFAULT_CNN2D_BLOCKS,
    "in fours": CNN2D_TIME_FOURS,
    "in fours, half the kernels": tuple(ConvBlock(max(1, b.filters // 2), b.kernel, b.stride)
                                        for b in CNN2D_TIME_FOURS),
    "all kernels 2D": (ConvBlock(16, (4, 5), (4, 2)), ConvBlock(32, (3, 5), (1, 2)),
                       ConvBlock(32, (3, 3), (1, 2))),
    "first design": (ConvBlock(16, (4, 7), (2, 3)), ConvBlock(32, (3, 5), (2, 2)),
                     ConvBlock(32, (4, 3), (1, 2))),
    "in fours, max-pool": (ConvBlock(16, (4, 9), (4, 1), pool=(1, 2)),
                           ConvBlock(32, (5, 7), 1, pool=(1, 2)),
                           ConvBlock(32, (1, 5), 1, pool=(1, 2))),
}
# The sweep's centre point (D=9 K=16 s=2) with stride-1 convolutions, each followed by a
# max-pooling of 2.
CNN1D_MAX_POOL = tuple(ConvBlock(b.filters, b.kernel, 1, pool=2) for b in cnn1d_blocks(9, 16, 1))


def held_out_start(length: int) -> int:
    """The first sample of the held-out last :data:`HELD_OUT_FRACTION` of a ``length``-sample
    pair, on a hop boundary."""
    return int(length * (1.0 - HELD_OUT_FRACTION)) // dsp.HOP_LENGTH * dsp.HOP_LENGTH


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--audio-dir", default="audio")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--csv", type=Path, default=SWEEP_CSV)
    parser.add_argument("--points", nargs="+", metavar="LABEL",
                        help="run only these points (the variant labels of the CSV) and "
                             "replace their rows, keeping the others")
    args = parser.parse_args()

    kept = []
    if args.points and args.csv.exists():
        with open(args.csv, newline="") as handle:
            kept = list(csv.DictReader(handle))
    recordings = dsp.find_recordings(args.audio_dir)
    if kept and {row["recordings"] for row in kept} != {recordings.source}:
        parser.error(f"{args.csv}: holds rows of other recordings than {recordings.source}; "
                     "use another --csv")
    budgets = {(row["epochs"], row["batch_size"]) for row in kept}
    if kept and budgets != {(str(args.epochs), str(args.batch_size))}:
        held = ", ".join(f"{epochs} epochs in minibatches of {size}"
                         for epochs, size in sorted(budgets))
        parser.error(f"{args.csv}: holds rows of {held}, not {args.epochs} epochs in minibatches "
                     f"of {args.batch_size}; match them with --epochs and --batch-size, or use "
                     "another --csv")
    clean, dirty = dsp.load_pair(recordings.train_clean, recordings.train_dirty)
    split = held_out_start(len(clean))
    noisy_snr = dsp.snr_db(clean[split:], dirty[split:])
    recipe = models_tf.Recipe(epochs=args.epochs, batch_size=args.batch_size)

    candidates = [("cnn1d", f"D={d} K={k} s={s}", d, k, s, models_tf.build_cnn1d,
                   cnn1d_blocks(d, k, s)) for d, k, s in CNN1D_POINTS]
    candidates.append(("cnn1d", "D=9 K=16 max-pool 2", "", "", "", models_tf.build_cnn1d,
                       CNN1D_MAX_POOL))
    candidates += [("cnn2d", label, "", "", "", models_tf.build_cnn2d, blocks)
                   for label, blocks in CNN2D_POINTS.items()]
    if args.points:
        unknown = set(args.points) - {candidate[1] for candidate in candidates}
        if unknown:
            parser.error(f"unknown --points {', '.join(sorted(unknown))}; the labels are "
                         + ", ".join(candidate[1] for candidate in candidates))
        candidates = [candidate for candidate in candidates if candidate[1] in args.points]
        kept = [row for row in kept if row["variant"] not in args.points]

    rows = []
    for kind, label, kernel, kernels, stride, build, blocks in candidates:
        model = build(blocks)
        run = models_tf.train_denoiser(model, clean[:split], dirty[:split], recipe)
        held_out = dsp.snr_db(clean[split:], models_tf.denoise_waveform(model, dirty[split:]))
        rows.append({"recordings": recordings.source, "model": kind, "variant": label,
                     "D": kernel, "K": kernels, "stride": stride, "params": model.count_params(),
                     "held_out_snr_db": round(held_out, 3), "noisy_snr_db": round(noisy_snr, 3),
                     "train_seconds": round(run.seconds, 1), "epochs": run.epochs,
                     "batch_size": recipe.batch_size})
        print(f"{kind} {label:24s} {model.count_params():>9,} params  {held_out:6.2f} dB  "
              f"({run.seconds:.0f} s)", flush=True)

    rows = kept + rows
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with dsp.replaced_atomically(args.csv) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
