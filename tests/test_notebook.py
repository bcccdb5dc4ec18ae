"""notebooks/cross_case_analysis.ipynb runs top to bottom against a built knowledge base."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from kb.settings import ROOT

pytestmark = pytest.mark.slow  # starts a Jupyter kernel and runs the notebook

NOTEBOOK = ROOT / "notebooks" / "cross_case_analysis.ipynb"


def test_notebook_runs(kb_settings, monkeypatch):
    monkeypatch.setenv("KB_DATA_DIR", str(kb_settings.data_dir))
    monkeypatch.setenv("KB_CORPUS_DIR", str(kb_settings.corpus_dir))
    monkeypatch.setenv("KB_EMBED_MODEL", kb_settings.embed_model)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "재정 자원" in text and "약점" in text and "강점" in text  # the 표 7-1 style table
    assert any({"image/png", "application/vnd.plotly.v1+json"} & set(o.get("data", {})) for o in outputs)
    assert "kb.qdpx" in text
