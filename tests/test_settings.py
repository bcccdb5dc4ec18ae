"""Settings: defaults, environment variables and CLI options, and errors for bad values."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kb.cli.main import app
from kb.errors import BadSetting
from kb.settings import get_settings


def setting_line(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(name))


def test_option_beats_environment_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KB_CODER_TUNE_EPOCHS", raising=False)
    assert get_settings().coder_tune_epochs == 4
    monkeypatch.setenv("KB_CODER_TUNE_EPOCHS", "2")
    assert get_settings().coder_tune_epochs == 2
    result = CliRunner().invoke(app, ["--coder-tune-epochs", "0", "settings"])
    assert result.exit_code == 0
    assert setting_line(result.output, "coder_tune_epochs").split()[-1] == "0"


def test_bad_number_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CODER_TUNE_EPOCHS", "three")
    with pytest.raises(BadSetting, match="KB_CODER_TUNE_EPOCHS='three' is not a whole number"):
        get_settings()
    result = CliRunner().invoke(app, ["settings"])
    assert result.exit_code == 1
    assert "KB_CODER_TUNE_EPOCHS='three' is not a whole number" in result.output
    assert "Traceback" not in result.output
