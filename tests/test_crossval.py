"""The cross-validation tool: folds, learning-curve ranges, statistics, CSV rows, and a short
end-to-end run."""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import numpy as np
import pytest

import dsp_helpers as dsp
import models_tf
from benchmarks import crossval as cv

HOP = 512


@pytest.mark.parametrize("length, folds", [(1_258_899, 5), (100 * HOP + 7, 3), (10 * HOP, 10)])
def test_folds_cover_the_pair_contiguously_on_hop_boundaries(length, folds):
    ranges = cv.fold_ranges(length, folds)
    assert len(ranges) == folds
    assert ranges[0][0] == 0 and ranges[-1][1] == length
    assert all(stop == next_start for (_, stop), (next_start, _) in zip(ranges, ranges[1:]))
    assert all(start % HOP == 0 for start, _ in ranges)
    sizes = [stop - start for start, stop in ranges[:-1]]
    assert max(sizes) - min(sizes) <= HOP


def test_five_folds_of_the_course_length():
    assert cv.fold_ranges(1_258_899, 5) == [(0, 251904), (251904, 503296), (503296, 755200),
                                             (755200, 1006592), (1006592, 1258899)]


@pytest.mark.parametrize("folds", [1, 11])
def test_fold_count_must_fit(folds):
    with pytest.raises(ValueError, match="folds"):
        cv.fold_ranges(10 * HOP, folds)


def test_full_share_is_everything_outside_the_fold():
    assert cv.nearest_training_ranges(1000 * HOP, (400 * HOP, 600 * HOP)) == [
        (0, 400 * HOP), (600 * HOP, 1000 * HOP)]
    assert cv.nearest_training_ranges(1000 * HOP + 3, (0, 200 * HOP)) == [
        (200 * HOP, 1000 * HOP + 3)]


def test_partial_share_takes_the_nearest_samples_evenly_from_both_sides():
    # rest = 800 hops; a quarter is 200 hops: 100 on each side of the fold
    assert cv.nearest_training_ranges(1000 * HOP, (400 * HOP, 600 * HOP), 0.25) == [
        (300 * HOP, 400 * HOP), (600 * HOP, 700 * HOP)]


def test_partial_share_next_to_an_edge_takes_the_rest_from_the_other_side():
    # 50 hops before the fold; 40 % of the 800-hop rest is 320 hops: 50 before, 270 after
    assert cv.nearest_training_ranges(1000 * HOP, (50 * HOP, 250 * HOP), 0.4) == [
        (0, 50 * HOP), (250 * HOP, 520 * HOP)]
    assert cv.nearest_training_ranges(1000 * HOP, (0, 200 * HOP), 0.5) == [
        (200 * HOP, 600 * HOP)]


@pytest.mark.parametrize("share", [0.0, -0.5, 1.5])
def test_share_must_be_a_fraction(share):
    with pytest.raises(ValueError, match="share"):
        cv.nearest_training_ranges(1000 * HOP, (0, 200 * HOP), share)


def test_mean_and_standard_error():
    mean, error = cv.mean_and_error([1.0, 2.0, 3.0, 6.0])
    assert mean == 3.0
    assert error == pytest.approx(math.sqrt(14.0 / 3.0) / 2.0)  # sample sd / sqrt(4)
    assert cv.mean_and_error([5.0]) == (5.0, 0.0)


def test_paired_difference_uses_common_folds_only():
    first = {(1, 0): 10.0, (2, 0): 12.0, (3, 0): 11.0}
    second = {(1, 0): 9.0, (2, 0): 11.5, (4, 0): 0.0}
    mean, error, count = cv.paired_difference(first, second)
    assert (mean, count) == (0.75, 2)
    assert error == pytest.approx(0.25)  # differences 1.0 and 0.5
    with pytest.raises(ValueError, match="no fold"):
        cv.paired_difference({(1, 0): 1.0}, {(2, 0): 1.0})


