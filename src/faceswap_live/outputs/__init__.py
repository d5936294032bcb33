"""Output sinks: destinations for processed frames that own their threads and devices.

- base.py: the `OutputSink` interface every sink implements (send never blocks) and the letterboxing they share.
- virtual_camera.py: the virtual camera (the only module that imports pyvirtualcam).
- mjpeg_stream.py: a local MJPEG-over-HTTP stream (OBS, browsers).
- recorder.py: an H.264 MP4 recording that stays playable after a crash.
- factory.py: opens the sinks the settings ask for. Sinks import only base.py, never each other.
"""
