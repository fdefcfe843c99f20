"""The two number readers, built from ``nn``, and what they output.

Both read a batch of strips x (N, 1, 28, 140), floats in [0, 1], white ink on
black, and both end in the same form, so decoding and metrics need not know
which model made it:

    length_probs (N, 5)      P(L = l | x) for l = 1..5
    char_probs   (N, 5, C)   P(s_i = c | x) for position i = 1..5, class c < C

**Tower** (the reference notebook's baseline). Cut the strip into its five
28 x 28 slots and read each slot with one shared tower, a classifier over
C + 1 classes (the last one is "blank"):

    (N, 1, 28, 140) -> (N, 1, 28, 5, 28) -> (N, 5, 1, 28, 28) -> (5N, 1, 28, 28)
    conv5x5 1->32 same, ReLU, maxpool2, conv5x5 32->64 same, ReLU, maxpool2,
    flatten 3136, dropout, dense 128, ReLU, dropout, dense C + 1  -> (5N, C + 1)

It can only read the canonical layout: a character that straddles two slots
is half in each. Its per-slot probabilities q_i become a length distribution by
asking which slots are blank: exactly the first l slots hold characters with

    P(L = l) ∝ Π_{i<=l} (1 - q_i(blank)) · Π_{i>l} q_i(blank),

normalised over l = 1..5, and P(s_i = c) = q_i(c) / (1 - q_i(blank)).

**Strip** (Goodfellow et al. 2014, "Multi-digit number recognition from Street
View imagery"). One convolutional trunk looks at the whole strip, so it can
find characters wherever they are, then six softmax heads read its features:

    h = trunk(x)                          (N, D)
    P(L | x)   = softmax(head_0(h))       (N, 5)   length 1..5
    P(s_i | x) = softmax(head_i(h))       (N, C)   character i, i = 1..5

and the probability of a reading s = (s_1, ..., s_L) is P(L) Π_{i<=L} P(s_i).
Its input strips are first shifted so that the ink starts 2 px from the left
edge (``align_left``): where a number starts carries no information.
"""

import numpy as np

import nn
from data.strips import CHAR_SIZE, MAX_LENGTH, STRIP_HEIGHT, STRIP_WIDTH

STRIP_SHAPE = (STRIP_HEIGHT, STRIP_WIDTH)   # (height, width) of the model's input: 28 x 140
TILE = CHAR_SIZE                            # the canonical layout's slot width, 28

MODEL_KINDS: tuple[str, ...] = ("strip", "tower")


def build_tower(num_classes: int = 10, seed: int = 0, dropout: float = 0.5) -> nn.Sequential:
    """The notebook's per-slot tower: 28 x 28 tile -> C + 1 logits (the last is blank)."""
    rng = np.random.default_rng([seed, 1])
    return nn.Sequential([
        nn.Conv2D(1, 32, 5, padding="same", rng=rng), nn.ReLU(), nn.MaxPool2D(2),     # 32x14x14
        nn.Conv2D(32, 64, 5, padding="same", rng=rng), nn.ReLU(), nn.MaxPool2D(2),    # 64x7x7
        nn.Flatten(), nn.Dropout(dropout),                                            # 3136
        nn.Dense(3136, 128, rng=rng), nn.ReLU(), nn.Dropout(dropout),
        nn.Dense(128, num_classes + 1, rng=rng),
    ])


def build_strip(num_classes: int = 10, seed: int = 0, width: int = 32,
                hidden: int = 512, dropout: float = 0.1, second_conv: bool = False
                ) -> nn.MultiHead:
    """Whole-strip reader: four convolutions (five with ``second_conv``, as shipped) with
    batch norm, one dense layer, six heads.

    The first three blocks are conv3x3 (same), maxpool 2, batch norm, ReLU.
    Pooling before the batch norm and the ReLU gives them a quarter of the
    pixels to work on; BN with γ > 0 and ReLU are monotonic per channel, so the
    order changes little else. The fourth convolution has no padding, which
    folds the last three rows into one but keeps 15 columns, so the dense layer
    still sees *where* along the strip each feature is, about every 8 px.
    With ``width`` = w (shapes for one strip):

        1x28x140 -block-> w x14x70 -block-> 2w x7x35 -block-> 4w x3x17
                 -conv3x3 valid, BN, ReLU-> 4w x1x15 -flatten-> 60w
                 -dense, BN, ReLU, dropout-> hidden

    and the heads are dense layers hidden -> 5 (length) and hidden -> C (each character).
    ``second_conv`` adds a conv3x3 w -> w, BN, ReLU after the first block, at
    14 x 70: one more layer where the strokes of a digit are still a few pixels
    wide, for about a fifth more time per step.
    ``hidden``: all six heads read the strip through this one dense layer; 512
    read more than 256, and 1024 with the second convolution more again
    (docs/results.md). It costs little, since the convolutions take most of the
    time. train.py's defaults (reader.training.Config) build the shipped model:
    ``second_conv=True, hidden=1024``.
    """
    rng = np.random.default_rng([seed, 2])
    channels = [1, width, 2 * width, 4 * width]
    trunk: list[nn.Layer] = []
    for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
        trunk += [nn.Conv2D(c_in, c_out, 3, padding="same", init="he_normal", rng=rng),
                  nn.MaxPool2D(2), nn.BatchNorm2D(c_out), nn.ReLU()]
        if second_conv and c_in == 1:                                    # w x 14 x 70
            trunk += [nn.Conv2D(width, width, 3, padding="same", init="he_normal", rng=rng),
                      nn.BatchNorm2D(width), nn.ReLU()]
    trunk += [nn.Conv2D(4 * width, 4 * width, 3, padding=0, init="he_normal", rng=rng),
              nn.BatchNorm2D(4 * width), nn.ReLU()]                      # 4w x 1 x 15
    features = 4 * width * 1 * 15
    trunk += [nn.Flatten(), nn.Dense(features, hidden, init="he_normal", rng=rng),
              nn.BatchNorm1D(hidden), nn.ReLU(), nn.Dropout(dropout)]
    heads = [[nn.Dense(hidden, MAX_LENGTH, rng=rng)]]
    heads += [[nn.Dense(hidden, num_classes, rng=rng)] for _ in range(MAX_LENGTH)]
    return nn.MultiHead(trunk, heads)