def _row(model, variant, fold, snr, clip=cv.FOLD_CLIP):
    return {"recordings": "standin", "model": model, "variant": variant, "seed": 0, "share": 1.0,
            "fold": fold, "clip": clip, "snr_db": snr, "noisy_snr_db": 5.0, "ceiling_snr_db": 15.0,
            "train_seconds": 1.5, "train_samples": 1000, "epochs": 3}


def test_rows_round_trip_and_replace_by_key(tmp_path):
    path = tmp_path / "cv.csv"
    cv.write_rows(path, [_row("cnn1d", "tail", 1, 10.0), _row("cnn1d", "tail", 2, 11.0)])
    cv.write_rows(path, [_row("cnn1d", "tail", 2, 12.5), _row("cnn2d", "tail", 1, 9.0)])
    rows = cv.read_rows([path])
    assert [(r["model"], r["fold"], r["snr_db"]) for r in rows] == [
        ("cnn1d", 1, 10.0), ("cnn1d", 2, 12.5), ("cnn2d", 1, 9.0)]
    assert rows[0]["share"] == 1.0 and rows[0]["epochs"] == 3


def test_rows_of_other_recordings_are_never_mixed_into_a_file(tmp_path):
    path = tmp_path / "cv.csv"
    cv.write_rows(path, [_row("cnn1d", "tail", 1, 10.0)])
    course = {**_row("cnn1d", "tail", 1, 12.0), "recordings": "course"}
    with pytest.raises(ValueError, match=r"cv.csv: holds rows of the standin recordings, not "
                                         r"course; write these rows to another file with --csv"):
        cv.write_rows(path, [course])
    assert [r["snr_db"] for r in cv.read_rows([path])] == [10.0]  # the file is untouched
    cv.check_recordings(path, "standin")
    cv.check_recordings(tmp_path / "new.csv", "course")  # a new file takes any recordings


def test_training_costs_give_epochs_and_mean_seconds_per_model_and_recipe():
    rows = [{**_row("cnn2d", "half", 1, 10.0), "train_seconds": 60.0, "epochs": 50},
            {**_row("cnn2d", "half", 2, 10.0), "train_seconds": 70.0, "epochs": 50},
            {**_row("cnn2d", "half", 1, 10.0), "train_seconds": 90.0, "epochs": 50, "seed": 1},
            {**_row("cnn2d", "half", 1, 10.0, clip="test_01"), "train_seconds": 999.0},
            {**_row("cnn1d", "batch-32", 1, 10.0), "train_seconds": 30.4, "epochs": 60},
            {**_row("fc", "half", 1, 10.0), "train_seconds": 5.0}]
    assert cv.training_costs(rows, ("cnn1d", "cnn2d")) == [
        "  cnn1d  batch-32   60 epochs,   30 s", "  cnn2d  half       50 epochs,   73 s"]
    assert cv.training_costs(rows, ("cnn2d",), seed=0) == ["  cnn2d  half   50 epochs,   65 s"]
    assert cv.training_costs(rows, ("cnn1d",), seed=1) == []


def test_summary_reports_mean_share_of_gain_and_the_paired_verdict():
    rows = ([_row("cnn1d", "tail", fold, snr) for fold, snr in enumerate([10, 11, 12], 1)]
            + [_row("cnn1d", "new", fold, snr) for fold, snr in enumerate([11, 12.2, 12.9], 1)]
            + [_row("cnn1d", "noise", fold, snr) for fold, snr in enumerate([12, 10, 12.3], 1)])
    text = cv.summary(rows, baseline="tail")
    new_line = next(line for line in text.splitlines() if " new " in line)
    assert "12.03 ± 0.55" in new_line and "+1.03 ± 0.09 (better)" in new_line
    assert "70.3%" in new_line  # (12.03 - 5) / (15 - 5)
    noise_line = next(line for line in text.splitlines() if " noise " in line)
    assert "(within 2 s.e.)" in noise_line
    assert "noisy input 5.00 dB" in text


