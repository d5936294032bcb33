"""The real MediaPipe model on real faces: landmarks on the face, keypoints agreeing with an independent detector,
stable tracks, and smoothing that removes jitter without lagging a moving head."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import LandmarkConfig, SmoothingConfig
from faceswap_live.eval.detectors import DlibFaces, HaarFaces, confirmed
from faceswap_live.offline import read_video_frames
from faceswap_live.stages.align import keypoints_from_mesh
from faceswap_live.stages.face_tracking import FaceDetection, MeshTracker
from faceswap_live.stages.landmarks import (
    CROWDED_FRAMES,
    UNSMOOTHED_RETRY_MS,
    DetectedFace,
    FaceLandmarkDetector,
)
from faceswap_live.stages.smoothing import POSE_POINTS, FaceTracker
from faceswap_live.types import Box


def _first_frame(path: Path, index: int = 0) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = capture.read()
    capture.release()
    assert ok
    return frame


def test_mesh_lands_on_the_face_in_anatomical_order(landmark_model_path: Path, hopper_bgr: np.ndarray) -> None:
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(), mode="image") as detector:
        faces = detector.detect(hopper_bgr)
    assert len(faces) == 1
    points = faces[0].points_px
    assert points.shape == (478, 3)
    # Hopper's face sits in the upper middle of the 512×600 portrait (hat above, uniform below).
    x_min, y_min = points[:, :2].min(axis=0)
    x_max, y_max = points[:, :2].max(axis=0)
    assert 120 < x_min < x_max < 400 and 100 < y_min < y_max < 380
    right_eye, left_eye, nose, mouth_right, mouth_left = keypoints_from_mesh(points)  # the person's right, left
    assert right_eye[0] < left_eye[0] and mouth_right[0] < mouth_left[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(mouth_right[1], mouth_left[1])


def test_keypoints_agree_with_dlibs_independent_eye_and_nose_points(
    landmark_model_path: Path, shared_dir: Path, faces_dir: Path
) -> None:
    dlib = pytest.importorskip("dlib")
    predictor = dlib.shape_predictor(str(shared_dir / "models" / "eval" / "shape_predictor_5_face_landmarks.dat"))
    finder = dlib.get_frontal_face_detector()
    checked = 0
    for portrait in sorted((faces_dir / "portraits").glob("p0*_1.jpg"))[:5]:
        image = cv2.imread(str(portrait))
        scale = 800 / max(image.shape[:2])
        image = cv2.resize(image, None, fx=scale, fy=scale) if scale < 1 else image
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        boxes = finder(rgb, 1)
        if len(boxes) != 1:
            continue
        shape = predictor(rgb, boxes[0])
        dlib_points = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=np.float64)
        # dlib 5-point: 0,1 = one eye's corners, 2,3 = the other's, 4 = under the nose.
        dlib_eyes = sorted([dlib_points[0:2].mean(axis=0), dlib_points[2:4].mean(axis=0)], key=lambda p: p[0])
        with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(), mode="image") as detector:
            faces = detector.detect(image)
        assert faces, f"no face found in {portrait.name}"
        keypoints = keypoints_from_mesh(faces[0].points_px)
        eye_distance = np.linalg.norm(keypoints[1] - keypoints[0])
        assert np.linalg.norm(keypoints[0] - dlib_eyes[0]) < 0.12 * eye_distance, portrait.name
        assert np.linalg.norm(keypoints[1] - dlib_eyes[1]) < 0.12 * eye_distance, portrait.name
        assert np.linalg.norm(keypoints[2] - dlib_points[4]) < 0.3 * eye_distance, portrait.name
        checked += 1
    assert checked >= 3


def test_one_person_keeps_one_track_through_a_real_clip(landmark_model_path: Path, faces_dir: Path) -> None:
    capture = cv2.VideoCapture(str(faces_dir / "videos" / "v10_p47.mp4"))
    tracker = FaceTracker(SmoothingConfig())
    track_ids = set()
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(max_faces=2), mode="video") as detector:
        for index in range(90):
            ok, frame = capture.read()
            assert ok
            faces = tracker.update(detector.detect(frame, index * 33), index / 30)
            assert len(faces) == 1
            track_ids.add(faces[0].track_id)
    capture.release()
    assert len(track_ids) == 1


def test_a_face_briefly_gone_keeps_its_track(landmark_model_path: Path, faces_dir: Path) -> None:
    frame = _first_frame(faces_dir / "videos" / "v10_p47.mp4")
    blank = np.full_like(frame, 90)
    tracker = FaceTracker(SmoothingConfig())
    sequence = [frame] * 5 + [blank] * 6 + [frame] * 5
    ids = []
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(), mode="video") as detector:
        for index, image in enumerate(sequence):
            faces = tracker.update(detector.detect(image, index * 33), index / 30)
            ids.append(faces[0].track_id if faces else None)
    assert ids[:5] == [ids[0]] * 5 and ids[5:11] == [None] * 6
    # A fifth of a second away (an occlusion) and back in the same place: the same person, the same track.
    assert ids[11:] == [ids[0]] * 5


def _lid_gap(points: np.ndarray) -> float:
    """Both eyes' lid gaps (upper to lower lid centre) over their widths."""
    gaps = np.linalg.norm(points[159] - points[145]) + np.linalg.norm(points[386] - points[374])
    return float(gaps / (np.linalg.norm(points[33] - points[133]) + np.linalg.norm(points[362] - points[263])))


