"""The cross-validation statistics (cross_validation.py) on constructed rows, with exact
arithmetic: seeds averaged within a fold, mean ± standard error over folds, paired differences
over the folds both entries have, the decision rule, and adoption read from decisions data
keyed on a change's full identity."""

from __future__ import annotations

import csv
import math

import pytest

import cross_validation as cv


def _row(model, experiment, fold, snr, seed=0, clip=cv.FOLD_CLIP, share=1.0, **columns):
    """A row as :func:`cross_validation.read_results` returns it."""
    return {"recordings": "standin", "model": model, "experiment": experiment, "change": "",
            "baseline": "", "baseline_model": "", "epochs": 3, "batch_size": 32,
            "learning_rate": 2e-3, "past_dropout": 0.0, "backend": "tensorflow",
            "code": "HEAD", "seed": seed, "share": share, "fold": fold, "clip": clip,
            "snr_db": snr, "noisy_snr_db": 5.0, "ceiling_snr_db": 15.0, "sig": None, "bak": None,
            "ovrl": None, "noisy_ovrl": None, "clean_ovrl": None, "train_seconds": 1.5,
            "train_samples": 16_000, **columns}


def _entry(model, experiment, snrs_by_seed, **columns):
    """Rows of one entry: ``snrs_by_seed[seed]`` lists its SNR on folds 1, 2, ..."""
    return [_row(model, experiment, fold, snr, seed, **columns)
            for seed, snrs in snrs_by_seed.items() for fold, snr in enumerate(snrs, start=1)]


def test_read_results_types_every_column_and_leaves_missing_values_none(tmp_path):
    path = tmp_path / "results.csv"
    trained = {**_row("cnn1d", "e", 2, 11.25), "learning_rate": 0.001}
    pretrained = {**_row("RNNoise", "pretrained", 1, 9.5), **dict.fromkeys(
        ("epochs", "batch_size", "learning_rate", "past_dropout", "train_seconds",
         "train_samples"), "")}
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, cv.COLUMNS)
        writer.writeheader()
        writer.writerows([trained, pretrained])
    first, second = cv.read_results(path)
    assert first == trained
    assert type(first["fold"]) is int and type(first["share"]) is float
    assert second["epochs"] is None and second["train_seconds"] is None
    assert second["snr_db"] == 9.5


def test_read_results_of_a_csv_written_before_a_column_existed_leaves_it_none(tmp_path):
    path = tmp_path / "old.csv"
    new_columns = ("sig", "bak", "ovrl", "noisy_ovrl", "clean_ovrl")
    old_columns = [c for c in cv.COLUMNS if c not in new_columns]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, old_columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerow(_row("cnn1d", "e", 1, 10.0))
    (row,) = cv.read_results(path)
    assert row == _row("cnn1d", "e", 1, 10.0)
    assert list(row) == list(cv.COLUMNS)


def test_paired_difference_in_ovrl_uses_the_folds_where_dnsmos_was_measured():
    new = [_row("cnn1d", "new", 1, 12.0, ovrl=3.0), _row("cnn1d", "new", 2, 12.0, ovrl=2.5),
           _row("cnn1d", "new", 3, 12.0)]  # fold 3: no DNSMOS
    old = [_row("cnn1d", "old", fold, 11.0, ovrl=2.0) for fold in (1, 2, 3)]
    ovrl = cv.paired_difference(new + old, ("cnn1d", "new"), ("cnn1d", "old"), metric="ovrl")
    assert (ovrl.mean, ovrl.error, ovrl.folds) == (0.75, 0.25, 2)
    assert str(ovrl) == "+0.75 ± 0.25 OVRL (better)"
    snr = cv.paired_difference(new + old, ("cnn1d", "new"), ("cnn1d", "old"))
    assert (snr.mean, snr.folds, snr.unit) == (1.0, 3, "dB")
    with pytest.raises(ValueError, match="with ovrl"):
        cv.paired_difference(old + [_row("cnn2d", "new", 1, 9.0)], ("cnn2d", "new"),
                             ("cnn1d", "old"), metric="ovrl")
    with pytest.raises(ValueError, match="no metric 'stoi'"):
        cv.fold_scores(old, "cnn1d", "old", metric="stoi")


