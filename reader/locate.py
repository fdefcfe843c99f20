"""Find the house number in a photo, crop it as in training, and read it.

The house-number reader (reader.svhn_models) was trained on two kinds of
54 x 54 input: tight crops (the union of the digit boxes grown 30 %, resized
to 64 x 64, the centre 54 x 54 kept) and *scenes*, whole pictures squashed to
54 x 54 with a number somewhere in them. For both it predicts the union box
of the digits. Reading a photo is a coarse-to-fine search built on that:

0. **Margin.** The photo gets a border of 15 % of its size in its own border
   colour: a photo cropped tight around the number (most people's are) would
   otherwise have no room for the 30 % margin every training crop had.
1. **Start windows.** The whole photo, and overlapping tiles of it at three
   finer scales (2 x 2, 3 x 3 and 5 x 5 grids of windows 2/3, 1/2 and 1/3 of
   the photo's size, overlapping by half), 39 windows, so that a small
   number in a big scene is still a few pixels tall in some window.
2. **Zoom.** Squash the window to 54 x 54 and ask the model where the number
   is (its union box). Crop the photo the way training crops were made around
   that box (data.svhn.crop_window: grown 30 %, resized to 64 x 64, centre
   54 x 54) and ask again. Repeat until the box stops moving (IoU > 0.9) or
   ``ZOOM_STEPS`` is reached. The reading of every step is kept: a zoom that
   cuts a digit off never gets it back, so the last step is not always best.
3. **Choose** (``reader.choose``). Every start window and zoom step gives a
   reading with a confidence and a box. The confidence is the probability of
   the reading, P(L) Π P(s_i), times P(there is a number) when the model has
   a presence head (``train.py --negatives``, and ``--hard-negatives`` for
   the views that hold only a part of the number); without that head the
   reader has no answer for "no number here", and empty windows read
   something, mostly "1". If the whole photo's surest reading has a
   confidence of at least ``SURE``, it is the answer: most photos people take are cropped
   around their number, and then the whole photo is the one window that sees
   all of it. Otherwise the readings **vote**: each scores the sum of
   √confidence over the readings that say the same number with a box that
   overlaps its own, and the highest score wins. Confidence alone is a poor
   judge here, because the reader learned to ignore characters at the edges
   of its crops (SVHN's crops have neighbours there), so a window that holds
   part of a number reads that part confidently ("21" of "1521"). A part is
   read by a few windows; the number itself by many. (Chosen on the pool
   test images' whole PNGs and on synthetic scenes, see docs/svhn.md; the
   held-out images measure it.)
4. **A second look** (``second_look``), because the answer may still be
   wrong in two ways the vote cannot see.
   *A column* (``reader.stacked``): a reading of two digits or more in a box
   too tall to hold them abreast is a misread column of digits; the column
   is cut into rows, laid side by side and read, and a surer reading of it
   replaces the chosen one.
   *Beside it* (``extend``): the answer may be a part, since a small number
   in a scene is seen whole by few windows and "10" of "1110" is read
   surely. The chosen box is widened to the left, the right and both ways
   and read again, with zoom steps; a longer number that holds the chosen
   one, whose added digits the reader places beside the chosen box, and
   that out-votes the chosen number among these readings, replaces it.

The search costs one batch of model calls per zoom step (all start windows at
once), and the second look a few small batches more (one of up to 300 views
for a column), so a photo takes about a second with two threads.
"""

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

import nn
from data.strips import BLANK
from reader.choose import Candidate, choose
from reader.decode import to_text
from reader.photo_crops import clip_box, pad_photo, squash, to_photo, training_view
from reader.stacked import looks_stacked, read_stacked
from reader.svhn_models import NUMBER_INPUT, box_iou, share_inside
from reader.svhn_read import read_numbers, read_views

ZOOM_STEPS = 3
GRIDS = (1, 2, 3, 5)           # start windows: the whole photo, 2 x 2, 3 x 3 and 5 x 5 tiles
WIDEN = np.array([0.7, 1.4])   # widen the chosen box sideways by these multiples of its height
EXTEND_SURE = 0.5              # readings beside it take part in its vote only this sure
EXTEND_ROUNDS = 2              # look beside at most this many times
BESIDE = 0.5                   # an added digit's box may lie this share inside the chosen box


