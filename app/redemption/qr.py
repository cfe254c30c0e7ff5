"""QR codes as inline SVG (qrcode's path factory): crisp at any size, no image files, CSP-safe."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def svg(text: str) -> str:
    """An ``<svg>`` element drawing ``text`` as a QR code with its quiet zone.

    The markup holds only a path (no scripts, no styles), so pages may insert it as it is. It is
    hidden from assistive technology: the element around it names what it is, in the page's
    language.
    """
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M,
        border=4,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    code.add_data(text)
    code.make(fit=True)
    image = code.make_image()
    markup = image.to_string(encoding="unicode")
    return markup.replace("<svg ", '<svg class="qr-svg" aria-hidden="true" focusable="false" ', 1)
