"""gunicorn settings. Override any of them with GUNICORN_* environment variables or flags.

Sync workers suit short, database-bound requests behind a proxy; scale out with more app servers.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = 10_000  # recycle workers now and then, against slow leaks
max_requests_jitter = 1_000
# Create the app once in the master: start-up errors (a broken plugin) stop the server at once.
preload_app = True
accesslog = None  # the app logs every request itself, with its request id
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    """Each worker opens its own database connections (never share a pool across a fork)."""
    from app.db import db
    from wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)