@dataclass
class Found:
    """What the search found in one photo."""

    number: str
    confidence: float
    box: tuple[float, float, float, float]      # (left, top, right, bottom) in photo pixels
    labels: np.ndarray                          # (5,) the reading as label row
    tried: tuple[Candidate, ...] = ()           # every reading the search made


def start_windows(width: int, height: int, grids: tuple[int, ...] = GRIDS
                  ) -> list[tuple[int, int, int, int]]:
    """(left, top, right, bottom) windows: for g in grids, a g x g grid of overlapping tiles
    each 2/(g + 1) of the photo's width and height (g = 1: the whole photo)."""
    windows = []
    for g in grids:
        w, h = width * 2 / (g + 1) if g > 1 else width, height * 2 / (g + 1) if g > 1 else height
        for i in range(g):
            for j in range(g):
                # at least one pixel each way, inside the photo: the tiles of a
                # photo a pixel or two tall would otherwise round to nothing
                left, top = min(round(j * w / 2), width - 1), min(round(i * h / 2), height - 1)
                windows.append((left, top, max(round(j * w / 2 + w), left + 1),
                                max(round(i * h / 2 + h), top + 1)))
    return windows


def zoom(model: nn.Model, padded: np.ndarray, inputs: np.ndarray, shown: list[tuple],
         steps: int, alphabet: str, first: int = 0, keep_views: bool = False
         ) -> list[Candidate]:
    """Read 54 x 54 views (N, 54, 54, 3) of the padded photo, then zoom: crop each
    view's union box as training crops were made and read again, ``steps`` times
    or until no box moves (IoU > 0.9). Returns the readings of every step; the
    k-th view's are numbered ``first + k``. ``shown`` holds the window of the
    padded photo (left, top, right, bottom) each view shows.
    """
    PH, PW = padded.shape[:2]
    current, candidates = None, []
    for step in range(steps + 1):
        readings, boxes, confidence = read_views(model, inputs)
        found = np.array([clip_box(to_photo(b[:4], w), PW, PH)
                          for b, w in zip(boxes, shown, strict=True)])
        digits = [np.array([to_photo(d, w) for d in b[4:].reshape(-1, 4)])
                  for b, w in zip(boxes, shown, strict=True)]                   # (5, 4) each
        candidates += [Candidate(first + k, to_text(readings.labels[k], alphabet, BLANK),
                                 float(confidence[k]), found[k], readings.labels[k], step,
                                 inputs[k] if keep_views else None, tuple(shown[k]), digits[k])
                       for k in range(len(inputs))]
        if step == steps or (current is not None and np.all(box_iou(found, current) > 0.9)):
            break
        current = found
        views = [training_view(padded, box) for box in current]
        inputs = np.stack([v for v, _ in views])
        shown = [window for _, window in views]
    return candidates


def widened(box: np.ndarray, width: int, height: int) -> list[np.ndarray]:
    """The box (left, top, right, bottom) grown sideways by ``WIDEN`` times its
    height: to the left, to the right and both ways, each clipped to the photo."""
    left, top, right, bottom = box
    grown = []
    for g in WIDEN * (bottom - top):
        grown += [(left - g, top, right, bottom), (left, top, right + g, bottom),
                  (left - g, top, right + g, bottom)]
    return [clip_box(np.array(b), width, height) for b in grown]


