"""What goes into the pipeline: frames from a camera, video or image, and the target photos whose face is drawn.

- capture.py: frame sources (a webcam, a video file paced like a camera, a still image).
- target_photo.py: reading target photos, finding the faces in them and cropping one into a `TargetFace`.
"""
