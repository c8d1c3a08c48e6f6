"""MNIST data access for the training tools: IDX files, default paths, augmentation.

Only numpy is needed here, so export_headers.py and the smoke test can use this module
without the training framework installed.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]

# The original distribution's names; `train10k-*` is the 10,000-digit subset that sits in
# ../shared on the project's machines, `train-*` the full 60,000-digit training set.
TRAIN_PREFIXES = ("train10k", "train")
TEST_PREFIX = "t10k"


def shared_dir() -> Path:
    """The shared read-only data directory: $RTONNX_SHARED, else <repo>/../shared."""
    env = os.environ.get("RTONNX_SHARED")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared"


def default_data_dir() -> Path:
    """Where the gzipped IDX files are looked up unless --data-dir says otherwise."""
    return shared_dir() / "data" / "mnist"


def _open_idx(path: Path):
    if path.exists():
        return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    # Accept an uncompressed copy next to where the .gz would be.
    if path.suffix == ".gz" and path.with_suffix("").exists():
        return open(path.with_suffix(""), "rb")
    raise FileNotFoundError(f"{path} (nor its uncompressed form) does not exist")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) of unsigned bytes into a numpy array."""
    with _open_idx(path) as f:
        head = f.read(4)
        if len(head) != 4 or head[0] != 0 or head[1] != 0:
            raise ValueError(f"{path}: not an IDX file (bad magic {head!r})")
        if head[2] != 0x08:
            raise ValueError(f"{path}: element type 0x{head[2]:02x}, expected 0x08 (uint8)")
        ndim = head[3]
        dims = struct.unpack(f">{ndim}I", f.read(4 * ndim))
        count = int(np.prod(dims)) if dims else 0
        data = f.read()
    if len(data) != count:
        raise ValueError(f"{path}: {len(data)} data bytes, header says {count}")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def load_split(data_dir: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N,28,28] and labels uint8 [N] of one split, e.g. prefix 't10k'."""
    images = read_idx(data_dir / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(data_dir / f"{prefix}-labels-idx1-ubyte.gz")
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{prefix} images have shape {images.shape}, expected [N,28,28]")
    if labels.shape != (images.shape[0],):
        raise ValueError(f"{prefix}: {labels.shape[0]} labels for {images.shape[0]} images")
    if labels.max(initial=0) > 9:
        raise ValueError(f"{prefix}: label {labels.max()} out of range")
    return images, labels


def find_train_prefix(data_dir: Path) -> str:
    """The training split present in data_dir: train10k (project machines) or train (users)."""
    for prefix in TRAIN_PREFIXES:
        if (data_dir / f"{prefix}-images-idx3-ubyte.gz").exists() or (
            data_dir / f"{prefix}-images-idx3-ubyte"
        ).exists():
            return prefix
    raise FileNotFoundError(
        f"no training images in {data_dir}: expected train10k-images-idx3-ubyte.gz "
        "or train-images-idx3-ubyte.gz (see tools/train/README.md)"
    )


def to_input(images_u8: np.ndarray) -> np.ndarray:
    """uint8 [N,28,28] -> float32 [N,1,28,28] in [0,1]: the input of the shipped models."""
    return (images_u8.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)


def augment(
    images: np.ndarray,
    rng: np.random.Generator,
    max_rotate_deg: float,
    max_shift: float,
    max_scale: float,
    chunk: int = 2048,
) -> np.ndarray:
    """Random affine warp of float images [N,28,28] (values in [0,1]).

    Each image gets its own rotation in [-max_rotate_deg, max_rotate_deg] degrees about the
    image centre, scale in [1-max_scale, 1+max_scale], and shift in [-max_shift, max_shift]
    pixels on each axis. Bilinear sampling, zero outside the image. Deterministic for a
    given generator state.
    """
    n = images.shape[0]
    angle = np.deg2rad(rng.uniform(-max_rotate_deg, max_rotate_deg, n))
    scale = rng.uniform(1.0 - max_scale, 1.0 + max_scale, n)
    shift = rng.uniform(-max_shift, max_shift, (n, 2))
    out = np.empty((n, 28, 28), dtype=np.float32)
    centre = 13.5
    yy, xx = np.meshgrid(np.arange(28, dtype=np.float64), np.arange(28, dtype=np.float64), indexing="ij")
    yy = yy.reshape(1, -1) - centre
    xx = xx.reshape(1, -1) - centre
    padded = np.zeros((n, 30, 30), dtype=np.float32)
    padded[:, 1:29, 1:29] = images
    for start in range(0, n, chunk):
        sl = slice(start, min(start + chunk, n))
        cos = (np.cos(angle[sl]) / scale[sl])[:, None]
        sin = (np.sin(angle[sl]) / scale[sl])[:, None]
        dy = yy - shift[sl, 0:1]
        dx = xx - shift[sl, 1:2]
        # Inverse map: output pixel -> source position (rotation by -angle, scale 1/scale).
        sy = cos * dy - sin * dx + centre + 1.0  # +1: coordinates in the padded image
        sx = sin * dy + cos * dx + centre + 1.0
        sy = np.clip(sy, 0.0, 29.0)
        sx = np.clip(sx, 0.0, 29.0)
        y0 = np.minimum(np.floor(sy).astype(np.int64), 28)
        x0 = np.minimum(np.floor(sx).astype(np.int64), 28)
        fy = (sy - y0).astype(np.float32)
        fx = (sx - x0).astype(np.float32)
        img = padded[sl].reshape(sl.stop - sl.start, -1)
        rows = np.arange(sl.stop - sl.start)[:, None]

        def at(yi: np.ndarray, xi: np.ndarray) -> np.ndarray:
            return img[rows, yi * 30 + xi]

        top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
        bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
        out[sl] = (top * (1 - fy) + bottom * fy).reshape(-1, 28, 28)
    return out
