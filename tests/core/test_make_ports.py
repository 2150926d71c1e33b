"""`make run` and `make demo` listen on PORT, and print the address they listen on."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from textedit_core.demo import seed
from textedit_core.infra.config import Settings

ROOT = Path(__file__).resolve().parents[2]

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def planned_commands(target: str, *variables: str) -> str:
    """What `make <target>` would run (make -n runs nothing), with no PORT inherited."""
    env = {name: value for name, value in os.environ.items() if name != "PORT"}
    return subprocess.run(
        ["make", "-n", target, *variables], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout


@needs_make
def test_make_run_listens_on_8501_by_default():
    assert "--server.port 8501 " in planned_commands("run")


@needs_make
def test_make_demo_listens_on_8502_by_default_so_both_can_run_side_by_side():
    commands = planned_commands("demo")
    assert "seed-demo --port 8502" in commands
    assert "--server.port 8502 " in commands


@needs_make
@pytest.mark.parametrize("target", ["run", "demo"])
def test_port_sets_the_port_the_app_listens_on(target):
    commands = planned_commands(target, "PORT=8612")
    assert "--server.port 8612 " in commands
    assert "8501" not in commands and "8502" not in commands


@needs_make
def test_make_demo_tells_the_seed_report_its_port():
    assert "seed-demo --port 8612" in planned_commands("demo", "PORT=8612")


def test_the_demo_report_prints_the_address_on_the_port_it_was_given(tmp_path):
    summary = seed.DemoSummary(
        created=False, accounts=seed.DEMO_ACCOUNTS, users=0, transactions={}, audit_entries=0
    )
    settings = Settings(_env_file=None, database_url="sqlite:///demo.db", data_dir=tmp_path)
    text = seed.report(summary, settings, 8612)
    assert "Open the app at http://localhost:8612 " in text
    assert "python -m streamlit run serve.py --server.port 8612" in text
