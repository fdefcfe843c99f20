"""The SVHN readers: losses, boxes, coverage, data batches, train.py and predict.py on tiny data."""

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw
from reader_fixtures import assert_one_line_error, run_cli
from svhn_fixtures import (
    NUMBERS,
    save_untrained_number_reader,
    use_tiny_number_reader,
    write_format1,
    write_tiny_svhn,
)

import nn
import predict
import train
from data import DataError
from data.strips import BLANK
from data.svhn import (
    crop_window,
    digit_crops,
    jittered_digit_crops,
    load_number_crops,
    union_boxes,
)
from reader.locate import find_number, measure_search, search_summary, start_windows
from reader.losses import box_loss, strip_loss
from reader.metrics import coverage_at
from reader.svhn_data import (
    ALIKE,
    DigitBatches,
    NumberBatches,
    centre_window,
    load_splits,
    make_synthetic,
)
from reader.svhn_job import svhn_metadata
from reader.svhn_models import (
    box_iou,
    box_targets,
    build_digit_classifier,
    build_number_reader,
    to_input,
)


def test_box_loss_gradient_and_mask():
    rng = np.random.default_rng(0)
    pred, target = rng.random((4, 24)), rng.random((4, 24))
    mask = (rng.random((4, 24)) > 0.3).astype(np.float64)
    loss, grad = box_loss(pred, target, mask, 3.0)
    expected = nn.numerical_gradient(lambda: box_loss(pred, target, mask, 3.0)[0], pred)
    assert nn.relative_error(grad, expected) < 1e-6
    assert np.all(grad[mask == 0] == 0)
    assert loss == pytest.approx(3.0 * ((pred - target) ** 2 * mask).sum() / 4)


def test_weighted_reading_loss_leaves_weight_zero_examples_out():
    rng = np.random.default_rng(1)
    outputs = [rng.standard_normal((6, 5))] + [rng.standard_normal((6, 10)) for _ in range(5)]
    labels = np.full((6, 5), BLANK)
    for n in range(6):
        length = 1 + n % 5
        labels[n, :length] = rng.integers(0, 10, length)
    weights = np.array([1, 0, 1, 0, 1, 1.0])
    loss, grads = strip_loss(outputs, labels, BLANK, weights)
    for k in range(6):
        expected = nn.numerical_gradient(lambda: strip_loss(outputs, labels, BLANK, weights)[0],
                                         outputs[k])
        assert nn.relative_error(grads[k], expected) < 1e-6
        assert np.all(grads[k][weights == 0] == 0)
    kept = weights > 0
    alone, _ = strip_loss([o[kept] for o in outputs], labels[kept], BLANK)
    assert loss == pytest.approx(alone * kept.sum() / len(kept))


def test_box_targets_union_and_iou():
    boxes = np.zeros((1, 5, 4), np.float32)
    boxes[0, 0] = [10, 5, 10, 20]
    boxes[0, 1] = [22, 8, 10, 20]
    targets, mask = box_targets(boxes, np.array([2]), 54)
    assert np.allclose(targets[0, :4] * 54, [10, 5, 32, 28])
    assert mask[0].tolist() == [1] * 12 + [0] * 12
    assert np.allclose(union_boxes(boxes, np.array([2]))[0], [10, 5, 22, 23])
    a = np.array([0, 0, 2, 2.0])
    assert box_iou(a, a) == pytest.approx(1.0)
    assert box_iou(a, np.array([1, 0, 3, 2.0])) == pytest.approx(1 / 3)
    assert box_iou(a, np.array([5, 5, 6, 6.0])) == 0


def test_coverage_at_accuracy():
    true = np.arange(10)[:, None]
    pred = true.copy()
    pred[[3, 8]] = 99                                     # wrong at confidence ranks 4 and 9
    confidence = np.linspace(1, 0.1, 10)
    assert coverage_at(pred, true, confidence, 1.0) == pytest.approx(0.3)
    assert coverage_at(pred, true, confidence, 0.85) == pytest.approx(0.8)   # 7 of 8 = 0.875
    assert coverage_at(true, true, confidence, 0.98) == 1.0


