"""Unit tests of report_helpers: figures, audio players, listening rows, Markdown tables and
the improvement gate."""

from __future__ import annotations

import base64
import io
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import soundfile as sf

import cross_validation as cv
import dsp_helpers as dsp
import models_tf as M
import report_helpers as report

# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

HISTORIES = {"1D CNN": {"loss": [0.3, 0.2, 0.1]}, "2D CNN": {"loss": [0.3, 0.1]}}


def _sweep_row(model, variant, snr, params, kernel="", kernels="", stride=""):
    """A row of benchmarks/results/sweep.csv as csv.DictReader gives it (strings)."""
    return {"recordings": "standin", "model": model, "variant": variant, "D": str(kernel),
            "K": str(kernels), "stride": str(stride), "params": str(params),
            "held_out_snr_db": str(snr), "noisy_snr_db": "4.763", "train_seconds": "9.0",
            "epochs": "30", "batch_size": "64"}


SWEEP_ROWS = [_sweep_row("cnn1d", f"D={d} K={k} s={s}", snr, params, d, k, s)
              for d, k, s, snr, params in ((3, 16, 2, 16.9, 1_000_000), (9, 16, 2, 16.7, 990_000),
                                           (9, 8, 2, 16.3, 500_000), (9, 16, 3, 16.4, 290_000))]
SWEEP_ROWS += [_sweep_row("cnn1d", "D=9 K=16 max-pool 2", 16.6, 980_000),
               _sweep_row("cnn2d", "in fours", 15.8, 1_010_000),
               _sweep_row("cnn2d", "in pairs (default)", 16.0, 1_015_000)]


def _plots(noisy_pair):
    """Every plotting helper as ``(name, call(**options), how many axes it draws into)``."""
    clean, dirty = noisy_pair
    window = dsp.frame_windows(np.random.default_rng(0).uniform(0, 1, (30, 513)))[0]
    signals = {"clean": clean, "dirty": dirty}
    return {
        "spectrograms": (lambda **o: report.plot_spectrograms(signals, title="t", **o), 2),
        "waveforms": (lambda **o: report.plot_waveforms(signals, **o), 2),
        "training_curves": (lambda **o: report.plot_training_curves(HISTORIES, **o), 2),
        "input_image": (lambda **o: report.plot_input_image(window, title="first", **o), 1),
        "sweep": (lambda **o: report.plot_sweep(SWEEP_ROWS, **o), 4),
    }


PLOTS = ["spectrograms", "waveforms", "training_curves", "input_image", "sweep"]


def _is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _axes_option(count, axes):
    return {"ax": axes[0]} if count == 1 else {"axes": axes}


@pytest.mark.parametrize("name", PLOTS)
def test_plot_saves_a_png_at_the_full_path_it_is_given(tmp_path, noisy_pair, name):
    plot, _ = _plots(noisy_pair)[name]
    path = tmp_path / "deeper" / f"{name}.png"
    figure, _ = plot(filename=path)
    assert _is_png(path) and path.stat().st_size > 1000
    assert isinstance(figure, plt.Figure)


