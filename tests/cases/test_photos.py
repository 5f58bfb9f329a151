"""Case photos: real images only, metadata stripped, orientation applied, thumbnails, nothing stored half."""

from __future__ import annotations

import re
import struct
import uuid
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from jiayuan.cases import photos as photos_module
from jiayuan.cases.photos import discard_photos, process_photo, save_photos
from jiayuan.kit.errors import Invalid
from jiayuan.kit.storage import LocalStorage

MB = 1024 * 1024
CAMERA = "SecretCam X9 Pro"
GPS = {1: "N", 2: (27.0, 48.0, 30.5), 3: "E", 4: (114.0, 55.0, 12.25)}  # a point in Xinyu, Jiangxi


def camera_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[271] = "Canon"  # Make
    exif[272] = CAMERA  # Model
    exif[0x0112] = orientation
    exif[0x8825] = GPS  # GPSInfo IFD
    return exif


def two_halves(size: tuple[int, int] = (400, 200), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: where the red ends up tells which way the photo was turned."""
    image = Image.new(mode, size, "blue")
    image.paste(Image.new(mode, (size[0] // 2, size[1]), "red"), (0, 0))
    return image


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def phone_jpeg(size: tuple[int, int] = (400, 200)) -> bytes:
    return encode(two_halves(size), "JPEG", exif=camera_exif(6), comment=b"taken at home",
                  xmp=f"<x:xmpmeta><tiff:Model>{CAMERA}</tiff:Model></x:xmpmeta>".encode())


def assert_no_metadata(data: bytes) -> None:
    image = Image.open(BytesIO(data))
    assert len(image.getexif()) == 0
    assert b"Exif" not in data and CAMERA.encode() not in data and b"Canon" not in data
    assert b"taken at home" not in data and b"xmpmeta" not in data
    assert not set(image.info) & {"exif", "xmp", "comment", "XML:com.adobe.xmp", "icc_profile"}


def near(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel[:3], colour, strict=True))


def test_the_fixture_really_carries_gps_and_camera() -> None:
    data = phone_jpeg()
    exif = Image.open(BytesIO(data)).getexif()
    assert exif[272] == CAMERA and exif[0x0112] == 6 and exif.get_ifd(0x8825)[1] == "N"
    assert CAMERA.encode() in data


def test_jpeg_loses_exif_and_is_turned_upright() -> None:
    photo = process_photo(phone_jpeg((400, 200)), max_bytes=10 * MB)
    assert (photo.content_type, photo.extension) == ("image/jpeg", "jpg")
    assert (photo.width, photo.height) == (200, 400)  # orientation 6: turned a quarter clockwise
    assert_no_metadata(photo.data)
    assert_no_metadata(photo.thumbnail)
    out = Image.open(BytesIO(photo.data))
    assert out.format == "JPEG" and out.size == (200, 400)
    # The left (red) half of the stored pixels is the top once turned clockwise.
    assert near(out.getpixel((100, 20)), (255, 0, 0)) and near(out.getpixel((100, 380)), (0, 0, 255))


def test_png_loses_text_chunks_and_exif() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at home")
    info.add_itxt("Author", CAMERA)
    info.add_text("XML:com.adobe.xmp", "<x:xmpmeta/>", zip=True)
    data = encode(two_halves(), "PNG", pnginfo=info, exif=camera_exif(6))
    assert b"taken at home" in data and Image.open(BytesIO(data)).text

    photo = process_photo(data, max_bytes=10 * MB)
    assert (photo.content_type, photo.extension) == ("image/png", "png")
    assert (photo.width, photo.height) == (200, 400)
    out = Image.open(BytesIO(photo.data))
    assert out.format == "PNG" and out.text == {}
    assert b"tEXt" not in photo.data and b"iTXt" not in photo.data and b"zTXt" not in photo.data
    assert_no_metadata(photo.data)


def test_png_keeps_transparency_and_the_thumbnail_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (640, 480), (0, 0, 0, 0))
    image.paste(Image.new("RGBA", (320, 480), (255, 0, 0, 255)), (0, 0))
    photo = process_photo(encode(image, "PNG"), max_bytes=10 * MB)
    out = Image.open(BytesIO(photo.data))
    assert out.mode == "RGBA" and out.getpixel((600, 10))[3] == 0
    thumb = Image.open(BytesIO(photo.thumbnail))
    assert thumb.format == "JPEG" and thumb.mode == "RGB" and thumb.size == (320, 240)
    assert near(thumb.getpixel((300, 10)), (255, 255, 255)) and near(thumb.getpixel((10, 10)), (255, 0, 0))


def test_palette_png_with_transparency() -> None:
    image = two_halves((300, 100)).convert("P")
    photo = process_photo(encode(image, "PNG", transparency=0), max_bytes=10 * MB)
    assert Image.open(BytesIO(photo.data)).mode == "RGBA"
    assert Image.open(BytesIO(photo.thumbnail)).mode == "RGB"


def test_webp_stays_webp_without_metadata() -> None:
    data = encode(two_halves(), "WEBP", exif=camera_exif(6), xmp=b"<x:xmpmeta>" + CAMERA.encode() + b"</x:xmpmeta>")
    assert CAMERA.encode() in data
    photo = process_photo(data, max_bytes=10 * MB)
    assert (photo.content_type, photo.extension) == ("image/webp", "webp")
    assert (photo.width, photo.height) == (200, 400)
    assert Image.open(BytesIO(photo.data)).format == "WEBP"
    assert_no_metadata(photo.data)


def test_mpo_from_a_phone_camera_is_a_jpeg() -> None:
    out = BytesIO()
    two_halves().save(out, "MPO", save_all=True, append_images=[two_halves((100, 50))], exif=camera_exif(1))
    assert Image.open(BytesIO(out.getvalue())).format == "MPO"
    photo = process_photo(out.getvalue(), max_bytes=10 * MB)
    assert (photo.content_type, photo.width, photo.height) == ("image/jpeg", 400, 200)
    assert_no_metadata(photo.data)


def swapped_red_blue_profile() -> bytes:
    """An sRGB profile whose red and blue primaries trade places: pure red in it is pure blue in sRGB."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack_from(">I", profile, 128)
    entries = {}
    for i in range(count):
        signature, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * i)
        entries[signature] = (i, offset, size)
    (r, r_offset, r_size), (b, b_offset, b_size) = entries[b"rXYZ"], entries[b"bXYZ"]
    struct.pack_into(">4sII", profile, 132 + 12 * r, b"rXYZ", b_offset, b_size)
    struct.pack_into(">4sII", profile, 132 + 12 * b, b"bXYZ", r_offset, r_size)
    return bytes(profile)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_an_icc_profile_is_applied_then_dropped(fmt: str) -> None:
    data = encode(Image.new("RGB", (64, 64), (255, 0, 0)), fmt, icc_profile=swapped_red_blue_profile())
    photo = process_photo(data, max_bytes=10 * MB)
    out = Image.open(BytesIO(photo.data))
    assert "icc_profile" not in out.info
    assert near(out.getpixel((10, 10)), (0, 0, 255))  # shown as the profile meant it
    assert near(Image.open(BytesIO(photo.thumbnail)).getpixel((10, 10)), (0, 0, 255))


