"""The low-light boost: a dark picture comes out brighter with its colours kept, a normal one untouched, and the
brightening eases in over frames instead of jumping (no flicker)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import AppConfig, LowLightConfig
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.stages.low_light import LowLightBoost
from faceswap_live.types import Frame


def _luma(image: np.ndarray) -> float:
    return float(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean())


@pytest.mark.parametrize("clahe_clip", [0.0, 2.0])
def test_a_dark_picture_is_brightened_and_keeps_its_colours(astronaut_bgr: np.ndarray, clahe_clip: float) -> None:
    dark = (astronaut_bgr.astype(np.float32) * 0.15).astype(np.uint8)
    boost = LowLightBoost(LowLightConfig(enabled=True, smoothing=1.0, clahe_clip=clahe_clip))
    bright = boost.apply(dark)
    assert _luma(bright) > 2.5 * _luma(dark)
    # Hue survives: the astronaut's red and blue areas stay red-dominant and blue-dominant.
    means_dark = dark.reshape(-1, 3).mean(axis=0)
    means_bright = bright.reshape(-1, 3).mean(axis=0)
    assert np.argmax(means_dark) == np.argmax(means_bright)


def test_a_well_lit_picture_is_left_alone(astronaut_bgr: np.ndarray) -> None:
    boost = LowLightBoost(LowLightConfig(enabled=True))
    for _ in range(20):
        assert boost.apply(astronaut_bgr) is astronaut_bgr


def test_the_boost_eases_in_and_holds_steady(astronaut_bgr: np.ndarray) -> None:
    dark = (astronaut_bgr.astype(np.float32) * 0.15).astype(np.uint8)
    boost = LowLightBoost(LowLightConfig(enabled=True, smoothing=0.15))
    lumas = [_luma(boost.apply(dark)) for _ in range(60)]
    steps = np.diff(lumas)
    assert lumas[0] < lumas[-1] and (steps >= -0.5).all()  # rises towards the target, never pumps back down
    assert steps[:5].max() < lumas[-1] - _luma(dark)  # no single jump to the full boost
    assert abs(lumas[-1] - lumas[-2]) < 0.5  # settled: a still picture stays still


def test_the_pipeline_brightens_before_finding_the_face_when_asked(
    astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    dark = (astronaut_bgr.astype(np.float32) * 0.15).astype(np.uint8)
    results = {}
    for enabled in (False, True):
        config = AppConfig(low_light=LowLightConfig(enabled=enabled, smoothing=1.0))
        pipeline = Pipeline(config, landmark_model_path)
        try:
            results[enabled] = pipeline.process(Frame(image_bgr=dark, index=0, captured_at_s=time.perf_counter()))
        finally:
            pipeline.close()
    assert "low_light" in results[True].stage_ms and "low_light" not in results[False].stage_ms
    assert _luma(results[True].output_bgr) > 2 * _luma(results[False].output_bgr)
    assert results[True].faces  # the face is found in the brightened picture
