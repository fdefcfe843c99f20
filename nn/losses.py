"""Softmax cross-entropy, the loss of a K-way classifier.

For logits z (N, K) and integer labels t (N,):

    p[n, k] = exp(z[n, k]) / Σ_j exp(z[n, j])
    L = -(1/N) Σ_n log p[n, t_n]

computed as log p = z - logsumexp(z), where logsumexp subtracts the row
maximum first so exp never overflows. The gradient is the famous one:

    ∂L/∂z = (p - onehot(t)) / N
"""

import numpy as np


class SoftmaxCrossEntropy:
    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        if logits.ndim != 2:
            raise ValueError(f"logits must be (N, K), got shape {logits.shape}")
        labels = np.asarray(labels)
        N, K = logits.shape
        if labels.shape != (N,):
            raise ValueError(f"labels must be ({N},) for logits {logits.shape}, got {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= K):
            raise ValueError(f"labels must lie in 0..{K - 1}")
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_p = shifted - log_z                                      # (N, K)
        self._p = np.exp(log_p)
        self._labels = labels
        return float(-log_p[np.arange(N), labels].mean())

    def backward(self) -> np.ndarray:
        N = self._p.shape[0]
        dz = self._p.copy()
        dz[np.arange(N), self._labels] -= 1
        dz /= N
        return dz

    @property
    def probabilities(self) -> np.ndarray:
        """Softmax of the last logits passed to forward, (N, K)."""
        return self._p
