"""Session set-up for every test, the notebook included: ``HOMEWORK2_OUTPUT_DIR`` names a fresh
temporary folder (with ``figures/`` and ``models/``) for the notebook's outputs, so that the run
leaves the checkout as it found it, and ``HOMEWORK2_RECORDINGS=standin`` runs the notebook on the
stand-in recordings; both are restored and the folder removed when the session ends."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dsp_helpers import RECORDINGS_VARIABLE

OUTPUT_DIR_VARIABLE = "HOMEWORK2_OUTPUT_DIR"
_saved = {}


def pytest_configure(config):
    output_dir = Path(tempfile.mkdtemp(prefix="homework2-output-"))
    for folder in ("figures", "models"):
        (output_dir / folder).mkdir()
    _saved["output_dir"] = output_dir
    for variable, value in ((OUTPUT_DIR_VARIABLE, str(output_dir)),
                            (RECORDINGS_VARIABLE, "standin")):
        _saved[variable] = os.environ.get(variable)
        os.environ[variable] = value


def pytest_unconfigure(config):
    output_dir = _saved.pop("output_dir", None)
    if output_dir is None:
        return
    for variable in (OUTPUT_DIR_VARIABLE, RECORDINGS_VARIABLE):
        previous = _saved.pop(variable)
        if previous is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = previous
    shutil.rmtree(output_dir, ignore_errors=True)
