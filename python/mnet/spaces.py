"""spaces.py - observation and action spaces: gymnasium's Box when
gymnasium is importable, else a Box of our own with the same fields
(shape, low, high, dtype) and sample() / contains()."""
import numpy as np


class Box:
    """A box in R^n: low <= x <= high elementwise (bounds may be infinite)."""

    def __init__(self, low, high, shape, dtype=np.float32):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.low = np.full(self.shape, low, self.dtype)
        self.high = np.full(self.shape, high, self.dtype)

    def sample(self, rng=None):
        rng = rng or np.random.default_rng()
        lo = np.where(np.isfinite(self.low), self.low, -1.0)
        hi = np.where(np.isfinite(self.high), self.high, 1.0)
        return rng.uniform(lo, hi).astype(self.dtype)

    def contains(self, x):
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all(x >= self.low) and np.all(x <= self.high))

    def __repr__(self):
        return "Box(%s, %s, %s, %s)" % (self.low.min(), self.high.max(), self.shape, self.dtype)


def make_box(low, high, shape, dtype):
    try:
        import gymnasium
        return gymnasium.spaces.Box(low, high, shape, dtype)
    except Exception:
        return Box(low, high, shape, dtype)
