"""Session set-up for ``python -m pytest`` that holds for every test, the notebook included.

The run must leave the checkout as it found it. ``homework2.ipynb``, which nbval executes as a
test, writes its outputs (``models/``, ``figures/*.png``, ``figures/results.json``) under the
folder named by the environment variable ``HOMEWORK2_OUTPUT_DIR`` (the notebook's own folder
when it is unset). Before any test runs, and so before nbval starts the notebook's kernel, which
inherits this process's environment, the variable is set here to a fresh temporary folder with
``figures/`` and ``models/`` in it. ``HOMEWORK2_RECORDINGS`` is set to ``standin`` as well, so
that the notebook runs on the shipped stand-in recordings whatever ``audio/`` holds (see
``dsp_helpers.select_recordings``). When the session ends the folder is removed and both
variables are restored. This file sits at the repository root so that it is loaded however the
run is started, ``python -m pytest homework2.ipynb`` included.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

OUTPUT_DIR_VARIABLE = "HOMEWORK2_OUTPUT_DIR"
RECORDINGS_VARIABLE = "HOMEWORK2_RECORDINGS"
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