def test_a_broken_icc_profile_is_ignored() -> None:
    photo = process_photo(encode(two_halves(), "JPEG", icc_profile=b"not a profile"), max_bytes=10 * MB)
    out = Image.open(BytesIO(photo.data))
    assert "icc_profile" not in out.info and near(out.getpixel((10, 10)), (255, 0, 0))


def test_cmyk_jpeg_comes_out_rgb() -> None:
    photo = process_photo(encode(two_halves(mode="CMYK"), "JPEG"), max_bytes=10 * MB)
    assert Image.open(BytesIO(photo.data)).mode == "RGB"


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    image = Image.new("I;16", (64, 64), 32768)
    photo = process_photo(encode(image, "PNG"), max_bytes=10 * MB)
    out = Image.open(BytesIO(photo.data))
    assert out.mode == "L" and out.getpixel((0, 0)) == 128


def test_thumbnail_longest_side_is_320() -> None:
    photo = process_photo(encode(two_halves((1000, 600)), "JPEG", quality=90), max_bytes=10 * MB)
    thumb = Image.open(BytesIO(photo.thumbnail))
    assert thumb.format == "JPEG" and thumb.size == (320, 192)
    assert (photo.width, photo.height) == (1000, 600)  # the photo itself is left at its size


def test_large_photos_are_downscaled_to_2560() -> None:
    photo = process_photo(encode(two_halves((3000, 1500)), "JPEG", exif=camera_exif(6)), max_bytes=10 * MB)
    assert (photo.width, photo.height) == (1280, 2560)
    assert Image.open(BytesIO(photo.data)).size == (1280, 2560)
    assert max(Image.open(BytesIO(photo.thumbnail)).size) == 320


