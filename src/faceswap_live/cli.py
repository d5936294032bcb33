"""Command line: the GUI (default), headless swap of files, benchmarks and model management.

The only place that exits the process: every command returns an exit code to main().
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from faceswap_live import __version__
from faceswap_live.config import AppConfig, OnnxConfig, apply_environment, load_config, replace
from faceswap_live.engines.registry import BUILT_IN_ENGINE, ENGINE_NAMES
from faceswap_live.errors import FaceswapError, TargetFaceError

if TYPE_CHECKING:
    from faceswap_live.models.store import ModelStore
    from faceswap_live.types import TargetFace

logger = logging.getLogger("faceswap_live")

CONSENT_FLAG = "--consent"
NO_LABEL_FLAG = "--no-ai-label-i-understand"
CONSENT_HELP = (
    "confirm that you have the right to use the target person's face (their permission, or it is your own face)"
)


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="settings file (default: the user settings file)")
    parser.add_argument(
        "--engine", choices=ENGINE_NAMES, help=f"swap engine (default from settings: {BUILT_IN_ENGINE})"
    )
    neural = parser.add_argument_group("neural engine (--engine onnx)")
    neural.add_argument("--onnx-model", type=Path, help="your own inswapper-format .onnx file instead of inswapper_128")
    neural.add_argument(
        "--recogniser-model",
        type=Path,
        help="your own ArcFace-format recogniser .onnx ([N,3,112,112] → [N,512]) instead of arcface_w600k_r50",
    )
    neural.add_argument("--provider", choices=["auto", "cuda", "tensorrt", "cpu"], help="where the model runs")
    neural.add_argument("--fp16", action="store_true", help="use the float16 model (checked against float32 first)")
    mix = parser.add_argument_group("identity mix (both engines; the built-in engine morphs the photos' faces)")
    mix.add_argument("--target-weight", type=float, help="weight of the target face in an identity mix (default 1)")
    mix.add_argument(
        "--mix",
        action="append",
        default=[],
        metavar="PHOTO[:WEIGHT]",
        help="blend in another identity (a photo; with --engine onnx also a folder of photos of one person); "
        "repeatable",
    )
    mix.add_argument(
        "--random-identity",
        metavar="SEED[:WEIGHT]",
        help="blend in a random identity that is no real person's face; the same seed gives the same face (the "
        "built-in engine mixes it from the consented faces in the gallery, or from the photos given)",
    )
    parser.add_argument(
        NO_LABEL_FLAG,
        action="store_true",
        help="leave the visible 'AI-modified' label off the output (the invisible watermark stays); only do this "
        "where viewers already know the picture is synthetic",
    )


def _add_faces_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--faces",
        type=int,
        metavar="N",
        help="swap every face in view, up to N (1 = the largest face only; default from settings: 1)",
    )


def _add_target_arguments(parser: argparse.ArgumentParser, required: bool = True, several: bool = True) -> None:
    """several: the command has --map-faces, so --target may be repeated."""
    parser.add_argument(
        "--target",
        type=Path,
        action="append",
        required=required,
        help="photo of the face to put on (JPEG/PNG/WebP)"
        + ("; repeat it with --map-faces to give each person their own" if several else ""),
    )
    parser.add_argument("--face-index", type=int, help="which face in the target photo, 1 = largest (default)")
    parser.add_argument(
        "--more-photos",
        type=Path,
        nargs="+",
        action="extend",
        metavar="PHOTO",
        help="other photos of the same person as --target (smiling, laughing, brows raised): the built-in engine "
        "keeps --target's face shape and draws, each frame, the photo whose expression is nearest yours",
    )
    parser.add_argument(CONSENT_FLAG, action="store_true", help=CONSENT_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceswap-live",
        description="Real-time face swap for webcams, with a virtual camera. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"faceswap-live {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = commands.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("--config", type=Path, help="settings file (default: the user settings file)")
    gui.add_argument(
        "--input", metavar="CAMERA_OR_FILE", help="camera (0, /dev/video2) or video file, for this run only"
    )
    gui.add_argument(
        "--quit-after-frames",
        type=int,
        default=0,
        metavar="N",
        help="close once N processed frames were shown (checks)",
    )

    swap = commands.add_parser("swap", help="swap a face into a video or photo file")
    _add_target_arguments(swap)
    swap.add_argument("--input", type=Path, required=True, help="video (MP4, AVI, MOV, …) or photo to process")
    swap.add_argument("--output", type=Path, required=True, help="where to write the result (.mp4 or an image type)")
    swap.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    swap.add_argument(
        "--map-faces",
        choices=["left-to-right"],
        help="give each person their own face: the people in the first frame with faces get the --target photos "
        "in order from left to right (repeat --target); others keep their own faces. Each person keeps their "
        "face as they move, and again when they leave and come back",
    )
    _add_faces_argument(swap)
    _add_config_arguments(swap)

    bench = commands.add_parser("bench", help="measure per-stage speed, fps and latency on a video")
    bench.add_argument("--input", type=Path, required=True, help="video file to measure on")
    _add_target_arguments(bench, required=False, several=False)
    bench.add_argument("--frames", type=int, default=300, help="frames for the offline pass (default 300)")
    bench.add_argument("--live-seconds", type=float, default=10.0, help="length of the paced live pass (0 = skip)")
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_faces_argument(bench)
    _add_config_arguments(bench)

    live = commands.add_parser("live", help="swap the camera live into a virtual camera, stream or recording (no GUI)")
    live_source = live.add_mutually_exclusive_group()
    live_source.add_argument("--camera", default="0", help="camera index or device path (default 0)")
    live_source.add_argument("--input", type=Path, help="a video file to use in place of a camera (loops)")
    _add_target_arguments(live, several=False)
    live.add_argument("--virtual-camera", action="store_true", help="send the output to a virtual camera")
    live.add_argument("--virtual-camera-backend", help="v4l2loopback, obs or unitycapture (default: automatic)")
    live.add_argument("--virtual-camera-device", help="e.g. /dev/video10 (default: the first free one)")
    live.add_argument("--stream", action="store_true", help="serve an MJPEG stream for OBS or a browser")
    live.add_argument("--host", help="stream address (default 127.0.0.1; anything else is visible to the network)")
    live.add_argument("--port", type=int, help="stream port (default 8765; 0 = any free port)")
    live.add_argument("--record", type=Path, metavar="FILE", help="record the output to an MP4 file")
    live.add_argument(
        "--record-audio",
        metavar="DEVICE",
        help='record this microphone too: Linux "default" or "hw:1" (arecord -L), macOS ":0", Windows "Microphone (…)"',
    )
    live.add_argument("--overwrite", action="store_true", help="replace the recording file if it exists")
    live.add_argument("--duration", type=float, metavar="SECONDS", help="stop by itself after this many seconds")
    live.add_argument(
        "--report-every",
        type=float,
        metavar="SECONDS",
        default=5.0,
        help="print the latency line this often (default 5)",
    )
    live.add_argument("--width", type=int, help="capture and output width (default 640)")
    live.add_argument("--height", type=int, help="capture and output height (default 480)")
    live.add_argument("--fps", type=float, help="capture and output frame rate (default 30)")
    _add_faces_argument(live)
    _add_config_arguments(live)

    models = commands.add_parser("models", help="list, fetch and verify model files")
    model_commands = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    model_commands.add_parser("list", help="known models, their licence and whether they are present")
    fetch = model_commands.add_parser("fetch", help="download a model and check its hash")
    fetch.add_argument("name")
    fetch.add_argument("--accept-licence", action="store_true", help="accept the model's licence (shown first)")
    model_commands.add_parser("verify", help="check the hash of every model file present")

    evaluate = commands.add_parser(
        "eval", help="measure swap quality (identity, expression, stability, overlap, speed) on a face data set"
    )
    evaluate.add_argument(
        "--faces-dir",
        type=Path,
        default=Path(os.environ.get("FACESWAP_LIVE_SHARED", "../shared")) / "data" / "faces",
        help="folder with videos/ and portraits/ (default: $FACESWAP_LIVE_SHARED/data/faces or ../shared/data/faces)",
    )
    evaluate.add_argument("--frames", type=int, default=90, help="frames per clip (default 90)")
    evaluate.add_argument("--stills", type=Path, help="write side-by-side stills (source | target | output) here")
    evaluate.add_argument("--report", type=Path, help="also write the Markdown report to this file")
    evaluate.add_argument(
        "--more-photos",
        action="store_true",
        help="draw from each target person's other portraits too (pNN_*; never the photo the judge compares with)",
    )
    _add_config_arguments(evaluate)

    verify = commands.add_parser(
        "verify", help="check whether an image or video was made by faceswap-live (exit 0: marked, 1: not marked)"
    )
    verify.add_argument("file", type=Path, help="image or video to check")
    return parser


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbosity == 0:
        logging.getLogger("faceswap_live").setLevel(logging.INFO)


def _load_config(args: argparse.Namespace) -> AppConfig:
    """The settings for a command. Precedence, strongest first: flag > environment > settings file > default."""
    config_path = getattr(args, "config", None)
    config = apply_environment(load_config(config_path, must_exist=config_path is not None))
    engine = getattr(args, "engine", None)
    if engine:
        config = dataclasses.replace(config, swap=replace(config.swap, engine=engine))
    faces = getattr(args, "faces", None)
    if faces is not None:
        config = dataclasses.replace(
            config,
            landmarks=replace(config.landmarks, max_faces=faces),
            swap=replace(config.swap, faces="all" if faces > 1 else "largest"),
        )
    config = dataclasses.replace(config, onnx=_onnx_settings(args, config))
    _refuse_neural_only_flags(args, config)
    if getattr(args, "no_ai_label_i_understand", False):
        logger.warning("The visible AI-modified label is off; the output still carries the invisible watermark.")
        config = dataclasses.replace(config, marking=replace(config.marking, label_enabled=False))
    return config


def _refuse_neural_only_flags(args: argparse.Namespace, config: AppConfig) -> None:
    """The neural engine's own flags with the built-in engine: one line, before any slow work, never ignored."""
    if config.swap.engine != BUILT_IN_ENGINE:
        return
    neural_only = [
        flag
        for flag, given in (
            ("--onnx-model", getattr(args, "onnx_model", None)),
            ("--recogniser-model", getattr(args, "recogniser_model", None)),
            ("--provider", getattr(args, "provider", None)),
            ("--fp16", getattr(args, "fp16", False)),
        )
        if given
    ]
    if neural_only:
        verb = "applies" if len(neural_only) == 1 else "apply"
        raise FaceswapError(f"{', '.join(neural_only)} {verb} only to the neural engine; add --engine onnx.")


