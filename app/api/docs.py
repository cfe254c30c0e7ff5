"""The interactive API docs, from a local Swagger UI bundle (no CDN, no inline script)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, render_template, send_from_directory
from werkzeug.wrappers import Response

bp = Blueprint("api_docs", __name__)
_SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)


@bp.get("/api/v1/docs")
def docs() -> str:
    return render_template("api_docs.html")


@bp.get("/api/v1/docs/assets/<path:filename>")
def assets(filename: str) -> Response:
    return send_from_directory(_SWAGGER_DIR, filename, max_age=86400)
