"""File a finished cross-validation run into the results: its rows into ``results/crossval.csv``
(:func:`benchmarks.crossval.write_rows`: a row of the same key is replaced), the command that
wrote them into ``results/commands.csv`` and one decision per model of its change into
``results/decisions.csv`` (a row of the same key is replaced in each).

    python -m benchmarks.filing RUN.csv --command "python -m benchmarks.crossval ..."
                                [--decision MODEL=yes|no[:reason] ...]

A run's rows are those of one experiment (besides the reference denoisers' ``pretrained`` rows)
on one set of recordings and backend. Nothing is written unless the decisions cover exactly the
models its change was compared on, each against baseline rows in the results or the run, and
follow the log's rules: no adopted change is worse, in SNR or (where both sides were scored) in
DNSMOS OVRL, and a tie adopted or a win turned down (better on one measure, no worse on the
other) says why."""

from __future__ import annotations

import argparse
import csv
import dataclasses
from pathlib import Path

import cross_validation as cv
import dsp_helpers as dsp
from benchmarks import crossval, experiment_log

COMMAND_COLUMNS = ("recordings", "backend", "experiment", "models", "command")


def parse_decision(text: str) -> tuple[str, cv.Decision]:
    """``MODEL=yes|no[:reason]`` as ``(model, Decision)``; ``ValueError`` otherwise."""
    model, _, rest = text.partition("=")
    adopted, _, reason = rest.partition(":")
    if not model or adopted not in ("yes", "no"):
        raise ValueError(f"a decision is MODEL=yes or MODEL=no, with :reason if needed; "
                         f"got {text!r}")
    return model, cv.Decision(adopted == "yes", reason.strip())


def run_identity(rows: list[dict]) -> tuple[str, str, str, list[str]]:
    """``(recordings, backend, experiment, models)`` of a run's rows (``models`` in order of
    rows, the references' ``pretrained`` rows aside); ``ValueError`` if they are not one run's."""
    own = [row for row in rows if row["experiment"] != crossval.PRETRAINED]
    identities = {(row["recordings"], row["backend"], row["experiment"]) for row in own}
    if len(identities) != 1:
        raise ValueError(f"a run's rows are of one recordings, backend and experiment besides "
                         f"{crossval.PRETRAINED!r}; these have {sorted(identities) or 'none'}")
    return (*identities.pop(), list(dict.fromkeys(row["model"] for row in own)))


def _merged(results: list[dict], rows: list[dict]) -> list[dict]:
    """``results`` with ``rows`` replacing those of the same :data:`cross_validation.KEY`."""
    new = {tuple(row[column] for column in cv.KEY) for row in rows}
    return [row for row in results if tuple(row[c] for c in cv.KEY) not in new] + rows


def combined_verdict(change: cv.Change, model: str) -> str:
    """``model``'s verdict on both measures: ``worse`` if worse in SNR or (where measured)
    DNSMOS OVRL, else ``better`` if better in either, else ``tie``."""
    verdicts = {change.differences[model].verdict}
    if model in change.ovrl_differences:
        verdicts.add(change.ovrl_differences[model].verdict)
    return "worse" if "worse" in verdicts else "better" if "better" in verdicts else "tie"


def checked_change(results: list[dict], rows: list[dict],
                   decisions: dict[str, cv.Decision]) -> cv.Change | None:
    """The change of the run ``rows`` (``None`` for a baseline run) with ``decisions``
    ``{model: Decision}``, compared with its baseline in the results ``rows`` join;
    ``ValueError`` where the decisions do not cover its models or break the log's rules."""
    compared = [row for row in rows if row["baseline"] and row["share"] == 1.0
                and row["clip"] == cv.FOLD_CLIP]
    identities = {tuple(row[column] for column in (*cv.CHANGE_IDENTITY, "change", "code"))
                  for row in compared}
    if len(identities) > 1:
        raise ValueError(f"a run makes one change; these rows make {sorted(identities)}")
    changes = [change for change in cv.recipe_changes(_merged(results, rows))
               if (*change.identity, change.change, change.code) in identities]
    found = set(changes[0].differences) if changes else set()
    missing = {row["model"] for row in compared} - found
    if missing:
        raise ValueError(f"no baseline rows of the same folds and seeds to compare "
                         f"{sorted(missing)} with")
    if set(decisions) != found:
        raise ValueError(f"decide exactly the models of the change, {sorted(found) or 'none'}; "
                         f"got {sorted(decisions) or 'none'}")
    for model, decision in decisions.items():
        verdict = combined_verdict(changes[0], model)
        if decision.adopted and verdict == "worse":
            raise ValueError(f"{model}: a change cannot be adopted where it is worse (in SNR "
                             f"or in DNSMOS OVRL)")
        unusual = {("tie", True): "tie adopted", ("better", False): "win turned down"}
        if not decision.reason and (verdict, decision.adopted) in unusual:
            answer = "yes" if decision.adopted else "no"
            raise ValueError(f"{model}: a {unusual[verdict, decision.adopted]} needs a reason "
                             f"({model}={answer}:REASON)")
    return dataclasses.replace(changes[0], decisions={
        model: decisions[model] for model in changes[0].differences}) if changes else None


