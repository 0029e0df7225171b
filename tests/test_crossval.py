"""The cross-validation tool (benchmarks/crossval.py): folds, learning-curve ranges, recipes, the
results CSV (its rows replaced by key, the shipped file's columns), the commands that rerun a
change, the summaries, and a short end-to-end run."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import cross_validation as cv
import dsp_helpers as dsp
import models_tf
from benchmarks import crossval

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


def test_full_share_is_everything_outside_the_fold():
    assert crossval.nearest_training_ranges(1000 * HOP, (400 * HOP, 600 * HOP)) == [
        (0, 400 * HOP), (600 * HOP, 1000 * HOP)]
    assert crossval.nearest_training_ranges(1000 * HOP + 3, (0, 200 * HOP)) == [
        (200 * HOP, 1000 * HOP + 3)]


def test_partial_share_takes_the_nearest_samples_evenly_from_both_sides():
    # rest = 800 hops; a quarter is 200 hops: 100 on each side of the fold
    assert crossval.nearest_training_ranges(1000 * HOP, (400 * HOP, 600 * HOP), 0.25) == [
        (300 * HOP, 400 * HOP), (600 * HOP, 700 * HOP)]


def test_partial_share_next_to_an_edge_takes_the_rest_from_the_other_side():
    # 50 hops before the fold; 40 % of the 800-hop rest is 320 hops: 50 before, 270 after
    assert crossval.nearest_training_ranges(1000 * HOP, (50 * HOP, 250 * HOP), 0.4) == [
        (0, 50 * HOP), (250 * HOP, 520 * HOP)]
    assert crossval.nearest_training_ranges(1000 * HOP, (0, 200 * HOP), 0.5) == [
        (200 * HOP, 600 * HOP)]


@pytest.mark.parametrize("share", [0.0, -0.5, 1.5])
def test_share_must_be_a_fraction(share):
    with pytest.raises(ValueError, match="share"):
        crossval.nearest_training_ranges(1000 * HOP, (0, 200 * HOP), share)


def test_join_ranges_puts_the_stretches_end_to_end():
    signal = np.arange(10.0)
    assert crossval.join_ranges(signal, [(0, 2), (7, 10)]).tolist() == [0, 1, 7, 8, 9]


def test_an_experiment_changes_only_the_recipe_values_it_names():
    cnn1d, cnn2d = models_tf.build_cnn1d(), models_tf.build_cnn2d()
    assert crossval.Experiment("e").recipe(cnn2d) == models_tf.recipe_for(cnn2d)
    former = crossval.Experiment("e", epoch_scale=0.5, batch_size=64, past_dropout=0.0)
    assert former.recipe(cnn2d) == models_tf.Recipe(epochs=100, batch_size=64)
    assert former.recipe(cnn1d) == models_tf.Recipe(epochs=60, batch_size=64)
    fixed = crossval.Experiment("e", epochs=7, learning_rate=1e-3).recipe(cnn1d)
    assert (fixed.epochs, fixed.learning_rate) == (7, 1e-3)


def _row(model, experiment, fold, snr, seed=0, clip=cv.FOLD_CLIP, **columns):
    return {"recordings": "standin", "model": model, "experiment": experiment, "change": "",
            "baseline": "", "baseline_model": "", "epochs": 60, "batch_size": 64,
            "learning_rate": 0.002, "past_dropout": 0.0, "backend": "tensorflow",
            "code": cv.HEAD, "seed": seed, "share": 1.0, "fold": fold, "clip": clip,
            "snr_db": snr, "noisy_snr_db": 5.0, "ceiling_snr_db": 15.0, "train_seconds": 1.5,
            "train_samples": 1000, **columns}


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
        "standin,RNNoise,pretrained,,,,,,,,tensorflow,HEAD,0,1.0,1,fold,9.0000,5.0000,15.0000,,")
    assert cv.read_results(path) == [pretrained]


def test_the_shipped_results_name_what_varies_and_what_regenerates_them():
    with open(cv.RESULTS_CSV, newline="") as handle:
        assert handle.readline().strip().split(",") == list(cv.COLUMNS)
    rows = cv.read_results()
    keys = [tuple(row[column] for column in cv.KEY) for row in rows]
    assert len(keys) == len(set(keys))
    combinations = {f"{trained}+{reference} {kind}" for trained in crossval.TRAINED
                    for reference in crossval.REFERENCES for kind in crossval.COMBINATIONS}
    assert all(row["code"] in (cv.HEAD, cv.TAG) or re.fullmatch("[0-9a-f]{7}", row["code"])
               for row in rows)
    assert {row["backend"] for row in rows} <= {"tensorflow", "jax"}
    for row in rows:
        if row["code"] == cv.HEAD:
            assert row["backend"] == "tensorflow", row
            assert row["model"] in {*crossval.TRAINED, crossval.ENSEMBLE, *crossval.REFERENCES,
                                    *combinations}
        if row["model"] in crossval.TRAINED and row["code"] == cv.HEAD:
            models_tf.Recipe(*(row[column] for column in crossval.RECIPE_COLUMNS))


def test_every_shipped_change_has_its_baseline_rows():
    rows = cv.read_results()
    changed = {(r["recordings"], r["backend"], r["model"], r["experiment"]) for r in rows
               if r["baseline"] and r["share"] == 1.0}
    compared = {(c.recordings, c.backend, model, c.experiment)
                for c in cv.recipe_changes(rows) for model in c.differences}
    assert changed == compared


def test_writing_no_new_rows_leaves_the_shipped_file_as_it_is(tmp_path):
    path = tmp_path / "crossval.csv"
    shutil.copyfile(cv.RESULTS_CSV, path)
    crossval.write_rows(path, [])
    assert path.read_bytes() == cv.RESULTS_CSV.read_bytes()


def _rerun_rows():
    return ([_row("cnn1d", "half", fold, 10.0, epochs=30, seed=seed) for fold in (1, 2)
             for seed in (0, 1)]
            + [_row("cnn2d", "half", fold, 10.0, epochs=50, seed=seed) for fold in (1, 2)
               for seed in (0, 1)]
            + [_row("ensemble", "half", 1, 10.0, clip=cv.TRAINING_CLIP)]
            + [_row("cnn2d-fours", "old", 1, 10.0, code=cv.TAG, backend="jax")])


def test_a_change_at_head_is_rerun_with_its_recipe_options_and_columns():
    described = crossval.Experiment("half", "half the budget", "full")
    command = crossval.rerun_command(_rerun_rows(), "standin", "tensorflow", "half",
                                     ["cnn1d", "cnn2d", "ensemble"], described)
    assert command == ("python -m benchmarks.crossval --models cnn1d cnn2d --experiment half "
                       "--change 'half the budget' --baseline full --epoch-scale 0.25 "
                       "--batch-size 64 --past-dropout 0 --seeds 0 1 --score-training")
    assert crossval.rerun_command(_rerun_rows(), "standin", "tensorflow", "half",
                                  ["ensemble"]).startswith(
        "python -m benchmarks.crossval --models cnn1d cnn2d --experiment half")


def test_an_old_change_is_rerun_at_the_tag_under_its_backend():
    assert crossval.rerun_command(_rerun_rows(), "standin", "jax", "old", ["cnn2d-fours"]) == (
        f"git checkout {cv.TAG_COMMIT} && KERAS_BACKEND=jax python -m benchmarks.crossval "
        f"--models cnn2d-fours --variants old")


def test_a_row_of_an_earlier_commit_is_rerun_there_as_at_head():
    rows = [_row("cnn1d", "quick", 1, 10.0, code="dfde573", batch_size=16)]
    assert crossval.rerun_command(rows, "standin", "tensorflow", "quick", ["cnn1d"]) == (
        "git checkout dfde573 && python -m benchmarks.crossval --models cnn1d --experiment "
        "quick --epoch-scale 0.5 --batch-size 16")


def test_one_command_cannot_give_two_models_different_options():
    rows = [_row("cnn1d", "e", 1, 10.0, batch_size=16), _row("cnn2d", "e", 1, 10.0, epochs=100)]
    with pytest.raises(ValueError, match="batch_size"):
        crossval.rerun_command(rows, "standin", "tensorflow", "e", ["cnn1d", "cnn2d"])


def _change_rows():
    """Three folds, two seeds: the new experiment gains +0.3 with seed 0 and -0.1 with seed 1
    on every fold. Over folds (seeds averaged) that is +0.1 ± 0: better; counted as six
    independent runs, +0.1 ± 0.089: a tie."""
    rows = []
    for seed, gain in ((0, 0.3), (1, -0.1)):
        for fold, snr in enumerate([10.0, 11.0, 12.5], start=1):
            rows.append(_row("cnn1d", "old", fold, snr, seed))
            rows.append(_row("cnn1d", "new", fold, snr + gain, seed, change="a change",
                             baseline="old"))
    return rows


def test_summary_gives_every_entry_and_every_change():
    text = crossval.summary(_change_rows())
    old_line = next(line for line in text.splitlines() if " old " in line)
    assert "3 × 2" in old_line and "11.17 ± 0.73" in old_line
    assert "+0.10 ± 0.00 dB (better)" in text


def test_markdown_compares_the_fold_standard_error_with_the_runs_as_independent_one():
    text = crossval.markdown(_change_rows())
    assert ("| a change | `new` against `old` | no | cnn1d +0.10 ± 0.00 (better) |  | 3 × 2 | "
            "cnn1d 2 | `python -m benchmarks.crossval --models cnn1d --experiment new --change "
            "'a change' --baseline old --epoch-scale 0.5 --batch-size 64 --seeds 0 1` |"
            ) in text.splitlines()
    assert ("| a change (`new`) | cnn1d | +0.10 | 0.089 (tie) | 0.000 (better) | **changes** |"
            in text.splitlines())


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
    rows = crossval.cross_validate(recordings, 2, ["cnn1d"], experiment, [0], [1.0],
                                   score_training=True)
    training = [row for row in rows if row["clip"] == cv.TRAINING_CLIP]
    assert [row["fold"] for row in training] == [1, 2]
    for row, (start, stop) in zip(training, crossval.fold_ranges(len(clean), 2)[::-1]):
        other_fold_snr = dsp.snr_db(clean[start:stop], dirty[start:stop])
        assert row["noisy_snr_db"] == pytest.approx(other_fold_snr)
        assert row["train_samples"] == stop - start
    assert {(r["experiment"], r["change"], r["baseline"], r["code"], r["epochs"],
             r["batch_size"], r["learning_rate"], r["past_dropout"]) for r in rows} == {
        ("quick", "one epoch", "full", cv.HEAD, 1, 64, 2e-3, 0.0)}


def test_both_cnns_make_an_ensemble_and_the_rows_land_in_the_csv(write_wav, tmp_path,
                                                                 noisy_pair):
    path = tmp_path / "results" / "crossval.csv"
    experiment = crossval.Experiment("quick", epochs=1)
    rows = crossval.cross_validate(_recordings(write_wav, tmp_path, noisy_pair), 2,
                                   ["cnn1d", "cnn2d"], experiment, [0], [1.0], csv_path=path,
                                   only_folds=[1])
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
    for block in crossval.markdown(cv.read_results()).split("\n\n"):
        assert block in log


def test_combinations_average_waveforms_or_magnitudes(speech_like):
    """The waveform mean is the plain mean; the geometric mean of two equal estimates, played
    with the noisy phase of that same signal, gives the signal back."""
    first, second = speech_like(8_000, seed=1), speech_like(8_000, seed=2)
    np.testing.assert_array_equal(crossval.COMBINATIONS["mean"](first, second, first),
                                  0.5 * (first + second))
    np.testing.assert_allclose(crossval.COMBINATIONS["geometric"](first, first, first), first,
                               atol=1e-5)

