"""The interactive API docs, from the vendored Swagger UI (no CDN, no inline script).

Swagger UI 5 reads OpenAPI 3.1, the version the API's document is written in; its files and
licence are in ``app/static/vendor/swagger-ui``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, render_template, send_from_directory
from werkzeug.wrappers import Response

bp = Blueprint("api_docs", __name__)
_SWAGGER_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor" / "swagger-ui"


@bp.get("/api/v1/docs")
def docs() -> str:
    return render_template("api_docs.html")


@bp.get("/api/v1/docs/assets/<path:filename>")
def assets(filename: str) -> Response:
    return send_from_directory(_SWAGGER_DIR, filename, max_age=86400)
