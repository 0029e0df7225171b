"""Session set-up for ``python -m pytest`` that holds for every test, the notebook included.

The run must leave the checkout as it found it. ``homework2.ipynb``, which nbval executes as a
test, writes its outputs (``models/``, ``figures/*.png``, ``figures/results.json``) under the
folder named by the environment variable ``HOMEWORK2_OUTPUT_DIR`` (the notebook's own folder
when it is unset). Before any test runs, and so before nbval starts the notebook's kernel, which
inherits this process's environment, the variable is set here to a fresh temporary folder with
``figures/`` and ``models/`` in it; the folder is removed, and the variable restored, when the
session ends. This file sits at the repository root so that it is loaded however the run is
started, ``python -m pytest homework2.ipynb`` included.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

OUTPUT_DIR_VARIABLE = "HOMEWORK2_OUTPUT_DIR"
_saved = {}


def pytest_configure(config):
    output_dir = Path(tempfile.mkdtemp(prefix="homework2-output-"))
    for folder in ("figures", "models"):
        (output_dir / folder).mkdir()
    _saved["previous"] = os.environ.get(OUTPUT_DIR_VARIABLE)
    _saved["output_dir"] = output_dir
    os.environ[OUTPUT_DIR_VARIABLE] = str(output_dir)


def pytest_unconfigure(config):
    output_dir = _saved.pop("output_dir", None)
    if output_dir is None:
        return
    previous = _saved.pop("previous")
    if previous is None:
        os.environ.pop(OUTPUT_DIR_VARIABLE, None)
    else:
        os.environ[OUTPUT_DIR_VARIABLE] = previous
    shutil.rmtree(output_dir, ignore_errors=True)