def test_crop_window_is_the_grown_union_clipped():
    assert crop_window((10, 20, 10, 10), 100, 100) == (8, 18, 22, 32)
    assert crop_window((0, 0, 10, 10), 100, 100) == (0, 0, 12, 12)
    with pytest.raises(ValueError):
        crop_window((200, 200, 5, 5), 100, 100)


def test_loading_the_tiny_svhn_and_the_protocols(tiny_svhn):
    crops = load_number_crops("train", tiny_svhn)
    assert crops.images.shape == (40, 64, 64, 3) and crops.names[0] == "train/1.png"
    assert np.all((crops.labels == BLANK) == (np.arange(5) >= crops.lengths()[:, None]))
    pooled = load_splits("pooled", tiny_svhn)
    assert len(pooled.tests["holdout"]) == 10
    assert pooled.tests["holdout_strict"].names == [f"test/{n}.png" for n in (3, 9, 15, 21, 27)]
    train_names = set(pooled.train.names) | set(pooled.validation.names)
    assert len(train_names) == 40 + 20
    assert not train_names & set(pooled.tests["holdout"].names)
    literature = load_splits("literature", tiny_svhn)
    assert len(literature.tests["test"]) == 30 and len(literature.tests["strict"]) == 15
    assert all(n.startswith("train/") for n in literature.train.names)
    digits, labels = digit_crops(crops)
    assert digits.shape == (crops.lengths().sum(), 32, 32, 3)
    assert labels.tolist() == [d for row in crops.labels for d in row if d != BLANK]


def test_jittered_digit_cuts_vary_the_framing_reproducibly(tiny_svhn):
    crops = load_number_crops("train", tiny_svhn)
    fixed, labels = digit_crops(crops)
    cuts, cut_labels = jittered_digit_crops(crops, 3, np.random.default_rng(5))
    assert cuts.shape == (3 * len(fixed), 32, 32, 3) and cuts.dtype == np.uint8
    assert cut_labels.tolist() == labels.tolist() * 3           # copy by copy, in order
    again, _ = jittered_digit_crops(crops, 3, np.random.default_rng(5))
    assert np.array_equal(cuts, again)
    copies = cuts.reshape(3, len(fixed), 32, 32, 3).astype(int)
    assert all(not np.array_equal(copy, fixed) for copy in copies)
    assert not np.array_equal(copies[0], copies[1])
    # no jitter at all is the fixed cut (up to where the square's float64 corner rounds)
    still, _ = jittered_digit_crops(crops, 1, np.random.default_rng(5), grow=(1.3, 1.3),
                                    move=0.0)
    assert np.mean(np.abs(still.astype(int) - fixed)) < 1


def test_missing_and_damaged_svhn_files_are_named(tmp_path):
    with pytest.raises(DataError, match="boxes.csv"):
        load_number_crops("train", tmp_path)
    data = write_tiny_svhn(tmp_path / "d")
    tar = data / "svhn" / "format1_crops" / "train.tar"
    tar.write_bytes(tar.read_bytes()[:3000])
    with pytest.raises(DataError, match="train.tar"):
        load_number_crops("train", data)


def test_an_empty_split_and_a_label_out_of_range_are_named(tmp_path):
    data = write_tiny_svhn(tmp_path / "d")
    split = data / "svhn" / "splits" / "test_holdout.txt"
    split.write_text("\n")
    with pytest.raises(DataError, match="test_holdout.txt: lists no images"):
        load_splits("pooled", data)
    data = write_tiny_svhn(tmp_path / "e")
    boxes = data / "svhn" / "format1_crops" / "boxes.csv"
    header, first, *rest = boxes.read_text().splitlines()
    label = header.split(",").index("label")
    cells = first.split(",")
    cells[label] = "42"                              # SVHN's labels are 1-10
    boxes.write_text("\n".join([header, ",".join(cells), *rest]) + "\n")
    with pytest.raises(DataError, match="boxes.csv: bad row"):
        load_number_crops("train", data)