def build(kind: str, num_classes: int = 10, seed: int = 0, second_conv: bool = False,
          hidden: int = 512) -> nn.Model:
    if kind == "strip":
        return build_strip(num_classes, seed, hidden=hidden, second_conv=second_conv)
    if kind == "tower":
        return build_tower(num_classes, seed)
    raise ValueError(f"unknown model kind {kind!r}; choose from {MODEL_KINDS}")


def align_left(strips: np.ndarray, margin: int = 2, threshold: int = 64) -> np.ndarray:
    """Shift every strip left so that its first column with ink (> threshold) is ``margin``.

    strips (N, H, W) uint8 -> (N, H, W) uint8; columns shifted in from the right are black.
    This is the whole-strip model's version of Goodfellow et al.'s crop to the
    number's bounding box: where the number starts is given, what follows is read.
    """
    N, H, W = strips.shape
    inked = (strips > threshold).any(axis=1)                           # (N, W)
    first = np.where(inked.any(axis=1), inked.argmax(axis=1), margin)  # (N,)
    shift = np.maximum(first - margin, 0)
    source = np.arange(W)[None, :] + shift[:, None]                    # (N, W) column to copy
    out = np.take_along_axis(strips, np.minimum(source, W - 1)[:, None, :].repeat(H, 1), 2)
    out[np.broadcast_to((source >= W)[:, None, :], out.shape)] = 0
    return out


def to_input(strips: np.ndarray, kind: str = "strip") -> np.ndarray:
    """uint8 strips (N, 28, 140) -> float32 model input (N, 1, 28, 140) in [0, 1].

    The strip model's input is first aligned to the left (``align_left``); the
    tower's is not, since it reads fixed slots.
    """
    if kind == "strip":
        strips = align_left(strips)
    return (strips.astype(np.float32) * np.float32(1 / 255))[:, None]


def to_tiles(x: np.ndarray) -> np.ndarray:
    """(N, 1, 28, 140) -> (5N, 1, 28, 28): slot k of strip n becomes tile 5n + k."""
    N = x.shape[0]
    tiles = x.reshape(N, 1, TILE, MAX_LENGTH, TILE).transpose(0, 3, 1, 2, 4)   # (N, 5, 1, 28, 28)
    return np.ascontiguousarray(tiles).reshape(N * MAX_LENGTH, 1, TILE, TILE)


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, computed stably."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def logits(model: nn.Model, kind: str, x: np.ndarray, training: bool = False
           ) -> np.ndarray | list[np.ndarray]:
    """Raw outputs: strip -> [length (N, 5), char_1..char_5 (N, C)]; tower -> (N, 5, C + 1)."""
    if kind == "tower":
        z = model.forward(to_tiles(x), training)                               # (5N, C + 1)
        return z.reshape(x.shape[0], MAX_LENGTH, -1)
    return model.forward(x, training)


def tower_probabilities(slot_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-slot probabilities q (N, 5, C + 1), blank last -> (length_probs, char_probs)."""
    eps = np.float64(1e-12)
    q = slot_probs.astype(np.float64)
    blank = q[:, :, -1]                                                        # (N, 5)
    filled = 1.0 - blank
    # log P(first l slots filled, the rest blank), l = 1..5
    log_filled = np.cumsum(np.log(filled + eps), axis=1)                       # (N, 5): Σ_{i<=l}
    log_blank_after = np.cumsum(np.log(blank + eps)[:, ::-1], axis=1)[:, ::-1]  # Σ_{i>=l}
    log_blank_after = np.concatenate([log_blank_after[:, 1:], np.zeros((len(q), 1))], axis=1)
    log_len = log_filled + log_blank_after                                     # (N, 5)
    length_probs = softmax(log_len)
    char_probs = q[:, :, :-1] / np.maximum(q[:, :, :-1].sum(axis=2, keepdims=True), eps)
    return length_probs, char_probs


def probabilities(model: nn.Model, kind: str, x: np.ndarray,
                  batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate in batches: length_probs (N, 5) and char_probs (N, 5, C), float64."""
    lengths, chars = [], []
    for start in range(0, len(x), batch_size):
        out = logits(model, kind, x[start:start + batch_size], training=False)
        if kind == "tower":
            length_p, char_p = tower_probabilities(softmax(out.astype(np.float64)))
        else:
            length_p = softmax(out[0].astype(np.float64))
            char_p = np.stack([softmax(z.astype(np.float64)) for z in out[1:]], axis=1)
        lengths.append(length_p)
        chars.append(char_p)
    return np.concatenate(lengths), np.concatenate(chars)
