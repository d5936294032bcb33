"""Per-frame stages: pure functions or single-thread objects the pipeline calls on every frame.

- landmarks.py: MediaPipe face meshes (the only module that imports mediapipe); mesh_topology.py: the mesh's
  point counts, named point sets and triangles, for every other module.
- smoothing.py: face tracks, landmark smoothing and the tracker's identity descriptor.
- align.py: five-point keypoints and similarity alignment; low_light.py: the dark-camera boost.
- expression.py: identity/expression split of a mesh (the built-in engine follows the user's expression);
  shading.py: a face's directional light fitted on its mesh normals (the engine swaps a photo's for the user's);
  sharpness.py: a face's blur measured on its edges (the engine softens a sharp photo to a soft camera).
- identity.py: the neural engine's identity embedding of a target face.
- blend.py: compositing a swapped face into the frame; marking.py: the AI label and the invisible watermark.
"""
