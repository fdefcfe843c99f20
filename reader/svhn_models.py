"""The house-number reader (Goodfellow et al. 2014) and the single-digit classifier.

**Number reader.** Input: a 54 x 54 colour crop, x (N, 3, 54, 54), each image
standardised on its own (``to_input``). A trunk of seven 3 x 3 convolutions
with batch norm, then one dense layer, feeds seven heads:

    h = trunk(x)                               (N, D)
    P(L | x)   = softmax(head_0(h))            (N, 5)     length 1..5
    P(s_i | x) = softmax(head_i(h))            (N, 10)    digit i, i = 1..5
    b          = head_6(h)                     (N, 24)    boxes
    P(number | x) = softmax(head_7(h))_1       (N, 2)     (models with a presence head)

The first six heads are the strip reader's (reader.models): the probability
of a reading is P(L) Π_{i<=L} P(s_i), decoded by reader.decode. The box head
regresses where the number is, as (left, top, right, bottom) / 54 for the
union of the digit boxes followed by each of the five digits' boxes (zeros
past the length; the loss ignores them, see reader.losses.box_loss). Reading a
photo uses the union box to find the number (reader.locate). A photo search
also shows the reader windows with no number at all; a model trained with
such windows (``train.py --negatives``) has an eighth head that says whether
there is a number, P(number | x), as Goodfellow et al.'s length head did with
its class L = 0. Its own random generator keeps the other heads' initial
weights those of a model without it.

Shapes for one image, with ``width`` = w (default 32):

    3x54x54 -conv,ReLU-> w x54x54 -conv,pool,BN,ReLU-> 1.5w x27x27
            -conv,BN,ReLU-> 2w x27x27 -conv,pool,BN,ReLU-> 3w x13x13
            -conv,BN,ReLU-> 4w x13x13 -conv,pool,BN,ReLU-> 5w x6x6
            -conv valid,BN,ReLU-> 6w x4x4 -flatten,dropout,dense,BN,ReLU,dropout-> hidden

As in the strip reader, pooling comes before batch norm and ReLU (a quarter
of the pixels to normalise, the same function up to the order of monotonic
per-channel maps). The first convolution has no batch norm: at 54 x 54 it
would be the most expensive normalisation in the net, and its input is
already standardised.

**Digit classifier** (svhn-digits). A 32 x 32 colour digit, x (N, 3, 32, 32):

    3x32x32 -conv,BN,ReLU,conv,pool,BN,ReLU-> w x16x16 -(same, 2w)-> 2w x8x8
            -(same, 4w)-> 4w x4x4 -flatten,dropout,dense,BN,ReLU,dropout-> hidden -dense-> 10
"""

import numpy as np

import nn
from data.strips import MAX_LENGTH
from data.svhn import corners, union_boxes

NUMBER_INPUT = 54               # the number reader reads 54 x 54 crops of the 64 x 64 images
DIGIT_INPUT = 32                # the digit classifier reads 32 x 32 digits
NUM_DIGITS = 10
BOX_OUTPUTS = 4 * (1 + MAX_LENGTH)   # union box + five digit boxes, (left, top, right, bottom)
PRESENCE_OUTPUTS = 2                 # [no number, a number]

# The house-number reader's outputs, in order: the length, one head per digit
# position, the boxes and, for a model trained with windows of no number, presence.
LENGTH_HEAD = 0
DIGIT_HEADS = slice(1, 1 + MAX_LENGTH)
READING_HEADS = slice(0, 1 + MAX_LENGTH)     # the length and the digits: what is read
BOX_HEAD = 1 + MAX_LENGTH
PRESENCE_HEAD = BOX_HEAD + 1


def _conv_block(c_in: int, c_out: int, rng: np.random.Generator, pool: bool,
                norm: bool = True, padding: str | int = "same") -> list[nn.Layer]:
    layers: list[nn.Layer] = [nn.Conv2D(c_in, c_out, 3, padding=padding, init="he_normal",
                                        rng=rng)]
    if pool:
        layers.append(nn.MaxPool2D(2))
    if norm:
        layers.append(nn.BatchNorm2D(c_out))
    layers.append(nn.ReLU())
    return layers