def extend(model: nn.Model, padded: np.ndarray, best: Candidate, alphabet: str,
           rounds: int = EXTEND_ROUNDS, zoom_steps: int = ZOOM_STEPS
           ) -> tuple[Candidate, list[Candidate]]:
    """Look beside the chosen reading for digits it left out.

    The reader learned to ignore characters at the edges of its crops (SVHN's
    crops have neighbours there), so a crop around "10" of "1110" reads "10",
    and surely. Here the chosen box is widened to each side (``widened``), each
    widened box is cropped as training crops were made and read, with zoom
    steps. The readings that hold the chosen number inside a longer one
    (``extends``) vote, as in reader.choose, against those that read the
    chosen number again; a longer number that wins replaces it, and the search
    looks beside that, up to ``rounds`` times. Returns (the reading, every
    reading made).
    """
    PH, PW = padded.shape[:2]
    tried = []
    for r in range(rounds):
        views = [training_view(padded, box) for box in widened(best.box, PW, PH)]
        found = zoom(model, padded, np.stack([v for v, _ in views]), [w for _, w in views],
                     zoom_steps, alphabet, first=-(r + 1) * len(views))
        tried += found
        # the readings of more digits vote against those that read the chosen number again
        same = [c for c in found if c.text == best.text and c.confidence >= EXTEND_SURE]
        longer = [c for c in found if extends(c, best)]
        support = {c.text: sum(np.sqrt(d.confidence) for d in same + longer if d.text == c.text)
                   for c in same + longer}
        winner = max(longer, key=lambda c: (support[c.text], c.confidence), default=None)
        if winner is None or support[winner.text] <= support.get(best.text, 0.0):
            break
        best = winner
    return best, tried


def extends(wider: Candidate, chosen: Candidate) -> bool:
    """Whether a reading beside the chosen one reads it with more digits next to it:
    a longer number holding the chosen one, at least ``EXTEND_SURE``, whose box
    covers the chosen box, and whose added digits the reader places beside the
    chosen box, not in it (a wider view sometimes reads one digit of the chosen
    number twice: "949" as "9499")."""
    n, m = len(wider.text), len(chosen.text)
    if not (n > m and wider.confidence >= EXTEND_SURE and covers(wider.box, chosen.box)):
        return False
    left, right = chosen.box[0], chosen.box[2]
    for start in range(n - m + 1):
        if wider.text[start:start + m] != chosen.text:
            continue
        added = [k for k in range(n) if not start <= k < start + m]
        overlap = [np.clip(min(right, wider.digits[k, 2]) - max(left, wider.digits[k, 0]), 0, None)
                   / max(wider.digits[k, 2] - wider.digits[k, 0], 1e-9) for k in added]
        if max(overlap) <= BESIDE:
            return True
    return False


def covers(outer: np.ndarray, inner: np.ndarray, share: float = 0.7) -> bool:
    """Whether ``share`` of the inner box (left, top, right, bottom) lies in the outer one."""
    return bool(share_inside(inner, outer) >= share)


def find_number(model: nn.Model, photo: np.ndarray, alphabet: str = "0123456789",
                zoom_steps: int = ZOOM_STEPS, grids: tuple[int, ...] = GRIDS,
                keep_views: bool = False, second_look: bool = True) -> Found:
    """Search a photo (H, W, 3) uint8 for its house number and read it.

    Every reading the search made is in ``Found.tried``, with the window of
    the padded photo (``pad_photo``) it showed and, with ``keep_views``, the
    54 x 54 input itself (reader.hard_negatives learns from those).
    ``second_look=False`` stops at the vote's choice (steps 0-3 above).
    """
    H, W = photo.shape[:2]
    padded, px, py = pad_photo(photo)
    PH, PW = padded.shape[:2]
    windows = start_windows(PW, PH, grids)
    inputs = np.stack([squash(padded, w, NUMBER_INPUT) for w in windows])
    candidates = zoom(model, padded, inputs, list(windows), zoom_steps, alphabet,
                      keep_views=keep_views)
    best = choose(candidates)
    if second_look:                 # step 4: read it as a column, or look beside it
        column = read_stacked(model, padded, best, alphabet) if looks_stacked(best) else None
        if column is not None and column.confidence > best.confidence:
            best = column
        else:
            best, beside = extend(model, padded, best, alphabet, zoom_steps=zoom_steps)
            candidates += beside
    box = clip_box(best.box - np.array([px, py, px, py]), W, H)
    return Found(best.text, best.confidence, tuple(float(v) for v in box), best.labels,
                 tuple(candidates))