def test_a_small_photo_is_not_enlarged() -> None:
    photo = process_photo(encode(two_halves((120, 80)), "PNG"), max_bytes=10 * MB)
    assert (photo.width, photo.height) == (120, 80)
    assert Image.open(BytesIO(photo.thumbnail)).size == (120, 80)


# -- refusals: each names the field and says why ------------------------------------------------------------


def refused(data: bytes, *, max_bytes: int = 10 * MB, field: str = "photos[1]") -> str:
    with pytest.raises(Invalid) as err:
        process_photo(data, field=field, max_bytes=max_bytes)
    assert err.value.field == field and err.value.message.startswith(f"{field}: ")
    assert err.value.to_dict()["field"] == field and err.value.status_code == 422
    return err.value.message


def test_a_text_file_renamed_jpg_is_not_an_image() -> None:
    message = refused(Path(__file__).read_bytes())
    assert message == "photos[1]: not an image (JPEG, PNG or WebP expected)"


def test_other_image_formats_are_not_accepted() -> None:
    assert "not an image" in refused(encode(two_halves(), "GIF"))
    assert "not an image" in refused(encode(two_halves(), "BMP"))
    assert "not an image" in refused(b"\xff\xd8\xff\xe0" + b"\x00" * 100)  # a JPEG signature and nothing more


