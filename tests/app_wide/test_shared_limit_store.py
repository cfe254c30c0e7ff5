"""One limit store every worker shares (#24): the embedded default counts failed sign-ins in a
SQLite file (app.limit_store), so several gunicorn workers count as one.

The gunicorn test runs the embedded default as `make run` does (no DATABASE_URL, no SECRET_KEY,
no RATELIMIT_STORAGE_URI) with two workers, each recycled after every request, so consecutive
requests are answered by different processes. With ``memory://`` the same run is never limited.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app.limit_store import SQLiteFileStorage, uri_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_two_stores_on_one_file_count_together_exactly_to_the_limit(tmp_path):
    uri = uri_for(tmp_path / "limits.sqlite3")
    first, second = storage_from_string(uri), storage_from_string(uri)
    assert isinstance(first, SQLiteFileStorage)
    limit = RateLimitItemPerMinute(3)
    one, two = FixedWindowRateLimiter(first), FixedWindowRateLimiter(second)
    assert [one.hit(limit, "k"), two.hit(limit, "k"), one.hit(limit, "k")] == [True] * 3
    assert not two.hit(limit, "k")  # one past, counted by the other store
    assert one.hit(limit, "other")  # keys apart
    assert first.get_expiry(limit.key_for("k")) > time.time()
    first.clear(limit.key_for("k"))
    assert second.get(limit.key_for("k")) == 0
    assert (tmp_path / "limits.sqlite3").stat().st_mode & 0o777 == 0o600


def test_counters_expire_with_their_window(tmp_path):
    store = storage_from_string(uri_for(tmp_path / "limits.sqlite3"))
    assert store.incr("k", 1) == 1
    assert store.incr("k", 1) == 2
    time.sleep(1.05)  # the window is over (not a timing assertion: the counter starts again)
    assert store.get("k") == 0
    assert store.incr("k", 60) == 1


def _free_port() -> int:
    """A free port, unless TANPUHUI_TEST_SERVER_PORT names one (a machine shared by several
    runs)."""
    if os.environ.get("TANPUHUI_TEST_SERVER_PORT"):
        return int(os.environ["TANPUHUI_TEST_SERVER_PORT"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _embedded_env(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    env.pop("RATELIMIT_STORAGE_URI", None)
    env.update(TANPUHUI_INSTANCE_PATH=str(instance), LOG_LEVEL="WARNING", **extra)
    return env


def _post(port: int, body: dict) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/tokens",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Connection": "close"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _wait_until_up(port: int, server: subprocess.Popen) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise AssertionError("gunicorn stopped: " + server.stderr.read().decode()[-2000:])
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not answer")


def _statuses_from_gunicorn(instance: Path, attempts: int, **extra: str) -> list[int]:
    env = _embedded_env(instance, **extra)
    subprocess.run([BIN / "tanpuhui", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    port = _free_port()
    server = subprocess.Popen(
        [BIN / "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--max-requests", "1", "--max-requests-jitter", "0", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_until_up(port, server)
        body = {"mobile": "13912345678", "password": "wrong-pass-1"}
        return [_post(port, body) for _ in range(attempts)]
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()


@pytest.mark.skipif(not (BIN / "gunicorn").exists(), reason="gunicorn is not installed")
def test_gunicorn_workers_of_the_embedded_default_share_the_sign_in_counter(tmp_path):
    statuses = _statuses_from_gunicorn(tmp_path / "instance", 7)
    # SIGN_IN_LIMIT_PER_ACCOUNT: 5 failures, the 5th exactly at the limit; then refused.
    assert statuses == [401] * 5 + [429] * 2
    assert (tmp_path / "instance" / "limits.sqlite3").exists()


@pytest.mark.skipif(not (BIN / "gunicorn").exists(), reason="gunicorn is not installed")
def test_an_in_process_store_would_not_hold_with_several_workers(tmp_path):
    """The control: the finding this store fixes (each fresh worker counts from zero)."""
    statuses = _statuses_from_gunicorn(tmp_path / "instance", 7, RATELIMIT_STORAGE_URI="memory://")
    assert statuses == [401] * 7
