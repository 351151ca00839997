"""The `workbench` command reads well for an organiser and fails with the fix, not a traceback."""

from __future__ import annotations

import subprocess
import sys

from workbench.cli import main


def test_help_lists_every_command_in_workflow_order(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    commands = ["demo", "rubric", "import", "nominations", "judges", "round", "conflicts", "allocate",
                "assignments", "links", "scoresheets", "serve", "agreement", "moderation", "export", "unit"]
    positions = [out.index(f"\n    {name}") for name in commands]
    assert positions == sorted(positions)
    assert "The database is SQLite at ./workbench.db unless you give --db URL or set WORKBENCH_DB." in out
    assert "Run `workbench COMMAND --help`" in out


def test_console_script_runs_and_reports_errors_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "workbench", "rubric", "check", str(tmp_path / "missing.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "missing.yaml" in result.stdout + result.stderr
