"""The experiment log's tables from the cross-validation rows (``results/crossval.csv``), the
decisions taken on them (``results/decisions.csv``: per change and model, adopted or not, and
why) and the commands that wrote them (``results/commands.csv``): the summary that
``python -m benchmarks.crossval --summary`` prints and the Markdown tables of
``benchmarks/README.md`` (``--summary --markdown``). Statistics are ``cross_validation``'s."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

import cross_validation as cv


MODELS_SEPARATOR = "; "  # between the models of a commands CSV row (a model's name has spaces)


def split_models(cell: str) -> list[str]:
    """The models of a commands CSV ``models`` cell, written joined by :data:`MODELS_SEPARATOR`."""
    return [model.strip() for model in cell.split(MODELS_SEPARATOR.strip()) if model.strip()]


def read_commands(path: Path | str) -> list[dict]:
    """The rows of a commands CSV: ``recordings``, ``backend``, ``experiment``, ``models`` (the
    models of ``experiment`` whose rows ``command`` wrote; a list, :func:`split_models`) and
    ``command`` (the shell command, ``git checkout COMMIT && ...`` where only an earlier commit
    regenerates them)."""
    with open(path, newline="") as handle:
        return [{**row, "models": split_models(row["models"])} for row in csv.DictReader(handle)]


def command_of(commands: list[dict], change: cv.Change) -> str | None:
    """The command that wrote the rows of every model of ``change``, or ``None``."""
    for command in commands:
        if ((command["recordings"], command["backend"], command["experiment"])
                == (change.recordings, change.backend, change.experiment)
                and set(change.differences) <= set(command["models"])):
            return command["command"]
    return None


def _entries(rows: list[dict]) -> list[tuple]:
    """``(recordings, backend, model, experiment, share)`` of every entry, in order of rows."""
    return list(dict.fromkeys((r["recordings"], r["backend"], r["model"], r["experiment"],
                               r["share"]) for r in rows))


def _plain_table(header: list[str], table: list[list]) -> str:
    widths = [max(len(str(line[i])) for line in [header] + table) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths))
                     for line in [header] + table)


def _entry_line(rows: list[dict], entry: tuple, tests: list[str]) -> list[str]:
    """:func:`summary`'s line of one entry: folds × seeds and mean ± s.e. per scored clip."""
    recordings, backend, model, experiment, share = entry
    source = cv.select(rows, recordings=recordings, backend=backend)
    scored = cv.select(source, model=model, experiment=experiment, share=share)
    cells = []
    for clip in (cv.FOLD_CLIP, *tests):
        try:
            scores = cv.fold_scores(source, model, experiment, clip=clip, share=share)
        except ValueError:  # a clip this entry was not scored on
            cells.append("")
            continue
        cells.append("{:.2f} ± {:.2f}".format(*cv.mean_and_error(scores.values())))
    try:
        ovrl = cv.fold_scores(source, model, experiment, share=share, metric="ovrl")
        fold_ovrl = "{:.2f} ± {:.2f}".format(*cv.mean_and_error(ovrl.values()))
    except ValueError:  # not scored by DNSMOS
        fold_ovrl = ""
    return [recordings, backend, model, experiment, f"{share:g}",
            f"{len({r['fold'] for r in scored})} × {len({r['seed'] for r in scored})}",
            cells[0], fold_ovrl, *cells[1:]]


def summary(rows: list[dict], decisions: dict) -> str:
    """Per entry (recordings, backend, model, experiment, share of the training audio): folds ×
    seeds and the mean ± s.e. over folds of the SNR on the held-out fold (and its DNSMOS OVRL,
    where scored) and on each test clip; then every change with each model's paired differences
    from its baseline on the folds and the models ``decisions``
    (:func:`cross_validation.read_decisions`) adopted it for."""
    tests = list(dict.fromkeys(r["clip"] for r in rows
                               if r["clip"] not in (cv.FOLD_CLIP, cv.TRAINING_CLIP)))
    header = ["recordings", "backend", "model", "experiment", "share", "folds × seeds",
              "fold SNR dB", "fold OVRL", *tests]
    table = [_entry_line(rows, entry, tests) for entry in _entries(rows)]
    changes = [[change.recordings, change.experiment, change.change, _versus(change),
                ", ".join(change.adopted) or "no",
                "; ".join(f"{model} {difference}" + (f", {change.ovrl_differences[model]}"
                                                     if model in change.ovrl_differences else "")
                          for model, difference in change.differences.items())]
               for change in cv.recipe_changes(rows, decisions)]
    return (_plain_table(header, table) + "\n\nchanges (paired differences on the folds, "
            "mean ± s.e. over folds):\n"
            + _plain_table(["recordings", "experiment", "change", "against", "adopted for",
                            "difference"], changes))