def _split_weight(text: str, default: float) -> tuple[str, float]:
    """ "NAME:0.3" → ("NAME", 0.3); "NAME" → ("NAME", default). A colon followed by no number stays in the name."""
    name, separator, weight = text.rpartition(":")
    if separator:
        try:
            return name, float(weight)
        except ValueError:
            pass
    return text, default


def _onnx_settings(args: argparse.Namespace, config: AppConfig) -> OnnxConfig:
    changes: dict[str, object] = {}
    if getattr(args, "onnx_model", None):
        changes["model_path"] = str(args.onnx_model)
    if getattr(args, "recogniser_model", None):
        changes["recogniser_path"] = str(args.recogniser_model)
    if getattr(args, "provider", None):
        changes["provider"] = args.provider
    if getattr(args, "fp16", False):
        changes["fp16"] = True
    if getattr(args, "target_weight", None) is not None:
        changes["target_weight"] = args.target_weight
    if getattr(args, "mix", None):
        changes["identity_mix"] = tuple(_split_weight(item, 1.0) for item in args.mix)
    if getattr(args, "random_identity", None):
        seed, weight = _split_weight(args.random_identity, 1.0)
        if not seed.isdigit():
            raise FaceswapError(f"--random-identity takes a whole number seed, e.g. 42 or 42:0.5, not {seed!r}.")
        changes["random_identity_seed"], changes["random_identity_weight"] = int(seed), weight
    return replace(config.onnx, **changes)


