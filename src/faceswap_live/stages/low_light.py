"""Low-light camera boost: brightens a dark camera picture before landmarks and swap.

Cheap steps on the luminance only (colours keep their hue):
1. a gamma curve chosen from the frame's mean luminance, so that the mean moves towards a normal exposure; the gamma
   is smoothed over time (an exponential moving average), so a flickering lamp or auto-exposure does not make the
   picture pulse;
2. optionally (clahe_clip > 0) CLAHE, contrast-limited adaptive histogram equalisation, on the lifted luminance for
   more local contrast. Off by default: it also amplifies sensor noise (BENCHMARKS.md, "Low-light boost").
A picture that is bright enough is left untouched (gamma 1), so the option can stay on.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from faceswap_live.config import LowLightConfig
from faceswap_live.types import BgrImage

MEASURE_WIDTH = 160
"""The mean luminance is taken on a small copy: the same answer for a fraction of the cost."""


class LowLightBoost:
    """Per-stream state (the smoothed gamma). One instance per processing thread."""

    def __init__(self, config: LowLightConfig) -> None:
        self._config = config
        self._gamma = 1.0
        self._clahe = cv2.createCLAHE(clipLimit=config.clahe_clip, tileGridSize=(8, 8))
        self._lut_gamma = 1.0  # the identity table below
        self._lut = np.arange(256, dtype=np.uint8)

    @property
    def gamma(self) -> float:
        """The gamma applied to the last frame (1 = unchanged)."""
        return self._gamma

    def target_gamma(self, mean_luma: float) -> float:
        """The gamma that moves a frame of this mean luminance (0–255) to the target, never darker, at most 1/4."""
        dark_below = self._config.target_luma * 255
        if mean_luma >= dark_below:
            return 1.0
        mean = max(mean_luma, 1.0) / 255
        return max(0.25, math.log(self._config.target_luma) / math.log(mean))

    def apply(self, image_bgr: BgrImage) -> BgrImage:
        """The brightened frame (a new array), or image_bgr itself when it is bright enough."""
        small = cv2.resize(image_bgr, (MEASURE_WIDTH, max(1, image_bgr.shape[0] * MEASURE_WIDTH // image_bgr.shape[1])))
        mean_luma = float(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).mean())
        rate = self._config.smoothing
        self._gamma += rate * (self.target_gamma(mean_luma) - self._gamma)
        if self._gamma > 0.97:
            return image_bgr
        if abs(self._gamma - self._lut_gamma) > 0.005:  # rebuild the 256-entry table only when the gamma moved
            self._lut_gamma = self._gamma
            self._lut = np.clip(255.0 * (np.arange(256) / 255.0) ** self._gamma + 0.5, 0, 255).astype(np.uint8)
        ycrcb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2YCrCb)
        luma = cv2.LUT(ycrcb[..., 0], self._lut)
        ycrcb[..., 0] = self._clahe.apply(luma) if self._config.clahe_clip > 0 else luma
        boosted: BgrImage = cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR).astype(np.uint8, copy=False)
        return boosted