def draw_found(photo: np.ndarray, found: Found, path: str | os.PathLike,
               withheld: bool = False) -> None:
    """Save the photo with the found box and the reading drawn on it (a reading
    ``withheld`` for too little confidence is drawn after a '?')."""
    from PIL import ImageDraw
    image = Image.fromarray(photo)
    draw = ImageDraw.Draw(image)
    line = max(2, round(max(photo.shape[:2]) / 300))
    draw.rectangle(found.box, outline=(255, 40, 40), width=line)
    text = f"{'? ' if withheld else ''}{found.number} ({found.confidence:.2f})"
    size = max(12, round(max(photo.shape[:2]) / 25))
    try:
        from matplotlib import font_manager
        from PIL import ImageFont
        font = ImageFont.truetype(font_manager.findfont("DejaVu Sans:bold"), size)
    except (OSError, ValueError):
        font = None
    x, y = found.box[0], max(0, found.box[1] - size * 1.3)
    draw.rectangle((x, y, x + size * 0.62 * len(text) + 6, y + size * 1.25), fill=(255, 40, 40))
    draw.text((x + 3, y), text, fill=(255, 255, 255), font=font)
    image.save(path)


def measure_search(model: nn.Model, photos: Sequence[np.ndarray], truth: np.ndarray,
                   texts: list[str],
                   alphabet: str = "0123456789", second_look: bool = True
                   ) -> dict[str, np.ndarray]:
    """Run the search on photos (each (H, W, 3) uint8) whose numbers are known.

    ``truth`` (N, 4) holds the true union boxes (left, top, right, bottom) in
    photo pixels, ``texts`` the numbers. Returns per photo: ``iou`` of the found
    box with the true one, ``exact`` (the search read the number), ``among``
    (some start window or zoom step read it: what a perfect choice would get),
    ``from_true_box`` (the reader, given a crop around the true box, reads it:
    no search at all) and ``seconds`` of search.
    """
    boxes, exact, among, seconds = [], [], [], []
    for photo, text in zip(photos, texts, strict=True):
        start = time.perf_counter()
        found = find_number(model, photo, alphabet, second_look=second_look)
        seconds.append(time.perf_counter() - start)
        boxes.append(found.box)
        exact.append(found.number == text)
        among.append(any(c.text == text for c in found.tried))
    views = np.stack([training_view(photo, box)[0]
                      for photo, box in zip(photos, truth, strict=True)])
    readings, _, _ = read_numbers(model, views)
    from_true_box = [to_text(labels, alphabet, BLANK) == text
                     for labels, text in zip(readings.labels, texts, strict=True)]
    return {"iou": box_iou(np.array(boxes, np.float64), np.asarray(truth, np.float64)),
            "exact": np.array(exact), "among": np.array(among),
            "from_true_box": np.array(from_true_box), "seconds": np.array(seconds)}


def search_summary(measures: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, float]:
    """The measures of ``measure_search`` over the photos in ``mask``, as shares."""
    return {"count": int(mask.sum()), "mean_iou": float(measures["iou"][mask].mean()),
            "found_iou_over_0.5": float((measures["iou"][mask] > 0.5).mean()),
            "read_exactly": float(measures["exact"][mask].mean()),
            "read_from_true_box": float(measures["from_true_box"][mask].mean()),
            "among_search_readings": float(measures["among"][mask].mean())}


def summary_by_width(measures: dict[str, np.ndarray], width: np.ndarray
                     ) -> dict[str, dict[str, float]]:
    """``search_summary`` over all photos and by the number's width (a share of the
    photo's width: under 25 %, 25-50 %, 50 % and more); empty groups left out."""
    groups = {"all": np.ones(len(width), bool), "width < 25 %": width < 0.25,
              "width 25-50 %": (width >= 0.25) & (width < 0.5), "width >= 50 %": width >= 0.5}
    return {name: search_summary(measures, m) for name, m in groups.items() if m.any()}


def summary_line(name: str, r: dict[str, float]) -> str:
    """One printed line of ``search_summary``."""
    return (f"{name:14s} {r['count']:4d}  mean IoU {r['mean_iou']:.3f}  "
            f"found {100 * r['found_iou_over_0.5']:5.1f}%  "
            f"read exactly {100 * r['read_exactly']:5.1f}%  "
            f"(from the true box {100 * r['read_from_true_box']:5.1f}%, "
            f"among the search's readings {100 * r['among_search_readings']:5.1f}%)")