def test_batches_are_reproducible_and_boxes_follow_the_window(tiny_svhn):
    splits = load_splits("pooled", tiny_svhn)
    batches = NumberBatches(splits.train, None, None, 8, seed=3)
    a, b = batches.batch(2, 5), batches.batch(2, 5)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.boxes, b.boxes)
    assert a.images.shape == (8, 54, 54, 3) and np.all(a.read_weight == 1)
    images, boxes = centre_window(splits.train)
    assert np.allclose(boxes[..., :2], splits.train.boxes[..., :2] - 5)
    assert np.array_equal(images[0], splits.train.images[0, 5:59, 5:59])


def test_batches_take_the_synthetic_share_of_their_numbers(tiny_svhn):
    splits = load_splits("pooled", tiny_svhn)
    numbers, _ = make_synthetic(6, seed=4, data_dir=tiny_svhn, scenes=False)
    assert NumberBatches(splits.train, numbers, None, 16, seed=0).counts == (8, 8, 0, 0)
    quarter = NumberBatches(splits.train, numbers, None, 16, seed=0, synthetic_share=0.25)
    assert quarter.counts == (12, 4, 0, 0)
    alike = NumberBatches(splits.train, numbers, None, 16, seed=0, synthetic_share=ALIKE)
    n_real = len(splits.train)
    assert alike.counts[1] == round(16 * 6 / (n_real + 6)) != 8


