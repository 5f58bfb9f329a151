"""Case photos: checked to be real images, stripped of metadata, given a thumbnail, and stored."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from jiayuan.kit.errors import Invalid
from jiayuan.kit.storage import Storage, delete_quietly

log = logging.getLogger("jiayuan.cases.photos")

# Pillow format name -> (content type, file extension). Only these are opened: the real format decides,
# never the file name or the declared content type.
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
# Decompression bombs: a few kilobytes of PNG can claim 10000 x 10000 pixels. Checked from the header,
# before any pixel is decoded. A module constant rather than Image.MAX_IMAGE_PIXELS, which is
# process-wide and belongs to whoever else uses Pillow.
MAX_PIXELS = 40_000_000
MAX_SIDE = 2560
THUMB_SIDE = 320
JPEG_QUALITY = 85
WEBP_QUALITY = 85
THUMB_QUALITY = 80

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass
class ProcessedPhoto:
    data: bytes
    thumbnail: bytes  # always JPEG
    content_type: str
    width: int
    height: int
    extension: str  # without the dot: jpg, png or webp


def process_photo(data: bytes, *, field: str = "photos", max_bytes: int) -> ProcessedPhoto:
    """Check that `data` is a JPEG, PNG or WebP photo of sane size, and re-encode it without metadata.

    Raises Invalid naming `field` and the reason. The output keeps the input's format, is turned upright
    by its EXIF orientation, is at most MAX_SIDE px on its longest side, and carries no EXIF, XMP,
    comment or text chunk (GPS position and the device would otherwise reach everyone who sees it).
    """
    if not data:
        raise Invalid(f"{field}: the file is empty", field=field, reason="damaged")
    if len(data) > max_bytes:
        size, limit = _human(len(data)), _human(max_bytes)
        if size == limit:  # "10 MB is over the 10 MB limit" would read as a contradiction
            size, limit = f"{len(data):,} bytes", f"{max_bytes:,} bytes"
        raise Invalid(f"{field}: {size} is over the {limit} limit", field=field, reason="too_large", limit=limit)

    image, fmt = _decode(data, field)
    with image:
        image = _upright(image)
        if max(image.size) > MAX_SIDE:
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        image = _to_srgb(image)
        image = _output_mode(image, fmt)
        # Nothing read from the file travels on: Pillow writes some of `info` back when saving (the JPEG
        # comment, for one), and EXIF, XMP and text chunks live there too.
        image.info = {}
        content_type, extension = FORMATS[fmt]
        return ProcessedPhoto(
            data=_encode(image, fmt),
            thumbnail=_thumbnail(image),
            content_type=content_type,
            width=image.width,
            height=image.height,
            extension=extension,
        )


def save_photos(
    storage: Storage,
    district_code: str,
    case_id: uuid.UUID | str | None,
    photos: list[bytes],
    max_bytes: int,
    max_photos: int,
    *,
    at: datetime | None = None,
    area: str = "cases",
) -> list[dict[str, Any]]:
    """Check every photo, then store each with its thumbnail; returns the CasePhoto fields of each.

    Keys are <area>/<district>/<yyyy>/<mm>/<uuid>.<ext> and <uuid>.thumb.jpg (month of `at`, default now,
    UTC); `area` is the domain's folder ("cases", "care"), and `case_id` only names the owner in the log.
    Nothing is stored unless every photo passes; if storing fails part way, what was already stored is
    deleted again. The caller inserts the CasePhoto rows, and has the files removed should its transaction (or
    the savepoint it stored them in) not commit: kit.storage.remove_if_rolled_back.
    """
    if len(photos) > max_photos:
        raise Invalid(f"photos: {len(photos)} photos sent, at most {max_photos} allowed", field="photos",
                      reason="too_many", limit=max_photos)
    if not district_code.isdigit():
        raise ValueError(f"district code {district_code!r} is not a unit code")
    processed = [process_photo(d, field=f"photos[{i}]", max_bytes=max_bytes) for i, d in enumerate(photos)]

    when = at or datetime.now(UTC)
    folder = f"{area}/{district_code}/{when:%Y}/{when:%m}"
    stored: list[str] = []
    saved: list[dict[str, Any]] = []
    try:
        for photo in processed:
            name = uuid.uuid4()
            key, thumb_key = f"{folder}/{name}.{photo.extension}", f"{folder}/{name}.thumb.jpg"
            storage.put(key, photo.data, photo.content_type)
            stored.append(key)
            storage.put(thumb_key, photo.thumbnail, "image/jpeg")
            stored.append(thumb_key)
            saved.append({"key": key, "thumb_key": thumb_key, "content_type": photo.content_type,
                          "size": len(photo.data), "width": photo.width, "height": photo.height})
    except BaseException:
        log.warning("storing photos of %s %s failed; removing the %d files already stored", area, case_id,
                    len(stored))
        delete_quietly(storage, stored)
        raise
    return saved


def discard_photos(storage: Storage, saved: list[dict[str, Any]]) -> None:
    """Delete photos that save_photos stored, when the case they were for was not saved after all."""
    delete_quietly(storage, [k for photo in saved for k in (photo["key"], photo["thumb_key"])])


def _decode(data: bytes, field: str) -> tuple[Image.Image, str]:
    """Open and fully decode `data`, or raise Invalid saying why it is not a usable photo."""
    try:
        # First pass: the header says the format and the size; verify() checks what the format allows
        # (PNG chunk checksums) and leaves the image unusable, hence the second open.
        with Image.open(BytesIO(data), formats=list(FORMATS)) as probe:
            # Cameras and phones that add a depth map or preview write MPO: JPEG with extra frames after
            # the first. Pillow's JPEG opener returns those as "MPO"; the first frame is the photo.
            fmt = "JPEG" if probe.format == "MPO" else (probe.format or "")
            _check_pixels(probe.size, field)
            probe.verify()
        image = Image.open(BytesIO(data), formats=[fmt])
        if fmt == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the result still covers MAX_SIDE: a 40 MP
            # photo then needs a quarter of the memory and time.
            image.draft(image.mode, (MAX_SIDE, MAX_SIDE))
        # Decoding every pixel is what finds truncated files (Pillow refuses them unless
        # ImageFile.LOAD_TRUNCATED_IMAGES is set, which this project never does).
        image.load()
        return image, fmt
    except Invalid:
        raise
    except UnidentifiedImageError:
        raise Invalid(f"{field}: not an image (JPEG, PNG or WebP expected)", field=field,
                      reason="not_an_image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid(f"{field}: the image is over the {MAX_PIXELS // 1_000_000} megapixel limit",
                      field=field, reason="too_many_pixels", limit=MAX_PIXELS // 1_000_000) from None
    except Exception:  # noqa: BLE001
        # Pillow's decoders answer hostile or damaged input with many exception types (OSError,
        # SyntaxError, ValueError, struct.error, EOFError...): any of them means no usable photo.
        raise Invalid(f"{field}: the image is damaged or truncated", field=field, reason="damaged") from None


def _check_pixels(size: tuple[int, int], field: str) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise Invalid(f"{field}: the image has no pixels", field=field, reason="damaged")
    if width * height > MAX_PIXELS:
        raise Invalid(f"{field}: {width} × {height} pixels ({width * height / 1e6:.0f} megapixels) is over "
                      f"the {MAX_PIXELS // 1_000_000} megapixel limit", field=field, reason="too_many_pixels",
                      limit=MAX_PIXELS // 1_000_000)


def _upright(image: Image.Image) -> Image.Image:
    """Turn the image as its EXIF orientation says, since the tag itself is about to be dropped."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        # A malformed EXIF block should not cost the resident their photo; it is discarded anyway.
        log.info("unreadable EXIF orientation; photo kept as stored", exc_info=True)
        return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert from an embedded ICC profile to sRGB, so the profile (with its maker strings) can go."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(BytesIO(icc))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
    except Exception:
        # A broken profile: the pixels are shown as if sRGB, as a browser would do without one.
        log.info("unusable ICC profile ignored", exc_info=True)
        return image
    return converted if converted is not None else image


