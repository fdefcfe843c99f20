"""The training loss of each reader: a sum of cross-entropies, one per head.

Labels are (N, 5) integers, the characters of the number followed by BLANK
(= C, 10 for digits and letters) after its length L.

**Strip model** (Goodfellow et al. 2014). The model says
P(s | x) = P(L | x) Π_{i<=L} P(s_i | x), so the negative log-likelihood of a
labelled strip is a sum over the heads that the label uses:

    loss = -(1/N) Σ_n [ log P(L_n | x_n) + Σ_{i<=L_n} log P(s_{n,i} | x_n) ]

Character heads past the length get no loss at all: position 4 of "37" is not
a blank to be predicted, it simply is not part of the number. Each head's
gradient is the usual softmax one, masked by whether the head is used:

    ∂loss/∂z_len = (p_len - onehot(L_n - 1)) / N
    ∂loss/∂z_i   = [i <= L_n] · (p_i - onehot(s_{n,i})) / N

and the trunk receives the sum of the six heads' gradients (nn.MultiHead).

**Tower** (the notebook). Every slot is a (C + 1)-way problem, blank included,
and the loss is the sum over the five slots of their mean cross-entropies:

    loss = -(1/N) Σ_n Σ_i log q_i(t_{n,i} | x_n),     ∂loss/∂z_{n,i} = (q_{n,i} - onehot) / N
"""

import numpy as np

from reader.models import MAX_LENGTH, softmax


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def strip_loss(outputs: list[np.ndarray], labels: np.ndarray, blank: int,
               weights: np.ndarray | None = None) -> tuple[float, list[np.ndarray]]:
    """Loss and per-head gradients for the strip model.

    outputs: [length logits (N, 5), char logits (N, C) x 5]; labels (N, 5) int.
    ``weights`` (N,), default all 1, scales each example's terms (0 leaves an
    example out of the reading loss while still counting in N; the house-number
    reader uses that for scenes it is only asked to locate).
    Returns (loss, [∂loss/∂z_len, ∂loss/∂z_1, ..., ∂loss/∂z_5]).
    """
    N = labels.shape[0]
    rows = np.arange(N)
    w = np.ones(N) if weights is None else np.asarray(weights, np.float64)
    lengths = (labels != blank).sum(axis=1)                            # (N,) in 1..5
    used = (np.arange(MAX_LENGTH) < lengths[:, None]) & (w[:, None] > 0)   # (N, 5) bool
    # A window with no number (all BLANK, weight 0) has no length class; any will do.
    length_class = np.maximum(lengths, 1) - 1

    z_len = outputs[0]
    total = -(_log_softmax(z_len)[rows, length_class] * w).sum()
    d_len = softmax(z_len)
    d_len[rows, length_class] -= 1
    grads = [d_len * (w / N)[:, None].astype(d_len.dtype)]
    for i in range(MAX_LENGTH):
        z = outputs[1 + i]                                             # (N, C)
        target = np.where(used[:, i], labels[:, i], 0)                 # any class where unused
        total -= (_log_softmax(z)[rows, target] * used[:, i] * w).sum()
        d = softmax(z)
        d[rows, target] -= 1
        d *= (used[:, i] * w / N)[:, None].astype(d.dtype)
        grads.append(d)
    return float(total / N), [g.astype(z_len.dtype) for g in grads]


def tower_loss(slot_logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss and gradient for the tower. slot_logits (N, 5, C + 1), labels (N, 5) in 0..C."""
    N = labels.shape[0]
    log_q = _log_softmax(slot_logits)                                  # (N, 5, C + 1)
    picked = np.take_along_axis(log_q, labels[:, :, None], axis=2)     # (N, 5, 1)
    grad = np.exp(log_q)                                               # q
    np.put_along_axis(grad, labels[:, :, None], np.exp(picked) - 1, axis=2)   # q - onehot
    return float(-picked.sum() / N), (grad / N).astype(slot_logits.dtype)


def box_loss(pred: np.ndarray, targets: np.ndarray, mask: np.ndarray,
             weight: float = 1.0) -> tuple[float, np.ndarray]:
    """Squared error of box regression, only where a target exists.

    pred, targets, mask (N, K): box coordinates as fractions of the input size,
    mask 1 where the target exists (the union box always; digit boxes up to
    the length). With λ = ``weight``:

        loss = λ/N Σ_n Σ_k m_nk (b_nk - t_nk)²,      ∂loss/∂b = 2λ/N · m ⊙ (b - t)
    """
    N = pred.shape[0]
    diff = (pred.astype(np.float64) - targets) * mask
    return float(weight * (diff ** 2).sum() / N), (2 * weight / N * diff).astype(pred.dtype)