def test_a_truncated_jpeg_is_refused() -> None:
    data = encode(Image.effect_noise((600, 400), 64).convert("RGB"), "JPEG")
    assert "damaged or truncated" in refused(data[: len(data) // 2])


def test_a_truncated_or_corrupted_png_is_refused() -> None:
    data = encode(Image.effect_noise((300, 200), 64), "PNG")
    assert "damaged or truncated" in refused(data[: len(data) // 2])
    garbled = bytearray(data)
    garbled[60] ^= 0xFF  # inside the compressed pixels: inflating them fails
    assert "damaged or truncated" in refused(bytes(garbled))
    bad_checksum = bytearray(data)
    bad_checksum[-13] ^= 0xFF  # last byte of the IDAT checksum (before the 12-byte IEND): only verify() sees it
    assert "damaged or truncated" in refused(bytes(bad_checksum))


def test_an_empty_file_is_refused() -> None:
    assert refused(b"", field="photos[0]") == "photos[0]: the file is empty"


def test_a_file_over_the_limit_is_refused_before_decoding() -> None:
    message = refused(b"\x00" * int(12.4 * MB), field="photos[0]")
    assert message == "photos[0]: 12.4 MB is over the 10 MB limit"
    data = phone_jpeg()
    assert refused(data, max_bytes=len(data) - 1).endswith("limit")
    assert process_photo(data, max_bytes=len(data)).width == 200  # exactly at the limit is fine


def test_a_size_just_over_a_round_limit_reads_in_bytes() -> None:
    message = refused(b"\x00" * (10 * MB + 10))
    assert message == "photos[1]: 10,485,770 bytes is over the 10,485,760 bytes limit"


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    # 100 megapixels in about 12 KB: one bit per pixel, all zero, deflated.
    return encode(Image.new("1", (10000, 10000)), "PNG")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_decompression_bomb_is_refused_from_its_header(bomb_png: bytes) -> None:
    assert len(bomb_png) < 100_000
    message = refused(bomb_png)
    assert message == "photos[1]: 10000 × 10000 pixels (100 megapixels) is over the 40 megapixel limit"


def test_pillows_own_bomb_guard_is_an_invalid_too(bomb_png: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    # Were our limit ever raised above Pillow's, Pillow's DecompressionBombError must still read as bad input.
    monkeypatch.setattr(photos_module, "MAX_PIXELS", 10**12)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    assert "megapixel limit" in refused(bomb_png)


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_pillows_bomb_warning_raised_as_an_error_is_an_invalid_too(bomb_png: bytes) -> None:
    assert "megapixel limit" in refused(bomb_png)


def test_the_megapixel_limit_can_be_lowered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos_module, "MAX_PIXELS", 50_000)
    assert "megapixel" in refused(phone_jpeg((400, 200)))
    assert process_photo(phone_jpeg((200, 200)), max_bytes=10 * MB).width == 200


# -- save_photos ---------------------------------------------------------------------------------------------

AT = datetime(2026, 11, 5, 9, 30)
CASE_ID = uuid.uuid4()


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_save_photos_stores_each_photo_and_thumbnail(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    png = encode(two_halves((500, 300)), "PNG")
    saved = save_photos(storage, "360802", CASE_ID, [phone_jpeg(), png], max_bytes=10 * MB, max_photos=3, at=AT)
    assert len(saved) == 2 and len(stored_files(tmp_path)) == 4
    uuid_re = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    for photo, ext, content_type, size in zip(saved, ("jpg", "png"), ("image/jpeg", "image/png"),
                                              ((200, 400), (500, 300)), strict=True):
        assert set(photo) == {"key", "thumb_key", "content_type", "size", "width", "height"}
        assert re.fullmatch(rf"cases/360802/2026/11/({uuid_re})\.{ext}", photo["key"])
        assert photo["thumb_key"] == photo["key"].removesuffix(f".{ext}") + ".thumb.jpg"
        assert photo["content_type"] == content_type and (photo["width"], photo["height"]) == size
        data = storage.get(photo["key"])
        assert photo["size"] == len(data)
        assert_no_metadata(data)
        assert Image.open(BytesIO(storage.get(photo["thumb_key"]))).format == "JPEG"
    assert saved[0]["key"] != saved[1]["key"]

    discard_photos(storage, saved)
    assert stored_files(tmp_path) == []


def test_save_photos_without_photos(tmp_path: Path) -> None:
    assert save_photos(LocalStorage(tmp_path), "360802", CASE_ID, [], max_bytes=MB, max_photos=3) == []


def test_too_many_photos_are_refused_before_any_is_read(tmp_path: Path) -> None:
    with pytest.raises(Invalid) as err:
        save_photos(LocalStorage(tmp_path), "360802", CASE_ID, [phone_jpeg()] * 3 + [b"not even an image"],
                    max_bytes=10 * MB, max_photos=3)
    assert err.value.field == "photos" and err.value.message == "photos: 4 photos sent, at most 3 allowed"
    assert stored_files(tmp_path) == []


def test_one_bad_photo_stores_none(tmp_path: Path) -> None:
    with pytest.raises(Invalid) as err:
        save_photos(LocalStorage(tmp_path), "360802", CASE_ID, [phone_jpeg(), b"GIF89a not really", phone_jpeg()],
                    max_bytes=10 * MB, max_photos=3)
    assert err.value.field == "photos[1]" and "not an image" in err.value.message
    assert stored_files(tmp_path) == []


def test_a_storage_failure_part_way_removes_what_was_stored(tmp_path: Path) -> None:
    class FailingOnThirdPut(LocalStorage):
        puts = 0

        def put(self, key: str, data: bytes, content_type: str) -> None:
            self.puts += 1
            if self.puts == 3:
                raise OSError("bucket unreachable")
            super().put(key, data, content_type)

    storage = FailingOnThirdPut(tmp_path)
    with pytest.raises(OSError, match="bucket unreachable"):
        save_photos(storage, "360802", CASE_ID, [phone_jpeg(), phone_jpeg()], max_bytes=10 * MB, max_photos=3)
    assert storage.puts == 3 and stored_files(tmp_path) == []


def test_a_failing_clean_up_does_not_hide_the_first_error(tmp_path: Path) -> None:
    class Unreliable(LocalStorage):
        def put(self, key: str, data: bytes, content_type: str) -> None:
            if key.endswith(".thumb.jpg"):
                raise OSError("put failed")
            super().put(key, data, content_type)

        def delete(self, key: str) -> None:
            raise OSError("delete failed too")

    with pytest.raises(OSError, match="put failed"):
        save_photos(Unreliable(tmp_path), "360802", CASE_ID, [phone_jpeg()], max_bytes=10 * MB, max_photos=3)