def _marked_digits(count: int, value: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` digits of one flat grey ``value`` (so a batch shows where each came from)."""
    return np.full((count, 32, 32, 3), value, np.uint8), np.full(count, value % 10)


def test_digit_batches_mix_real_and_synthetic_in_the_share_asked():
    real, synthetic = _marked_digits(40, 10), _marked_digits(4000, 201)
    for share, expected in ((0.5, 32), (0.25, 16), (1.0, 64)):
        batches = DigitBatches(real, synthetic, 64, seed=1, synthetic_share=share)
        digits, labels = batches.batch(0, 3)
        assert np.sum(digits[:, 0, 0, 0] == 201) == np.sum(labels == 1) == expected
    # alike: each digit the same chance, so about 1 % of a batch is real here
    digits, _ = DigitBatches(real, synthetic, 1000, seed=1, synthetic_share=ALIKE).batch(0, 3)
    assert 0 < np.sum(digits[:, 0, 0, 0] == 10) < 30
    only_real, _ = DigitBatches(real, None, 64, seed=1).batch(0, 3)
    assert np.all(only_real == 10)


def test_alike_digit_batches_draw_as_runs_made_before_the_share_did():
    """A checkpoint of such a run resumes with ``alike`` and must see the same digits."""
    rng = np.random.default_rng(0)
    real = (rng.integers(0, 256, (30, 32, 32, 3), np.uint8), rng.integers(0, 10, 30))
    synthetic = (rng.integers(0, 256, (50, 32, 32, 3), np.uint8), rng.integers(0, 10, 50))
    digits, labels = DigitBatches(real, synthetic, 8, seed=5, synthetic_share=ALIKE).batch(2, 7)
    every = np.concatenate([real[0], synthetic[0]])
    old = np.random.default_rng([5, 2, 7])                 # the draws the old batches made
    index = old.integers(0, 80, 8)
    padded = np.pad(every[index], ((0, 0), (2, 2), (2, 2), (0, 0)), mode="edge")
    shifts = old.integers(0, 5, (8, 2))
    for digit, source, (x, y) in zip(digits, padded, shifts, strict=True):
        assert np.array_equal(digit, source[y:y + 32, x:x + 32])
    assert np.array_equal(labels, np.concatenate([real[1], synthetic[1]])[index])


def test_synthetic_numbers_do_not_depend_on_whether_scenes_are_made(tiny_svhn):
    numbers, scenes = make_synthetic(6, seed=4, data_dir=tiny_svhn)
    alone, none = make_synthetic(6, seed=4, data_dir=tiny_svhn, scenes=False)
    assert none is None and scenes.images.shape == (2, 54, 54, 3)
    assert np.array_equal(numbers.images, alone.images)
    assert np.array_equal(numbers.labels, alone.labels)


def test_input_is_standardised_per_image():
    images = np.random.default_rng(0).integers(0, 256, (3, 54, 54, 3), dtype=np.uint8)
    x = to_input(images)
    assert x.shape == (3, 3, 54, 54) and x.dtype == np.float32
    assert np.allclose(x.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    assert np.allclose(x.std(axis=(1, 2, 3)), 1, atol=1e-3)


def test_start_windows_cover_the_photo():
    windows = start_windows(300, 200)
    assert windows[0] == (0, 0, 300, 200) and len(windows) == 1 + 4 + 9 + 25
    for left, top, right, bottom in windows:
        assert 0 <= left < right <= 300 and 0 <= top < bottom <= 200


@pytest.mark.parametrize("width, height", [(5000, 1), (1, 5000), (1, 1), (3, 2)])
def test_start_windows_of_a_photo_a_pixel_or_two_across_are_not_empty(width, height):
    windows = start_windows(width, height)
    assert windows and windows[0] == (0, 0, width, height)       # the whole photo first
    for left, top, right, bottom in windows:
        assert 0 <= left < right <= width and 0 <= top < bottom <= height


@pytest.mark.parametrize("height, width", [(1, 400), (400, 1), (3, 3)])
def test_find_number_reads_a_photo_a_few_pixels_across(height, width):
    model = build_number_reader(seed=0, width=8, hidden=32)
    found = find_number(model, np.full((height, width, 3), 200, np.uint8))
    assert 1 <= len(found.number) <= 5 and 0 <= found.confidence <= 1
    left, top, right, bottom = found.box                 # inside the photo, not empty
    assert 0 <= left < right <= width and 0 <= top < bottom <= height


def test_find_number_returns_a_box_inside_the_photo():
    model = build_number_reader(seed=0, width=8, hidden=32)
    photo = np.random.default_rng(0).integers(0, 256, (90, 160, 3), dtype=np.uint8)
    found = find_number(model, photo)
    left, top, right, bottom = found.box
    assert 0 <= left < right <= 160 and 0 <= top < bottom <= 90
    assert 0 <= found.confidence <= 1 and 1 <= len(found.number) <= 5
    # every start window (1 + 4 + 9 + 25) is read at least once, and the answer is one of them
    assert len(found.tried) >= 39
    assert any((c.text, c.confidence) == (found.number, found.confidence) for c in found.tried)


def test_measure_search_says_where_a_miss_comes_from():
    model = build_number_reader(seed=0, width=8, hidden=32)
    rng = np.random.default_rng(3)
    photos = [rng.integers(0, 256, (70, 120, 3), dtype=np.uint8) for _ in range(3)]
    truth = np.array([[10, 10, 60, 40], [0, 0, 120, 70], [50, 20, 110, 60]], np.float64)
    texts = [find_number(model, photos[0]).number, "12345", "7"]       # the first one is read
    m = measure_search(model, photos, truth, texts)
    assert m["exact"].tolist()[:2] == [True, False]
    assert np.all(m["among"] >= m["exact"])            # what the search chose, it had read
    assert m["iou"].shape == (3,) and np.all((0 <= m["iou"]) & (m["iou"] <= 1))
    summary = search_summary(m, np.array([True, True, False]))
    assert summary["count"] == 2 and summary["read_exactly"] == 0.5


def test_predict_with_a_house_number_model(tmp_path, capsys):
    model = save_untrained_number_reader(tmp_path / "svhn.npz")
    photo = tmp_path / "door.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (80, 120, 3), dtype=np.uint8)
                    ).save(photo)
    status = predict.main(["--model", str(model), "--boxes", str(tmp_path / "out.png"),
                           str(photo)])
    out = capsys.readouterr().out
    assert status == 0 and out.startswith(f"{photo}\t")
    assert Image.open(tmp_path / "out.png").size == (120, 80)
    status = predict.main(["--model", str(model), "--boxes", str(tmp_path / "out.jpg"),
                           str(photo)])
    capsys.readouterr()
    assert status == 0 and Image.open(tmp_path / "out.jpg").format == "JPEG"
    with pytest.raises(SystemExit) as done:         # one picture file cannot hold two images
        predict.main(["--model", str(model), "--boxes", str(tmp_path / "two.png"),
                      str(photo), str(photo)])
    assert done.value.code == 2 and "give a folder" in capsys.readouterr().err
    status = predict.main(["--model", str(model), "--json", "--min-confidence", "1",
                           str(photo)])
    result = json.loads(capsys.readouterr().out)[0]
    assert status == 0 and result["number"] is None and "withheld" in result


def test_predict_boxes_folder_keeps_images_of_the_same_name_apart(tmp_path, capsys,
                                                                  monkeypatch):
    model = save_untrained_number_reader(tmp_path / "svhn.npz")
    photos = []
    for seed, folder in enumerate(["a", "b"]):
        (tmp_path / folder).mkdir()
        photos.append(tmp_path / folder / "door.png")
        Image.fromarray(np.random.default_rng(seed).integers(0, 256, (80, 120, 3), np.uint8)
                        ).save(photos[-1])
    texts = []
    draw_text = ImageDraw.ImageDraw.text
    monkeypatch.setattr(ImageDraw.ImageDraw, "text",
                        lambda self, xy, text, **kw: texts.append(text) or draw_text(
                            self, xy, text, **kw))
    status = predict.main(["--model", str(model), "--json", "--min-confidence", "1",
                           "--boxes", str(tmp_path / "found"), *map(str, photos)])
    results = json.loads(capsys.readouterr().out)
    drawn = [tmp_path / "found" / "door.boxes.png", tmp_path / "found" / "door-2.boxes.png"]
    assert status == 0 and all(path.is_file() for path in drawn)
    assert [r["boxes_image"] for r in results] == [str(path) for path in drawn]
    assert len(texts) == 2 and all(t.startswith("? ") for t in texts)   # withheld: drawn with ?


def test_predict_gives_the_box_in_the_pixels_of_a_photo_decoded_smaller(tmp_path, capsys,
                                                                          monkeypatch):
    import functools

    import reader.locate
    from reader.preprocess import open_photo
    model = save_untrained_number_reader(tmp_path / "svhn.npz")
    rng = np.random.default_rng(2)
    Image.fromarray(rng.integers(0, 256, (301, 400, 3), dtype=np.uint8)).save(tmp_path / "big.jpg")
    seen = []

    def whole_photo(model, photo, alphabet):             # a search that finds the whole photo
        seen.append(photo.shape)
        H, W = photo.shape[:2]
        return reader.locate.Found("7", 0.5, (0.0, 0.0, float(W), float(H)), np.zeros(5))
    monkeypatch.setattr(reader.locate, "find_number", whole_photo)
    monkeypatch.setattr(predict, "open_photo", functools.partial(open_photo, max_pixels=40_000))
    assert predict.main(["--model", str(model), "--json", str(tmp_path / "big.jpg")]) == 0
    assert seen == [(151, 200, 3)]                               # read at half the size
    assert json.loads(capsys.readouterr().out)[0]["box"] == [0.0, 0.0, 400.0, 301.0]


def test_predict_refuses_a_photo_of_one_flat_colour(tmp_path, capsys):
    model = save_untrained_number_reader(tmp_path / "svhn.npz")
    Image.new("RGB", (300, 200), (120, 130, 140)).save(tmp_path / "wall.jpg", quality=70)
    status = predict.main(["--model", str(model), str(tmp_path / "wall.jpg")])
    err = capsys.readouterr().err
    assert status == 2 and err.strip().endswith("wall.jpg: nothing to read (the image is one "
                                                "flat colour)")
    assert len(err.splitlines()) == 1


def test_predict_boxes_is_refused_for_a_digit_classifier(tmp_path):
    model = tmp_path / "digit.npz"
    build_digit_classifier(seed=0, width=8, hidden=16).save(
        str(model), svhn_metadata("digit", "svhn-digits", {}, "test"))
    assert_one_line_error(run_cli("predict.py", "--model", str(model), "--boxes",
                                  str(tmp_path / "out"), "x.png"),
                          "--boxes", "single-digit classifier")


def test_predict_reads_a_digit_through_the_views_it_is_measured_with(tmp_path, capsys):
    from reader.photo_crops import squash
    from reader.svhn_read import digit_probabilities
    from reader.views import DIGIT_SHIFTS
    classifier = build_digit_classifier(seed=0, width=8, hidden=16)
    model = tmp_path / "digit.npz"
    classifier.save(str(model), svhn_metadata("digit", "svhn-digits", {}, "test"))
    photo = np.random.default_rng(4).integers(0, 256, (45, 30, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "seven.png")
    assert predict.main(["--model", str(model), "--json", str(tmp_path / "seven.png")]) == 0
    read = json.loads(capsys.readouterr().out)[0]
    per_view = digit_probabilities(classifier, squash(photo, (0, 0, 30, 45), 32)[None])
    assert len(per_view) == len(DIGIT_SHIFTS) > 1
    mean = np.mean([p[0] for (p,) in per_view], axis=0)
    assert read["number"] == str(mean.argmax()) and read["confidence"] == round(mean.max(), 6)


def test_predict_bad_min_confidence_and_not_an_image(tmp_path):
    model = save_untrained_number_reader(tmp_path / "svhn.npz")
    assert_one_line_error(run_cli("predict.py", "--model", str(model), "--min-confidence", "2",
                                  "x.png"), "--min-confidence: must be a probability between 0")
    (tmp_path / "x.png").write_text("not an image")
    assert_one_line_error(run_cli("predict.py", "--model", str(model), str(tmp_path / "x.png")),
                          "x.png")


def test_train_svhn_numbers_on_tiny_data_and_resume_exactly(tiny_svhn, tmp_path, monkeypatch):
    use_tiny_number_reader(monkeypatch)
    common = ["--task", "svhn-numbers", "--synthetic", "0", "--epochs", "2",
              "--steps-per-epoch", "3", "--batch-size", "8", "--checkpoint-every", "2",
              "--data-dir", str(tiny_svhn)]
    assert train.main([*common, "--out", str(tmp_path / "whole")]) == 0
    assert train.main([*common, "--out", str(tmp_path / "split"), "--stop-after", "4"]) == 0
    assert train.main(["--resume", str(tmp_path / "split"), "--data-dir", str(tiny_svhn)]) == 0
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    split = json.loads((tmp_path / "split" / "metrics.json").read_text())
    assert whole["test"] == split["test"] and whole["protocol"] == "pooled"
    assert whole["test"]["holdout"]["count"] == 10
    for key in ("coverage_at_98", "union_box_iou", "digit_box_iou", "length_accuracy"):
        assert key in whole["test"]["holdout"]


def test_train_svhn_bad_options(tiny_svhn):
    assert_one_line_error(run_cli("train.py", "--task", "svhn-numbers", "--model", "strip",
                                  "--data-dir", str(tiny_svhn)), "--model strip")
    assert_one_line_error(run_cli("train.py", "--task", "svhn-numbers", "--data-dir",
                                  str(tiny_svhn.parent / "nowhere"), "--synthetic", "0",
                                  "--out", str(tiny_svhn.parent / "run")),
                          "train_real.txt: missing")


def test_the_official_train_archive_replaces_train_real(tmp_path):
    data = write_tiny_svhn(tmp_path / "d")
    write_format1(data / "svhn" / "official")
    splits = load_splits("literature", data)
    names = splits.train.names + splits.validation.names
    assert sorted(names) == sorted(f"train/{n}" for n, digits in NUMBERS.items()
                                   if len(digits) <= 5)


def test_train_svhn_digits_on_tiny_data(tiny_svhn, tmp_path, capsys):
    assert train.main(["--task", "svhn-digits", "--synthetic", "0", "--epochs", "1",
                       "--steps-per-epoch", "2", "--batch-size", "8", "--data-dir",
                       str(tiny_svhn), "--out", str(tmp_path / "run")]) == 0
    real = len(digit_crops(load_splits("literature", tiny_svhn).train)[1])
    assert (f"training on {8 * real} real digits ({real} digits of the training images, each "
            "cut 8 ways) and 0 synthetic ones") in capsys.readouterr().err   # --cuts 8, default
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    crops = load_number_crops("test", tiny_svhn)
    assert metrics["protocol"] == "literature"
    assert metrics["test"]["test"]["count"] == int(crops.lengths().sum())
    assert 0 <= metrics["test"]["test"]["accuracy"] <= 1


def test_cuts_cut_every_real_training_digit_that_many_times(tiny_svhn, tmp_path, capsys):
    assert train.main(["--task", "svhn-digits", "--synthetic", "0", "--cuts", "3", "--epochs",
                       "1", "--steps-per-epoch", "1", "--batch-size", "8", "--test-limit", "2",
                       "--data-dir", str(tiny_svhn), "--out", str(tmp_path / "run")]) == 0
    real = len(digit_crops(load_splits("literature", tiny_svhn).train)[1])
    assert (f"training on {3 * real} real digits ({real} digits of the training images, "
            "each cut 3 ways) and 0 synthetic ones") in capsys.readouterr().err
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["config"]["cuts"] == 3
    assert_one_line_error(run_cli("train.py", "--task", "svhn-numbers", "--cuts", "2"),
                          "--cuts 2: only the svhn-digits task cuts digits")
    assert_one_line_error(run_cli("train.py", "--task", "svhn-digits", "--cuts", "33"),
                          "--cuts")


def test_test_limit_reads_only_the_first_images_of_each_test_set(tiny_svhn, tmp_path,
                                                                 monkeypatch, capsys):
    use_tiny_number_reader(monkeypatch)
    common = ["--synthetic", "0", "--epochs", "1", "--steps-per-epoch", "1", "--batch-size",
              "8", "--data-dir", str(tiny_svhn), "--test-limit", "3"]
    assert train.main(["--task", "svhn-numbers", *common, "--out", str(tmp_path / "n")]) == 0
    real = len(load_splits("pooled", tiny_svhn).train)
    assert (f"training on {real} real numbers and 0 synthetic ones; a batch holds 8 real, "
            "0 synthetic, 0 scenes and 0 windows with no number") in capsys.readouterr().err
    assert train.main(["--task", "svhn-digits", *common, "--out", str(tmp_path / "d")]) == 0
    numbers = json.loads((tmp_path / "n" / "metrics.json").read_text())
    digits = json.loads((tmp_path / "d" / "metrics.json").read_text())
    assert {m["count"] for m in numbers["test"].values()} == {3}
    assert {m["count"] for m in digits["test"].values()} == {3}
    assert_one_line_error(run_cli("train.py", "--test-limit", "3"),
                          "--test-limit: task mnist-strips has no such setting")
