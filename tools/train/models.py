"""The two example models and their training recipes (Keras 3, channels_last).

Imported by train.py after the backend and thread settings are in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers


@dataclass(frozen=True)
class Recipe:
    """How one model is trained."""

    epochs: int
    batch_size: int
    learning_rate: float  # peak of a linear warm-up then cosine decay to ~0
    warmup_epochs: int
    weight_decay: float  # AdamW, decoupled
    label_smoothing: float
    rotate_deg: float  # augmentation: +- rotation in degrees
    shift_px: float  # +- shift in pixels on each axis
    scale: float  # +- relative zoom


def build_sm() -> keras.Model:
    """The seed's mnist-sm architecture exactly: 504 parameters.

    Conv 3x3x2 same + Relu, MaxPool 2, Dropout, Conv 3x3x2 same + Relu, MaxPool 2, Dropout,
    Flatten (7*7*2 = 98), Dense 4 (linear, as in the seed), Dense 10 + Softmax.
    """
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="input"),
            layers.Conv2D(2, 3, padding="same", activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Dropout(0.02, name="dropout1"),
            layers.Conv2D(2, 3, padding="same", activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Dropout(0.02, name="dropout2"),
            layers.Flatten(name="flatten"),
            layers.Dense(4, name="dense1"),
            layers.Dense(10, activation="softmax", name="dense2"),
        ],
        name="mnist_sm",
    )


def _conv_bn_relu(filters: int, name: str) -> list[layers.Layer]:
    return [
        layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}"),
        layers.BatchNormalization(momentum=0.9, epsilon=1e-3, name=f"{name}_bn"),
        layers.ReLU(name=f"{name}_relu"),
    ]


def build_cnn() -> keras.Model:
    """A small VGG-style CNN for an STM32F407 with weights and arena in 64 KB of RAM.

    28x28x1 -> conv 8 -> pool -> 14x14 conv 16 -> pool -> 7x7 conv 24 -> conv 24 -> pool
    (3x3x24 = 216) -> Dense 10 + Softmax. BatchNormalization after each convolution (folded
    into the Conv by rtonnx at load time).
    """
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="input"),
            *_conv_bn_relu(8, "conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            *_conv_bn_relu(16, "conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            *_conv_bn_relu(24, "conv3"),
            *_conv_bn_relu(24, "conv4"),
            layers.MaxPooling2D(2, name="pool3"),
            layers.Flatten(name="flatten"),
            layers.Dropout(0.2, name="dropout"),
            layers.Dense(10, activation="softmax", name="dense"),
        ],
        name="mnist_cnn",
    )


MODELS = {
    "sm": (
        build_sm,
        Recipe(
            epochs=60,
            batch_size=32,
            learning_rate=0.01,
            warmup_epochs=2,
            weight_decay=0.0,
            label_smoothing=0.0,
            rotate_deg=6.0,
            shift_px=1.0,
            scale=0.05,
        ),
    ),
    "cnn": (
        build_cnn,
        Recipe(
            epochs=40,
            batch_size=64,
            learning_rate=0.004,
            warmup_epochs=2,
            weight_decay=1e-4,
            label_smoothing=0.05,
            rotate_deg=12.0,
            shift_px=2.5,
            scale=0.12,
        ),
    ),
}
