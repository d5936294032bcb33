"""Typed errors raised at the boundaries (camera, models, virtual camera, target photos).

Every message is written for the person using the app: what went wrong and what to do about it.
"""


class FaceswapError(Exception):
    """Base of all errors that faceswap-live reports to the user instead of a traceback."""


class CameraError(FaceswapError):
    """A camera, video file or image source could not be opened or stopped delivering frames."""


class ModelError(FaceswapError):
    """A model file is missing, corrupt, has the wrong hash or cannot be loaded."""


class VirtualCameraError(FaceswapError):
    """No virtual camera driver or device is available."""


class TargetFaceError(FaceswapError):
    """A target face photo is unreadable or holds no usable face."""


class OutputError(FaceswapError):
    """An output (recording, stream) failed, for example because the disk is full."""


class ConfigError(FaceswapError):
    """A setting has a value outside what the app accepts."""