@pytest.mark.parametrize("name", PLOTS)
def test_plot_without_a_filename_saves_nothing(tmp_path, noisy_pair, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    plot, count = _plots(noisy_pair)[name]
    figure, axes = plot()
    assert list(tmp_path.iterdir()) == []
    assert len(np.atleast_1d(axes)) == count and figure.axes  # drawn, neither saved nor closed
    assert plt.fignum_exists(figure.number)


@pytest.mark.parametrize("name", PLOTS)
def test_plot_draws_into_the_axes_it_is_given(noisy_pair, name):
    plot, count = _plots(noisy_pair)[name]
    figure, grid = plt.subplots(count, 2, squeeze=False)
    returned_figure, axes = plot(**_axes_option(count, grid[:, 1]))
    assert returned_figure is figure
    assert list(np.atleast_1d(axes)) == list(grid[:, 1])
    assert all(axis.has_data() for axis in grid[:, 1])
    assert not any(axis.has_data() for axis in grid[:, 0])


def test_plot_refuses_the_wrong_number_of_axes(noisy_pair):
    _, axes = plt.subplots(3, 1)
    with pytest.raises(ValueError, match="need 2 axes"):
        report.plot_waveforms({"a": noisy_pair[0], "b": noisy_pair[1]}, axes=axes)


def test_sweep_plots_every_point_and_each_1d_parameter_from_the_centre():
    figure, axes = report.plot_sweep(SWEEP_ROWS)
    assert len(axes[0].collections[0].get_offsets()) == 5  # every 1D point, max-pooling too
    assert len(axes[0].collections[1].get_offsets()) == 2
    kernel_sizes, kernel_counts, strides = (axis.lines[0] for axis in axes[1:])
    assert list(kernel_sizes.get_xdata()) == [3, 9]
    assert list(kernel_sizes.get_ydata()) == [16.9, 16.7]
    assert list(kernel_counts.get_xdata()) == [8, 16]
    assert list(strides.get_xdata()) == [2, 3]
    assert all(axis.lines[1].get_ydata()[0] == 16.0 for axis in axes[1:])  # the best 2D point
    assert figure.get_suptitle() == ("standin recordings, every point 30 epochs in minibatches "
                                     "of 64; the noisy input scores 4.76 dB")


def test_time_axes_are_in_seconds(noisy_pair):
    clean, _ = noisy_pair  # 3 s
    _, axes = report.plot_waveforms({"clean": clean})
    assert "second" in axes[0].get_xlabel().lower()
    assert axes[0].dataLim.x1 == pytest.approx(3.0, abs=0.05)
    _, axes = report.plot_spectrograms({"clean": clean})
    assert "second" in axes[0].get_xlabel().lower()
    assert axes[0].dataLim.x1 == pytest.approx(3.0, abs=0.05)
    _, ax = report.plot_input_image(np.ones((20, 513)))
    assert "(s)" in ax.get_ylabel()
    assert sorted(ax.get_ylim()) == pytest.approx([-19.5 * 512 / 16_000, 0.5 * 512 / 16_000])


# --------------------------------------------------------------------------------------------
# Listening
# --------------------------------------------------------------------------------------------

def test_audio_table_embeds_one_player_per_clip(speech_like):
    rows = {"test_01": {"noisy": speech_like(1600, seed=1),
                        "clean <ref>": speech_like(1600, seed=2),
                        "1D CNN": speech_like(1600, seed=3)},
            "test_02": {"noisy": speech_like(800, seed=4), "clean <ref>": None,
                        "1D CNN": speech_like(800, seed=5)}}
    text = report.audio_table(rows).data
    assert text.count("<audio") == 5  # the None cell stays empty
    assert text.count("data:audio/flac;base64,") == 5  # audio_player_html embeds FLAC
    assert text.count("<tr>") == 3    # header and one row per clip
    assert "clean &lt;ref&gt;" in text and "<th>1D CNN</th>" in text  # labels are escaped
    assert text.count("<th>noisy</th>") == 1
    second_row = text[text.index("test_02"):]
    assert second_row.count("<audio") == 2


def test_audio_table_of_a_silent_clip_is_clean():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = report.audio_table({"test_01": {"silence": np.zeros(1600, dtype=np.float32)}}).data
    assert text.count("<audio") == 1


@pytest.fixture
def versions(speech_like):
    """Two versions of a 3 s training signal and two test clips, one without a clean reference."""
    noisy = {"training signal": speech_like(48_000, seed=1), "test_01": speech_like(32_000, seed=2),
             "test_02": speech_like(24_000, seed=3)}
    clean = {"training signal": speech_like(48_000, seed=4), "test_01": speech_like(32_000, seed=5),
             "test_02": None}
    return {"noisy": noisy, "clean": clean}


def test_listening_rows_cut_excerpts_one_row_per_clip(versions):
    rows = report.listening_rows(versions, 1.5)
    assert list(rows) == ["training signal", "test_01", "test_02"]
    assert list(rows["test_01"]) == ["noisy", "clean"]
    assert list(rows["test_02"]) == ["noisy"]  # no clean reference: no cell
    np.testing.assert_array_equal(rows["training signal"]["clean"],
                                  versions["clean"]["training signal"][:24_000])
    np.testing.assert_array_equal(rows["test_01"]["noisy"], versions["noisy"]["test_01"][:24_000])
    assert report.audio_table(rows).data.count("<audio") == 5


def test_listening_rows_embed_no_clip_twice(versions):
    """A clip already placed in the table is not placed again; a row left with nothing new
    disappears."""
    same = dict(versions, copy={name: None if s is None else s.copy()
                                for name, s in versions["noisy"].items()})
    rows = report.listening_rows(same, 1.0)
    assert all("copy" not in row for row in rows.values())
    assert sum(len(row) for row in rows.values()) == 5
    twice = {"noisy": {"a": versions["noisy"]["test_01"], "b": versions["noisy"]["test_01"]}}
    assert list(report.listening_rows(twice, 1.0)) == ["a"]


def test_clip_fingerprint_tells_clips_apart_by_their_samples():
    a = np.linspace(-1, 1, 1000, dtype=np.float32)
    assert report.clip_fingerprint(a) == report.clip_fingerprint(a.astype(np.float64))
    assert report.clip_fingerprint(a) != report.clip_fingerprint(a[:-1])
    assert report.clip_fingerprint(a) != report.clip_fingerprint(-a)


FLAC_PREFIX = "data:audio/flac;base64,"


def _decode_player(text):
    """The ``(samples,)`` float64 signal and sample rate embedded in one player's HTML."""
    assert text.count("<audio") == 1 and text.count(FLAC_PREFIX) == 1
    payload = text.split(FLAC_PREFIX, 1)[1].split('"', 1)[0]
    data = base64.b64decode(payload, validate=True)
    assert data[:4] == b"fLaC"
    assert sf.info(io.BytesIO(data)).format == "FLAC"
    return sf.read(io.BytesIO(data), dtype="float64")


def test_audio_player_html_embeds_the_peak_normalised_signal_as_flac(speech_like):
    signal = 0.25 * speech_like(12_345, seed=7)  # peak about 0.075
    text = report.audio_player_html(signal)
    assert text.startswith("<audio") and text.endswith("</audio>")
    decoded, rate = _decode_player(text)
    assert rate == 16_000 and decoded.shape == (12_345,)
    expected = signal.astype(np.float64) / np.max(np.abs(signal))
    np.testing.assert_allclose(decoded, expected, rtol=0, atol=1 / 32768)
    assert np.max(np.abs(decoded)) > 1 - 2 / 32768


def test_audio_player_html_keeps_the_sample_rate():
    decoded, rate = _decode_player(report.audio_player_html(np.full(800, -0.5), sample_rate=8_000))
    assert rate == 8_000
    np.testing.assert_allclose(decoded, -1.0, atol=1 / 32768)


def test_audio_player_html_of_silence_stays_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0
        decoded, _ = _decode_player(report.audio_player_html(np.zeros(1_600, dtype=np.float32)))
    assert decoded.shape == (1_600,) and np.all(decoded == 0.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_audio_player_html_rejects_non_finite_samples(bad):
    signal = np.zeros(100, dtype=np.float32)
    signal[10] = bad
    with pytest.raises(ValueError, match="non-finite"):
        report.audio_player_html(signal)


def test_audio_player_html_rejects_multichannel_input():
    with pytest.raises(ValueError, match="1-D"):
        report.audio_player_html(np.zeros((1_000, 2), dtype=np.float32))


# --------------------------------------------------------------------------------------------
# Tables and figures of merit
# --------------------------------------------------------------------------------------------

def test_markdown_table_formats_floats_and_missing_values():
    text = report.markdown_table(["clip", "SNR (dB)", "n"], [["test_01", 6.4567, 3],
                                                            ["test_02", None, 4]])
    assert text.splitlines() == ["| clip | SNR (dB) | n |", "|---|---|---|",
                                 "| test_01 | 6.46 | 3 |", "| test_02 | n/a | 4 |"]


SCORES = {"noisy input": {"training signal": {"snr_db": 5.0, "stoi": 0.7},
                          "test_01": {"snr_db": 3.0, "stoi": 0.6}},
          "1D CNN": {"training signal": {"snr_db": 12.25, "stoi": 0.8},
                     "test_01": {"snr_db": 9.0, "stoi": 0.75}},
          "Wiener": {"training signal": {"snr_db": 8.0, "stoi": 0.72}}}


def test_metric_table_has_a_row_per_entry_and_a_column_per_scored_clip():
    text = report.metric_table(SCORES, "snr_db", label="SNR (dB)",
                               clips=["training signal", "test_01", "test_02"])
    assert text.splitlines() == [
        "| SNR (dB) | training signal | test_01 |",  # test_02 has no scores: no column
        "|---|---|---|",
        "| noisy input | 5.00 | 3.00 |",
        "| 1D CNN | 12.25 | 9.00 |",
        "| Wiener | 8.00 | n/a |"]
    assert report.metric_table(SCORES, "stoi").splitlines()[0] == (
        "| stoi | training signal | test_01 |")


def test_metric_table_extra_columns():
    text = report.metric_table(SCORES, "stoi",
                               extra={"parameters": {"1D CNN": "1,234"}, "time (s)": {"1D CNN": 5}})
    lines = text.splitlines()
    assert lines[0] == "| stoi | training signal | test_01 | parameters | time (s) |"
    assert lines[3] == "| 1D CNN | 0.80 | 0.75 | 1,234 | 5 |"
    assert lines[2] == "| noisy input | 0.70 | 0.60 |  |  |"


def test_metric_table_of_a_metric_nobody_has_keeps_only_the_rows():
    assert report.metric_table(SCORES, "pesq").splitlines()[2] == "| noisy input |"


def test_format_dimension_table_is_markdown():
    rows = M.dimension_table((20, 513), M.DEFAULT_CNN2D_BLOCKS)
    text = report.format_dimension_table(rows)
    lines = text.splitlines()
    assert lines[0] == "| layer | kernel | stride | output shape | input seen |"
    assert lines[1] == "|---|---|---|---|---|"
    assert len(lines) == 2 + len(rows)
    first = M.DEFAULT_CNN2D_BLOCKS[0]
    kernel, stride = (" × ".join(map(str, size)) for size in (first.kernel, first.stride))
    assert (f"| conv1 | {kernel} | {stride} | 10 × 253 × 16 | frames 0–19, bins 0–512 |"
            in lines)
    assert "| input |  |  | 20 × 513 × 1 | frames 0–19, bins 0–512 |" in lines
    assert "| flatten |  |  | 1920 |  |" in lines  # no reach for the dense part


def test_format_dimension_table_of_the_1d_network_names_bins_only():
    rows = M.dimension_table((513,), M.DEFAULT_CNN1D_BLOCKS)
    lines = report.format_dimension_table(rows).splitlines()
    assert "| conv3 | 5 | 2 | 60 × 64 | bins 0–508 |" in lines
    assert "| input |  |  | 513 × 1 | bins 0–512 |" in lines
    assert "frames" not in "\n".join(lines)


def test_format_dimension_table_shows_a_stride_that_skips_the_last_frame():
    rows = M.dimension_table((20, 513), [M.ConvBlock(4, (5, 7), (2, 3))])
    assert "frames 0–18, bins 0–510" in report.format_dimension_table(rows)


def test_require_improvement_passes_when_the_margin_is_met():
    report.require_improvement("1D CNN", snr=8.0, noisy_snr=5.0)  # exactly 3 dB
    report.require_improvement("1D CNN", snr=12.0, noisy_snr=5.0)
    report.require_improvement("2D CNN", snr=5.5, noisy_snr=5.0, margin_db=0.5)


@pytest.mark.parametrize("snr, noisy_snr, margin", [(7.99, 5.0, 3.0), (4.0, 5.0, 3.0),
                                                    (5.4, 5.0, 0.5), (math.nan, 5.0, 3.0)])
def test_require_improvement_fails_naming_the_model(snr, noisy_snr, margin):
    with pytest.raises(AssertionError, match="2D CNN") as error:
        report.require_improvement("2D CNN", snr=snr, noisy_snr=noisy_snr, margin_db=margin)
    assert f"{noisy_snr:.2f} dB" in str(error.value)


def test_training_curves_mark_the_last_epoch_as_kept():
    _, axes = report.plot_training_curves({"run": {"loss": [0.3, 0.2, 0.15]}})
    lines = {line.get_label(): line for line in axes[0].get_lines()}
    assert list(lines["kept weights"].get_xdata()) == [3]
    assert list(lines["kept weights"].get_ydata()) == [0.15]


def test_verdict_names_the_winner_only_beyond_twice_the_standard_error():
    text = report.verdict_text("2D CNN", "1D CNN", cv.Difference(0.5, 0.2, 5, 2))
    assert text == ("**Verdict:** 2D CNN − 1D CNN = +0.50 ± 0.20 dB on the held-out folds "
                    "(5 folds, 2 seed(s) averaged within each): the **2D CNN** is better, by more "
                    "than twice the standard error.")
    losing = report.verdict_text("2D CNN", "1D CNN", cv.Difference(-0.9, 0.3, 5, 1))
    assert "the **1D CNN** is better" in losing
    tied = report.verdict_text("2D CNN", "1D CNN", cv.Difference(0.4, 0.2, 5, 2))
    assert "a **tie**" in tied  # 0.4 is not more than 2 x 0.2
    by_ear = report.verdict_text("2D CNN", "1D CNN", cv.Difference(-0.03, 0.02, 5, 1, "OVRL"))
    assert by_ear.startswith("**Verdict by ear (DNSMOS):** 2D CNN − 1D CNN = -0.03 ± 0.02 OVRL ")


def test_run_difference_text_gives_each_clip_both_networks_scored():
    run = {"2D CNN": {"train": 18.0, "test_01": 15.0, "test_02": 9.0},
           "1D CNN": {"train": 17.0, "test_01": 14.95}}
    assert report.run_difference_text("2D CNN", "1D CNN", run) == (
        "This run, one training per network: 2D CNN − 1D CNN = train +1.00 dB, test_01 +0.05 dB "
        "(shown, not used to choose).")


@pytest.mark.parametrize("source, in_use, expected", [
    ("standin", "standin", "Precomputed on the shipped stand-in recordings, the recordings this "
                           "notebook runs on."),
    ("standin", "course", "Precomputed on the shipped stand-in recordings, not the recordings "
                          "this notebook runs on."),
    ("course-80", "course", "Precomputed on the first 80 % of the course training pair, the "
                            "first 80 % of the pair in audio/."),
    ("course-80", "standin", "Precomputed on the first 80 % of the course training pair, not "
                             "the recordings this notebook runs on."),
    ("course", "course", "Precomputed on the course recordings, the recordings this notebook "
                         "runs on.")])
def test_precomputed_note_names_the_recordings_and_their_relation_to_those_in_use(
        source, in_use, expected):
    assert report.precomputed_note([{"recordings": source}] * 2, in_use) == expected


def test_precomputed_note_never_calls_the_course_pair_in_audio_not_the_recordings_in_use():
    for rows in ([{"recordings": "course-80"}], [{"recordings": "course"}]):
        note = report.precomputed_note(rows, "course")
        assert note.startswith("Precomputed on ") and "not the" not in note


def test_precomputed_note_names_every_source_with_its_relation():
    rows = [{"recordings": "course-80"}, {"recordings": "standin"}]
    assert report.precomputed_note(rows, "course") == (
        "Precomputed on the first 80 % of the course training pair (the first 80 % of the pair "
        "in audio/) and on the shipped stand-in recordings (not the recordings this notebook "
        "runs on).")
    assert report.precomputed_note(rows, "standin") == (
        "Precomputed on the first 80 % of the course training pair (not the recordings this "
        "notebook runs on) and on the shipped stand-in recordings (the recordings this notebook "
        "runs on).")


def _change(decisions):
    return cv.Change("standin", "tensorflow", "batch-32", "minibatches of 32, not 64",
                     "no-validation", "", "HEAD", {"cnn1d": cv.Difference(0.07, 0.02, 5, 2),
                                                   "cnn2d": cv.Difference(0.01, 0.03, 5, 2)},
                     decisions)


def test_recipe_change_table_has_one_row_per_change_with_its_decisions():
    change = _change({"cnn1d": cv.Decision(True), "cnn2d": cv.Decision(True, "simpler")})
    rows = [{"recordings": "standin", "model": model, "experiment": experiment, "epochs": epochs}
            for model, experiment, epochs in (("cnn1d", "batch-32", 60), ("cnn2d", "batch-32", 100),
                                              ("cnn1d", "no-validation", 60))]
    lines = report.recipe_change_table([change], rows).splitlines()
    assert len(lines) == 3
    assert lines[2] == ("| minibatches of 32, not 64 | no-validation | standin | "
                        "**cnn1d, cnn2d**<br>cnn2d: simpler | cnn1d +0.07 ± 0.02 dB (better); "
                        "cnn2d +0.01 ± 0.03 dB (tie) | 5 × 2 | cnn1d 60, cnn2d 100 |")


def test_adoption_text_says_no_and_names_the_models_nobody_decided():
    assert report.adoption_text(_change({"cnn1d": cv.Decision(False)})) == (
        "no<br>no decision recorded for cnn2d")
    assert report.adoption_text(_change({})) == "no<br>no decision recorded for cnn1d, cnn2d"


def test_result_entry_lists_every_clip_with_none_where_unscored():
    scores = {"training signal": {"snr_db": 18.0, "stoi": 0.9},
              "test_01": {"snr_db": 15.0, "stoi": 0.85, "ovrl": 2.9, "sig": 3.4},
              "test_02": {"ovrl": 3.1}}  # no reference: DNSMOS only
    entry = report.result_entry(scores, ["test_01", "test_02"], params=12)
    assert entry == {"train_snr_db": 18.0,
                     "test_snr_db": {"test_01": 15.0, "test_02": None},
                     "test_stoi": {"test_01": 0.85, "test_02": None},
                     "test_ovrl": {"test_01": 2.9, "test_02": 3.1}, "params": 12}
    test_clips_only = report.result_entry({"test_01": scores["test_01"]}, ["test_01"])
    assert test_clips_only == {"train_snr_db": None, "test_snr_db": {"test_01": 15.0},
                               "test_stoi": {"test_01": 0.85}, "test_ovrl": {"test_01": 2.9}}


# --------------------------------------------------------------------------------------------
# What a listener hears: DNSMOS tables, the listening paragraph, SNR against OVRL
# --------------------------------------------------------------------------------------------

def _heard(sig, bak, ovrl):
    return {"sig": sig, "bak": bak, "ovrl": ovrl}


HEARD = {"noisy": _heard(3.5, 2.0, 2.4), "CNN": _heard(3.3, 3.0, 2.6),
         "DFN": _heard(3.6, 4.0, 3.1), "weak": _heard(3.45, 1.9, 2.3),
         "clean": _heard(3.6, 4.1, 3.3)}


def test_listening_paragraph_ranks_the_denoisers_and_names_costs_from_the_numbers():
    text = report.listening_paragraph("test_01", HEARD, "noisy", "clean")
    assert text.startswith("**test_01.** The noisy input scores OVRL 2.40 (speech SIG 3.50, "
                           "background BAK 2.00); the clean recording OVRL 3.30.")
    assert "*Background:* DFN removes the most noise (BAK 2.00 → 4.00), weak the least (1.90)." \
        in text
    assert "weak leaves the background no quieter than the input." in text
    assert "*Speech:* CNN costs the speech (SIG 3.30 against the input's 3.50)." in text
    assert "*Overall:* DFN 3.10, CNN 2.60, weak 2.30; weak below the noisy input." in text
    assert "clean" not in text.split("recording OVRL")[1]  # the clean recording is not ranked


def test_listening_paragraph_without_a_clean_recording_or_losses():
    heard = {"noisy": HEARD["noisy"], "A": _heard(3.55, 3.0, 2.7), "B": _heard(3.7, 3.5, 2.9)}
    text = report.listening_paragraph("test_02", heard, "noisy")
    assert "clean recording" not in text
    assert "*Speech:* no denoiser lowers SIG by more than 0.1 from the input's 3.50." in text
    assert "B raises it by more than 0.1." in text
    assert text.endswith("*Overall:* B 2.90, A 2.70; every denoiser above the noisy input.")
    with pytest.raises(ValueError, match="no denoiser"):
        report.listening_paragraph("test_02", {"noisy": HEARD["noisy"]}, "noisy")


def test_dnsmos_table_has_a_row_per_output():
    table = report.dnsmos_table({"noisy": HEARD["noisy"], "CNN": HEARD["CNN"]})
    assert table.splitlines() == [
        "|  | SIG (speech) | BAK (background) | OVRL (overall) |", "|---|---|---|---|",
        "| noisy | 3.50 | 2.00 | 2.40 |", "| CNN | 3.30 | 3.00 | 2.60 |"]


def test_clip_quality_table_joins_snr_stoi_and_dnsmos_and_leaves_out_rows_without_the_clip():
    quality = {"noisy": {"a": {"snr_db": 5.0, "stoi": 0.8}}, "CNN": {"a": {"snr_db": 12.0,
                                                                          "stoi": 0.9}},
               "DFN": {}}
    heard = {"noisy": {"a": HEARD["noisy"]}, "clean": {"a": HEARD["clean"]}, "DFN": {"b": {}}}
    assert report.clip_quality_table("a", quality, heard).splitlines()[2:] == [
        "| noisy | 5.00 | 0.80 | 3.50 | 2.00 | 2.40 |", "| CNN | 12.00 | 0.90 | n/a | n/a | n/a |",
        "| clean | n/a | n/a | 3.60 | 4.10 | 3.30 |"]


def test_played_versions_cut_the_named_clips_and_drop_missing_ones():
    signal = np.arange(3 * dsp.SAMPLE_RATE, dtype=np.float32)
    played = report.played_versions({"row": {"train": signal, "test": signal, "none": None}},
                                    {"train": 1.0})
    assert list(played["row"]) == ["train", "test"]
    assert len(played["row"]["train"]) == dsp.SAMPLE_RATE and played["row"]["test"] is signal


def test_snr_and_ovrl_scores_each_row_against_the_clean_row_on_the_same_samples():
    rng = np.random.default_rng(0)
    clean = rng.standard_normal(8000).astype(np.float32)
    noise = rng.standard_normal(8000).astype(np.float32)
    noise *= np.sqrt(np.sum(clean ** 2) / np.sum(noise ** 2)) / 10.0  # 20 dB under the speech
    played = {"clean": {"a": clean, "b": clean}, "est": {"a": clean + noise}, "other": {"b": clean}}
    heard = {"clean": {"a": HEARD["clean"]}, "est": {"a": HEARD["CNN"]}}
    points = report.snr_and_ovrl(played, heard, "clean")
    assert list(points) == ["a", "b"] and points["b"] == {}  # "other" was not heard
    snr, ovrl = points["a"]["est"]
    assert snr == pytest.approx(20.0, abs=1e-3) and ovrl == 2.6


def test_plot_snr_against_ovrl_draws_one_axes_per_clip_with_the_clean_line(tmp_path):
    points = {"a": {"noisy": (5.0, 2.4), "CNN": (12.0, 2.6)}, "b": {"noisy": (6.0, 2.5)}}
    figure, axes = report.plot_snr_against_ovrl(points, clean_ovrl={"a": 3.3}, marked=("noisy",),
                                                filename=tmp_path / "f.png")
    assert len(axes) == 2 and (tmp_path / "f.png").is_file()
    assert [line.get_ydata()[0] for line in axes[0].get_lines()] == [3.3]
    assert len(axes[1].get_lines()) == 0
    assert [tuple(c.get_offsets()[0]) for c in axes[0].collections] == [(5.0, 2.4), (12.0, 2.6)]
    plt.close(figure)


def test_both_measures_gives_the_ovrl_difference_only_where_both_sides_have_it():
    def row(model, fold, snr, ovrl=None):
        return {"recordings": "r", "backend": "b", "model": model, "experiment": "e",
                "clip": cv.FOLD_CLIP, "share": 1.0, "fold": fold, "seed": 0, "snr_db": snr,
                "ovrl": ovrl}
    rows = [row("a", 1, 10.0, 3.0), row("a", 2, 11.0, 3.5), row("b", 1, 9.0, 2.75),
            row("b", 2, 9.0, 3.25), row("c", 1, 9.0), row("c", 2, 10.0)]
    assert report.both_measures(rows, ("a", "e"), ("b", "e")) == \
        "+1.50 ± 0.50 dB (better), +0.25 ± 0.00 OVRL (better)"
    assert report.both_measures(rows, ("a", "e"), ("c", "e")) == "+1.00 ± 0.00 dB (better)"