def test_learning_curve_orders_points_by_share_with_seconds_of_audio():
    rows = []
    for share, samples, snrs in ((0.5, 16_000 * 30, [9.0, 11.0]), (1.0, 16_000 * 60, [12.0, 13.0])):
        for fold, snr in enumerate(snrs, 1):
            rows.append({**_row("cnn1d", "blocks", fold, snr), "share": share,
                         "train_samples": samples})
    rows.append(_row("cnn1d", "tail", 1, 99.0))  # another variant: not on this curve
    assert cv.learning_curve(rows, "blocks") == {"cnn1d": [(30.0, 10.0, 1.0), (60.0, 12.5, 0.5)]}
    # paired with the same fold at the full share: fold 1 gives 9 - 12, fold 2 gives 11 - 13
    assert cv.learning_curve(rows, "blocks", paired=True) == {
        "cnn1d": [(30.0, -2.5, 0.5), (60.0, 0.0, 0.0)]}


def test_paired_learning_curve_needs_the_full_share():
    rows = [{**_row("cnn1d", "blocks", fold, 10.0), "share": 0.5, "train_samples": 16_000}
            for fold in (1, 2)]
    with pytest.raises(ValueError, match="no full-share rows"):
        cv.learning_curve(rows, "blocks", paired=True)


def test_summary_calls_a_significant_loss_worse():
    rows = ([_row("cnn1d", "tail", fold, snr) for fold, snr in enumerate([10, 11, 12], 1)]
            + [_row("cnn1d", "old", fold, snr) for fold, snr in enumerate([9, 10.1, 10.9], 1)])
    old_line = next(line for line in cv.summary(rows, "tail").splitlines() if " old " in line)
    assert "-1.00 ± 0.06 (worse)" in old_line


def test_summary_counts_folds_and_seeds_and_pairs_by_both():
    rows = [{**_row("cnn1d", variant, fold, snr + (0.5 if variant == "new" else 0.0)), "seed": seed}
            for variant in ("old", "new") for seed in (0, 1)
            for fold, snr in enumerate([10.0 + seed, 12.0], 1)]
    header, table = cv.summary_rows(rows, baseline="old")
    new = next(line for line in table if line[1] == "new")
    assert new[header.index("folds")] == "2 × 2 seeds"
    assert new[header.index("SNR dB (mean ± s.e.)")] == "11.75 ± 0.48"
    assert new[-1] == "+0.50 ± 0.00 (better)"


def test_every_named_recipe_is_accepted_by_training_and_every_builder():
    training = set(inspect.signature(models_tf.train_denoiser).parameters)
    for name, recipe in cv.VARIANTS.items():
        recipe = dict(recipe)
        build = recipe.pop("build", {})
        scale = recipe.pop("epoch_scale", 1)
        assert isinstance(scale, (int, float)) and scale > 0, name
        assert set(recipe) <= training, name
        for builder in cv.TRAINED.values():
            assert set(build) <= set(inspect.signature(builder).parameters), name


def test_the_chosen_recipe_is_what_training_does_by_default_for_the_cnns():
    defaults = {name: parameter.default for name, parameter
                in inspect.signature(models_tf.train_denoiser).parameters.items()}
    recipe = dict(cv.VARIANTS[cv.RECIPE])
    assert "epoch_scale" not in recipe and "build" not in recipe
    batch_size = recipe.pop("batch_size")
    assert {name: defaults[name] for name in recipe} == recipe
    assert defaults["batch_size"] is None  # models_tf.default_batch_size decides
    for name in ("cnn1d", "cnn2d"):
        assert models_tf.default_batch_size(cv.TRAINED[name]()) == batch_size == 32
    assert models_tf.default_batch_size(cv.TRAINED["fc"]()) == 64