def build_number_reader(seed: int = 0, width: int = 32, hidden: int = 512,
                        dropout: float = 0.3, presence: bool = False) -> nn.MultiHead:
    """The house-number reader: 3 x 54 x 54 -> [length (5), digit x 5 (10), boxes (24)],
    and with ``presence`` an eighth head, [no number, a number] (2)."""
    rng = np.random.default_rng([seed, 3])
    w = width
    c = [3, w, 3 * w // 2, 2 * w, 3 * w, 4 * w, 5 * w, 6 * w]
    trunk = _conv_block(c[0], c[1], rng, pool=False, norm=False)            # w   x54x54
    trunk += _conv_block(c[1], c[2], rng, pool=True)                         # 1.5w x27x27
    trunk += _conv_block(c[2], c[3], rng, pool=False)                        # 2w  x27x27
    trunk += _conv_block(c[3], c[4], rng, pool=True)                         # 3w  x13x13
    trunk += _conv_block(c[4], c[5], rng, pool=False)                        # 4w  x13x13
    trunk += _conv_block(c[5], c[6], rng, pool=True)                         # 5w  x6x6
    trunk += _conv_block(c[6], c[7], rng, pool=False, padding=0)             # 6w  x4x4
    features = c[7] * 4 * 4
    trunk += [nn.Flatten(), nn.Dropout(dropout / 2),
              nn.Dense(features, hidden, init="he_normal", rng=rng),
              nn.BatchNorm1D(hidden), nn.ReLU(), nn.Dropout(dropout)]
    heads = [[nn.Dense(hidden, MAX_LENGTH, rng=rng)]]
    heads += [[nn.Dense(hidden, NUM_DIGITS, rng=rng)] for _ in range(MAX_LENGTH)]
    box_head = nn.Dense(hidden, BOX_OUTPUTS, rng=rng)
    # The box head starts near "the average box" with tiny weights: at the usual
    # scale its first errors (~1 per coordinate) sent back gradients ten times
    # the reading heads', and the trunk learned boxes long before digits.
    box_head.params["W"] *= np.float32(0.01)
    box_head.params["b"][:] = np.tile(np.array([0.1, 0.1, 0.9, 0.9], np.float32), 1 + MAX_LENGTH)
    heads += [[box_head]]
    if presence:
        heads += [[nn.Dense(hidden, PRESENCE_OUTPUTS, rng=np.random.default_rng([seed, 5]))]]
    return nn.MultiHead(trunk, heads)


def build_digit_classifier(seed: int = 0, width: int = 32, hidden: int = 256,
                           dropout: float = 0.3) -> nn.Sequential:
    """The single-digit classifier: 3 x 32 x 32 -> 10 logits."""
    rng = np.random.default_rng([seed, 4])
    layers: list[nn.Layer] = []
    c_in = 3
    for c_out in (width, 2 * width, 4 * width):                              # 32 -> 16 -> 8 -> 4
        layers += _conv_block(c_in, c_out, rng, pool=False)
        layers += _conv_block(c_out, c_out, rng, pool=True)
        c_in = c_out
    layers += [nn.Flatten(), nn.Dropout(dropout / 2),
               nn.Dense(4 * width * 4 * 4, hidden, init="he_normal", rng=rng),
               nn.BatchNorm1D(hidden), nn.ReLU(), nn.Dropout(dropout),
               nn.Dense(hidden, NUM_DIGITS, rng=rng)]
    return nn.Sequential(layers)


MIN_STD = 4.0                  # grey levels: a near-flat image is not blown up into noise


def to_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W, 3) -> float32 (N, 3, H, W), each image standardised.

    Every image has its own mean subtracted and is divided by its own standard
    deviation (over pixels and channels), or by ``MIN_STD`` if that is smaller:
    the reader should not care whether a plate is lit by noon sun or a street
    lamp, and a blank wall should stay blank.
    """
    x = images.astype(np.float32).transpose(0, 3, 1, 2)                     # (N, 3, H, W)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    std = x.std(axis=(1, 2, 3), keepdims=True)
    return np.ascontiguousarray((x - mean) / np.maximum(std, np.float32(MIN_STD)))


def box_targets(boxes: np.ndarray, lengths: np.ndarray, size: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Digit boxes (N, 5, 4) as (left, top, width, height) in pixels of a size x size input
    -> targets (N, 24) float32, (left, top, right, bottom) / size for the union box and each
    digit, and a mask (N, 24) float32 that is 1 where a target exists (a window with no
    number, length 0, has none)."""
    N = len(boxes)
    used = np.arange(MAX_LENGTH) < lengths[:, None]                          # (N, 5)
    has = lengths > 0                                                        # a window with no
    ltrb = corners(boxes) / size
    u = np.zeros((N, 4), np.float32)                                         # number has no box
    u[has] = union_boxes(boxes[has], lengths[has])                           # (N, 4) l, t, w, h
    union = corners(u) / size                                           # (N, 4) l, t, r, b
    targets = np.concatenate([union, np.where(used[..., None], ltrb, 0).reshape(N, -1)], axis=1)
    mask = np.concatenate([np.repeat(has[:, None], 4, axis=1), np.repeat(used, 4, axis=1)],
                          axis=1)
    return targets.astype(np.float32), mask.astype(np.float32)


def share_inside(boxes: np.ndarray, window: np.ndarray) -> np.ndarray:
    """The share of each box (..., 4) that lies inside a window (4,), both given as
    (left, top, right, bottom): from 0 to 1."""
    iw = np.clip(np.minimum(window[2], boxes[..., 2]) - np.maximum(window[0], boxes[..., 0]),
                 0, None)
    ih = np.clip(np.minimum(window[3], boxes[..., 3]) - np.maximum(window[1], boxes[..., 1]),
                 0, None)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return iw * ih / np.maximum(area, 1e-9)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes (..., 4) given as (left, top, right, bottom)."""
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = np.clip(a[..., 2] - a[..., 0], 0, None) * np.clip(a[..., 3] - a[..., 1], 0, None)
    area_b = np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)
    return inter / np.maximum(area_a + area_b - inter, 1e-12)