def test_mean_and_standard_error_with_known_numbers():
    mean, error = cv.mean_and_error([1.0, 2.0, 3.0, 6.0])
    # deviations -2, -1, 0, 3: sample variance 14 / 3, standard error sqrt(14 / 3) / sqrt(4)
    assert mean == 3.0
    assert error == pytest.approx(math.sqrt(14.0 / 3.0) / 2.0)
    single_mean, single_error = cv.mean_and_error([5.0])
    assert single_mean == 5.0 and math.isnan(single_error)


def test_two_seeds_in_a_fold_are_averaged_before_the_folds():
    rows = _entry("cnn1d", "e", {0: [10.0, 14.0], 1: [12.0, 14.5]})
    assert cv.fold_scores(rows, "cnn1d", "e") == {1: 11.0, 2: 14.25}


def test_fold_scores_of_one_clip_and_share():
    rows = (_entry("cnn1d", "e", {0: [10.0, 12.0]})
            + [_row("cnn1d", "e", 1, 7.0, clip="test_01"),
               _row("cnn1d", "e", 1, 8.0, share=0.5)])
    assert cv.fold_scores(rows, "cnn1d", "e", clip="test_01") == {1: 7.0}
    assert cv.fold_scores(rows, "cnn1d", "e", share=0.5) == {1: 8.0}


def test_paired_difference_counts_folds_not_runs():
    """Two seeds on each of three folds: the fold differences (seeds averaged) are 2, 1 and 1,
    so the mean is 4/3 and the standard error sd([2, 1, 1]) / sqrt(3) = 1/3, over 3 folds."""
    old = _entry("cnn1d", "old", {0: [10.0, 10.0, 10.0], 1: [10.0, 10.0, 10.0]})
    new = _entry("cnn1d", "new", {0: [11.0, 10.5, 10.0], 1: [13.0, 11.5, 12.0]})
    difference = cv.paired_difference(old + new, ("cnn1d", "new"), ("cnn1d", "old"))
    assert difference.mean == pytest.approx(4.0 / 3.0)
    assert difference.error == pytest.approx(1.0 / 3.0)
    assert (difference.folds, difference.seeds) == (3, 2)
    assert difference.verdict == "better"


def test_paired_difference_averages_the_seeds_both_entries_ran():
    """The baseline gained a second seed (all +3 dB): a change run with seed 0 only is still
    compared seed 0 against seed 0, +0.5 on every fold; where the two share no seed, each
    entry's own seeds are averaged (+0.5 against the mean of 10 and 13)."""
    baseline = _entry("cnn1d", "old", {0: [10.0, 11.0, 12.0], 1: [13.0, 14.0, 15.0]})
    change = _entry("cnn1d", "new", {0: [10.5, 11.5, 12.5]})
    difference = cv.paired_difference(baseline + change, ("cnn1d", "new"), ("cnn1d", "old"))
    assert (difference.mean, difference.error, difference.seeds) == (0.5, 0.0, 1)
    other_seed = _entry("cnn1d", "new", {2: [12.0, 13.0, 14.0]})
    difference = cv.paired_difference(baseline + other_seed, ("cnn1d", "new"), ("cnn1d", "old"))
    assert (difference.mean, difference.seeds) == (0.5, 1)


def test_paired_difference_uses_the_folds_both_entries_have():
    rows = (_entry("cnn1d", "a", {0: [10.0, 12.0, 11.0]})
            + [_row("cnn1d", "b", fold, snr) for fold, snr in ((1, 9.0), (2, 11.5), (4, 0.0))])
    difference = cv.paired_difference(rows, ("cnn1d", "a"), ("cnn1d", "b"))
    assert (difference.mean, difference.folds) == (0.75, 2)
    assert difference.error == pytest.approx(0.25)  # differences 1.0 and 0.5


def test_paired_difference_of_mismatched_folds_is_an_error():
    rows = [_row("cnn1d", "a", 1, 10.0), _row("cnn1d", "a", 2, 10.0),
            _row("cnn1d", "b", 3, 10.0), _row("cnn1d", "b", 4, 10.0)]
    with pytest.raises(ValueError, match="share no fold"):
        cv.paired_difference(rows, ("cnn1d", "a"), ("cnn1d", "b"))
    with pytest.raises(ValueError, match="no rows of cnn2d"):
        cv.paired_difference(rows, ("cnn2d", "a"), ("cnn1d", "b"))


