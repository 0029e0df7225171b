"""Hyper-parameter sweep of the 1D CNN (kernel size D, number of kernels K, stride) and a few
2D CNN variants, each trained with the same budget and scored on unseen speech.

    python -m benchmarks.sweep [--audio-dir audio] [--epochs 30] [--batch-size 32]
                               [--points LABEL ...] [--plot-only]

Every point trains on the first 80 % of the training pair with the default recipe of
``models_tf.train_denoiser``, an epoch budget of ``--epochs`` and minibatches of
``--batch-size`` examples, and is scored by equation (1)
on the last 20 %, which no point ever trains on. Besides strides, two points reduce the maps
with max-pooling (stride-1 convolutions, each followed by a max-pooling of 2); the 2D max-pooling
point is the former layout in fours with pooling. ``--points`` runs only the points with those
labels and replaces their rows, keeping the others (of the same budget and minibatch). Writes
``figures/sweep.csv`` (with the recordings and the budget in every row) and
``figures/sweep.png`` (held-out SNR against parameter count), which the notebook shows as
precomputed results.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter  # noqa: E402

import dsp_helpers as dsp  # noqa: E402
import models_tf  # noqa: E402
from benchmarks import crossval  # noqa: E402
from models_tf import ConvBlock  # noqa: E402


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
    "in fours": crossval.CNN2D_TIME_FOURS,
    "in fours, half the kernels": tuple(ConvBlock(max(1, b.filters // 2), b.kernel, b.stride)
                                        for b in crossval.CNN2D_TIME_FOURS),
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


def plot_sweep(rows: list[dict], path: Path) -> None:
    """Held-out SNR against parameter count (all points), then against D, K and stride for the
    1D CNN, with the best 2D variant as a reference line. The title names the recordings, the
    epoch budget and the noisy input's SNR, all read from the rows."""
    cnn1d = [r for r in rows if r["model"] == "cnn1d"]
    cnn2d = [r for r in rows if r["model"] == "cnn2d"]
    best_2d = max(cnn2d, key=lambda r: float(r["held_out_snr_db"]))
    figure, axes = plt.subplots(1, 4, figsize=(14, 3.6), sharey=True)
    axes[0].scatter([int(r["params"]) for r in cnn1d], [float(r["held_out_snr_db"]) for r in cnn1d],
                    label="1D CNN")
    axes[0].scatter([int(r["params"]) for r in cnn2d], [float(r["held_out_snr_db"]) for r in cnn2d],
                    marker="s", label="2D CNN")
    axes[0].set(xscale="log", xlabel="parameters", ylabel="SNR on the unseen last 20 % (dB)")
    axes[0].xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes[0].xaxis.set_major_formatter(EngFormatter(sep=""))
    axes[0].xaxis.set_minor_formatter(NullFormatter())
    axes[0].legend(fontsize=8)
    centre = {"D": 9, "K": 16, "stride": 2}  # each panel varies one of these, the others fixed
    for axis, (name, label) in zip(axes[1:], (("D", "kernel size D (first layer)"),
                                              ("K", "kernels K (first layer; later 2K)"),
                                              ("stride", "stride (every layer)"))):
        others = [key for key in centre if key != name]
        series = sorted((int(r[name]), float(r["held_out_snr_db"])) for r in cnn1d
                        if r["stride"] and all(int(r[key]) == centre[key] for key in others))
        axis.plot(*zip(*series), "o-", label="1D CNN")
        axis.axhline(float(best_2d["held_out_snr_db"]), color="tab:orange", linestyle="--",
                     label=f"2D CNN, {best_2d['variant']}")
        axis.set(xlabel=label, xticks=[x for x, _ in series])
        axis.legend(fontsize=8)
    figure.suptitle(f"{rows[0]['recordings']} recordings, same budget for every variant "
                    f"({rows[0]['epochs']} epochs, minibatches of {rows[0]['batch_size']}); "
                    f"the noisy input scores "
                    f"{float(rows[0]['noisy_snr_db']):.2f} dB")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--audio-dir", default="audio")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=models_tf.BATCH_SIZE)
    parser.add_argument("--out", default="figures")
    parser.add_argument("--points", nargs="+", metavar="LABEL",
                        help="run only these points (the variant labels of sweep.csv) and "
                             "replace their rows, keeping the others")
    parser.add_argument("--plot-only", action="store_true",
                        help="redraw sweep.png from an existing sweep.csv, training nothing")
    args = parser.parse_args()

    out = Path(args.out)
    sweep_csv = out / "sweep.csv"
    if args.plot_only and not sweep_csv.exists():
        parser.error(f"{sweep_csv}: not found (run the sweep first)")
    kept = []
    if (args.plot_only or args.points) and sweep_csv.exists():
        with open(sweep_csv, newline="") as handle:
            kept = list(csv.DictReader(handle))
    if args.plot_only:
        plot_sweep(kept, out / "sweep.png")
        print(f"wrote {out / 'sweep.png'}")
        return

    recordings = dsp.find_recordings(args.audio_dir)
    if kept and {row["recordings"] for row in kept} != {recordings.source}:
        parser.error(f"{sweep_csv}: holds rows of other recordings than {recordings.source}; "
                     "use another --out folder")
    budgets = {(row["epochs"], row.get("batch_size")) for row in kept}
    if kept and budgets != {(str(args.epochs), str(args.batch_size))}:
        held = ", ".join(f"{epochs} epochs in minibatches of {size}"
                         for epochs, size in sorted(budgets, key=str))
        parser.error(f"{sweep_csv}: holds rows of {held}, not {args.epochs} epochs in minibatches "
                     f"of {args.batch_size}; match them with --epochs and --batch-size, or use "
                     "another --out folder")
    clean, dirty = dsp.load_pair(recordings.train_clean, recordings.train_dirty)
    split = models_tf.hop_aligned_split(len(clean), 0.2)
    noisy_snr = dsp.snr_db(clean[split:], dirty[split:])

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
        run = models_tf.train_denoiser(model, clean[:split], dirty[:split], epochs=args.epochs,
                                       batch_size=args.batch_size)
        held_out = dsp.snr_db(clean[split:], models_tf.denoise_waveform(model, dirty[split:]))
        rows.append({"recordings": recordings.source, "model": kind, "variant": label,
                     "D": kernel, "K": kernels, "stride": stride, "params": model.count_params(),
                     "held_out_snr_db": round(held_out, 3), "noisy_snr_db": round(noisy_snr, 3),
                     "train_seconds": round(run.seconds, 1), "epochs": run.epochs,
                     "batch_size": args.batch_size})
        print(f"{kind} {label:24s} {model.count_params():>9,} params  {held_out:6.2f} dB  "
              f"({run.seconds:.0f} s)", flush=True)

    rows = kept + rows
    out.mkdir(exist_ok=True)
    with open(sweep_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot_sweep(rows, out / "sweep.png")
    print(f"wrote {sweep_csv} and {out / 'sweep.png'}")


if __name__ == "__main__":
    main()