def test_a_reopened_eye_is_open_in_the_landmarks_of_the_frame_it_opens(
    landmark_model_path: Path, faces_dir: Path
) -> None:
    """v08 blinks at frame 50 and has its eyes wide open again at 51. MediaPipe's own smoothing of a single face in
    video mode read frame 51 at half its lid gap (0.23 against 0.43), so the swap drew a half-shut lid over an open
    eye, with the user's own eye showing through; the app's landmarks now follow the frame."""
    frames, _ = read_video_frames(faces_dir / "videos" / "v08_p45.mp4", 53)
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(), mode="video") as detector:
        streamed = [
            _lid_gap(detector.detect(frame, index * 33)[0].points_px[:, :2]) for index, frame in enumerate(frames)
        ]
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(), mode="image") as detector:
        alone = [_lid_gap(detector.detect(frames[index])[0].points_px[:, :2]) for index in (49, 50, 51, 52)]
    assert streamed[50] < 0.4 * streamed[49]  # the blink itself is seen
    assert streamed[51] > 0.85 * alone[2], (streamed[49:53], alone)
    assert streamed[52] > 0.85 * alone[3], (streamed[49:53], alone)


def test_one_face_is_followed_by_the_landmark_model_alone_where_mediapipe_would_find_it(
    landmark_model_path: Path, faces_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v07 turns her head, squints and frowns. Once found (the face detector looks on the first frame only), the face
    is followed by the bundle's landmark and blendshape models alone: its points lie within about a pixel of those of
    MediaPipe's graph (a whole search a frame) on every frame and its scores read the same."""
    frames, fps = read_video_frames(faces_dir / "videos" / "v07_p44.mp4", 90)
    searched: list[DetectedFace] = []
    followed: list[DetectedFace] = []
    for direct, found in ((False, searched), (True, followed)):
        with FaceLandmarkDetector(
            landmark_model_path, LandmarkConfig(), mode="video", with_blendshapes=True, direct_tracking=direct
        ) as detector:
            assert detector.follows_directly is direct
            looks = _count_looks(detector, monkeypatch) if direct else []
            for index, frame in enumerate(frames):
                faces = detector.detect(frame, round(index * 1000 / fps))
                assert len(faces) == 1
                found.append(faces[0])
        assert len(looks) == (1 if direct else 0)
    width = np.median([np.ptp(face.points_px[:, 0]) for face in searched])
    apart = np.array(
        [
            np.linalg.norm(a.points_px[:, :2] - b.points_px[:, :2], axis=1).mean()
            for a, b in zip(searched, followed, strict=True)
        ]
    )
    assert np.median(apart) < 0.01 * width and apart.max() < 0.02 * width, (np.median(apart), apart.max(), width)
    for key in ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "browDownLeft", "browInnerUp", "mouthSmileLeft"):
        graph = np.array([face.blendshapes[key] for face in searched])
        alone = np.array([face.blendshapes[key] for face in followed])
        assert abs(alone.mean() - graph.mean()) < 0.1, key
        if graph.std() > 0.05:
            assert np.corrcoef(graph, alone)[0, 1] > 0.8, key


