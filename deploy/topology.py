"""The production topology on one machine, for the topology test and the load benchmark.

    PYTHONPATH=. .venv/bin/python deploy/topology.py \\
        --postgres postgresql://postgres@127.0.0.1:5432/tanpuhui --redis redis://127.0.0.1:6379/0

starts, until stopped with Ctrl-C:

- PgBouncer (Debian's 1.18) in transaction pooling mode in front of PostgreSQL, with two pools
  on the one database (``deploy/pgbouncer.ini.template``);
- two gunicorn instances of the platform in production mode: ``web`` serves residents, cashiers,
  pages and the rest of the API, ``ingestion`` serves partner batches (``/api/v1/partner/...``);
- HAProxy (Debian's 2.6) in front of both, routing by path (``deploy/haproxy.cfg.template``);
- one scheduler (``tanpuhui scheduler``);
- and uses the Redis it is given for the shared sign-in and typed-code limits.

The database is migrated first, directly (DDL does not need the pooler). Every process gets the
same production settings (:meth:`Topology.environment`). HAProxy and PgBouncer come from Debian's
packages: ``make topology`` installs them where apt-get is ours.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import IO
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
#: Where PgBouncer, which refuses to run as root, runs when started by root.
PGBOUNCER_USER = "postgres"


def missing_components() -> str | None:
    """Why the topology cannot start here, or None when every program it runs is installed."""
    for program in ("haproxy", "pgbouncer"):
        if shutil.which(program) is None and not Path(f"/usr/sbin/{program}").exists():
            return f"{program} is not installed (make topology installs Debian's package)"
    for program in ("gunicorn", "tanpuhui"):
        if not (BIN / program).exists():
            return f"{program} is not installed in {BIN}"
    return None


def _program(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} stopped at start-up (exit {process.returncode})")
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not listen on port {port} within {seconds:.0f} s")


def _wait_for_health(url: str, process: subprocess.Popen[bytes], name: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} stopped at start-up (exit {process.returncode})")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{name} did not answer /healthz within {seconds:.0f} s")


@dataclass
class Topology:
    """Start with :meth:`start` (or ``with Topology(...) as topology``), stop with :meth:`stop`.

    ``postgres`` is a PostgreSQL URL of the database to use (migrated here); ``redis`` the Redis
    for the limits; ports are ``port`` (the proxy) and the next ones.
    """

    postgres: str
    redis: str
    port: int = 8600
    web_workers: int = 4
    ingestion_workers: int = 2
    #: PgBouncer's server connections for the web instance and scheduler, and for ingestion.
    web_pool: int = 10
    ingestion_pool: int = 2
    #: The ingestion instance runs at a lower CPU priority than the one serving residents.
    ingestion_nice: int = 10
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    random_page_cost: str = "1.1"
    log_level: str = "WARNING"
    #: "info" logs every request at the proxy, with its queue and server times.
    proxy_log_level: str = "warning"
    workdir: Path | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    # -- addresses ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The proxy: what residents, cashiers and partners are given."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.port + 1}"

    @property
    def ingestion_url(self) -> str:
        return f"http://127.0.0.1:{self.port + 2}"

    @property
    def pgbouncer_port(self) -> int:
        return self.port + 10

    @property
    def database(self) -> str:
        return (urlsplit(self.postgres).path or "/").lstrip("/")

    def pooled_url(self, pool: str = "") -> str:
        """The SQLAlchemy URL of the database through PgBouncer (``pool``: "" or "_ingest")."""
        user = urlsplit(self.postgres).username or "postgres"
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.pgbouncer_port}/tanpuhui{pool}"

    @property
    def direct_url(self) -> str:
        rest = self.postgres.split("://", 1)[1]
        return f"postgresql+psycopg://{rest}"

    def environment(self, database_url: str | None = None) -> dict[str, str]:
        """The production settings every process of the topology runs with."""
        return os.environ | {
            "TANPUHUI_ENV": "production",
            "DATABASE_URL": database_url or self.pooled_url(),
            # PgBouncer 1.18 in transaction mode: no server-side prepared statements, and the
            # planner cost comes from PgBouncer's connect_query, not from a session-level SET.
            "DATABASE_PREPARED_STATEMENTS": "false",
            "DATABASE_RANDOM_PAGE_COST": "",
            # Connections are cheap behind the pooler: each worker keeps one or two.
            "DATABASE_POOL_SIZE": "2",
            "DATABASE_MAX_OVERFLOW": "2",
            "SECRET_KEY": self.secret_key,
            "RATELIMIT_STORAGE_URI": self.redis,
            # The city's SMS gateway (production refuses the console sender); nothing here asks
            # for a code, so the address is never called.
            "SMS_SENDER": "http",
            "SMS_GATEWAY_URL": "https://sms-gateway.invalid/send",
            "SMS_GATEWAY_KEY": "topology-gateway-key",
            "SMS_TEMPLATES": "sign_up=T1,sign_in=T2,reset=T3",
            "TRUSTED_PROXIES": "127.0.0.1",  # HAProxy: its X-Forwarded-For is believed
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            "LOG_LEVEL": self.log_level,
            "GUNICORN_TIMEOUT": "120",
            "PYTHONUNBUFFERED": "1",
        }

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> Topology:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        reason = missing_components()
        if reason:
            raise RuntimeError(reason)
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="tanpuhui-topology-"))
        self.workdir.chmod(0o755)  # PgBouncer runs as its own user and reads its files here
        try:
            self._migrate()
            self._start_pgbouncer()
            self._start_gunicorn("web", self.port + 1, self.web_workers, self.pooled_url())
            self._start_gunicorn(
                "ingestion",
                self.port + 2,
                self.ingestion_workers,
                self.pooled_url("_ingest"),
                nice=self.ingestion_nice,
            )
            self._start_haproxy()
            self._start("scheduler", [str(BIN / "tanpuhui"), "scheduler"], self.environment())
            time.sleep(0.5)
            if self.processes["scheduler"].poll() is not None:
                raise RuntimeError("the scheduler stopped at start-up")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process this topology started, the last started first."""
        for name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            del self.processes[name]
        for log in self._logs:
            log.close()
        self._logs.clear()

    def log(self, name: str) -> str:
        """What a process wrote (its stdout and stderr), for a failing test's message."""
        assert self.workdir is not None
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # -- the parts ----------------------------------------------------------------------------

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        assert self.workdir is not None
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop)
        self._logs.append(log)
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def _render(self, template: str, target: str, **values: object) -> Path:
        assert self.workdir is not None
        text = Template((DEPLOY / template).read_text()).substitute(
            {key: str(value) for key, value in values.items()}
        )
        path = self.workdir / target
        path.write_text(text)
        path.chmod(0o644)
        return path

    def _migrate(self) -> None:
        env = self.environment(self.direct_url) | {"DATABASE_PREPARED_STATEMENTS": "true"}
        result = subprocess.run(
            [str(BIN / "tanpuhui"), "db", "upgrade"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"tanpuhui db upgrade failed:\n{result.stderr[-3000:]}")

    def _start_pgbouncer(self) -> None:
        server = urlsplit(self.postgres)
        assert self.workdir is not None
        auth_file = self.workdir / "userlist.txt"
        auth_file.write_text(f'"{server.username or "postgres"}" ""\n')
        auth_file.chmod(0o644)
        config = self._render(
            "pgbouncer.ini.template",
            "pgbouncer.ini",
            DB_ALIAS="tanpuhui",
            PG_HOST=server.hostname or "127.0.0.1",
            PG_PORT=server.port or 5432,
            PG_DB=self.database,
            PG_USER=server.username or "postgres",
            WEB_POOL=self.web_pool,
            INGEST_POOL=self.ingestion_pool,
            RANDOM_PAGE_COST=self.random_page_cost,
            PORT=self.pgbouncer_port,
            AUTH_FILE=auth_file,
        )
        command = [_program("pgbouncer"), str(config)]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            command[1:1] = ["-u", PGBOUNCER_USER]
        process = self._start("pgbouncer", command, dict(os.environ))
        _wait_for_port(self.pgbouncer_port, process, "pgbouncer", 20)

    def _start_gunicorn(
        self, name: str, port: int, workers: int, database_url: str, *, nice: int = 0
    ) -> None:
        command = [
            str(BIN / "gunicorn"),
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--no-control-socket",  # two instances on one machine: neither needs one
            "wsgi:app",
        ]
        if nice:
            command[:0] = ["nice", "-n", str(nice)]
        process = self._start(name, command, self.environment(database_url))
        _wait_for_health(f"http://127.0.0.1:{port}", process, name, 90)

    def _start_haproxy(self) -> None:
        config = self._render(
            "haproxy.cfg.template",
            "haproxy.cfg",
            BIND=f"127.0.0.1:{self.port}",
            WEB_PORT=self.port + 1,
            WEB_WORKERS=self.web_workers,
            INGEST_PORT=self.port + 2,
            INGEST_WORKERS=self.ingestion_workers,
            LOG_LEVEL=self.proxy_log_level,
        )
        process = self._start("haproxy", [_program("haproxy"), "-db", "-f", str(config)], {})
        _wait_for_health(self.url, process, "haproxy", 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="postgresql://user@host:port/database")
    parser.add_argument("--redis", required=True, help="redis://host:port/db for the limits")
    parser.add_argument("--port", type=int, default=8600, help="the proxy; the next ones follow")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--ingestion-workers", type=int, default=2)
    args = parser.parse_args()
    topology = Topology(
        args.postgres,
        args.redis,
        port=args.port,
        web_workers=args.web_workers,
        ingestion_workers=args.ingestion_workers,
        log_level="INFO",
    )
    with topology:
        print(f"platform: {topology.url} (web {topology.web_url}, ingestion "
              f"{topology.ingestion_url}); PgBouncer on {topology.pgbouncer_port}; logs in "
              f"{topology.workdir}. Ctrl-C stops.", flush=True)  # fmt: skip
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