def _model_store() -> ModelStore:
    from faceswap_live.models.store import ModelStore

    return ModelStore()


def _load_target(args: argparse.Namespace, landmark_model_path: Path) -> TargetFace:
    from faceswap_live.engines.target_mask import wears_glasses
    from faceswap_live.inputs.target_photo import load_target_face
    from faceswap_live.stages.expression import photo_note

    if not args.consent:
        raise TargetFaceError(
            "Using someone's face needs their permission. If you have the right to use the face in "
            f"{args.target[0].name}, add {CONSENT_FLAG} to confirm it."
        )
    if len(args.target) > 1 and not hasattr(args, "map_faces"):
        raise FaceswapError(f"{args.command} takes one target face: give --target once.")
    if len(args.target) > 1 and not args.map_faces:
        raise FaceswapError("Several --target photos need --map-faces left-to-right to say who gets which.")
    face_index = None if args.face_index is None else args.face_index - 1
    target = load_target_face(args.target[0], landmark_model_path, face_index)
    note = photo_note(target.landmarks.blendshapes, target.landmarks.points_px, glasses=wears_glasses(target))
    # Other photos help with the expression (the nearest one is drawn), not with a turned first photo.
    if photo_note(target.landmarks.blendshapes) and not getattr(args, "more_photos", None):
        note += "; other photos of the same person help too (--more-photos, built-in engine)"
    if note:
        print(f"Note: {note}.", file=sys.stderr)
    return target


