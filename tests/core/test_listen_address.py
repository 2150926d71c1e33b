"""`make run` and `make demo` listen on this machine only unless told otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def planned_commands(target: str, *variables: str) -> str:
    """What `make <target>` would run (make -n runs nothing), with no TEXTEDIT_BIND inherited."""
    env = {name: value for name, value in os.environ.items() if name != "TEXTEDIT_BIND"}
    return subprocess.run(
        ["make", "-n", target, *variables], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize("target", ["run", "demo"])
def test_the_app_listens_on_the_loopback_address_by_default(target):
    assert "--server.address 127.0.0.1" in planned_commands(target)


@pytest.mark.parametrize("target", ["run", "demo"])
def test_the_listening_address_is_changed_with_textedit_bind(target):
    assert "--server.address 0.0.0.0" in planned_commands(target, "TEXTEDIT_BIND=0.0.0.0")
