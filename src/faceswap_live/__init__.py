"""faceswap-live: real-time webcam face swap with a virtual camera, labelling and profiling."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("faceswap-live")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