def _commands_with(path: Path, new: dict) -> list[dict]:
    """The commands CSV ``path``'s rows with ``new`` in place of the command of the same
    recordings, backend, experiment and models; ``ValueError`` if another shares some models."""
    with open(path, newline="") as handle:
        old = list(csv.DictReader(handle))
    same = [row for row in old if all(row[c] == new[c] for c in COMMAND_COLUMNS[:3])
            and set(experiment_log.split_models(row["models"]))
            & set(experiment_log.split_models(new["models"]))]
    if any(set(experiment_log.split_models(row["models"]))
           != set(experiment_log.split_models(new["models"])) for row in same):
        raise ValueError(f"{path} holds another command for some of {new['models']} of "
                         f"{new['experiment']}: edit it by hand")
    return [row for row in old if row not in same] + [new]


def _decisions_with(path: Path, change: cv.Change) -> list[dict]:
    """The decisions CSV ``path``'s rows with ``change``'s decisions in place of those of the
    same key (the change's identity and the model)."""
    with open(path, newline="") as handle:
        old = list(csv.DictReader(handle))
    new = [dict(zip(cv.DECISION_COLUMNS, (*change.identity, model,
                                          "yes" if decision.adopted else "no", decision.reason)))
           for model, decision in change.decisions.items()]
    key = cv.DECISION_COLUMNS[:-2]  # the change's identity and the model
    replaced = {tuple(row[column] for column in key) for row in new}
    return [row for row in old if tuple(row[column] for column in key) not in replaced] + new


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    """``rows`` of ``columns`` to the CSV ``path``, atomically, lines ending in LF."""
    with dsp.replaced_atomically(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def file_run(run_csv: Path, command: str, decisions: dict[str, cv.Decision], results_csv: Path,
             decisions_csv: Path, commands_csv: Path) -> cv.Change | None:
    """Check the run in ``run_csv`` (:func:`checked_change`, :func:`_commands_with`), then add
    its rows to ``results_csv``, ``command`` to ``commands_csv`` and ``decisions`` to
    ``decisions_csv``; returns its change (``None`` for a baseline run)."""
    if not command.strip():
        raise ValueError("give the command that wrote the run's rows")
    rows = cv.read_results(run_csv)
    recordings, backend, experiment, models = run_identity(rows)
    change = checked_change(cv.read_results(results_csv), rows, decisions)
    commands = _commands_with(commands_csv, {
        "recordings": recordings, "backend": backend, "experiment": experiment,
        "models": experiment_log.MODELS_SEPARATOR.join(models), "command": command})
    decided = _decisions_with(decisions_csv, change) if change else None
    crossval.write_rows(results_csv, rows)
    _write_csv(commands_csv, COMMAND_COLUMNS, commands)
    if decided is not None:
        _write_csv(decisions_csv, cv.DECISION_COLUMNS, decided)
    return change


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("run_csv", type=Path, metavar="RUN.csv",
                        help="the --csv a benchmarks.crossval run wrote")
    parser.add_argument("--command", required=True, help="the shell command that wrote it")
    parser.add_argument("--decision", nargs="+", type=parse_decision, default=[],
                        metavar="MODEL=yes|no[:reason]",
                        help="whether the run's change is adopted for each model it compared")
    parser.add_argument("--results-dir", type=Path, default=crossval.RESULTS_DIR,
                        help="the folder of crossval.csv, decisions.csv and commands.csv")
    args = parser.parse_args(argv)
    folder = args.results_dir
    try:
        change = file_run(args.run_csv, args.command, dict(args.decision),
                          folder / "crossval.csv", folder / "decisions.csv",
                          folder / "commands.csv")
    except ValueError as error:
        parser.error(str(error))
    print(f"filed {args.run_csv} into {folder}/: "
          + (f"{change.experiment} against {change.baseline}, decided for "
             f"{', '.join(change.decisions)}" if change else "a baseline run, nothing to decide"))


if __name__ == "__main__":
    main()
