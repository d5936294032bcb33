"""The desktop app (PySide6). Thin: it shows what the engine produces and turns clicks into new configs.

The only package that imports Qt. No image processing happens here; heavy work (face detection in a photo, model
downloads) runs on a thread pool and reports back through queued signals.
"""
