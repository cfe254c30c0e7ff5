"""Multipart bodies (text fields and files together) validated by one schema.

flask-smorest reads each schema from one location, and webargs keeps form fields and files apart.
The ``multipart`` location reads both, so one schema names every part and the OpenAPI document
shows one ``multipart/form-data`` body.
"""

from __future__ import annotations

from typing import Any, ClassVar

import marshmallow as ma
from flask import Request
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict, FileStorage

LOCATION = "multipart"


class _Parser(FlaskParser):
    __location_map__: ClassVar[dict[str, Any]] = {
        **FlaskParser.__location_map__,
        LOCATION: "load_multipart",
    }

    def load_multipart(self, req: Request, schema: ma.Schema) -> Any:
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class MultipartBlueprint(Blueprint):
    """A blueprint whose routes may also take ``location="multipart"`` arguments."""

    ARGUMENTS_PARSER = _Parser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: ClassVar[dict[str, str]] = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        LOCATION: "multipart/form-data",
    }


class File(Upload):
    """An uploaded file: a part with a file name. A plain text part of that name is refused."""

    default_error_messages: ClassVar[dict[str, str]] = {"invalid": "Send a file in this part."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> FileStorage:
        if not isinstance(value, FileStorage):
            raise self.make_error("invalid")
        return value
