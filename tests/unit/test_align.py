"""Alignment maths: templates, similarity estimation, and the align → paste-back round trip."""

import cv2
import numpy as np
import pytest

from faceswap_live.stages.align import (
    ARCFACE_112,
    align_face,
    estimate_similarity,
    template_points,
    transform_points,
    umeyama,
)


def test_inswapper_template_is_arcface_shifted_8px_at_128() -> None:
    np.testing.assert_allclose(template_points("inswapper", 128), ARCFACE_112 + [8.0, 0.0])
    np.testing.assert_allclose(template_points("arcface", 224), ARCFACE_112 * 2)


def test_unknown_template_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="arcface"):
        template_points("ffhq", 256)


def test_similarity_recovers_a_known_rotation_scale_and_shift() -> None:
    angle, scale, shift = np.deg2rad(17.0), 1.7, np.array([12.0, -30.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = np.random.default_rng(0).uniform(0, 200, size=(5, 2))
    destination = source @ rotation.T + shift
    matrix = estimate_similarity(source, destination)
    np.testing.assert_allclose(matrix[:, :2], rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-7)


def _dotted_frame(points: np.ndarray, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    frame = np.zeros((*size, 3), dtype=np.uint8)
    for x, y in points:
        cv2.circle(frame, (round(x), round(y)), 3, (255, 255, 255), -1)
    return frame


def _blob_centres(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    count, labels = cv2.connectedComponents((grey > 40).astype(np.uint8))
    centres = []
    for label in range(1, count):
        ys, xs = np.nonzero(labels == label)
        weights = grey[ys, xs]
        centres.append([np.average(xs, weights=weights), np.average(ys, weights=weights)])
    return np.array(sorted(centres, key=lambda point: (point[1] // 20, point[0])))


def test_align_then_paste_back_returns_the_face_where_it_was_within_a_pixel() -> None:
    # A face-like 5-point layout, rotated and scaled in a 640×480 frame.
    keypoints = transform_points(estimate_similarity(ARCFACE_112, ARCFACE_112 * 1.8), ARCFACE_112)
    keypoints = transform_points(
        np.hstack([cv2.getRotationMatrix2D((100, 100), 12.0, 1.0)[:, :2], [[260.0], [140.0]]]), keypoints
    ).astype(np.float32)
    frame = _dotted_frame(keypoints)

    aligned = align_face(frame, keypoints, "inswapper", 128)
    in_crop = _blob_centres(aligned.crop_bgr)
    np.testing.assert_allclose(in_crop, _sorted(template_points("inswapper", 128)), atol=1.0)

    pasted = cv2.warpAffine(aligned.crop_bgr, aligned.frame_from_crop, (640, 480))
    np.testing.assert_allclose(_blob_centres(pasted), _sorted(keypoints), atol=1.0)


def _sorted(points: np.ndarray) -> np.ndarray:
    return np.array(sorted(points.tolist(), key=lambda point: (point[1] // 20, point[0])))


def test_umeyama_recovers_a_3d_similarity_and_never_returns_a_mirror() -> None:
    generator = np.random.default_rng(7)
    source = generator.normal(size=(20, 3))
    axis = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    angle = 0.7
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
    destination = 2.5 * source @ rotation.T + np.array([4.0, -1.0, 3.0])
    scale, fitted_rotation, translation = umeyama(source, destination)
    assert scale == pytest.approx(2.5)
    assert np.allclose(fitted_rotation, rotation) and np.allclose(translation, [4.0, -1.0, 3.0])
    # A mirror image of the points: the best proper rotation, never a reflection.
    _, mirrored_rotation, _ = umeyama(source, source * np.array([1.0, 1.0, -1.0]))
    assert np.linalg.det(mirrored_rotation) == pytest.approx(1.0)