@contextlib.contextmanager
def _interrupted_by_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP end a file swap like Ctrl-C: its temporary file is removed on the way out."""

    def interrupt(signal_number: int, frame: object) -> None:
        raise KeyboardInterrupt

    numbers = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {number: signal.signal(number, interrupt) for number in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _with_more_photos(
    args: argparse.Namespace, config: AppConfig, target: TargetFace, landmark_model_path: Path
) -> TargetFace:
    """target with --more-photos attached (TargetFace.more_photos); only the built-in engine draws from them."""
    from faceswap_live.inputs.target_photo import load_target_face

    paths = getattr(args, "more_photos", None) or []
    if not paths:
        return target
    if config.swap.engine != BUILT_IN_ENGINE:
        raise FaceswapError("--more-photos needs the built-in engine (--engine mesh); the neural one uses one photo.")
    if len(args.target or []) != 1:
        raise FaceswapError("--more-photos are more photos of one --target: give --target once, without --map-faces.")
    if config.onnx.identity_mix or config.onnx.random_identity_weight > 0:
        raise FaceswapError("--more-photos do not go with --mix or --random-identity: a morph is one photo of no one.")
    return dataclasses.replace(target, more_photos=tuple(load_target_face(path, landmark_model_path) for path in paths))


def _mapped_targets(args: argparse.Namespace, landmark_model_path: Path) -> list[TargetFace] | None:
    """The targets of --map-faces, one per person; None without it."""
    from faceswap_live.inputs.target_photo import load_target_face

    if not getattr(args, "map_faces", None):
        return None
    return [load_target_face(path, landmark_model_path) for path in args.target]


def _built_in_mix(
    args: argparse.Namespace, config: AppConfig, target: TargetFace, landmark_model_path: Path
) -> TargetFace:
    """With the built-in engine, --mix and --random-identity become one morphed target face (engines.morph)."""
    from faceswap_live.engines.morph import face_of_no_one, morph_faces
    from faceswap_live.gallery import TargetGallery
    from faceswap_live.inputs.target_photo import load_target_face

    onnx = config.onnx
    if config.swap.engine != BUILT_IN_ENGINE or not (onnx.identity_mix or onnx.random_identity_weight > 0):
        return target
    if getattr(args, "map_faces", None):
        raise FaceswapError(
            "--mix and --random-identity make one face, and --map-faces gives each person their own photo: with the "
            "built-in engine use one or the other."
        )
    faces, weights = [target], [onnx.target_weight]
    for source, weight in onnx.identity_mix:
        path = Path(source)
        if path.is_dir():
            raise FaceswapError(f"--mix {source}: the built-in engine mixes single photos, not a folder.")
        faces.append(load_target_face(path, landmark_model_path))
        weights.append(weight)
    if onnx.random_identity_weight > 0:
        gallery = [entry for entry in TargetGallery().list() if entry.consent.confirmed]
        pool = [load_target_face(entry.photo_path, landmark_model_path, entry.face_index) for entry in gallery]
        if len(pool) < 2:
            pool = list(faces)
        faces.append(face_of_no_one(pool, onnx.random_identity_seed))
        weights.append(onnx.random_identity_weight)
    return morph_faces(faces, weights)


def _run_swap(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from faceswap_live.offline import check_output_type, swap_file

    if args.output.exists() and not args.overwrite:
        raise FaceswapError(f"{args.output} already exists; add --overwrite to replace it.")
    if args.input.is_dir():
        raise FaceswapError(f"Input {args.input} is a folder; name a photo or video file.")
    if not args.input.is_file():
        raise FaceswapError(f"Input {args.input} does not exist.")
    check_output_type(args.input, args.output)
    config = _load_config(args)
    store = _model_store()
    landmark_model = store.fetch("face_landmarker")
    target = _built_in_mix(args, config, _load_target(args, landmark_model), landmark_model)
    target = _with_more_photos(args, config, target, landmark_model)
    face_targets = _mapped_targets(args, landmark_model)
    if face_targets:  # every mapped person must be tracked and swapped
        landmarks = replace(config.landmarks, max_faces=max(config.landmarks.max_faces, len(face_targets)))
        config = dataclasses.replace(config, landmarks=landmarks, swap=replace(config.swap, faces="all"))
    with _interrupted_by_signals(), tqdm(unit="frame", desc="Swapping", disable=None) as bar:

        def progress(done: int, total: int) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        summary = swap_file(
                config, landmark_model, target, args.input, args.output, store=store, progress=progress,
                face_targets=face_targets,
            )  # fmt: skip
    audio = " with its audio" if summary.had_audio else ""
    print(
        f"Wrote {summary.output_path}{audio}: {summary.frames} frame(s), "
        f"face swapped in {summary.faces_swapped_frames}."
    )
    if summary.frames and not summary.faces_swapped_frames:
        print(
            f"Note: no face to swap was found in {args.input.name}, so the output shows it as it was "
            "(with the AI-modified label and the watermark)."
        )
    return 0


def _default_bench_target(landmark_model_path: Path) -> TargetFace:
    """Grace Hopper's public-domain portrait that ships with matplotlib: benchmarks run with no photo of one's own."""
    import matplotlib

    from faceswap_live.inputs.target_photo import load_target_face

    return load_target_face(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg", landmark_model_path)


def _run_bench(args: argparse.Namespace) -> int:
    from faceswap_live.bench import format_report, run_bench

    config = _load_config(args)
    store = _model_store()
    landmark_model = store.fetch("face_landmarker")
    target = _load_target(args, landmark_model) if args.target else _default_bench_target(landmark_model)
    target = _built_in_mix(args, config, target, landmark_model)
    target = _with_more_photos(args, config, target, landmark_model)
    report = run_bench(config, landmark_model, target, args.input, args.frames, args.live_seconds, store=store)
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_report(report))
    return 0


def _live_config(args: argparse.Namespace) -> AppConfig:
    config = _load_config(args)
    capture_changes: dict[str, object] = {"source": str(args.input) if args.input else args.camera}
    for name in ("width", "height", "fps"):
        if getattr(args, name) is not None:
            capture_changes[name] = getattr(args, name)
    output_changes: dict[str, object] = {
        "virtual_camera": args.virtual_camera,
        "stream": args.stream,
        "record_path": str(args.record) if args.record else "",
    }
    for argument, field_name in (
        ("virtual_camera_backend", "virtual_camera_backend"),
        ("virtual_camera_device", "virtual_camera_device"),
        ("host", "stream_host"),
        ("port", "stream_port"),
        ("record_audio", "record_audio_device"),
    ):
        if getattr(args, argument) is not None:
            output_changes[field_name] = getattr(args, argument)
    return dataclasses.replace(
        config, capture=replace(config.capture, **capture_changes), output=replace(config.output, **output_changes)
    )


def _print_while_stdout_lasts(line: str) -> None:
    """Status lines go to stdout until its reader goes away (`live ... | head`); the session itself goes on."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """Point stdout at the null device, so later writes (and the flush at exit) do not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _run_live(args: argparse.Namespace) -> int:
    import threading

    from faceswap_live.live import run_live

    if args.record and args.record.exists() and not args.overwrite:
        raise FaceswapError(f"{args.record} already exists; add --overwrite to replace it.")
    if args.input and not args.input.is_file():
        raise FaceswapError(f"Input {args.input} does not exist.")
    if args.duration is not None and args.duration <= 0:
        raise FaceswapError(f"--duration takes a positive number of seconds, not {args.duration:g}.")
    if args.report_every <= 0:
        raise FaceswapError(f"--report-every takes a positive number of seconds, not {args.report_every:g}.")
    config = _live_config(args)
    store = _model_store()
    landmark_model = store.fetch("face_landmarker")
    target = _built_in_mix(args, config, _load_target(args, landmark_model), landmark_model)
    target = _with_more_photos(args, config, target, landmark_model)
    stop = threading.Event()

    def request_stop(signal_number: int, frame: object) -> None:
        with contextlib.suppress(OSError):
            print("Stopping…", file=sys.stderr, flush=True)
        stop.set()

    # SIGHUP (the terminal closed): finish the recording and sign it, like Ctrl-C.
    numbers = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {number: signal.signal(number, request_stop) for number in numbers}
    try:
        return run_live(
            config,
            landmark_model,
            target,
            stop,
            _print_while_stdout_lasts,
            store=store,
            status_interval_s=args.report_every,
            duration_s=args.duration,
        )
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _run_models(args: argparse.Namespace) -> int:
    from faceswap_live import model_commands

    store = _model_store()
    if args.models_command == "list":
        return model_commands.list_models(store)
    if args.models_command == "fetch":
        return model_commands.fetch_model(store, args.name, args.accept_licence)
    return model_commands.verify_models(store)