def test_every_shipped_row_trained_the_budget_its_recipe_gives_today():
    """The precomputed rows can be re-run as they were: each named recipe still trains each
    model for the epochs its rows record (fewer only where early stopping ended a run)."""
    budgets = {}
    for path in sorted((Path(__file__).parents[1] / "figures").glob("*.csv")):
        with path.open(newline="") as handle:
            if handle.readline().strip().split(",") != cv.COLUMNS:
                continue  # not cross-validation rows
        for row in cv.read_rows([path]):
            if row["model"] in cv.TRAINED and row["variant"] in cv.VARIANTS:
                key = row["model"], row["variant"]
                budgets[key] = max(budgets.get(key, 0), row["epochs"])
    assert ("cnn2d", cv.RECIPE) in budgets and ("fc", "tail") in budgets
    models = {name: cv.TRAINED[name]() for name, _ in budgets}
    for (model, variant), epochs in budgets.items():
        scale = cv.VARIANTS[variant].get("epoch_scale", 1)
        assert models_tf.default_epochs(models[model], scale) == epochs, (model, variant)


def test_difference_line_states_mean_error_count_and_verdict():
    first = {(1, 0): 2.0, (2, 0): 3.0, (3, 0): 4.0}
    second = {(1, 0): 1.0, (2, 0): 1.0, (3, 0): 1.0}   # differences 1, 2, 3: mean 2, s.e. 0.577
    assert cv.difference_line("a − b", first, second) == \
        "a − b: +2.00 ± 0.58 dB over 3 folds (beyond twice the standard error)"
    noisy = {(1, 0): 1.0, (2, 0): -0.5, (1, 1): 1.5, (2, 1): -1.0}  # mean 0.25, s.e. 0.6
    zero = dict.fromkeys(noisy, 0.0)
    assert cv.difference_line("x", noisy, zero) == \
        "x: +0.25 ± 0.60 dB over 4 runs (folds × seeds) (within twice the standard error)"


def test_clip_baselines_give_the_noisy_input_and_reference_snr():
    """A 'noisy' clip that is the clean one doubled misses it by exactly the clean signal
    (0 dB), and keeps its phase, so the clean magnitude with the noisy phase restores it."""
    clean = np.sin(np.arange(16_000) * 0.05).astype(np.float32)
    base = cv._clip_baselines({"clip": (2.0 * clean, clean)})["clip"]
    assert base["noisy_snr_db"] == pytest.approx(0.0, abs=1e-6)
    assert base["ceiling_snr_db"] > 60.0


def test_score_training_adds_a_row_for_the_audio_each_model_trained_on(write_wav, tmp_path,
                                                                        noisy_pair):
    """Two folds of a 3 s pair, one epoch: with ``score_training`` every trained model gets a
    ``training`` row scored against the rest of the pair (the other fold), whose noisy SNR is
    that of the other fold's own noisy input; without it, no such row."""
    clean, dirty = noisy_pair
    for name, signal in (("train_clean_male.wav", clean), ("train_dirty_male.wav", dirty),
                         ("test_x_01.wav", dirty[:8000]), ("test_x_02.wav", dirty[8000:16000])):
        write_wav(name, signal, subtype="FLOAT")
    recordings = dsp.find_recordings(tmp_path)
    rows = cv.cross_validate(recordings, 2, ["cnn1d"], ["batch-32"], [0], [1.0], epochs=1,
                             score_training=True)
    training = [row for row in rows if row["clip"] == cv.TRAINING_CLIP]
    assert [row["fold"] for row in training] == [1, 2]
    for row, (start, stop) in zip(training, cv.fold_ranges(len(clean), 2)[::-1]):
        other_fold_snr = dsp.snr_db(clean[start:stop], dirty[start:stop])
        assert row["noisy_snr_db"] == pytest.approx(other_fold_snr)
        assert row["train_samples"] == stop - start
    plain = cv.cross_validate(recordings, 2, ["cnn1d"], ["batch-32"], [0], [1.0], epochs=1,
                              only_folds=[1])
    assert {row["clip"] for row in plain} == {cv.FOLD_CLIP}
