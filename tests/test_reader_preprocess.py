"""Images from elsewhere -> the reader's 28 x 140 white-on-black input (reader.preprocess)."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from reader.cli import UserError
from reader.preprocess import is_flat, load_strip, open_grey, open_photo, open_rgb


def dark_number_on_paper(width=600, height=200) -> np.ndarray:
    """A light page with two dark bars, 120 px tall, as an (H, W) uint8 picture."""
    page = np.full((height, width), 230, np.uint8)
    page[40:160, 200:230] = 20
    page[40:160, 330:360] = 20
    return page


def test_dark_ink_on_light_paper_is_inverted_and_fitted(tmp_path):
    Image.fromarray(dark_number_on_paper()).save(tmp_path / "page.jpg", quality=95)
    strip = load_strip(tmp_path / "page.jpg")
    assert strip.shape == (28, 140) and strip.dtype == np.uint8
    assert strip[0].max() < 40 and strip[:, 0].max() < 40      # background black
    rows = np.flatnonzero(strip.max(axis=1) > 128)
    assert 17 <= len(rows) <= 21                                 # ink about 20 px tall
    cols = np.flatnonzero(strip.max(axis=0) > 128)
    assert abs((cols[0] + cols[-1]) / 2 - 70) <= 2               # centred


def test_a_strip_of_the_model_size_is_kept_as_it_is(tmp_path):
    strip = np.zeros((28, 140), np.uint8)
    strip[5:20, 3:10] = 200
    Image.fromarray(strip).save(tmp_path / "s.png")
    assert np.array_equal(load_strip(tmp_path / "s.png"), strip)
    Image.fromarray(255 - strip).save(tmp_path / "inverted.png")
    assert np.array_equal(load_strip(tmp_path / "inverted.png"), strip)


def test_transparent_and_colour_images(tmp_path):
    rgba = np.zeros((100, 300, 4), np.uint8)                     # transparent background
    rgba[20:80, 100:120] = (200, 0, 0, 255)                      # an opaque red bar
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    strip = load_strip(tmp_path / "t.png")
    assert strip[0].max() < 40 and strip.max() > 200


def test_sixteen_bit_and_float_grey_images_read_as_their_eight_bit_twin(tmp_path):
    # Pillow's own conversion clips such levels at 255: the picture turned white
    page = dark_number_on_paper()
    Image.fromarray(page).save(tmp_path / "8.png")
    Image.fromarray(page.astype(np.uint16) * 257).save(tmp_path / "16.png")
    Image.fromarray(page.astype(np.float32) / 255).save(tmp_path / "unit.tif")
    Image.fromarray(page.astype(np.float32)).save(tmp_path / "levels.tif")
    Image.fromarray(page.astype(np.int32) * 257).save(tmp_path / "32.tif")
    Image.fromarray(page.astype(np.int32)).save(tmp_path / "32-low.tif")
    assert Image.open(tmp_path / "16.png").mode.startswith("I;16")
    assert Image.open(tmp_path / "32.tif").mode == "I"
    expected = open_rgb(tmp_path / "8.png")
    assert np.array_equal(expected[..., 0], page)
    for name in ("16.png", "unit.tif", "levels.tif", "32.tif", "32-low.tif"):
        assert np.array_equal(open_rgb(tmp_path / name), expected), name


def test_flat_images_are_told_apart_from_faint_ones():
    rgb = np.full((40, 60, 3), (120, 130, 140), np.uint8)
    assert is_flat(rgb) and is_flat(rgb[..., 0])
    rgb[10, 10] = (124, 134, 144)                         # a JPEG ripple
    assert is_flat(rgb)
    rgb[20:30, 20:25, 1] = 160                            # a faint mark in one channel
    assert not is_flat(rgb)


@pytest.mark.parametrize("content, message", [
    (b"this is not an image\n", "not an image Pillow can read"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image Pillow can read"),
])
def test_unreadable_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(UserError, match=f"bad.png: {message}"):
        load_strip(path)


def test_truncated_image_names_the_file(tmp_path):
    Image.fromarray(dark_number_on_paper()).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="cut.png: damaged or unreadable image"):
        load_strip(tmp_path / "cut.png")


def test_missing_file():
    with pytest.raises(UserError, match="nowhere.png: no such file"):
        load_strip("nowhere.png")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels but holds no image data (a bomb's header)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_huge_declared_size_is_refused_before_decoding(tmp_path):
    (tmp_path / "bomb.png").write_bytes(png_header_only(100_000, 100_000))
    with pytest.raises(UserError, match="bomb.png: image is 100000 x 100000 = 10,000,000,000"):
        open_grey(tmp_path / "bomb.png")
    (tmp_path / "warned.png").write_bytes(png_header_only(10_000, 9_500))  # Pillow would warn
    with pytest.raises(UserError, match="warned.png: image is 10000 x 9500"):
        open_grey(tmp_path / "warned.png")
    assert Image.MAX_IMAGE_PIXELS is not None            # Pillow's own check is back on after
    (tmp_path / "big.png").write_bytes(png_header_only(10_000, 5_000))   # below Pillow's limit
    with pytest.raises(UserError, match="big.png: image is 10000 x 5000 = 50,000,000 pixels"):
        open_grey(tmp_path / "big.png")


def test_a_jpeg_over_the_limit_is_decoded_smaller_and_other_formats_refused(tmp_path):
    page = np.stack([dark_number_on_paper(400, 300)] * 3, axis=-1)
    Image.fromarray(page).save(tmp_path / "phone.jpg", quality=95)
    Image.fromarray(page).save(tmp_path / "phone.png")
    full, size = open_photo(tmp_path / "phone.jpg")
    assert full.shape == (300, 400, 3) and size == (400, 300)
    small, size = open_photo(tmp_path / "phone.jpg", max_pixels=40_000)      # 120,000 pixels
    assert small.shape == (150, 200, 3) and size == (400, 300)                # a quarter
    assert np.abs(small.astype(int) - full[::2, ::2]).mean() < 8
    tiny, size = open_photo(tmp_path / "phone.jpg", max_pixels=2_000)
    assert tiny.shape == (38, 50, 3) and size == (400, 300)
    with pytest.raises(UserError, match="phone.jpg: image is 400 x 300 = 120,000 pixels"):
        open_photo(tmp_path / "phone.jpg", max_pixels=1_000)                 # 1/8 is too big
    with pytest.raises(UserError, match="phone.png: image is 400 x 300 = 120,000 pixels"):
        open_photo(tmp_path / "phone.png", max_pixels=40_000)


def test_a_phone_photo_stored_turned_gives_its_size_as_displayed(tmp_path):
    page = np.stack([dark_number_on_paper(400, 300)] * 3, axis=-1)
    exif = Image.Exif()
    exif[0x0112] = 6                                     # stored turned: show it a quarter round
    Image.fromarray(page).save(tmp_path / "turned.jpg", exif=exif)
    photo, size = open_photo(tmp_path / "turned.jpg", max_pixels=40_000)
    assert photo.shape == (200, 150, 3) and size == (300, 400)


def test_an_mpo_over_the_limit_is_decoded_smaller_too(tmp_path):
    page = Image.fromarray(np.stack([dark_number_on_paper(400, 300)] * 3, axis=-1))
    page.save(tmp_path / "depth.mpo", format="MPO", save_all=True, append_images=[page])
    assert Image.open(tmp_path / "depth.mpo").format == "MPO"
    photo, size = open_photo(tmp_path / "depth.mpo", max_pixels=40_000)
    assert photo.shape == (150, 200, 3) and size == (400, 300)


def test_a_sixteen_bit_png_with_a_transparent_level_keeps_its_picture(tmp_path):
    page = dark_number_on_paper()
    Image.fromarray(page.astype(np.uint16) * 257).save(tmp_path / "t.png", transparency=0)
    grey = open_rgb(tmp_path / "t.png")[..., 0]
    assert np.array_equal(grey, page)                    # level 0 never occurs: nothing clear


def test_pixel_limit_is_a_parameter(tmp_path):
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(UserError, match="more than the limit of 100"):
        open_grey(tmp_path / "small.png", max_pixels=100)
