"""Learning-rate schedules: callables from the step number (0, 1, 2, …) to a rate.

* ``ExponentialDecay``: lr = initial · decay_rate^(step / decay_steps), with the
  exponent rounded down when ``staircase`` (the reference notebook:
  0.01 · 0.95^(step // 500)).
* ``StepDecay``:        lr = initial · gamma^(step // step_size).
* ``WarmupCosine``:     peak · (step + 1) / warmup_steps while step < warmup_steps
  (linear up to ``peak``; the first step already moves), then
  lr = final + (peak - final) · (1 + cos(π t)) / 2 with t the fraction of the
  remaining steps done; ``final`` after ``total_steps``.
"""

import math


class Constant:
    def __init__(self, lr: float) -> None:
        self.lr = lr

    def __call__(self, step: int) -> float:
        return self.lr


class ExponentialDecay:
    def __init__(self, initial: float, decay_rate: float, decay_steps: int,
                 staircase: bool = True) -> None:
        if decay_steps < 1:
            raise ValueError("decay_steps must be >= 1")
        self.initial, self.decay_rate = initial, decay_rate
        self.decay_steps, self.staircase = decay_steps, staircase

    def __call__(self, step: int) -> float:
        exponent = step // self.decay_steps if self.staircase else step / self.decay_steps
        return self.initial * self.decay_rate ** exponent


class StepDecay:
    def __init__(self, initial: float, step_size: int, gamma: float = 0.1) -> None:
        if step_size < 1:
            raise ValueError("step_size must be >= 1")
        self.initial, self.step_size, self.gamma = initial, step_size, gamma

    def __call__(self, step: int) -> float:
        return self.initial * self.gamma ** (step // self.step_size)


class WarmupCosine:
    def __init__(self, peak: float, warmup_steps: int, total_steps: int,
                 final: float = 0.0) -> None:
        if not 0 <= warmup_steps < total_steps:
            raise ValueError("need 0 <= warmup_steps < total_steps")
        self.peak, self.warmup_steps, self.total_steps, self.final = (
            peak, warmup_steps, total_steps, final)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.peak * (step + 1) / self.warmup_steps
        if step >= self.total_steps:
            return self.final
        t = (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        return self.final + (self.peak - self.final) * 0.5 * (1.0 + math.cos(math.pi * t))
