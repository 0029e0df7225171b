"""Unit tests of dsp_helpers: audio I/O, recording discovery, STFT framing, reconstruction and
oracles. The quality measures are tested in test_quality.py, the report helpers in
test_report_helpers.py."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

import dsp_helpers as dsp


# --------------------------------------------------------------------------------------------
# STFT and framing
# --------------------------------------------------------------------------------------------

def test_constants_follow_the_handout():
    assert (dsp.SAMPLE_RATE, dsp.N_FFT, dsp.HOP_LENGTH, dsp.N_BINS) == (16_000, 1024, 512, 513)
    assert dsp.WINDOW_FRAMES == 20


def test_stft_frames_of_training_length_gives_2459_frames(training_length):
    samples, frames = training_length
    assert frames == 2_459
    signal = np.random.default_rng(0).standard_normal(samples).astype(np.float32) * 0.1
    magnitude, phase = dsp.stft_frames(signal)
    assert magnitude.shape == (frames, 513)
    assert phase.shape == (frames, 513)
    assert magnitude.dtype == np.float32
    assert np.iscomplexobj(phase)
    np.testing.assert_allclose(np.abs(phase), 1.0, atol=1e-6)
    assert np.all(magnitude >= 0)


@pytest.mark.filterwarnings("ignore:n_fft=1024 is too large:UserWarning")  # < 1024 samples
@pytest.mark.parametrize("samples", [511, 512, 1000, 16_001, 48_000])
def test_stft_frame_count_is_one_plus_samples_over_hop(samples):
    magnitude, phase = dsp.stft_frames(np.ones(samples, dtype=np.float32))
    assert magnitude.shape == phase.shape == (1 + samples // 512, 513)


def test_stft_frames_phase_is_unit_modulus_even_for_silence():
    _, phase = dsp.stft_frames(np.zeros(4096, dtype=np.float32))
    np.testing.assert_allclose(np.abs(phase), 1.0, atol=1e-6)


def test_stft_frames_rejects_multichannel_input():
    with pytest.raises(ValueError, match="1-D"):
        dsp.stft_frames(np.zeros((2, 4096), dtype=np.float32))


@pytest.fixture(scope="module")
def training_like_magnitude(training_length):
    """Non-negative ``(2459, 513)`` magnitudes (the training recording's frame count) with
    values well above the silence level."""
    rng = np.random.default_rng(3)
    return rng.uniform(0.01, 1.0, (training_length[1], 513)).astype(np.float32)


def test_frame_windows_unpadded_gives_2440_images(training_like_magnitude):
    windows = dsp.frame_windows(training_like_magnitude, pad=False)
    assert windows.shape == (2_440, 20, 513)
    for t in (0, 1, 1234, 2_439):
        np.testing.assert_array_equal(windows[t], training_like_magnitude[t:t + 20])


def test_frame_windows_padded_gives_one_image_per_frame(training_like_magnitude):
    magnitude = training_like_magnitude
    frames = len(magnitude)
    windows = dsp.frame_windows(magnitude, pad=True)
    assert windows.shape == (frames, 20, 513)
    first = windows[0]
    assert np.all(first[:19] < dsp.SILENCE_MAGNITUDE)
    assert np.all(first[:19] >= 0)
    np.testing.assert_array_equal(first[19], magnitude[0])
    # window t ends with frame t (equations (2) and (3): the target frame is the last one)
    for t in (0, 1, 18, 19, 20, 1000, frames - 1):
        np.testing.assert_array_equal(windows[t, -1], magnitude[t])
    # from frame 19 on, a padded window is the unpadded window that ends at the same frame
    unpadded = dsp.frame_windows(magnitude, pad=False)
    np.testing.assert_array_equal(windows[19:], unpadded)
    # window 5 holds the last 14 silent frames, then frames 0..5
    np.testing.assert_array_equal(windows[5, 14:], magnitude[:6])
    np.testing.assert_array_equal(windows[5, :14], windows[0, 5:19])


def test_frame_windows_silence_is_seeded(training_like_magnitude):
    small = training_like_magnitude[:30]
    a = dsp.frame_windows(small, pad=True, seed=7)[0, :19]
    b = dsp.frame_windows(small, pad=True, seed=7)[0, :19]
    c = dsp.frame_windows(small, pad=True, seed=8)[0, :19]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(a, dsp.silence_frames(19, seed=7))


def test_silence_frames_are_small_random_magnitudes():
    silence = dsp.silence_frames(19, seed=0)
    assert silence.shape == (19, 513) and silence.dtype == np.float32
    assert np.all((silence >= 0) & (silence < dsp.SILENCE_MAGNITUDE))
    assert np.unique(silence).size > 1000  # random, not a constant


def test_frame_windows_is_a_read_only_view_not_a_copy(training_like_magnitude):
    magnitude = training_like_magnitude  # float32 already: no conversion copy either
    unpadded = dsp.frame_windows(magnitude, pad=False)
    assert np.shares_memory(unpadded, magnitude)
    assert not unpadded.flags.writeable
    assert unpadded.base is not None

    padded = dsp.frame_windows(magnitude, pad=True)
    assert not padded.flags.writeable
    assert padded.base is not None
    # adjacent windows overlap in memory (19 shared frames): only a view can do that
    assert np.shares_memory(padded[0], padded[1])
    # the whole (2459, 20, 513) result occupies no more than the padded spectrogram
    assert padded.strides[0] == padded.strides[1] == 513 * 4


def test_frame_windows_with_one_frame_window_is_the_spectrogram():
    magnitude = np.random.default_rng(0).uniform(0, 1, (7, 513)).astype(np.float32)
    windows = dsp.frame_windows(magnitude, window=1, pad=False)
    assert windows.shape == (7, 1, 513)
    np.testing.assert_array_equal(windows[:, 0], magnitude)


def test_frame_windows_unpadded_needs_a_whole_window():
    with pytest.raises(ValueError, match="at least 20 frames"):
        dsp.frame_windows(np.ones((19, 513), dtype=np.float32), pad=False)
    # exactly one window fits
    assert dsp.frame_windows(np.ones((20, 513), dtype=np.float32), pad=False).shape == (1, 20, 513)
    # padding makes short inputs usable: one image per frame
    assert dsp.frame_windows(np.ones((5, 513), dtype=np.float32), pad=True).shape == (5, 20, 513)


def test_frame_windows_rejects_non_2d_input():
    with pytest.raises(ValueError, match="frames, bins"):
        dsp.frame_windows(np.ones(513, dtype=np.float32))


# --------------------------------------------------------------------------------------------
# Reconstruction and the oracles
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def speech_signal(speech_like, standin_dir):
    """The stand-in clean speech (first 5 s) if present, else a synthetic speech-like signal."""
    path = standin_dir / "train_clean_male.wav"
    if path.exists():
        return dsp.load_audio(path, verbose=False)[:5 * 16_000]
    return speech_like(5 * 16_000, seed=4)


@pytest.mark.parametrize("length", [80_000, 48_123, 16_001, 10_000, 5_000, 1_537])
def test_reconstruct_round_trip_is_transparent(speech_signal, length):
    signal = speech_signal[:length]
    magnitude, phase = dsp.stft_frames(signal)
    rebuilt = dsp.reconstruct(magnitude, phase, len(signal))
    assert rebuilt.shape == signal.shape
    assert rebuilt.dtype == np.float32
    assert dsp.snr_db(signal, rebuilt) > 100.0


def test_reconstruct_round_trip_of_synthetic_speech(speech_like):
    signal = speech_like(33_333, seed=9)
    rebuilt = dsp.reconstruct(*dsp.stft_frames(signal), 33_333)
    assert rebuilt.shape == (33_333,)
    assert dsp.snr_db(signal, rebuilt) > 100.0


def test_reconstruct_rejects_mismatched_shapes():
    magnitude, phase = dsp.stft_frames(np.ones(4096, dtype=np.float32))
    with pytest.raises(ValueError, match="differ in shape"):
        dsp.reconstruct(magnitude[:-1], phase, 4096)
    with pytest.raises(ValueError):
        dsp.reconstruct(magnitude[:, :512], phase, 4096)



def test_oracle_reconstruction_beats_the_noisy_input(noisy_pair):
    clean, dirty = noisy_pair
    oracle = dsp.oracle_reconstruction(clean, dirty)
    assert oracle.shape == dirty.shape
    noisy_snr, oracle_snr = dsp.snr_db(clean, dirty), dsp.snr_db(clean, oracle)
    assert noisy_snr == pytest.approx(5.0, abs=0.01)
    assert oracle_snr > noisy_snr + 3.0


def test_oracle_reconstruction_of_a_clean_input_is_transparent(speech_like):
    clean = speech_like(20_000, seed=5)
    assert dsp.snr_db(clean, dsp.oracle_reconstruction(clean, clean)) > 100.0


# --------------------------------------------------------------------------------------------
# Target magnitudes and oracles
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("angle, factor", [(0.0, 1.0), (np.pi / 3, 0.5), (-np.pi / 3, 0.5),
                                           (np.pi / 2, 0.0), (2 * np.pi / 3, 0.0),
                                           (np.pi, 0.0)])
def test_phase_sensitive_target_is_the_clean_magnitude_times_the_clipped_cosine(angle, factor):
    rng = np.random.default_rng(4)
    magnitude = rng.uniform(0.1, 2.0, (3, 513)).astype(np.float32)
    noisy_phase = np.exp(1j * rng.uniform(-np.pi, np.pi, (3, 513))).astype(np.complex64)
    clean_phase = (noisy_phase * np.exp(1j * angle)).astype(np.complex64)
    target = dsp.target_magnitude(magnitude, clean_phase, noisy_phase, "phase_sensitive")
    assert target.shape == (3, 513) and target.dtype == np.float32
    np.testing.assert_allclose(target, factor * magnitude, atol=1e-6)
    np.testing.assert_array_equal(dsp.target_magnitude(magnitude, clean_phase, noisy_phase),
                                  magnitude)


def test_phase_sensitive_target_minimises_the_error_with_the_noisy_phase():
    """Of all magnitudes played with the noisy phase, the phase-sensitive target is closest to
    the clean spectrum: nudging it either way only adds error."""
    rng = np.random.default_rng(5)
    clean = rng.standard_normal((4, 513)) + 1j * rng.standard_normal((4, 513))
    noisy = clean + (rng.standard_normal((4, 513)) + 1j * rng.standard_normal((4, 513)))
    noisy_phase = noisy / np.abs(noisy)
    target = dsp.target_magnitude(np.abs(clean), clean / np.abs(clean), noisy_phase,
                                  "phase_sensitive")

    def error(magnitude):
        return np.sum(np.abs(magnitude * noisy_phase - clean) ** 2)

    best = error(target)
    assert best < error(np.abs(clean))
    for nudge in (-1e-2, 1e-2):
        assert best < error(np.maximum(target + nudge, 0))


def test_training_target_rejects_an_unknown_kind():
    phase = np.ones((1, 513), dtype=np.complex64)
    with pytest.raises(ValueError, match="unknown magnitude target 'log'.*phase_sensitive"):
        dsp.target_magnitude(np.ones((1, 513)), phase, phase, "log")


def test_phase_sensitive_oracle_beats_the_clean_magnitude_oracle(noisy_pair):
    clean, dirty = noisy_pair
    ceiling = dsp.snr_db(clean, dsp.oracle_reconstruction(clean, dirty))
    phase_sensitive = dsp.snr_db(clean, dsp.oracle_reconstruction(clean, dirty, "phase_sensitive"))
    assert phase_sensitive > ceiling + 0.5


def test_oracle_reconstruction_rejects_an_unknown_kind(noisy_pair):
    clean, dirty = noisy_pair
    with pytest.raises(ValueError, match="unknown magnitude target 'clean'"):
        dsp.oracle_reconstruction(clean, dirty, "clean")


# --------------------------------------------------------------------------------------------
# Reading and writing audio
# --------------------------------------------------------------------------------------------

def _assert_one_line_naming(error, path):
    message = str(error.value)
    assert "\n" not in message and "\r" not in message
    assert str(path) in message


def test_load_audio_missing_file(tmp_path):
    path = tmp_path / "nowhere.wav"
    with pytest.raises(dsp.AudioFileError) as error:
        dsp.load_audio(path)
    _assert_one_line_naming(error, path)
    assert "not found" in str(error.value)


def test_load_audio_zero_byte_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(dsp.AudioFileError) as error:
        dsp.load_audio(path)
    _assert_one_line_naming(error, path)
    assert "empty" in str(error.value)


def test_load_audio_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples\nsecond line\n")
    with pytest.raises(dsp.AudioFileError) as error:
        dsp.load_audio(path)
    _assert_one_line_naming(error, path)
    assert "not a readable audio file" in str(error.value)


def test_load_audio_truncated_wav(tmp_path, write_wav):
    whole = write_wav("whole.wav", np.zeros(1000, dtype=np.float32))
    path = tmp_path / "truncated.wav"
    path.write_bytes(whole.read_bytes()[:30])
    with pytest.raises(dsp.AudioFileError) as error:
        dsp.load_audio(path)
    _assert_one_line_naming(error, path)


def test_load_audio_directory(tmp_path):
    path = tmp_path / "folder.wav"
    path.mkdir()
    with pytest.raises(dsp.AudioFileError) as error:
        dsp.load_audio(path)
    _assert_one_line_naming(error, path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_load_audio_non_finite_samples(write_wav, bad):
    signal = np.zeros(1000, dtype=np.float32)
    signal[500] = bad
    path = write_wav("nan.wav", signal, subtype="FLOAT")
    assert sf.info(path).subtype == "FLOAT"
    with pytest.raises(dsp.AudioFileError) as error:
        dsp.load_audio(path)
    _assert_one_line_naming(error, path)
    assert "NaN" in str(error.value)


def test_load_audio_wav_without_samples(write_wav):
    path = write_wav("nothing.wav", np.zeros(0, dtype=np.float32))
    assert path.stat().st_size > 0 and sf.info(path).frames == 0
    with pytest.raises(dsp.AudioFileError) as error:
        dsp.load_audio(path)
    _assert_one_line_naming(error, path)
    assert "no audio samples" in str(error.value)


def test_audio_file_error_is_a_value_error():
    assert issubclass(dsp.AudioFileError, ValueError)


def test_load_audio_reads_pcm16_exactly(write_wav):
    codes = np.array([0, 1, -1, 16384, -32768, 32767, 1234], dtype=np.int16)
    path = write_wav("codes.wav", codes)
    signal = dsp.load_audio(path)
    assert signal.dtype == np.float32 and signal.shape == (7,)
    np.testing.assert_array_equal(signal, codes.astype(np.float32) / 32768)


def test_load_audio_downmixes_stereo_to_the_mean(write_wav, capsys):
    rng = np.random.default_rng(0)
    left = (rng.integers(-8000, 8000, 3000)).astype(np.int16)
    right = (rng.integers(-8000, 8000, 3000)).astype(np.int16)
    path = write_wav("stereo.wav", np.stack([left, right], axis=1))
    signal = dsp.load_audio(path)
    assert signal.shape == (3000,)
    expected = (left.astype(np.float64) + right.astype(np.float64)) / 2 / 32768
    np.testing.assert_allclose(signal, expected, atol=1e-7)
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("note: ") and "mono" in err


@pytest.mark.parametrize("rate", [44_100, 8_000, 22_050])
def test_load_audio_resamples_to_16k_with_a_notice(write_wav, capsys, speech_like, rate):
    seconds = 1.5
    source = speech_like(int(seconds * rate), seed=2, sample_rate=rate)
    path = write_wav(f"at_{rate}.wav", source, rate=rate)
    signal = dsp.load_audio(path)
    out, notice = capsys.readouterr()
    assert out == "" and f"{rate} Hz" in notice and "16000 Hz" in notice and "resampled" in notice
    assert signal.dtype == np.float32 and signal.ndim == 1
    assert len(signal) == pytest.approx(seconds * 16_000, abs=2)
    # the content survives: the same pitch track, so the energy is comparable
    assert np.sqrt(np.mean(signal ** 2)) == pytest.approx(np.sqrt(np.mean(source ** 2)), rel=0.05)


def test_load_audio_quiet_when_not_verbose(write_wav, capsys):
    path = write_wav("at_8k.wav", np.zeros((800, 2), dtype=np.float32), rate=8000)
    assert len(dsp.load_audio(path, verbose=False)) == 1600
    assert capsys.readouterr() == ("", "")


def test_load_audio_at_16k_prints_nothing(write_wav, capsys):
    path = write_wav("plain.wav", np.zeros(100, dtype=np.float32))
    dsp.load_audio(path)
    assert capsys.readouterr() == ("", "")


def _cut_short(path, frames, bytes_per_frame=2):
    """Cut a 44-byte-header PCM WAV after ``frames`` frames, leaving its header as it was."""
    data = path.read_bytes()
    assert data[36:40] == b"data"  # soundfile's plain PCM header: the samples start at byte 44
    path.write_bytes(data[:44 + frames * bytes_per_frame])
    return path


def test_wav_header_frames_reads_the_promised_count(write_wav, tmp_path):
    path = write_wav("whole.wav", np.zeros((3000, 2), dtype=np.float32))
    assert dsp.wav_header_frames(path) == 3000
    assert dsp.wav_header_frames(_cut_short(path, 1000, bytes_per_frame=4)) == 3000
    flac = write_wav("clip.flac", np.zeros(3000, dtype=np.float32))
    assert dsp.wav_header_frames(flac) is None  # not a WAV
    text = tmp_path / "text.wav"
    text.write_text("RIFF....WAVE")
    assert dsp.wav_header_frames(text) is None  # no chunks


def test_wav_header_frames_ignores_a_streaming_placeholder(write_wav):
    path = write_wav("streamed.wav", np.zeros(3000, dtype=np.float32))
    data = bytearray(path.read_bytes())
    data[40:44] = b"\xff\xff\xff\xff"  # the data chunk's size, unknown when the writer began
    path.write_bytes(bytes(data))
    assert dsp.wav_header_frames(path) is None


def test_load_audio_of_a_wav_cut_short_notes_both_counts(write_wav, capsys):
    path = _cut_short(write_wav("cut.wav", np.full(32_000, 0.25, dtype=np.float32)), 10_652)
    signal = dsp.load_audio(path)
    assert signal.shape == (10_652,)
    np.testing.assert_allclose(signal, 0.25, atol=1 / 32768)
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "cut.wav" in err and "32000" in err and "10652" in err
    dsp.load_audio(path, verbose=False)
    assert capsys.readouterr() == ("", "")


def test_excerpt_keeps_the_first_seconds():
    signal = np.arange(48_000, dtype=np.float32)
    np.testing.assert_array_equal(dsp.excerpt(signal, 0.5), signal[:8_000])
    np.testing.assert_array_equal(dsp.excerpt(signal, 0.5, sample_rate=8_000), signal[:4_000])
    assert len(dsp.excerpt(signal, 10.0)) == 48_000


def test_save_audio_writes_pcm16_at_16k(tmp_path, speech_like):
    signal = speech_like(8000, seed=3)
    path = dsp.save_audio(tmp_path / "sub" / "out.wav", signal)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (16_000, 1, "PCM_16",
                                                                           8000)
    np.testing.assert_allclose(dsp.load_audio(path), signal, atol=1 / 32768)


def test_save_audio_clips_to_full_scale(tmp_path):
    path = dsp.save_audio(tmp_path / "loud.wav", np.array([2.0, -2.0, 0.5], dtype=np.float32))
    codes, _ = sf.read(path, dtype="int16")
    np.testing.assert_array_equal(codes, [32767, -32768, 16384])


def test_save_audio_refuses_to_overwrite(tmp_path):
    path = tmp_path / "kept.wav"
    dsp.save_audio(path, np.full(100, 0.25, dtype=np.float32))
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        dsp.save_audio(path, np.zeros(50, dtype=np.float32))
    assert path.read_bytes() == before
    dsp.save_audio(path, np.zeros(50, dtype=np.float32), overwrite=True)
    assert sf.info(path).frames == 50


def test_save_audio_rejects_non_finite_or_multichannel(tmp_path):
    with pytest.raises(ValueError):
        dsp.save_audio(tmp_path / "nan.wav", np.array([0.0, np.nan], dtype=np.float32))
    with pytest.raises(ValueError):
        dsp.save_audio(tmp_path / "stereo.wav", np.zeros((10, 2), dtype=np.float32))
    assert not (tmp_path / "nan.wav").exists() and not (tmp_path / "stereo.wav").exists()


# --------------------------------------------------------------------------------------------
# Finding the recordings
# --------------------------------------------------------------------------------------------

COURSE_FILES = ("train_clean_male.wav", "train_dirty_male.wav", "test_x_01.wav", "test_x_02.wav")


def _write_set(folder, names, write_wav):
    for name in names:
        write_wav(name, np.zeros(160, dtype=np.float32), folder=folder)


def test_find_recordings_prefers_the_course_files(tmp_path, write_wav):
    audio = tmp_path / "audio"
    _write_set(audio, COURSE_FILES + ("test_s_01.wav",), write_wav)
    _write_set(audio / "standin", COURSE_FILES, write_wav)  # present but not used
    found = dsp.find_recordings(audio)
    assert found.source == "course"
    assert found.directory == audio
    assert found.train_clean == audio / "train_clean_male.wav"
    assert found.train_dirty == audio / "train_dirty_male.wav"
    assert sorted(found.tests) == ["test_01", "test_02"]
    assert found.tests["test_01"].noisy == audio / "test_x_01.wav"
    assert found.tests["test_01"].clean == audio / "test_s_01.wav"
    assert found.tests["test_02"].noisy == audio / "test_x_02.wav"
    assert found.tests["test_02"].clean is None
    assert found.tests["test_01"].speaker is None  # the course does not say who speaks
    assert found.tests["test_02"].speaker is None
    banner = found.describe()
    assert "course recordings" in banner and "no clean reference" in banner
    assert "speaker:" not in banner


def test_find_recordings_on_copies_of_the_standin_files(tmp_path, standin_dir, training_length):
    """The real stand-in files copied under the course names are taken as the course set."""
    if not (standin_dir / "train_clean_male.wav").exists():
        pytest.skip("audio/standin/ has not been built")
    for name in COURSE_FILES + ("test_s_01.wav", "test_s_02.wav"):
        shutil.copy(standin_dir / name, tmp_path / name)
    found = dsp.find_recordings(tmp_path)
    assert found.source == "course"
    assert {name: (clip.noisy.name, clip.clean.name) for name, clip in found.tests.items()} == {
        "test_01": ("test_x_01.wav", "test_s_01.wav"),
        "test_02": ("test_x_02.wav", "test_s_02.wav")}
    assert len(dsp.load_audio(found.train_clean)) == training_length[0]
    assert len(dsp.load_audio(found.train_dirty)) == training_length[0]


@pytest.mark.parametrize("present", [
    ("train_clean_male.wav", "train_dirty_male.wav"),
    ("test_x_01.wav",),
    ("train_clean_male.wav", "train_dirty_male.wav", "test_x_01.wav"),
])
def test_find_recordings_partial_course_set_lists_the_missing(tmp_path, write_wav, present):
    _write_set(tmp_path, present, write_wav)
    _write_set(tmp_path / "standin", COURSE_FILES, write_wav)  # must not mask the mistake
    with pytest.raises(dsp.RecordingSetError) as error:
        dsp.find_recordings(tmp_path)
    message = str(error.value)
    assert "\n" not in message and str(tmp_path) in message
    # "<folder>: incomplete course recordings, missing A, B (add them, or remove C to ...)"
    listed = message.replace(str(tmp_path), "<folder>").split("missing", 1)[1].split("(")[0]
    assert sorted(name.strip() for name in listed.split(",")) == sorted(
        name for name in COURSE_FILES if name not in present)


def test_find_recordings_falls_back_to_the_standin_set(tmp_path, write_wav):
    _write_set(tmp_path / "standin", COURSE_FILES + ("test_s_02.wav",), write_wav)
    found = dsp.find_recordings(tmp_path)
    assert found.source == "standin"
    assert found.directory == tmp_path / "standin"
    assert found.train_clean == tmp_path / "standin" / "train_clean_male.wav"
    assert found.tests["test_01"].clean is None
    assert found.tests["test_02"].clean == tmp_path / "standin" / "test_s_02.wav"
    assert found.tests["test_01"].speaker is None  # no manifest.json to tell
    assert "stand-in" in found.describe()


def test_standin_speakers_come_from_its_manifest(standin_dir):
    found = dsp.find_recordings(standin_dir.parent, ignore_course_files=True)
    assert found.source == "standin"
    assert {name: clip.speaker for name, clip in found.tests.items()} == {
        "test_01": "the training speaker", "test_02": "a different speaker"}


def test_find_recordings_incomplete_standin_set(tmp_path, write_wav):
    _write_set(tmp_path / "standin", COURSE_FILES[:3], write_wav)
    with pytest.raises(dsp.RecordingSetError, match="test_x_02.wav"):
        dsp.find_recordings(tmp_path)


@pytest.fixture
def standin_only(tmp_path, standin_dir):
    """``<tmp>/audio`` holding only ``standin/``, a link to the shipped stand-in folder."""
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "standin").symlink_to(standin_dir)
    return audio


@pytest.fixture
def course_and_standin(standin_only, standin_dir):
    """:func:`standin_only` plus links to the stand-in files under the course names, as if a
    user had put the course files there."""
    for name in COURSE_FILES:
        (standin_only / name).symlink_to(standin_dir / name)
    return standin_only


def test_select_recordings_standin_ignores_the_course_files(course_and_standin, monkeypatch):
    monkeypatch.setenv(dsp.RECORDINGS_VARIABLE, "standin")
    found = dsp.select_recordings(course_and_standin)
    assert found.source == "standin"
    assert found.directory == course_and_standin / "standin"
    assert found.train_clean == course_and_standin / "standin" / "train_clean_male.wav"
    head = found.describe().splitlines()[0]
    assert head == (f"Using the shipped stand-in recordings in {course_and_standin}/standin/ "
                    f"(HOMEWORK2_RECORDINGS=standin: course files in {course_and_standin}/ "
                    f"are not used).")


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_select_recordings_without_the_variable_finds_the_course_files(course_and_standin,
                                                                       monkeypatch, value):
    if value is None:
        monkeypatch.delenv(dsp.RECORDINGS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(dsp.RECORDINGS_VARIABLE, value)
    found = dsp.select_recordings(course_and_standin)
    assert found.source == "course" and found.directory == course_and_standin
    assert found == dsp.find_recordings(course_and_standin)


def test_select_recordings_standin_banner_without_course_files(standin_only, monkeypatch):
    """Unforced, the stand-in banner tells how to use the course files instead."""
    monkeypatch.delenv(dsp.RECORDINGS_VARIABLE, raising=False)
    head = dsp.select_recordings(standin_only).describe().splitlines()[0]
    assert "put the course files" in head and "HOMEWORK2_RECORDINGS" not in head


@pytest.mark.parametrize("value", ["course", "Standin", "stand-in"])
def test_select_recordings_rejects_other_values(course_and_standin, monkeypatch, value):
    monkeypatch.setenv(dsp.RECORDINGS_VARIABLE, value)
    with pytest.raises(ValueError) as error:
        dsp.select_recordings(course_and_standin)
    message = str(error.value)
    assert "\n" not in message
    assert f"HOMEWORK2_RECORDINGS={value!r}" in message and "'standin'" in message
    assert "unset or empty" in message


def test_find_recordings_in_the_repository(standin_dir):
    if not (standin_dir / "train_clean_male.wav").exists():
        pytest.skip("audio/standin/ has not been built")
    found = dsp.find_recordings(standin_dir.parent)
    assert found.source in ("course", "standin")
    assert found.train_clean.exists() and found.train_dirty.exists()
    assert {"test_01", "test_02"} <= set(found.tests)


# --------------------------------------------------------------------------------------------
# Loading pairs and test clips
# --------------------------------------------------------------------------------------------

def test_load_pair_requires_aligned_lengths(write_wav):
    clean = write_wav("clean.wav", np.full(1000, 0.25, dtype=np.float32))
    noisy = write_wav("noisy.wav", np.full(1000, 0.5, dtype=np.float32))
    short = write_wav("short.wav", np.full(999, 0.5, dtype=np.float32))
    s, x = dsp.load_pair(clean, noisy)
    assert s.shape == x.shape == (1000,)
    np.testing.assert_array_equal(s, 0.25)
    np.testing.assert_array_equal(x, 0.5)
    with pytest.raises(dsp.AudioFileError) as error:
        dsp.load_pair(clean, short)
    _assert_one_line_naming(error, short)
    assert "999" in str(error.value) and "1000" in str(error.value)


def test_load_test_clips_pairs_noisy_with_clean_or_none(tmp_path, write_wav):
    for name, value in (("train_clean_male.wav", 0.1), ("train_dirty_male.wav", 0.2),
                        ("test_x_01.wav", 0.3), ("test_s_01.wav", 0.4), ("test_x_02.wav", 0.5)):
        write_wav(name, np.full(800, value, dtype=np.float32))
    clips = dsp.load_test_clips(dsp.find_recordings(tmp_path))
    assert sorted(clips) == ["test_01", "test_02"]
    noisy, clean = clips["test_01"]
    np.testing.assert_allclose(noisy, 0.3, atol=1e-4)
    np.testing.assert_allclose(clean, 0.4, atol=1e-4)
    noisy, clean = clips["test_02"]
    np.testing.assert_allclose(noisy, 0.5, atol=1e-4)
    assert clean is None


# --- Combining a trained model's estimate with a pretrained denoiser's ---

def _two_estimates(quiet_hops):
    rng = np.random.default_rng(0)
    trained = rng.standard_normal(40 * dsp.HOP_LENGTH).astype(np.float32)
    reference = rng.standard_normal(40 * dsp.HOP_LENGTH).astype(np.float32)
    reference[: quiet_hops * dsp.HOP_LENGTH] *= 1e-3  # quiet frames at the start
    return trained, reference


def test_gated_mean_keeps_the_reference_alone_in_its_quietest_quarter_of_frames():
    trained, reference = _two_estimates(quiet_hops=8)  # about a fifth of the 41 frames
    gated = dsp.gated_mean(trained, reference)
    quiet, loud = slice(0, 6 * dsp.HOP_LENGTH), slice(16 * dsp.HOP_LENGTH, -dsp.N_FFT)
    np.testing.assert_allclose(gated[quiet], reference[quiet], atol=1e-5)
    np.testing.assert_allclose(gated[loud], 0.5 * (trained + reference)[loud], atol=1e-4)
    assert gated.shape == reference.shape and gated.dtype == np.float32


def test_gated_mean_with_no_quiet_share_is_the_mean_and_with_half_gates_half():
    trained, reference = _two_estimates(quiet_hops=20)
    np.testing.assert_allclose(dsp.gated_mean(trained, reference, quiet_share=0.0),
                               0.5 * (trained + reference), atol=1e-4)
    half = dsp.gated_mean(trained, reference, quiet_share=0.5)
    np.testing.assert_allclose(half[: 16 * dsp.HOP_LENGTH], reference[: 16 * dsp.HOP_LENGTH],
                               atol=1e-5)


@pytest.mark.parametrize("second, share, message", [
    (np.zeros(100, np.float32), 0.25,
     r"two 1-D estimates of equal length, got \(200,\) and \(100,\)"),
    (np.zeros(200, np.float32), 1.0, r"quiet_share must be in \[0, 1\), got 1.0")])
def test_gated_mean_rejects_mismatched_estimates_and_shares(second, share, message):
    with pytest.raises(ValueError, match=message):
        dsp.gated_mean(np.zeros(200, np.float32), second, quiet_share=share)