def _versus(change: cv.Change) -> str:
    """What ``change`` is compared against: its baseline experiment (and model, if another)."""
    return f"{change.baseline_model} {change.baseline}".strip()


def _differences(change: cv.Change | None, metric: str = "snr_db") -> str:
    """Each model's paired difference of ``change`` in ``metric`` (``snr_db`` or ``ovrl``),
    one per line of a Markdown cell."""
    if change is None:
        return ""
    differences = change.differences if metric == "snr_db" else change.ovrl_differences
    return "<br>".join(f"{model} {d.mean:+.2f} ± {d.error:.2f} ({d.verdict})"
                       for model, d in differences.items())


def _change_row(rows: list[dict], change: cv.Change, on_training: cv.Change | None,
                command: str | None) -> list[str]:
    """One row of :func:`markdown`'s table of changes; ``on_training``: the same change
    scored on the audio the models trained on, where they were."""
    from report_helpers import adoption_text

    runs = ", ".join(sorted({f"{d.folds} × {d.seeds}" for d in change.differences.values()}))
    seconds = defaultdict(list)
    for row in cv.select(rows, recordings=change.recordings, backend=change.backend,
                         experiment=change.experiment, clip=cv.FOLD_CLIP, share=1.0):
        if row["model"] in change.differences and row["train_seconds"] is not None:
            seconds[row["model"]].append(row["train_seconds"])
    backend = "" if change.backend == "tensorflow" else f" (Keras on {change.backend})"
    if change.recordings != "standin":
        backend += f" (recordings: {change.recordings})"
    return [f"{change.change}{backend}", f"`{change.experiment}` against `{_versus(change)}`",
            adoption_text(change), _differences(change), _differences(change, "ovrl"),
            _differences(on_training), runs,
            "<br>".join(f"{model} {np.mean(values):.0f}" for model, values in seconds.items()),
            f"`{command}`" if command else ""]


def _baseline_commands(commands: list[dict], changes: list[cv.Change]) -> list[str]:
    """A Markdown list of the commands that wrote rows no change compares, only baselines."""
    changed = {(c.recordings, c.backend, c.experiment, model)
               for c in changes for model in c.differences}
    return [f"* `{c['experiment']}` ({', '.join(c['models'])}"
            f"{'' if c['backend'] == 'tensorflow' else '; Keras on ' + c['backend']}): "
            f"`{c['command']}`" for c in commands
            if not any((c["recordings"], c["backend"], c["experiment"], model) in changed
                       for model in c["models"])]


def markdown(rows: list[dict], decisions: dict, commands: list[dict]) -> str:
    """``benchmarks/README.md``'s tables from ``rows``: every change (adopted or not, from
    ``decisions``; each model's paired difference on the held-out folds, in SNR and, where
    scored, in DNSMOS OVRL, and, where scored, on its own training audio; folds × seeds;
    seconds of training per fold; the command from ``commands`` (:func:`read_commands`) that
    wrote its rows), then the commands of the baselines no change reruns."""
    from report_helpers import markdown_table

    def key(change):
        return change.identity, change.change, change.code

    changes = cv.recipe_changes(rows, decisions)
    on_training = {key(change): change
                   for change in cv.recipe_changes(rows, clip=cv.TRAINING_CLIP)}
    return "\n\n".join([
        markdown_table(["change", "experiment", "adopted for",
                        "held-out folds: paired difference, dB (verdict)",
                        "held-out folds: DNSMOS OVRL difference (verdict)",
                        "own training audio: paired difference, dB (verdict)",
                        "folds × seeds", "training s per fold", "command"],
                       [_change_row(rows, change, on_training.get(key(change)),
                                    command_of(commands, change)) for change in changes]),
        "\n".join(_baseline_commands(commands, changes))])