def _output_mode(image: Image.Image, fmt: str) -> Image.Image:
    """A mode the output format stores directly, with any transparency turned into an alpha channel."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grey: scale down to 8 bits (convert("L") would clip everything above 255 to white).
        image, mode = image.point(lambda v: v / 256).convert("L"), "L"
    if fmt == "JPEG":
        return image if mode in ("L", "RGB") else image.convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if fmt == "WEBP":
        wanted = "RGBA" if has_alpha else "RGB"
    elif mode in ("L", "1"):
        wanted = "LA" if has_alpha else "L"
    elif mode == "LA":
        wanted = "LA"
    else:
        wanted = "RGBA" if has_alpha else "RGB"
    return image if mode == wanted else image.convert(wanted)


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif fmt == "PNG":
        image.save(out, "PNG")
    else:
        image.save(out, "WEBP", quality=WEBP_QUALITY)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    """A JPEG at most THUMB_SIDE px on its longest side; transparent parts become white."""
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    if thumb.mode in ("RGBA", "LA"):
        rgba = thumb.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        thumb = flat
    elif thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    out = BytesIO()
    thumb.save(out, "JPEG", quality=THUMB_QUALITY, optimize=True)
    return out.getvalue()


def _human(n: int) -> str:
    """A byte count as people say it: 12.4 MB, 10 MB, 800 KB."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"
