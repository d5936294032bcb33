"""Measure multi-face swapping on a real clip: is every drawn face on a real face, and does each track keep its person?

Runs the pipeline (built-in engine, every face swapped) over a video and records each face it draws (the region
written and the track it belongs to). Three independent detectors (eval.detectors; none is MediaPipe) find the faces
in each source frame: dlib's HOG frontal detector; OpenCV's Haar cascades (frontal, and profile both ways), which
find turned and bowed heads dlib misses; and, only around a drawn face neither of those confirms, dlib's CNN (MMOD)
detector, which finds faces turned, bowed or half hidden that both miss (too slow on CPU to run on every frame). A
drawn region counts as "on a face" when its box overlaps a detector's full-face box with IoU >= 0.5; the figures are
given for dlib alone, for dlib or Haar, and for any of the three. So that the check is not blind, each drawn box is
also moved down by 1.5 of its height (onto the neck, chest or desk below the face) and, where it stays inside the
frame and off every drawn face, tried as a decoy the same way (dlib, Haar, then the CNN around it when neither
confirms it): a decoy a detector confirms is a false pass.
dlib's ResNet descriptor of the source face under each drawn region tells whether a track switched person: a frame
is a switch when that face is farther than 0.6 from the track's median descriptor. With --targets, people are mapped
to target photos left to right at the first frame, and each output face's distance to every target is measured.
Prints a Markdown summary.

    python scripts/eval_multi_face.py VIDEO TARGET.jpg [--targets A.jpg B.jpg] [--frames N] [--max-faces 4]
        [--misses-dir /tmp/misses]   (source frames with a face no detector confirms: dlib and Haar boxes blue, the
                                      CNN's green, drawn faces red)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from faceswap_live.config import AppConfig, LandmarkConfig, MarkingConfig
from faceswap_live.eval.detectors import CnnFaces, DlibFaces, HaarFaces, confirmed
from faceswap_live.eval.identity import FaceRecogniser, face_distance
from faceswap_live.inputs.target_photo import load_target_face
from faceswap_live.runtime import pipeline as pipeline_module
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.types import Box, Frame

DECOY_SHIFT = 1.5


def decoy(region: Box, width: int, height: int, drawn: list[Box]) -> Box | None:
    """`region` moved down by DECOY_SHIFT of its height, or None when that leaves the frame or touches a drawn face."""
    shift = round(DECOY_SHIFT * region.height)
    moved = Box(region.x0, region.y0 + shift, region.x1, region.y1 + shift)
    if moved.x0 < 0 or moved.x1 > width or moved.y1 > height or any(moved.iou(other) > 0 for other in drawn):
        return None
    return moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--targets", type=Path, nargs="*", default=[])
    parser.add_argument("--frames", type=int, default=100000)
    parser.add_argument("--max-faces", type=int, default=4)
    parser.add_argument("--misses-dir", type=Path, default=None)
    args = parser.parse_args()
    shared = Path(os.environ.get("FACESWAP_LIVE_SHARED", "../shared"))
    model = shared / "models" / "face_landmarker.task"
    recogniser = FaceRecogniser(shared / "models" / "eval")
    try:
        dlib_faces, haar_faces, cnn_faces = DlibFaces(), HaarFaces(), CnnFaces()
    except FileNotFoundError as error:
        sys.exit(str(error))
    if args.misses_dir is not None:
        args.misses_dir.mkdir(parents=True, exist_ok=True)

    config = AppConfig()
    config = dataclasses.replace(
        config,
        landmarks=LandmarkConfig(max_faces=args.max_faces),
        marking=MarkingConfig(label_enabled=False, watermark_enabled=False),
    )
    pipeline = Pipeline(config, model)
    pipeline.set_target(load_target_face(args.target, model))
    targets = [load_target_face(path, model) for path in args.targets]
    target_embeddings = [recogniser.embed(target.image_bgr) for target in targets]
    if targets:
        pipeline.map_faces(targets)

    drawn: list[tuple[int, Box]] = []
    original_blend = pipeline_module.blend_face

    def recording_blend(frame_bgr, swapped, face, settings):  # type: ignore[no-untyped-def]
        drawn.append((face.track_id, swapped.region))
        original_blend(frame_bgr, swapped, face, settings)

    pipeline_module.blend_face = recording_blend  # type: ignore[assignment]
    capture = cv2.VideoCapture(str(args.video))
    frames = drawn_total = off_face = frames_with_off = off_both = frames_with_off_both = 0
    on_haar = on_cnn = off_all = frames_with_off_all = 0
    decoys = decoys_dlib = decoys_haar = decoys_cnn = decoys_cnn_looks = 0
    cnn_seconds: list[float] = []
    best_ious: list[float] = []
    track_embeddings: dict[int, list[np.ndarray]] = {}
    mapped_hits = mapped_total = 0

    def cnn_near(image: np.ndarray, region: Box) -> list[Box]:
        start = time.perf_counter()
        boxes = cnn_faces.near(image, region)
        cnn_seconds.append(time.perf_counter() - start)
        return boxes

    while frames < args.frames:
        ok, image = capture.read()
        if not ok:
            break
        drawn.clear()
        result = pipeline.process(Frame(image, frames, frames / 30.0))
        from_dlib, from_haar = dlib_faces(image), haar_faces(image)
        from_cnn: list[Box] = []
        frame_off = frame_off_both = frame_off_all = False
        regions = [region for _, region in drawn]
        for track_id, region in drawn:
            drawn_total += 1
            iou = max((region.iou(box) for box in from_dlib), default=0.0)
            best_ious.append(iou)
            by_haar = confirmed(region, from_haar)
            on_haar += int(by_haar)
            if not confirmed(region, from_dlib):
                off_face += 1
                frame_off = True
                if by_haar:
                    print(f"frame {frames}: drawn {region} on no dlib face, confirmed by Haar", file=sys.stderr)
                else:
                    off_both += 1
                    frame_off_both = True
                    near = cnn_near(image, region)
                    from_cnn += near
                    if confirmed(region, near):
                        on_cnn += 1
                        print(
                            f"frame {frames}: drawn {region} on no dlib or Haar face, confirmed by the CNN",
                            file=sys.stderr,
                        )
                    else:
                        off_all += 1
                        frame_off_all = True
                        print(f"frame {frames}: drawn {region} on no face of any detector", file=sys.stderr)
            moved = decoy(region, image.shape[1], image.shape[0], regions)
            if moved is not None:
                decoys += 1
                decoys_dlib += int(confirmed(moved, from_dlib))
                decoys_haar += int(confirmed(moved, from_haar))
                if not (confirmed(moved, from_dlib) or confirmed(moved, from_haar)):
                    decoys_cnn_looks += 1
                    if confirmed(moved, cnn_near(image, moved)):
                        decoys_cnn += 1
                        print(f"frame {frames}: decoy {moved} confirmed by the CNN", file=sys.stderr)
            embedding = recogniser.embed(image, near=region)
            if embedding is not None:
                track_embeddings.setdefault(track_id, []).append(embedding)
            target = pipeline.face_targets.get(track_id) if targets else None
            if target is not None and any(target is candidate for candidate in targets):
                output_embedding = recogniser.embed(result.output_bgr, near=region)
                own = next(i for i, candidate in enumerate(targets) if candidate is target)
                if output_embedding is not None and all(e is not None for e in target_embeddings):
                    distances = [face_distance(output_embedding, e) for e in target_embeddings]  # type: ignore[arg-type]
                    mapped_total += 1
                    mapped_hits += int(int(np.argmin(distances)) == own)
        frames_with_off += int(frame_off)
        frames_with_off_both += int(frame_off_both)
        frames_with_off_all += int(frame_off_all)
        if frame_off_all and args.misses_dir is not None:
            marked = image.copy()
            for box in from_dlib + from_haar:
                cv2.rectangle(marked, (box.x0, box.y0), (box.x1, box.y1), (255, 0, 0), 1)
            for box in from_cnn:
                cv2.rectangle(marked, (box.x0, box.y0), (box.x1, box.y1), (0, 255, 0), 1)
            for region in regions:
                cv2.rectangle(marked, (region.x0, region.y0), (region.x1, region.y1), (0, 0, 255), 2)
            cv2.imwrite(str(args.misses_dir / f"frame_{frames:04d}.jpg"), marked)
        frames += 1
    capture.release()
    pipeline.close()

    switches = checked = 0
    for embeddings in track_embeddings.values():
        centre = np.median(np.array(embeddings), axis=0)
        checked += len(embeddings)
        switches += sum(face_distance(embedding, centre) > 0.6 for embedding in embeddings)
    print(f"| clip | {args.video.name}, {frames} frames, up to {args.max_faces} faces |")
    print("|---|---|")
    print(f"| faces drawn | {drawn_total} |")
    print(f"| drawn faces not on a dlib face (IoU < 0.5) | {off_face} ({100 * off_face / max(1, drawn_total):.1f} %) |")
    print(f"| frames with such a face | {frames_with_off} ({100 * frames_with_off / max(1, frames):.1f} %) |")
    print(f"| drawn faces on no face of dlib or Haar | {off_both} ({100 * off_both / max(1, drawn_total):.1f} %) |")
    print(f"| frames with such a face | {frames_with_off_both} ({100 * frames_with_off_both / max(1, frames):.1f} %) |")
    print(
        f"| drawn faces on no face of dlib, Haar or the CNN | {off_all} ({100 * off_all / max(1, drawn_total):.1f} %) |"
    )
    print(f"| frames with such a face | {frames_with_off_all} ({100 * frames_with_off_all / max(1, frames):.1f} %) |")
    print(
        f"| confirmed: dlib / Haar (of all drawn faces) / CNN (of those neither confirms) | "
        f"{drawn_total - off_face} / {on_haar} of {drawn_total} / {on_cnn} of {off_both} |"
    )
    print(
        f"| decoy boxes (drawn box moved down) confirmed: dlib / Haar / CNN (of those neither confirms) | "
        f"{decoys_dlib} / {decoys_haar} of {decoys} / {decoys_cnn} of {decoys_cnn_looks} |"
    )
    if cnn_seconds:
        print(f"| CNN looks, median time | {len(cnn_seconds)}, {statistics.median(cnn_seconds):.2f} s |")
    if best_ious:
        print(f"| median best IoU of a drawn face | {statistics.median(best_ious):.2f} |")
    print(f"| tracks | {len(track_embeddings)} |")
    print(f"| drawn faces whose source face is not the track's person (dlib > 0.6) | {switches} of {checked} |")
    if targets:
        print(f"| mapped faces nearest their own target (dlib) | {mapped_hits} of {mapped_total} |")


if __name__ == "__main__":
    main()
