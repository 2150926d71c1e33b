#!/usr/bin/env python
"""Several app servers behind nginx on this machine, on one PostgreSQL (`make cluster`).

Starts N `streamlit run serve.py` processes, each on a port of its own, and nginx in front of
them with deploy/nginx.conf filled in. Everything runs as the current user: nginx's pid file,
logs and temporary files go to a folder of their own (--run-dir; a new temporary one by
default), so no root is needed. Ctrl+C stops them all.

The app servers get this command's environment (and .env) plus what servers behind a proxy
must have: TEXTEDIT_TRUSTED_PROXIES=1 (nginx writes X-Forwarded-For) and one shared
TEXTEDIT_JWT_SECRET (the configured one, else the one generated in TEXTEDIT_DATA_DIR), so that
a login made on one server is honoured by the others. TEXTEDIT_DATABASE_URL must be PostgreSQL.

    make cluster                                 # 2 app servers (8601, 8602), nginx on :8080
    make cluster CLUSTER_ARGS="--servers 3 --port 8090"
    # the filled-in nginx.conf for app servers elsewhere, to install by hand:
    .venv/bin/python deploy/run_cluster.py --print-config --run-dir /var/lib/textedit-nginx \\
        --upstream 10.0.0.5:8501 --upstream 10.0.0.6:8501 --listen 0.0.0.0 --port 80
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf")
# Debian puts nginx in /usr/sbin, which is not on an ordinary user's PATH.
NGINX_PLACES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
# A server that refused or timed out once is passed over for this long, then tried again.
FAIL_TIMEOUT_SECONDS = 10
START_SECONDS = 90


@dataclass(frozen=True)
class Upstream:
    name: str  # what the route cookie holds: app1, app2, ...
    address: str  # host:port as nginx reaches it (an IP address: see the served-by map)


def upstreams_for(addresses: Sequence[str]) -> list[Upstream]:
    return [Upstream(f"app{number}", address) for number, address in enumerate(addresses, start=1)]


def _server_line(address: str, backup: bool = False) -> str:
    backup_flag = " backup" if backup else ""
    return f"        server {address} max_fails=1 fail_timeout={FAIL_TIMEOUT_SECONDS}s{backup_flag};"


def upstream_blocks(upstreams: Sequence[Upstream]) -> str:
    """The upstream groups and the two maps that make a browser stick to one app server: a
    group balancing new browsers over all servers, and per server a group that sends a browser
    there while it is up and to the others (backup) when it is not."""
    # zone: the servers' failures are shared by nginx's worker processes.
    lines = ["    upstream textedit {", "        zone textedit 64k;", "        least_conn;"]
    lines += [_server_line(u.address) for u in upstreams]
    lines.append("    }")
    for pinned in upstreams:
        lines.append(f"    upstream textedit_{pinned.name} {{")
        lines.append(f"        zone textedit_{pinned.name} 64k;")
        lines.append(_server_line(pinned.address))
        lines += [_server_line(u.address, backup=True) for u in upstreams if u is not pinned]
        lines.append("    }")
    lines += ["    map $cookie_textedit_route $textedit_upstream {", "        default textedit;"]
    lines += [f"        {u.name} textedit_{u.name};" for u in upstreams]
    lines.append("    }")
    # $upstream_addr lists every server tried, the one that answered last.
    lines += ["    map $upstream_addr $textedit_served_by {", '        default "";']
    lines += [f'        "~(^|\\s){re.escape(u.address)}$" {u.name};' for u in upstreams]
    lines.append("    }")
    return "\n".join(lines)


def workers_user() -> str | None:
    """Whom nginx started by this process runs its workers as: as root it would pick "nobody",
    who cannot write the run folder, so root itself; otherwise nginx keeps the one it runs as."""
    return pwd.getpwuid(0).pw_name if os.geteuid() == 0 else None


def render(upstreams: Sequence[Upstream], listen: str, run_dir: Path, user: str | None) -> str:
    """deploy/nginx.conf with its fields filled in; `user`: the workers' user (None: nginx's own)."""
    fields = {
        "run_dir": str(run_dir),
        "listen": listen,
        "user": f"user {user};" if user else "# (the workers run as the user who starts nginx)",
        "upstreams": upstream_blocks(upstreams),
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in fields.items():
        text = text.replace("{{" + name + "}}", value)
    left = re.search(r"\{\{\w+\}\}", text)
    if left:
        raise ValueError(f"nginx template field {left.group()} has no value")
    return text


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return next((place for place in NGINX_PLACES if os.access(place, os.X_OK)), None)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def _wait(url: str, process: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}:\n{log.read_text()}")
        if healthy(url):
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"{what} did not answer at {url}/_stcore/health within {START_SECONDS} s:\n{log.read_text()}"
    )


def _end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class AppServer:
    """One `streamlit run serve.py` on 127.0.0.1:port."""

    def __init__(self, name: str, port: int, env: Mapping[str, str], log: Path) -> None:
        self.name, self.port, self.env, self.log = name, port, dict(env), log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AppServer:
        command = [sys.executable, "-m", "streamlit", "run", "serve.py"]
        command += ["--server.port", str(self.port), "--server.address", "127.0.0.1"]
        with self.log.open("a") as log_file:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log_file, stderr=subprocess.STDOUT
            )
        _wait(self.url, self.process, self.log, f"app server {self.name}")
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """End it at once, as a crash or a pulled plug would: no goodbye to its websockets."""
        if self.running():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            _end(self.process)


class Nginx:
    """nginx in the foreground with its config, pid file, logs and temporary files in run_dir."""

    def __init__(self, executable: str, config: str, run_dir: Path, url: str) -> None:
        self.executable, self.run_dir, self.url = executable, run_dir, url
        self.config_path = run_dir / "nginx.conf"
        self.error_log = run_dir / "error.log"
        self.access_log = run_dir / "access.log"
        run_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(config, encoding="utf-8")
        self.process: subprocess.Popen | None = None

    def _command(self, *extra: str) -> list[str]:
        # -e: the log for start-up messages, before the config is read (not the distribution's).
        return [
            self.executable,
            "-p",
            str(self.run_dir),
            "-c",
            str(self.config_path),
            "-e",
            str(self.error_log),
            *extra,
        ]

    def check(self) -> None:
        """nginx -t: raises with nginx's own words when the config is wrong."""
        result = subprocess.run(self._command("-t"), capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"nginx refused {self.config_path}:\n{result.stderr}")

    def start(self) -> Nginx:
        self.check()
        self.process = subprocess.Popen(
            self._command("-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        _wait(self.url, self.process, self.error_log, "nginx")
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None:
            _end(self.process)


def app_environment(base: Mapping[str, str], jwt_secret: str) -> dict[str, str]:
    """What every app server behind the proxy runs with: `base` plus the shared secret and the
    proxy's header, trusted once."""
    return {
        **base,
        "TEXTEDIT_JWT_SECRET": jwt_secret,
        "TEXTEDIT_TRUSTED_PROXIES": "1",
        "TEXTEDIT_CLIENT_IP_HEADER": "X-Forwarded-For",
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", type=int, default=2, help="app servers to start (default 2)")
    parser.add_argument(
        "--app-port", type=int, default=8601, help="the first app server's port (default 8601)"
    )
    parser.add_argument("--port", type=int, default=8080, help="nginx's port (default 8080)")
    parser.add_argument("--listen", default="127.0.0.1", help="nginx's address (default 127.0.0.1)")
    parser.add_argument(
        "--run-dir", type=Path, help="nginx's config, pid, logs, temp files (default: a new temp dir)"
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the filled-in nginx.conf, start nothing"
    )
    parser.add_argument(
        "--upstream",
        action="append",
        metavar="IP:PORT",
        help="with --print-config: an app server started elsewhere (repeat for each)",
    )
    parser.add_argument(
        "--user",
        default="www-data",
        help="with --print-config: the user nginx's workers run as (default www-data)",
    )
    args = parser.parse_args()
    if args.servers < 1:
        parser.error("--servers must be at least 1")
    if args.print_config and args.run_dir is None:
        parser.error(
            "--print-config needs --run-dir: where that nginx keeps its pid file, logs and temp files"
        )
    if args.upstream and not args.print_config:
        parser.error("--upstream is for --print-config; this command starts its own app servers")
    return args


def main() -> int:
    args = _arguments()
    ports = [args.app_port + number for number in range(args.servers)]
    upstreams = upstreams_for(args.upstream or [f"127.0.0.1:{port}" for port in ports])
    listen = f"{args.listen}:{args.port}"
    if args.print_config:
        print(render(upstreams, listen, args.run_dir.resolve(), args.user))
        return 0

    # The app servers run here, and read .env from here, as `make run` does.
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from textedit_core.infra.config import load_settings, resolve_jwt_secret

    executable = find_nginx()
    if executable is None:
        print("nginx is not installed: apt-get install nginx (Debian's package; it runs as you here)")
        return 2
    settings = load_settings()
    if not settings.database_url.startswith("postgresql"):
        print(
            "Several app servers share one PostgreSQL database: set TEXTEDIT_DATABASE_URL="
            "postgresql+psycopg://user:password@host:5432/textedit (environment or .env)."
        )
        return 2
    env = app_environment(os.environ, resolve_jwt_secret(settings).decode())
    subprocess.run([sys.executable, "-m", "textedit_core", "migrate"], env=env, check=True)
    run_dir = (args.run_dir or Path(tempfile.mkdtemp(prefix="textedit-cluster-"))).resolve()
    servers = [
        AppServer(u.name, port, env, run_dir / f"{u.name}.log")
        for u, port in zip(upstreams, ports, strict=True)
    ]
    host = "127.0.0.1" if args.listen in ("0.0.0.0", "::") else args.listen
    proxy = Nginx(
        executable, render(upstreams, listen, run_dir, workers_user()), run_dir, f"http://{host}:{args.port}"
    )
    # Ctrl+C and a plain kill both stop everything (a shell's background job ignores SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for server in servers:
            print(f"Starting app server {server.name} on {server.url} ...", flush=True)
            server.start()
        proxy.start()
        print(f"TextEdit on {proxy.url} (nginx) over {len(servers)} app servers; logs in {run_dir}.")
        print("Ctrl+C stops them all.", flush=True)
        while proxy.running() and all(server.running() for server in servers):
            time.sleep(1)
        print("A process ended; stopping the others.")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        proxy.stop()
        for server in servers:
            server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