def _run_eval(args: argparse.Namespace) -> int:
    try:
        from faceswap_live.eval import format_report, run_eval
        from faceswap_live.eval.run import DEFAULT_PAIRS, with_more_photos
    except ImportError as error:
        raise FaceswapError(
            f"The quality evaluation needs the independent face recogniser ({error.name}): "
            'install it with `pip install -e ".[eval]"`.'
        ) from error

    config = _load_config(args)
    if config.swap.engine == BUILT_IN_ENGINE and (config.onnx.identity_mix or config.onnx.random_identity_weight > 0):
        raise FaceswapError(
            "eval judges each clip's own target photo; with the built-in engine, measure --mix and --random-identity "
            "with scripts/eval_morph.py."
        )
    if not (args.faces_dir / "videos").is_dir():
        raise FaceswapError(f"No face data set at {args.faces_dir} (it needs videos/ and portraits/); use --faces-dir.")
    store = _model_store()
    landmark_model = store.fetch("face_landmarker")
    eval_models_dir = store.fetch("dlib_face_recognition").parent
    if store.fetch("dlib_shape_predictor_5").parent != eval_models_dir:
        raise FaceswapError("The two dlib evaluation models must lie in one folder; run `faceswap-live models verify`.")
    pairs = with_more_photos(DEFAULT_PAIRS, args.faces_dir / "portraits") if args.more_photos else DEFAULT_PAIRS
    report = run_eval(
        args.faces_dir, landmark_model, eval_models_dir, pairs=pairs, config=config,
        frames_per_clip=args.frames, stills_dir=args.stills,
    )  # fmt: skip
    text = format_report(report)
    print(text)
    if args.report:
        args.report.write_text(text + "\n", encoding="utf-8")
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    from faceswap_live.verify import format_verification, verify_file

    result = verify_file(args.file)
    print(format_verification(result))
    return 0 if result.marked else 1


def _run_gui(args: argparse.Namespace) -> int:
    no_display = not any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    if sys.platform.startswith("linux") and no_display:
        # Qt would abort the process without a word a user can act on.
        raise FaceswapError(
            "No screen to open the window on (DISPLAY is not set). Run it from your desktop session, or use "
            "`faceswap-live live --camera 0 --target FACE.jpg --consent --virtual-camera` without a window."
        )
    config_path = getattr(args, "config", None)  # absent when no command is given: the app, default settings
    if config_path is not None and not config_path.is_file():
        raise FaceswapError(f"Settings file {config_path} does not exist; check the --config path.")
    from faceswap_live.gui.app import run_app

    return run_app(
        config_path=config_path,
        source=getattr(args, "input", None),
        quit_after_frames=getattr(args, "quit_after_frames", 0),
    )


COMMANDS = {
    "gui": _run_gui,
    "swap": _run_swap,
    "bench": _run_bench,
    "live": _run_live,
    "models": _run_models,
    "verify": _run_verify,
    "eval": _run_eval,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    command = COMMANDS[args.command or "gui"]
    try:
        return command(args)
    except FaceswapError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `faceswap-live models list | head`: the reader has what it wanted
        _silence_stdout()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