def test_rows_of_two_backends_are_never_averaged_together():
    rows = _entry("cnn1d", "e", {0: [10.0, 11.0]}) + _entry("cnn1d", "e", {0: [9.0, 9.0]},
                                                            backend="jax")
    with pytest.raises(ValueError, match="select one first"):
        cv.fold_scores(rows, "cnn1d", "e")
    assert cv.fold_scores(cv.select(rows, backend="jax"), "cnn1d", "e") == {1: 9.0, 2: 9.0}


@pytest.mark.parametrize("mean, error, expected", [
    (0.5, 0.25, "tie"), (0.5000001, 0.25, "better"), (-0.5, 0.25, "tie"),
    (-0.5000001, 0.25, "worse"), (0.0, 0.0, "tie"), (1.0, math.nan, "tie")])
def test_a_change_wins_or_loses_only_beyond_twice_its_standard_error(mean, error, expected):
    assert cv.verdict(mean, error) == expected


def test_difference_reads_as_mean_error_and_verdict():
    assert str(cv.Difference(0.1234, 0.05, 5, 2)) == "+0.12 ± 0.05 dB (better)"
    assert str(cv.Difference(-0.05, 0.05, 5, 1)) == "-0.05 ± 0.05 dB (tie)"


def test_model_verdict_names_the_winner_or_a_tie():
    rows = (_entry("cnn1d", "e", {0: [12.0, 13.0, 14.0]})
            + _entry("cnn2d", "e", {0: [11.0, 12.1, 12.9]})
            + _entry("fc", "e", {0: [12.5, 12.5, 14.5]}))
    difference, winner = cv.model_verdict(rows, "cnn2d", "cnn1d", "e")
    assert winner == "cnn1d" and difference.mean == pytest.approx(-1.0)
    assert cv.model_verdict(rows, "cnn1d", "fc", "e")[1] == "tie"  # -0.5, +0.5, -0.5
    heard = [{**row, "ovrl": 3.0 if row["model"] == "cnn2d" else 2.5} for row in rows]
    difference, winner = cv.model_verdict(heard, "cnn2d", "cnn1d", "e", metric="ovrl")
    assert (winner, difference.mean, difference.unit) == ("cnn2d", 0.5, "OVRL")


def test_recipe_changes_pair_each_model_with_its_baseline():
    change = {"change": "minibatches of 32", "baseline": "b64"}
    rows = (_entry("cnn1d", "b64", {0: [10.0, 11.0, 12.0]})
            + _entry("cnn2d", "b64", {0: [9.0, 10.0, 11.0]})
            + _entry("cnn1d", "b32", {0: [10.5, 11.5, 12.5], 1: [10.7, 11.3, 12.5]}, **change)
            + _entry("cnn2d", "b32", {0: [9.0, 10.1, 10.8]}, **change)
            + _entry("fc", "b32", {0: [1.0, 2.0, 3.0]}, **change)  # no fc baseline: left out
            + _entry("cnn2d", "b32", {0: [1.0]}, share=0.5, **change))  # not a full share
    (table,) = cv.recipe_changes(rows)
    assert (table.experiment, table.change, table.baseline) == ("b32", "minibatches of 32", "b64")
    assert list(table.differences) == ["cnn1d", "cnn2d"]
    # seed 0, the one both ran: 10.5, 11.5, 12.5 against 10, 11, 12 (seed 1's 10.7, 11.3,
    # 12.5 averaged in would give differences 0.6, 0.4, 0.5)
    assert table.differences["cnn1d"].mean == pytest.approx(0.5)
    assert table.differences["cnn1d"].error == pytest.approx(0.0)
    assert table.differences["cnn1d"].seeds == 1
    assert table.differences["cnn2d"].verdict == "tie"
    assert table.adopted == ()
    assert table.ovrl_differences == {}  # no DNSMOS in these rows


def test_recipe_changes_carry_the_ovrl_difference_where_both_sides_were_scored():
    rows = ([_row("cnn1d", "old", fold, 10.0, ovrl=2.5) for fold in (1, 2)]
            + [_row("cnn1d", "new", fold, 10.0, ovrl=ovrl, change="c", baseline="old")
               for fold, ovrl in ((1, 2.75), (2, 3.25))]
            + [_row("cnn2d", "old", fold, 10.0) for fold in (1, 2)]
            + [_row("cnn2d", "new", fold, 11.0, ovrl=3.0, change="c", baseline="old")
               for fold in (1, 2)])
    (table,) = cv.recipe_changes(rows)
    assert list(table.differences) == ["cnn1d", "cnn2d"]
    assert list(table.ovrl_differences) == ["cnn1d"]  # cnn2d's baseline has no DNSMOS
    assert (table.ovrl_differences["cnn1d"].mean, table.ovrl_differences["cnn1d"].unit) \
        == (0.5, "OVRL")


