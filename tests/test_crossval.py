"""The cross-validation tool (benchmarks/crossval.py), the experiment log
(benchmarks/experiment_log.py) and the filing of a run (benchmarks/filing.py): folds, training
ranges, recipes, the results CSV (its rows replaced by key, the shipped file's columns), the
shipped decisions and commands, the summaries, the combinations, a short end-to-end run, and a
run filed with its command and decisions into temporary results."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import cross_validation as cv
import dsp_helpers as dsp
import models_tf
from benchmarks import crossval, experiment_log, filing

HOP = 512


@pytest.mark.parametrize("length, folds", [(1_258_899, 5), (100 * HOP + 7, 3), (10 * HOP, 10)])
def test_folds_cover_the_pair_contiguously_on_hop_boundaries(length, folds):
    ranges = crossval.fold_ranges(length, folds)
    assert len(ranges) == folds
    assert ranges[0][0] == 0 and ranges[-1][1] == length
    assert all(stop == next_start for (_, stop), (next_start, _) in zip(ranges, ranges[1:]))
    assert all(start % HOP == 0 for start, _ in ranges)
    sizes = [stop - start for start, stop in ranges[:-1]]
    assert max(sizes) - min(sizes) <= HOP


def test_five_folds_of_the_course_length():
    assert crossval.fold_ranges(1_258_899, 5) == [(0, 251904), (251904, 503296),
                                                   (503296, 755200), (755200, 1006592),
                                                   (1006592, 1258899)]


@pytest.mark.parametrize("folds", [1, 11])
def test_fold_count_must_fit(folds):
    with pytest.raises(ValueError, match="folds"):
        crossval.fold_ranges(10 * HOP, folds)


def test_a_model_trains_on_everything_outside_the_fold():
    assert crossval.training_ranges(1000 * HOP, (400 * HOP, 600 * HOP)) == [
        (0, 400 * HOP), (600 * HOP, 1000 * HOP)]
    assert crossval.training_ranges(1000 * HOP + 3, (0, 200 * HOP)) == [
        (200 * HOP, 1000 * HOP + 3)]
    assert crossval.training_ranges(1000 * HOP, (800 * HOP, 1000 * HOP)) == [(0, 800 * HOP)]


def test_join_ranges_puts_the_stretches_end_to_end():
    signal = np.arange(10.0)
    assert crossval.join_ranges(signal, [(0, 2), (7, 10)]).tolist() == [0, 1, 7, 8, 9]


def test_an_experiment_changes_only_the_recipe_values_it_names():
    cnn1d, cnn2d = models_tf.build_cnn1d(), models_tf.build_cnn2d()
    assert crossval.Experiment("e").recipe(cnn2d) == models_tf.recipe_for(cnn2d)
    former = crossval.Experiment("e", epoch_scale=0.5, batch_size=64, past_dropout=0.0)
    for model in (cnn1d, cnn2d):
        half = round(models_tf.recipe_for(model).epochs * 0.5)
        assert former.recipe(model) == models_tf.Recipe(epochs=half, batch_size=64)
    fixed = crossval.Experiment("e", epochs=7, learning_rate=1e-3).recipe(cnn1d)
    assert (fixed.epochs, fixed.learning_rate) == (7, 1e-3)


def _row(model, experiment, fold, snr, seed=0, clip=cv.FOLD_CLIP, **columns):
    return {"recordings": "standin", "model": model, "experiment": experiment, "change": "",
            "baseline": "", "baseline_model": "", "epochs": 60, "batch_size": 64,
            "learning_rate": 0.002, "past_dropout": 0.0,
            "backend": "tensorflow", "code": crossval.HEAD, "seed": seed, "share": 1.0,
            "fold": fold, "clip": clip, "snr_db": snr, "noisy_snr_db": 5.0,
            "ceiling_snr_db": 15.0, "sig": None, "bak": None, "ovrl": None, "noisy_ovrl": None,
            "clean_ovrl": None, "train_seconds": 1.5, "train_samples": 1000, **columns}


def test_rows_round_trip_and_replace_by_key(tmp_path):
    path = tmp_path / "deeper" / "crossval.csv"
    crossval.write_rows(path, [_row("cnn1d", "e", 1, 10.0), _row("cnn1d", "e", 2, 11.0)])
    crossval.write_rows(path, [_row("cnn1d", "e", 2, 12.5), _row("cnn2d", "e", 1, 9.0),
                               _row("cnn1d", "e", 1, 8.0, backend="jax")])
    rows = cv.read_results(path)
    assert [(r["model"], r["fold"], r["backend"], r["snr_db"]) for r in rows] == [
        ("cnn1d", 1, "tensorflow", 10.0), ("cnn1d", 2, "tensorflow", 12.5),
        ("cnn2d", 1, "tensorflow", 9.0), ("cnn1d", 1, "jax", 8.0)]
    assert rows[0] == _row("cnn1d", "e", 1, 10.0)


def test_rows_without_a_recipe_are_written_with_empty_cells(tmp_path):
    path = tmp_path / "crossval.csv"
    pretrained = _row("RNNoise", crossval.PRETRAINED, 1, 9.0,
                      **dict.fromkeys((*crossval.RECIPE_COLUMNS, "train_seconds",
                                       "train_samples")))
    crossval.write_rows(path, [pretrained])
    assert path.read_text().splitlines()[1] == (
        "standin,RNNoise,pretrained,,,,,,,,tensorflow,HEAD,0,1.0,1,fold,9.0000,5.0000,15.0000,"
        ",,,,,,")
    assert cv.read_results(path) == [pretrained]


SHIPPED_ROWS = cv.read_results(crossval.RESULTS_CSV)
SHIPPED_DECISIONS = cv.read_decisions(crossval.DECISIONS_CSV)
SHIPPED_COMMANDS = experiment_log.read_commands(crossval.COMMANDS_CSV)
SHIPPED_CHANGES = cv.recipe_changes(SHIPPED_ROWS, SHIPPED_DECISIONS)
TAG, TAG_COMMIT = "experiments-2026-12", "cac9031"  # a code column value and its commit
EIGEN_KERNELS = "TF_ENABLE_ONEDNN_OPTS=0 "  # how the rows computed before oneDNN rerun at HEAD


def test_the_shipped_results_name_what_varies_and_what_regenerates_them():
    with open(crossval.RESULTS_CSV, newline="") as handle:
        assert handle.readline().strip().split(",") == list(cv.COLUMNS)
    keys = [tuple(row[column] for column in cv.KEY) for row in SHIPPED_ROWS]
    assert len(keys) == len(set(keys))
    assert all(row["code"] in (crossval.HEAD, TAG) or re.fullmatch("[0-9a-f]{7}", row["code"])
               for row in SHIPPED_ROWS)
    assert {row["backend"] for row in SHIPPED_ROWS} <= {"tensorflow", "jax"}


def test_every_shipped_change_has_its_baseline_rows():
    changed = {(r["recordings"], r["backend"], r["model"], r["experiment"]) for r in SHIPPED_ROWS
               if r["baseline"] and r["share"] == 1.0}
    compared = {(c.recordings, c.backend, model, c.experiment)
                for c in SHIPPED_CHANGES for model in c.differences}
    assert changed == compared


def test_writing_no_new_rows_leaves_the_shipped_file_as_it_is(tmp_path):
    path = tmp_path / "crossval.csv"
    shutil.copyfile(crossval.RESULTS_CSV, path)
    crossval.write_rows(path, [])
    assert path.read_bytes() == crossval.RESULTS_CSV.read_bytes()


def test_every_model_of_every_shipped_change_has_exactly_one_decision():
    decided = {(*change.identity, model) for change in SHIPPED_CHANGES
               for model in change.differences}
    assert decided == set(SHIPPED_DECISIONS)


def test_no_adopted_change_is_worse_and_every_adopted_tie_says_why():
    """On the recordings it was decided on (the decision's key names them), in SNR and, where
    both sides were scored, in DNSMOS OVRL."""
    for change in SHIPPED_CHANGES:
        for model in change.adopted:
            verdict = filing.combined_verdict(change, model)
            assert verdict != "worse", (change.identity, model, str(change.differences[model]))
            if verdict == "tie":
                assert change.decisions[model].reason.strip(), (change.identity, model)


def test_every_change_that_wins_and_is_turned_down_says_why():
    for change in SHIPPED_CHANGES:
        for model, decision in change.decisions.items():
            if filing.combined_verdict(change, model) == "better" and not decision.adopted:
                assert decision.reason.strip(), (change.identity, model)


def test_the_combined_verdict_is_worse_on_either_measure_and_better_on_either_otherwise():
    def change(snr, ovrl=None):
        return cv.Change("standin", "tensorflow", "new", "c", "old", "", "HEAD",
                         {"m": cv.Difference(snr, 0.1, 5, 1)}, {},
                         {} if ovrl is None else {"m": cv.Difference(ovrl, 0.01, 5, 1, "OVRL")})
    assert [filing.combined_verdict(change(*values), "m") for values in (
        (0.5,), (0.0,), (0.5, -0.05), (0.0, 0.05), (0.0, 0.0), (-0.5, 0.05))] == \
        ["better", "tie", "worse", "better", "tie", "worse"]


def test_the_whole_budget_is_not_adopted_on_course_80_where_it_loses_to_35_percent():
    (change,) = [c for c in SHIPPED_CHANGES if c.recordings == "course-80"
                 and c.experiment == "batch-32-past-dropout-decay-epochs-x2"]
    assert change.adopted == ()
    assert {change.differences[m].verdict for m in ("cnn1d", "cnn2d")} == {"worse"}


def test_every_shipped_change_names_the_one_command_that_wrote_its_rows():
    for change in SHIPPED_CHANGES:
        owners = [c for c in SHIPPED_COMMANDS
                  if (c["recordings"], c["backend"], c["experiment"])
                  == (change.recordings, change.backend, change.experiment)
                  and set(change.differences) & set(c["models"])]
        assert len(owners) == 1, (change.identity, list(change.differences))
        assert experiment_log.command_of(SHIPPED_COMMANDS, change) == owners[0]["command"]


def test_a_stored_command_checks_out_the_commit_its_rows_name():
    """Rows computed at HEAD are rerun as they are (with Eigen's kernels where they were
    computed before oneDNN's, ``TF_ENABLE_ONEDNN_OPTS=0``); any other code column names the
    commit (the tag's, cac9031) that the command checks out first, under the rows' backend."""
    for command in SHIPPED_COMMANDS:
        rows = [r for r in SHIPPED_ROWS if (r["recordings"], r["backend"], r["experiment"])
                == (command["recordings"], command["backend"], command["experiment"])
                and r["model"] in command["models"]]
        codes = {row["code"] for row in rows}
        assert len(codes) == 1, (command["experiment"], command["models"], codes)
        code = codes.pop()
        words = command["command"]
        if code == crossval.HEAD:
            assert words.removeprefix(EIGEN_KERNELS).startswith(
                "python -m benchmarks.crossval "), words
            continue
        backend = "KERAS_BACKEND=jax " if command["backend"] == "jax" else ""
        commit = TAG_COMMIT if code == TAG else code
        assert words.startswith(f"git checkout {commit} && {backend}python -m benchmarks."), words
        assert ("--variants" in words) == (code == TAG), words
        # an inference-time variant's experiment is its run's, then the variant's name
        run_experiment = command["experiment"].split(" ")[0]
        assert f"--experiment {run_experiment}" in words or code == TAG, words
        if command["recordings"] != "standin":
            assert f"--recordings {command['recordings']}" in words


def _change_rows():
    """Three folds, two seeds: the new experiment gains +0.3 with seed 0 and -0.1 with seed 1
    on every fold, +0.1 ± 0 over folds (seeds averaged): better."""
    rows = []
    for seed, gain in ((0, 0.3), (1, -0.1)):
        for fold, snr in enumerate([10.0, 11.0, 12.5], start=1):
            rows.append(_row("cnn1d", "old", fold, snr, seed))
            rows.append(_row("cnn1d", "new", fold, snr + gain, seed, change="a change",
                             baseline="old"))
    return rows


DECIDED = {("standin", "tensorflow", "new", "old", "", "cnn1d"): cv.Decision(True, "")}


def test_summary_gives_every_entry_and_every_change_with_its_decision():
    text = experiment_log.summary(_change_rows(), DECIDED)
    old_line = next(line for line in text.splitlines() if " old " in line)
    assert "3 × 2" in old_line and "11.17 ± 0.73" in old_line
    change_line = next(line for line in text.splitlines() if "a change" in line)
    assert change_line.split() == ["standin", "new", "a", "change", "old", "cnn1d",
                                   "cnn1d", "+0.10", "±", "0.00", "dB", "(better)"]
    undecided = next(line for line in experiment_log.summary(_change_rows(), {}).splitlines()
                     if "a change" in line)
    assert undecided.split()[5] == "no"


def test_markdown_gives_each_change_its_decision_and_the_command_that_wrote_it():
    commands = [{"recordings": "standin", "backend": "tensorflow", "experiment": "new",
                 "models": ["cnn1d"], "command": "python -m benchmarks.crossval --x"},
                {"recordings": "standin", "backend": "tensorflow", "experiment": "old",
                 "models": ["cnn1d"], "command": "python -m benchmarks.crossval --y"}]
    table, baselines = experiment_log.markdown(_change_rows(), DECIDED, commands).split("\n\n")
    assert table.splitlines()[2] == (
        "| a change | `new` against `old` | **cnn1d** | cnn1d +0.10 ± 0.00 (better) |  |  | "
        "3 × 2 | cnn1d 2 | `python -m benchmarks.crossval --x` |")  # no OVRL, no training rows
    assert baselines == "* `old` (cnn1d): `python -m benchmarks.crossval --y`"


def test_read_commands_splits_the_models(tmp_path):
    path = tmp_path / "commands.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["recordings", "backend", "experiment", "models", "command"])
        writer.writerow(["standin", "jax", "e", "cnn1d; cnn1d+DeepFilterNet3 gated mean",
                         "python -m x --change 'a, b'"])
    assert experiment_log.read_commands(path) == [
        {"recordings": "standin", "backend": "jax", "experiment": "e",
         "models": ["cnn1d", "cnn1d+DeepFilterNet3 gated mean"],
         "command": "python -m x --change 'a, b'"}]


def _recordings(write_wav, folder, noisy_pair) -> dsp.Recordings:
    """A course-like set of recordings in ``folder``: the 3 s pair and two test clips without a
    clean reference (so only the folds, and the training audio, are scored)."""
    clean, dirty = noisy_pair
    for name, signal in (("train_clean_male.wav", clean), ("train_dirty_male.wav", dirty),
                         ("test_x_01.wav", dirty[:8000]), ("test_x_02.wav", dirty[8000:16000])):
        write_wav(name, signal, subtype="FLOAT")
    return dsp.find_recordings(folder)


def test_score_training_adds_a_row_for_the_audio_each_model_trained_on(write_wav, tmp_path,
                                                                        noisy_pair):
    """Two folds of a 3 s pair, one epoch: with ``score_training`` every trained model gets a
    ``training`` row scored against the rest of the pair (the other fold), whose noisy SNR is
    that of the other fold's own noisy input; every row names the experiment and the recipe."""
    clean, dirty = noisy_pair
    recordings = _recordings(write_wav, tmp_path, noisy_pair)
    experiment = crossval.Experiment("quick", "one epoch", "full", epochs=1, batch_size=64)
    run = crossval.Run(("cnn1d",), experiment, folds=2, score_training=True)
    rows = crossval.cross_validate(recordings, run)
    training = [row for row in rows if row["clip"] == cv.TRAINING_CLIP]
    assert [row["fold"] for row in training] == [1, 2]
    for row, (start, stop) in zip(training, crossval.fold_ranges(len(clean), 2)[::-1]):
        other_fold_snr = dsp.snr_db(clean[start:stop], dirty[start:stop])
        assert row["noisy_snr_db"] == pytest.approx(other_fold_snr)
        assert row["train_samples"] == stop - start
    assert {(r["experiment"], r["change"], r["baseline"], r["code"], r["epochs"],
             r["batch_size"], r["learning_rate"], r["past_dropout"]) for r in rows} == {
        ("quick", "one epoch", "full", crossval.HEAD, 1, 64, 2e-3, 0.0)}


def test_both_cnns_make_an_ensemble_and_the_rows_land_in_the_csv(write_wav, tmp_path,
                                                                 noisy_pair):
    path = tmp_path / "results" / "crossval.csv"
    experiment = crossval.Experiment("quick", epochs=1)
    run = crossval.Run(("cnn1d", "cnn2d"), experiment, folds=2, only_folds=(1,))
    rows = crossval.cross_validate(_recordings(write_wav, tmp_path, noisy_pair), run, path)
    assert [(r["model"], r["clip"]) for r in rows] == [("cnn1d", "fold"), ("cnn2d", "fold"),
                                                       ("ensemble", "fold")]
    assert rows[1]["past_dropout"] == 1.0 and rows[0]["past_dropout"] == 0.0
    assert rows[2]["epochs"] is None and rows[2]["train_seconds"] is None
    assert cv.read_results(path) == [{**row, "snr_db": round(row["snr_db"], 4),
                                      "noisy_snr_db": round(row["noisy_snr_db"], 4),
                                      "ceiling_snr_db": round(row["ceiling_snr_db"], 4)}
                                     for row in rows]


def test_the_experiment_log_shows_the_tables_the_shipped_results_give():
    log = (Path(crossval.__file__).parent / "README.md").read_text()
    for block in experiment_log.markdown(SHIPPED_ROWS, SHIPPED_DECISIONS,
                                         SHIPPED_COMMANDS).split("\n\n"):
        assert block in log


def test_the_experiment_log_never_shows_adopted_beside_worse():
    """Every row of the log's table of changes: a model named in bold (adopted) has no
    "(worse)" difference on the folds, in SNR or in DNSMOS OVRL."""
    log = (Path(crossval.__file__).parent / "README.md").read_text()
    lines = [line for line in log.splitlines() if line.startswith("| ") and "` against `" in line]
    assert len(lines) == len(SHIPPED_CHANGES)
    for line in lines:
        cells = line.split(" | ")
        adopted = re.match(r"\*\*(.*?)\*\*", cells[2])
        for model in adopted.group(1).split(", ") if adopted else []:
            assert f"{model} " in cells[3], line
            for cell in cells[3:5]:  # SNR, OVRL
                assert not re.search(rf"(^|<br>){re.escape(model)} [^<]*\(worse\)", cell), line


def _scored_fold(speech_like):
    """A fold of 0.5 s scored against a clean signal, and three estimates of it."""
    clean = speech_like(8_000, seed=1)
    noisy = clean + 0.1 * speech_like(8_000, seed=4)
    columns = {"recordings": "standin", "backend": "tensorflow", "code": crossval.HEAD, "fold": 1}
    scored = crossval.Scored({cv.FOLD_CLIP: (noisy, clean)},
                             crossval._clip_baselines({cv.FOLD_CLIP: (noisy, clean)}), columns)
    first, second, reference = (clean + 0.05 * speech_like(8_000, seed=seed) for seed in (2, 3, 5))
    return scored, clean, first, second, reference


def test_the_ensemble_and_the_reference_combinations_score_waveform_means(speech_like):
    scored, clean, first, second, reference = _scored_fold(speech_like)
    estimates = {"cnn1d": {cv.FOLD_CLIP: first}, "cnn2d": {cv.FOLD_CLIP: second}}
    experiment = crossval.Experiment("e", "a change", "b", "cnn2d-fours")
    rows = crossval._combined_rows(scored, experiment, 1, estimates,
                                   {"DeepFilterNet3": {cv.FOLD_CLIP: reference}})
    expected = {"ensemble": 0.5 * (first + second), "cnn1d+DeepFilterNet3 mean":
                0.5 * (first + reference), "cnn2d+DeepFilterNet3 mean": 0.5 * (second + reference)}
    rows = [row for row in rows if not row["model"].endswith(crossval.GATED[0])]
    assert [row["model"] for row in rows] == list(expected)
    for row in rows:
        assert row["snr_db"] == pytest.approx(dsp.snr_db(clean, expected[row["model"]]))
        assert (row["seed"], row["experiment"], row["change"], row["baseline"]) == (1, "e", "", "")
        assert row["epochs"] is None and row["fold"] == 1


def test_the_shipped_gated_combination_is_compared_with_the_mean(speech_like):
    scored, clean, first, second, reference = _scored_fold(speech_like)
    rows = crossval._combined_rows(scored, crossval.Experiment("e"), 0,
                                   {"cnn1d": {cv.FOLD_CLIP: first}},
                                   {"DeepFilterNet3": {cv.FOLD_CLIP: reference}})
    mean, gated = "cnn1d+DeepFilterNet3 mean", f"cnn1d+DeepFilterNet3 {crossval.GATED[0]}"
    assert [row["model"] for row in rows] == [mean, gated]
    assert (rows[1]["experiment"], rows[1]["change"], rows[1]["baseline"],
            rows[1]["baseline_model"]) == ("e", crossval.GATED[1], "e", mean)
    assert rows[1]["snr_db"] == pytest.approx(dsp.snr_db(clean, dsp.gated_mean(first, reference)))


def _results_dir(tmp_path) -> Path:
    """Temporary results: the baseline ``old`` rows of :func:`_change_rows` and copies of the
    shipped decisions and commands."""
    folder = tmp_path / "results"
    crossval.write_rows(folder / "crossval.csv",
                        [row for row in _change_rows() if row["experiment"] == "old"])
    shutil.copyfile(crossval.DECISIONS_CSV, folder / "decisions.csv")
    shutil.copyfile(crossval.COMMANDS_CSV, folder / "commands.csv")
    return folder


def _run_csv(tmp_path, gains=(0.3, -0.1), **columns) -> Path:
    """A run of ``new`` against ``old`` (seed s gains ``gains[s]`` on every fold, unless a gain
    is a list, one per fold), with a reference denoiser's pretrained row."""
    rows = [_row("RNNoise", crossval.PRETRAINED, 1, 9.0)]
    for seed, gain in enumerate(gains):
        for fold, snr in enumerate([10.0, 11.0, 12.5], start=1):
            step = gain[fold - 1] if isinstance(gain, list) else gain
            rows.append(_row("cnn1d", "new", fold, snr + step, seed,
                             **{"change": "a change", "baseline": "old", **columns}))
    crossval.write_rows(tmp_path / "run.csv", rows)
    return tmp_path / "run.csv"


def _file(run, folder, *decisions, command="python -m benchmarks.crossval --experiment new"):
    filing.main([str(run), "--command", command, "--results-dir", str(folder),
                 *(["--decision", *decisions] if decisions else [])])


def test_a_filed_run_adds_its_rows_its_command_and_a_decision_per_model(tmp_path):
    folder, run = _results_dir(tmp_path), _run_csv(tmp_path)
    _file(run, folder, "cnn1d=yes")
    rows = cv.read_results(folder / "crossval.csv")
    assert rows == [r for r in _change_rows() if r["experiment"] == "old"] + cv.read_results(run)
    decisions = cv.read_decisions(folder / "decisions.csv")
    assert decisions[("standin", "tensorflow", "new", "old", "", "cnn1d")] == cv.Decision(True)
    assert decisions == {**SHIPPED_DECISIONS, **decisions}
    assert len(decisions) == len(SHIPPED_DECISIONS) + 1
    commands = experiment_log.read_commands(folder / "commands.csv")
    assert commands[:-1] == SHIPPED_COMMANDS
    assert commands[-1] == {"recordings": "standin", "backend": "tensorflow", "experiment": "new",
                            "models": ["cnn1d"],
                            "command": "python -m benchmarks.crossval --experiment new"}
    (change,) = cv.recipe_changes(rows, decisions)
    assert change.adopted == ("cnn1d",) and str(change.differences["cnn1d"]).endswith("(better)")
    assert experiment_log.command_of(commands, change) == commands[-1]["command"]


def test_filing_a_run_again_replaces_its_rows_command_and_decisions(tmp_path):
    folder, run = _results_dir(tmp_path), _run_csv(tmp_path)
    _file(run, folder, "cnn1d=yes")
    _file(_run_csv(tmp_path, gains=(0.4, 0.0)), folder, "cnn1d=no: not now, in words",
          command="python -m benchmarks.crossval --experiment new --seeds 0 1")
    rows = cv.read_results(folder / "crossval.csv")
    assert len(rows) == 13 and rows[-1]["snr_db"] == 12.5  # the second run's seed 1, fold 3
    decisions = cv.read_decisions(folder / "decisions.csv")
    assert decisions[("standin", "tensorflow", "new", "old", "", "cnn1d")] == cv.Decision(
        False, "not now, in words")
    assert len(decisions) == len(SHIPPED_DECISIONS) + 1
    commands = experiment_log.read_commands(folder / "commands.csv")
    assert [c["command"] for c in commands] == [c["command"] for c in SHIPPED_COMMANDS] + [
        "python -m benchmarks.crossval --experiment new --seeds 0 1"]


def test_a_baseline_run_is_filed_with_its_command_and_no_decision(tmp_path):
    folder = _results_dir(tmp_path)
    run = tmp_path / "baseline.csv"
    crossval.write_rows(run, [_row("cnn2d", "old", fold, 9.0) for fold in (1, 2, 3)])
    _file(run, folder, command="python -m benchmarks.crossval --models cnn2d --experiment old")
    assert cv.read_decisions(folder / "decisions.csv") == SHIPPED_DECISIONS
    assert experiment_log.read_commands(folder / "commands.csv")[-1]["models"] == ["cnn2d"]


@pytest.mark.parametrize("gains, columns, decisions, message", [
    ((-0.3, -0.1), {}, ["cnn1d=yes:simpler"], "cannot be adopted where it is worse"),
    (([0.3, -0.2, 0.1], [0.2, -0.3, 0.0]), {}, ["cnn1d=yes"],
     "cnn1d: a tie adopted needs a reason (cnn1d=yes:REASON)"),
    ((0.3, -0.1), {}, ["cnn1d=no"], "cnn1d: a win turned down needs a reason (cnn1d=no:REASON)"),
    ((0.3, -0.1), {}, [], "decide exactly the models of the change, ['cnn1d']; got none"),
    ((0.3, -0.1), {}, ["cnn1d=yes", "cnn2d=no"], "decide exactly"),
    ((0.3, -0.1), {"baseline": "missing"}, ["cnn1d=yes"], "no baseline rows"),
    ((0.3, -0.1), {"backend": "jax"}, ["cnn1d=yes"], "no baseline rows"),
])
def test_a_run_that_breaks_the_log_rules_is_refused_and_nothing_is_written(
        tmp_path, capsys, gains, columns, decisions, message):
    folder = _results_dir(tmp_path)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    with pytest.raises(SystemExit):
        _file(_run_csv(tmp_path, gains, **columns), folder, *decisions)
    assert message in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


def test_a_command_shared_with_other_models_is_left_for_a_person_to_edit(tmp_path, capsys):
    folder = _results_dir(tmp_path)
    with open(folder / "commands.csv", "a", newline="") as handle:
        csv.writer(handle).writerow(["standin", "tensorflow", "new", "cnn1d; cnn2d", "python x"])
    with pytest.raises(SystemExit):
        _file(_run_csv(tmp_path), folder, "cnn1d=yes")
    assert "edit it by hand" in capsys.readouterr().err


def test_a_decision_reads_model_adoption_and_reason():
    assert filing.parse_decision("cnn1d+DeepFilterNet3 mean=no:simpler: as good") == (
        "cnn1d+DeepFilterNet3 mean", cv.Decision(False, "simpler: as good"))
    assert filing.parse_decision("cnn2d=yes") == ("cnn2d", cv.Decision(True, ""))
    with pytest.raises(ValueError, match="MODEL=yes"):
        filing.parse_decision("cnn2d=maybe")