def _count_looks(detector: FaceLandmarkDetector, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time the face detector looks at a whole frame for faces (`detector` follows
    faces directly)."""
    tracker = detector._tracker
    assert tracker is not None
    looks: list[int] = []
    look = tracker.detect

    def counted(image_bgr: np.ndarray, min_score: float) -> list[FaceDetection]:
        looks.append(1)
        return look(image_bgr, min_score)

    monkeypatch.setattr(tracker, "detect", counted)
    return looks


def test_several_faces_are_found_and_followed_without_mediapipes_graph(
    landmark_model_path: Path, faces_dir: Path
) -> None:
    """Every face in view (v04: three people, the two at the back small): the bundle's face detector finds the faces
    and the landmark model alone follows them; MediaPipe's graph never runs. Every face found that way is on a face
    that independent detectors (dlib, OpenCV's Haar cascades) find, and as many of their faces are found as by the
    graph searching every frame (both miss some of the small faces at the back: its face detector does)."""
    frames, fps = read_video_frames(faces_dir / "videos" / "v04_multi.avi", 120)
    judged = range(10, len(frames), 10)
    dlib_faces, haar_faces = DlibFaces(), HaarFaces()
    truth = {index: dlib_faces(frames[index]) for index in judged}
    found_truth: dict[bool, int] = {}
    for direct in (False, True):
        with FaceLandmarkDetector(
            landmark_model_path, LandmarkConfig(max_faces=3), with_blendshapes=True, direct_tracking=direct
        ) as detector:
            assert detector.follows_directly is direct
            found = [detector.detect(frame, round(index * 1000 / fps)) for index, frame in enumerate(frames)]
        if direct:
            assert all(face.blendshapes for faces in found for face in faces)
            for index in judged:
                boxes = truth[index] + haar_faces(frames[index])
                for face in found[index]:
                    assert confirmed(Box.around(face.points_px), boxes), (index, Box.around(face.points_px))
        found_truth[direct] = sum(
            any(face.iou(Box.around(mine.points_px)) >= 0.5 for mine in found[index])
            for index in judged
            for face in truth[index]
        )
    assert found_truth[True] >= found_truth[False] - 1, found_truth
    assert found_truth[True] >= 0.7 * sum(len(faces) for faces in truth.values()), found_truth


def test_the_face_detector_run_alone_finds_the_faces_mediapipes_graph_finds(
    landmark_model_path: Path, faces_dir: Path, hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray
) -> None:
    """MediaPipe's search, redone with the bundle's own models (face detector, then the landmark model on a crop framed
    from its box): the same faces, each face's points within a fraction of a pixel of the graph's, the same scores."""
    frames, _ = read_video_frames(faces_dir / "videos" / "v04_multi.avi", 61)
    tracker = MeshTracker(landmark_model_path, with_blendshapes=True)
    with FaceLandmarkDetector(
        landmark_model_path, LandmarkConfig(max_faces=4), mode="image", with_blendshapes=True
    ) as graph:
        for image in (hopper_bgr, astronaut_bgr, frames[10], frames[60]):
            searched = graph.detect(image)
            started = [tracker.start(image, detection, 0.5) for detection in tracker.detect(image, 0.5)]
            found = [face for face in started if face is not None]
            assert len(found) == len(searched) >= 1
            for face in searched:
                points, scores = min(found, key=lambda other: float(np.abs(other[0] - face.points_px).mean()))
                apart = np.linalg.norm(points[:, :2] - face.points_px[:, :2], axis=1).mean()
                assert apart < 0.002 * np.ptp(face.points_px[:, 0]), apart
                assert max(abs(scores[key] - value) for key, value in face.blendshapes.items()) < 0.02
    assert tracker.detect(np.full_like(frames[0], 128), 0.5) == []  # no face: nothing found


def test_one_face_asked_for_is_the_largest_in_view(landmark_model_path: Path, faces_dir: Path) -> None:
    frames, _ = read_video_frames(faces_dir / "videos" / "v04_multi.avi", 1)
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(max_faces=3), mode="video") as detector:
        everyone = detector.detect(frames[0], 0)
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(max_faces=1), mode="video") as detector:
        one = detector.detect(frames[0], 0)
    assert len(everyone) >= 2 and len(one) == 1
    assert np.abs(one[0].points_px - everyone[0].points_px).max() < 2.0


def test_with_another_face_in_view_only_the_wanted_face_is_searched(landmark_model_path: Path, faces_dir: Path) -> None:
    """Unsmoothed, MediaPipe searches a second face too (a whole landmark search each frame, a poster's face
    included); once another face has stayed in view for CROWDED_FRAMES, the detector asks for one face (smoothed),
    and looks for a single face again UNSMOOTHED_RETRY_MS later."""
    crowd, _ = read_video_frames(faces_dir / "videos" / "v04_multi.avi", CROWDED_FRAMES + 1)
    alone, _ = read_video_frames(faces_dir / "videos" / "v10_p47.mp4", 3)
    with FaceLandmarkDetector(
        landmark_model_path, LandmarkConfig(max_faces=1), mode="video", direct_tracking=False
    ) as detector:
        assert detector.unsmoothed
        for index, frame in enumerate(crowd):
            assert len(detector.detect(frame, index * 33)) == 1
        assert not detector.unsmoothed
        later = len(crowd) * 33 + UNSMOOTHED_RETRY_MS
        found = [len(detector.detect(frame, later + index * 33)) for index, frame in enumerate(alone)]
        assert detector.unsmoothed and found[-1] == 1
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(max_faces=2), mode="video") as detector:
        assert not detector.unsmoothed  # MediaPipe never smooths two faces


def test_one_face_asked_for_stays_the_same_person_beside_another_alike(
    landmark_model_path: Path, faces_dir: Path
) -> None:
    """Two copies of one face side by side, each in turn a little larger: the face found is always the left one
    (the one found first), not whichever is larger in that frame."""
    frame = read_video_frames(faces_dir / "videos" / "v10_p47.mp4", 1)[0][0]
    height, width = frame.shape[:2]

    def pair(left_larger: bool) -> np.ndarray:
        halves = []
        for larger in (left_larger, not left_larger):
            scale = 1.06 if larger else 1.0
            zoom = cv2.getRotationMatrix2D((width / 2, height / 2), 0.0, scale)
            halves.append(cv2.warpAffine(frame, zoom, (width, height), borderMode=cv2.BORDER_REPLICATE))
        return np.hstack(halves)

    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(max_faces=1), mode="video") as detector:
        sides = []
        for index in range(8):
            faces = detector.detect(pair(left_larger=index % 2 == 0), index * 33)
            assert len(faces) == 1
            sides.append("left" if faces[0].points_px[:, 0].mean() < width else "right")
    assert sides == ["left"] * 8, sides


def test_the_face_followed_stays_the_same_person_when_another_crowds_in(
    landmark_model_path: Path, faces_dir: Path
) -> None:
    """v04: the smaller of two people is alone in view at first (the other blanked out), then both are. Searched
    alone and then with the other in view, and on past the switch to one smoothed face (a new landmarker, whose
    detector would take the face it likes best), the face found stays the first person."""
    frames, _ = read_video_frames(faces_dir / "videos" / "v04_multi.avi", CROWDED_FRAMES + 8)
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(max_faces=3), mode="video") as everyone:
        people = everyone.detect(frames[0], 0)
    assert len(people) >= 2
    smaller, larger = people[-1].points_px[:, :2], people[0].points_px[:, :2]
    box = Box.around(larger).expanded(1.3).clipped(frames[0].shape[1], frames[0].shape[0])
    alone = frames[0].copy()
    alone[box.y0 : box.y1, box.x0 : box.x1] = 128
    sequence = [alone] * 3 + frames
    for direct in (False, True):
        with FaceLandmarkDetector(
            landmark_model_path, LandmarkConfig(max_faces=1), mode="video", direct_tracking=direct
        ) as detector:
            found = [detector.detect(frame, index * 33) for index, frame in enumerate(sequence)]
            # The graph alone switches to one smoothed face; followed directly, the other face is never searched.
            assert detector.follows_directly if direct else not detector.unsmoothed
        centres = [faces[0].points_px[:, :2].mean(axis=0) for faces in found if faces]
        assert len(centres) == len(sequence)
        followed = smaller.mean(axis=0)
        other = larger.mean(axis=0)
        for centre in centres:
            assert np.linalg.norm(centre - followed) < np.linalg.norm(centre - other)


def test_a_landmarker_that_cannot_be_made_again_leaves_the_running_one_searching(
    landmark_model_path: Path, faces_dir: Path, tmp_path: Path
) -> None:
    """The model file removed while the app runs (a cleaned cache): switching to one face needs a new landmarker,
    which cannot be made; the detector keeps finding faces with the one it has."""
    crowd, _ = read_video_frames(faces_dir / "videos" / "v04_multi.avi", CROWDED_FRAMES + 3)
    model_copy = tmp_path / "face_landmarker.task"
    model_copy.write_bytes(landmark_model_path.read_bytes())
    with FaceLandmarkDetector(model_copy, LandmarkConfig(max_faces=1), mode="video", direct_tracking=False) as detector:
        model_copy.unlink()
        found = [len(detector.detect(frame, index * 33)) for index, frame in enumerate(crowd)]
        assert found == [1] * len(crowd)
        assert detector.unsmoothed


def _mouth_opening(meshes: np.ndarray) -> np.ndarray:
    """Inner-lip gap (points 13, 14) per frame, in face heights."""
    return np.linalg.norm(meshes[:, 13] - meshes[:, 14], axis=1) / np.ptp(meshes[:, :, 1], axis=1)


def _detect(landmark_model_path: Path, frames: list[np.ndarray]) -> list[list[DetectedFace]]:
    """The detector's faces in each frame of a clip, as the app's video mode sees them (before tracking)."""
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(), mode="video") as detector:
        return [detector.detect(image, index * 33) for index, image in enumerate(frames)]


def _tracks(detections: list[list[DetectedFace]], smoothing: SmoothingConfig) -> np.ndarray:
    """The first face's mesh (x, y) per frame after the tracker, smoothed or not. The same detections feed both."""
    tracker = FaceTracker(smoothing)
    positions = []
    for index, faces_found in enumerate(detections):
        faces = tracker.update(faces_found, index / 30)
        positions.append(faces[0].points_px[:, :2].copy())
    return np.array(positions)


def _raw_and_smooth(landmark_model_path: Path, frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    detections = _detect(landmark_model_path, frames)
    return _tracks(detections, SmoothingConfig(enabled=False)), _tracks(detections, SmoothingConfig())


def test_smoothing_steadies_the_head_and_lets_the_mouth_keep_up(landmark_model_path: Path, faces_dir: Path) -> None:
    # A real webcam clip (slow head turns): jitter is the frame-to-frame acceleration of the head's stable points.
    capture = cv2.VideoCapture(str(faces_dir / "videos" / "v01_p39.avi"))
    webcam = [capture.read()[1] for _ in range(90)]
    capture.release()
    stable = list(POSE_POINTS)
    raw, smooth = (track[:, stable] for track in _raw_and_smooth(landmark_model_path, webcam))
    raw_jitter = np.linalg.norm(np.diff(raw, n=2, axis=0), axis=2).mean()
    smooth_jitter = np.linalg.norm(np.diff(smooth, n=2, axis=0), axis=2).mean()
    assert smooth_jitter < raw_jitter / 2, (raw_jitter, smooth_jitter)

    # Continuous speech: the smoothed mouth opening follows the detected one closely and without a frame of lag.
    capture = cv2.VideoCapture(str(faces_dir / "videos" / "v16_p01.mp4"))
    talking = [capture.read()[1] for _ in range(120)]
    capture.release()
    raw_mouth, smooth_mouth = (_mouth_opening(track) for track in _raw_and_smooth(landmark_model_path, talking))
    assert np.corrcoef(raw_mouth, smooth_mouth)[0, 1] > 0.9
    lagged = np.corrcoef(raw_mouth[:-1], smooth_mouth[1:])[0, 1]
    assert np.corrcoef(raw_mouth, smooth_mouth)[0, 1] >= lagged  # best aligned with no delay

    still = webcam[30]
    # Moving head: the face slides 6 px per frame; the smoothed mesh may trail by at most two frames of motion.
    step_px = 6.0
    moving = [
        cv2.warpAffine(
            still,
            np.float32([[1, 0, step_px * i - 90], [0, 1, 0]]),
            still.shape[1::-1],
            borderMode=cv2.BORDER_REPLICATE,
        )
        for i in range(30)
    ]
    raw, smooth = _raw_and_smooth(landmark_model_path, moving)
    lag_frames = (raw[10:, :, 0] - smooth[10:, :, 0]).mean() / step_px
    assert lag_frames < 2.0, lag_frames


def test_a_worker_closing_its_landmarker_as_the_app_exits_prints_no_traceback(landmark_model_path: Path) -> None:
    """Closing the app while the processing thread is still busy (a slow machine): the thread closes its landmarker
    after Python has begun to exit and shut the executors MediaPipe closes through, which printed a traceback."""
    script = f"""
import threading, time
from pathlib import Path
from faceswap_live.config import LandmarkConfig
from faceswap_live.stages.landmarks import FaceLandmarkDetector

detector = FaceLandmarkDetector(Path({str(landmark_model_path)!r}), LandmarkConfig(max_faces=1))

def worker():
    while threading.main_thread().is_alive():  # the app's window has closed once the main thread ends
        time.sleep(0.01)
    time.sleep(0.3)  # still finishing a frame while the interpreter shuts its executors down
    detector.close()
    print("closed", flush=True)

threading.Thread(target=worker).start()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "closed" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr


def test_after_a_cut_to_another_shot_the_new_face_is_found_at_once(landmark_model_path: Path, faces_dir: Path) -> None:
    """A video cut from v10 to v01 (another person, elsewhere in the picture, smaller): the face followed is lost
    on the first frame of the new shot, and the full search finds the new face there, where the graph alone does."""
    first, _ = read_video_frames(faces_dir / "videos" / "v10_p47.mp4", 3)
    second, _ = read_video_frames(faces_dir / "videos" / "v01_p39.avi", 3)
    height, width = first[0].shape[:2]
    sequence = first + [cv2.resize(frame, (width, height)) for frame in second]
    boxes = {}
    for direct in (False, True):
        with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(), direct_tracking=direct) as detector:
            found = [detector.detect(frame, index * 33) for index, frame in enumerate(sequence)]
        assert [len(faces) for faces in found] == [1] * len(sequence)
        boxes[direct] = [Box.around(faces[0].points_px) for faces in found]
    cut = len(first)
    graph, followed = boxes[False][cut], boxes[True][cut]
    assert max(abs(graph.x0 - followed.x0), abs(graph.y0 - followed.y0), abs(graph.x1 - followed.x1)) <= 2
    assert abs(graph.y1 - followed.y1) <= 2 and followed.width < 0.7 * boxes[True][cut - 1].width


def test_without_the_litert_runtime_faces_are_still_found_by_mediapipe_alone(
    landmark_model_path: Path, faces_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Where LiteRT has no wheel (Linux on ARM) its import fails: the detector says so once and searches every frame
    with MediaPipe's graph, as before."""
    import builtins

    real_import = builtins.__import__

    def without_litert(name: str, *arguments: object, **keywords: object) -> object:
        if name.startswith("ai_edge_litert"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *arguments, **keywords)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", without_litert)
    frames, _ = read_video_frames(faces_dir / "videos" / "v10_p47.mp4", 5)
    with caplog.at_level("WARNING"), FaceLandmarkDetector(landmark_model_path, LandmarkConfig()) as detector:
        assert [len(detector.detect(frame, index * 33)) for index, frame in enumerate(frames)] == [1] * 5
    assert "searched in every frame" in caplog.text
