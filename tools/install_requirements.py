"""Install requirement files into the virtual environment this Python belongs to, with progress.

    .venv/bin/python tools/install_requirements.py requirements.txt [more.txt ...]
    .venv/bin/python tools/install_requirements.py --pip requirements.txt    # pip only

uv (installed into the environment by pip, at the version pinned below) installs the app's
requirements in 3 s where pip takes 17 s (bench/RESULTS.md, "First start"). uv reads none of
pip's configuration, so the package sources pip is configured with (its config files and PIP_*
variables: index, extra indexes, find-links, no-index, trusted hosts, constraints, CA bundle,
timeout) are handed to it, and it picks the best version across all of them, as pip does. When
uv cannot be installed or fails, pip does the work. Either way the environment's pip is brought
up to date, as the Makefile always did.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

UV = "uv==0.13.9"
# The sections of pip's configuration an install reads, weakest first (PIP_* variables last).
PIP_SECTIONS = ("global", "install", ":env:")
TRUE = {"1", "true", "yes", "on", "y", "t"}


def parse_pip_config(listed: str) -> dict[str, str]:
    """The settings an install uses, from `pip config list` (lines `section.key='value'`)."""
    by_section: dict[str, dict[str, str]] = {section: {} for section in PIP_SECTIONS}
    for line in listed.splitlines():
        name, _eq, value = line.partition("=")
        section, _dot, key = name.rpartition(".")
        if section in by_section:
            by_section[section][key] = ast.literal_eval(value)
    settings: dict[str, str] = {}
    for section in PIP_SECTIONS:
        settings.update(by_section[section])
    return settings


def pip_settings() -> dict[str, str] | None:
    """pip's settings for an install here (None: pip could not list them)."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    return parse_pip_config(listed.stdout) if listed.returncode == 0 else None


def uv_options(settings: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Arguments and environment for `uv pip install` that use pip's package sources."""
    # pip takes the best version found on any index; uv's default takes the first index that
    # has the package at all, which fails when a local index holds only older releases.
    args = ["--index-strategy", "unsafe-best-match"]
    if settings.get("index-url"):
        args += ["--index-url", settings["index-url"]]
    for option, uv_option in (
        ("extra-index-url", "--extra-index-url"),
        ("find-links", "--find-links"),
        ("trusted-host", "--allow-insecure-host"),
        ("constraint", "--constraint"),
    ):
        for value in settings.get(option, "").split():
            args += [uv_option, value]
    if settings.get("no-index", "").lower() in TRUE:
        args.append("--no-index")
    env = {}
    if settings.get("cert"):
        env["SSL_CERT_FILE"] = settings["cert"]
    timeout = settings.get("timeout") or settings.get("default-timeout")
    if timeout:
        env["UV_HTTP_TIMEOUT"] = timeout
    return args, env


def pip(*args: str) -> bool:
    return subprocess.run([sys.executable, "-m", "pip", *args]).returncode == 0


def with_uv(requirements: list[str]) -> bool:
    """Whether uv installed them (False: uv or pip's configuration could not be had)."""
    if not pip("install", "--quiet", UV):
        return False
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    settings = pip_settings()
    if uv is None or settings is None:
        return False
    args, env = uv_options(settings)
    command = [uv, "pip", "install", "--python", sys.executable, *args]
    # Compiled as pip does: without .pyc files every start of the app compiles its imports again.
    command += ["--compile-bytecode", "--upgrade-package", "pip", "pip", *requirements]
    return subprocess.run(command, env={**os.environ, **env}).returncode == 0


def main(argv: list[str]) -> int:
    only_pip = argv[:1] == ["--pip"]
    files = argv[1:] if only_pip else argv
    requirements = [arg for path in files for arg in ("-r", path)]
    if not only_pip:
        if with_uv(requirements):
            return 0
        print("uv could not install them: installing with pip instead (slower).", flush=True)
    if pip("install", "--quiet", "--upgrade", "pip") and pip("install", *requirements):
        return 0
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
