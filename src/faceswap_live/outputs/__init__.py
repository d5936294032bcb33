"""Output sinks: destinations for processed frames that own their threads and devices.

- virtual_camera.py: the virtual camera (the only module that imports pyvirtualcam).
- mjpeg_stream.py: a local MJPEG-over-HTTP stream (OBS, browsers).
- recorder.py: an H.264 MP4 recording that stays playable after a crash.
"""