def test_recipe_changes_compare_a_changed_model_with_the_baseline_model():
    rows = (_entry("cnn2d-fours", "e", {0: [10.0, 11.0]})
            + _entry("cnn2d", "e", {0: [10.5, 11.5]}, change="pairs", baseline="e",
                     baseline_model="cnn2d-fours"))
    (table,) = cv.recipe_changes(rows)
    assert table.baseline_model == "cnn2d-fours"
    assert table.differences["cnn2d"].mean == 0.5


def _decisions_file(tmp_path, lines):
    path = tmp_path / "decisions.csv"
    path.write_text("\n".join([",".join(cv.DECISION_COLUMNS), *lines]) + "\n")
    return path


def test_read_decisions_keys_each_decision_on_the_change_and_the_model(tmp_path):
    path = _decisions_file(tmp_path, ["standin,tensorflow,b32,b64,,cnn1d,yes,",
                                      'course-80,tensorflow,b32,b64,,cnn1d,no,"worse, there"'])
    assert cv.read_decisions(path) == {
        ("standin", "tensorflow", "b32", "b64", "", "cnn1d"): cv.Decision(True, ""),
        ("course-80", "tensorflow", "b32", "b64", "", "cnn1d"): cv.Decision(False, "worse, there")}


@pytest.mark.parametrize("lines, message", [
    (["standin,tensorflow,b32,b64,,cnn1d,maybe,"], "yes or no"),
    (["standin,tensorflow,b32,b64,,cnn1d,yes,", "standin,tensorflow,b32,b64,,cnn1d,no,"],
     "decided twice")])
def test_read_decisions_refuses_an_unclear_or_repeated_decision(tmp_path, lines, message):
    with pytest.raises(ValueError, match=message):
        cv.read_decisions(_decisions_file(tmp_path, lines))


def _b32_on(recordings, gains):
    """An entry b64 and the change b32 against it on ``recordings``, b32 ``gains`` dB above."""
    change = {"change": "minibatches of 32", "baseline": "b64", "recordings": recordings}
    before = [10.0, 11.0, 12.0]
    return (_entry("cnn1d", "b64", {0: before}, recordings=recordings)
            + _entry("cnn1d", "b32", {0: [snr + gain for snr, gain in zip(before, gains)]},
                     **change))


def test_a_change_is_adopted_only_on_the_recordings_its_decision_names():
    """The same experiment, run again on course-80 where it loses, is not adopted there
    because the stand-in adopted it: adoption is keyed on the recordings too."""
    rows = _b32_on("standin", [0.5, 0.6, 0.4]) + _b32_on("course-80", [-0.5, -0.4, -0.6])
    decisions = {("standin", "tensorflow", "b32", "b64", "", "cnn1d"): cv.Decision(True)}
    standin, course = cv.recipe_changes(rows, decisions)
    assert (standin.recordings, standin.adopted) == ("standin", ("cnn1d",))
    assert standin.differences["cnn1d"].verdict == "better"
    assert (course.recordings, course.adopted, course.decisions) == ("course-80", (), {})
    assert course.differences["cnn1d"].verdict == "worse"


def test_a_decision_of_another_baseline_or_model_does_not_adopt_a_change():
    rows = _b32_on("standin", [0.5, 0.6, 0.4])
    for key in (("standin", "tensorflow", "b32", "b16", "", "cnn1d"),
                ("standin", "tensorflow", "b32", "b64", "cnn1d-K16", "cnn1d"),
                ("standin", "jax", "b32", "b64", "", "cnn1d"),
                ("standin", "tensorflow", "b32", "b64", "", "cnn2d")):
        (change,) = cv.recipe_changes(rows, {key: cv.Decision(True)})
        assert change.adopted == (), key
    (change,) = cv.recipe_changes(rows)
    assert change.adopted == () and change.identity == ("standin", "tensorflow", "b32", "b64", "")
