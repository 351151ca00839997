"""Re-execute the notebooks against a fresh demo panel and store their outputs for nbval.

    python tests/refresh_notebooks.py [notebooks/NAME.ipynb ...]

nbval compares fresh outputs with the stored ones, so the stored ones must come from the
same deterministic demo database that `.ci/test` builds (`workbench demo --no-serve`).
Widget model ids are ignored by nbval; execution counts and metadata are normalised here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def refresh(paths: list[Path]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, WORKBENCH_DB=f"{tmp}/demo.db", HOME=tmp, JUPYTER_CONFIG_DIR=f"{tmp}/jc",
                   JUPYTER_DATA_DIR=f"{tmp}/jd", JUPYTER_RUNTIME_DIR=f"{tmp}/jr", IPYTHONDIR=f"{tmp}/ip",
                   MPLCONFIGDIR=f"{tmp}/mpl")
        subprocess.run([sys.executable, "-m", "workbench", "demo", "--no-serve", "--quiet"], env=env, check=True,
                       cwd=ROOT)
        os.environ.update(env)
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
            for cell in nb.cells:
                cell.metadata.pop("execution", None)
            nb.metadata.pop("widgets", None)
            nbformat.write(nb, path)
            print(f"refreshed {path.relative_to(ROOT)}")


if __name__ == "__main__":
    targets = [Path(p).resolve() for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    refresh(targets)
