"""Every file the project writes for a user is written atomically (issue 35): to a temporary file
beside it, moved into place once complete. A write that fails part-way, whatever the failure,
leaves the previous file byte-identical and no temporary file behind.

Each writer is tested through its own encoder (soundfile, Matplotlib, ``json``, Keras), patched
to fail after writing its bytes. The command line's writes are tested in ``test_denoise_cli.py``.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pytest
import soundfile as sf
from matplotlib.figure import Figure

import dsp_helpers as dsp
import models_tf as M
import report_helpers as report
from models_tf import keras

SIGNAL = np.linspace(-0.5, 0.5, 1600, dtype=np.float32)
RESULTS = {"models": {"cnn1d": {"test_snr_db": {"test_01": 9.5, "test_02": None}}}}
PREVIOUS = b"the previous version, which must survive a failed write"


def _figure():
    figure, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0.0, 1.0])
    return figure


def _small_model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])


class Writer(NamedTuple):
    suffix: str
    write: Callable[[Path], object]  # writes a new version of the file at the path
    encoder: tuple[object, str]  # (owner, attribute) of the call that puts the bytes on disk
    wrote: Callable[[Path], bool]  # whether the file at the path is the new version


WRITERS = {
    "save_audio": Writer(".wav", lambda path: dsp.save_audio(path, SIGNAL, overwrite=True),
                         (sf.SoundFile, "write"), lambda path: sf.info(path).frames == 1600),
    "save_figure": Writer(".png", lambda path: report.save_figure(_figure(), path),
                          (Figure, "savefig"), lambda path: path.read_bytes()[:4] == b"\x89PNG"),
    "save_json": Writer(".json", lambda path: report.save_json(path, RESULTS), (json, "dump"),
                        lambda path: path.read_text() == json.dumps(RESULTS, indent=2) + "\n"),
    "save_denoiser": Writer(".keras", lambda path: M.save_denoiser(_small_model(), path),
                            (keras.Model, "save"),
                            lambda path: keras.saving.load_model(path).output_shape == (None, 2)),
}

FAILURES = {
    "encoder-error": RuntimeError("the encoder failed"),
    "disk-full": OSError(errno.ENOSPC, "No space left on device"),
    "interrupted": KeyboardInterrupt(),
}


def _previous_file(folder: Path, suffix: str) -> Path:
    path = folder / f"output{suffix}"
    path.write_bytes(PREVIOUS)
    return path


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@pytest.mark.parametrize("name", WRITERS)
def test_a_write_replaces_the_previous_file_and_leaves_no_temporary_file(tmp_path, name):
    writer = WRITERS[name]
    path = _previous_file(tmp_path, writer.suffix)
    writer.write(path)
    assert writer.wrote(path)
    assert os.listdir(tmp_path) == [path.name]
    assert path.stat().st_mode & 0o777 == _new_file_mode()  # as a file made with open() gets


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("name", WRITERS)
def test_a_failed_write_leaves_the_previous_file_as_it_was(tmp_path, fail_after_writing, name,
                                                          failure):
    writer = WRITERS[name]
    path = _previous_file(tmp_path, writer.suffix)
    fail_after_writing(*writer.encoder, FAILURES[failure])
    with pytest.raises(type(FAILURES[failure])):
        writer.write(path)
    assert path.read_bytes() == PREVIOUS
    assert os.listdir(tmp_path) == [path.name]


def test_save_audio_reports_a_full_disk_as_an_os_error(tmp_path, fail_after_writing):
    """libsndfile reports a full disk as a "System error" (``LibsndfileError``, a
    ``RuntimeError``); callers get an ``OSError`` naming the file."""
    path = _previous_file(tmp_path, ".wav")
    fail_after_writing(sf.SoundFile, "write", sf.LibsndfileError(2))
    with pytest.raises(OSError, match="System error") as error:
        dsp.save_audio(path, SIGNAL, overwrite=True)
    assert error.value.filename == str(path)
    assert path.read_bytes() == PREVIOUS
    assert os.listdir(tmp_path) == [path.name]


def test_save_json_of_a_value_json_cannot_hold_leaves_the_previous_file(tmp_path):
    """``json.dump`` writes as it goes: the file is half written when it meets the value."""
    path = _previous_file(tmp_path, ".json")
    with pytest.raises(TypeError, match="not JSON serializable"):
        report.save_json(path, {"models": {"cnn1d": 9.5}, "figure": _figure()})
    assert path.read_bytes() == PREVIOUS
    assert os.listdir(tmp_path) == [path.name]


def test_concurrent_writers_of_one_path_never_mix(tmp_path):
    """Each writer has its own temporary file, named after the target with its suffix, in the
    target's folder; the last to finish replaces the file whole."""
    path = tmp_path / "results.json"
    with dsp.replaced_atomically(path) as first, dsp.replaced_atomically(path) as second:
        assert first != second
        for temporary in (first, second):
            assert temporary.parent == tmp_path and temporary.suffix == ".json"
            assert temporary.name.startswith(".results.json.")
        first.write_text("first")
        second.write_text("second")
    assert path.read_text() == "first"  # the outer block finished last
    assert os.listdir(tmp_path) == [path.name]
