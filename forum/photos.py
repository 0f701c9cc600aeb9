"""Photo evidence for follow-up actions (issue #12): a JPEG or PNG, checked by what the bytes are
(not by the file's name or the browser's word), re-encoded without its EXIF (a phone's photo
carries where it was taken), and kept resized with a thumbnail."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from forum.followup import Refused
from forum.i18n import N_

MAX_BYTES = 8 * 1024 * 1024  # what one upload may be; the form is refused past it (forum.web)
# A decompression bomb is a small file of a huge picture: refused by its header, before decoding.
MAX_PIXELS = 40_000_000
LARGE = 1600  # the longest side of the picture kept
THUMB = 320  # the longest side of the thumbnail on the action page and the timeline
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}

TOO_LARGE = N_("The photo is too large: at most 8 MB.")
NOT_AN_IMAGE = N_("That file is not a photo: choose a JPEG or PNG picture.")
WRONG_TYPE = N_("Only JPEG and PNG photos can be added.")
TOO_MANY_PIXELS = N_("The picture is too large to open: at most 40 million pixels.")


@dataclass(frozen=True)
class Processed:
    content_type: str
    large: bytes
    thumb: bytes
    width: int
    height: int


def _encode(image: Image.Image, fmt: str, side: int) -> tuple[bytes, Image.Image]:
    copy = image.copy()
    copy.thumbnail((side, side))
    out = io.BytesIO()
    # Saved without exif= (nor PNG text chunks): only pixels leave.
    if fmt == "JPEG":
        copy.save(out, "JPEG", quality=85, optimize=True)
    else:
        copy.save(out, "PNG", optimize=True)
    return out.getvalue(), copy


def process(raw: bytes) -> Processed:
    """The photo to keep, or ``Refused`` on the field "photo"."""
    if len(raw) > MAX_BYTES:
        raise Refused("photo", TOO_LARGE)
    try:
        with warnings.catch_warnings():
            # Pillow only warns of a bomb below twice its limit: a refusal here, as above it.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as probe:
                fmt = probe.format
                width, height = probe.size
                probe.verify()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise Refused("photo", TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise Refused("photo", NOT_AN_IMAGE) from None
    if fmt not in FORMATS:
        raise Refused("photo", WRONG_TYPE)
    if width * height > MAX_PIXELS:
        raise Refused("photo", TOO_MANY_PIXELS)
    try:
        # verify() leaves the image unusable: opened again to decode.
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            # The camera's turn is applied to the pixels, since the EXIF that said it is dropped.
            upright = ImageOps.exif_transpose(image)
            mode = "RGB" if fmt == "JPEG" else ("RGBA" if "A" in upright.getbands() or "transparency"
                                                in upright.info else "RGB")
            upright = upright.convert(mode)
            large, kept = _encode(upright, fmt, LARGE)
            thumb, _small = _encode(upright, fmt, THUMB)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise Refused("photo", NOT_AN_IMAGE) from None
    return Processed(FORMATS[fmt], large, thumb, kept.width, kept.height)
