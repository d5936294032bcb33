"""Swap engines: each turns (frame, one tracked face) into the target's face pixels behind one `SwapEngine` interface.

- registry.py: the one list of engines (names, labels, model files, factories) that the command line, the app, the
  pipeline and `faceswap-live models` read.
- base.py: the `SwapEngine` interface, the aligned crop an engine asks the pipeline for, and where engines get model
  files (`ModelLocator`).
- mesh_swapper.py: the built-in CPU engine that warps the target photo's face mesh onto the user's (with expressions);
  mesh_raster.py draws a mesh into a pixel grid for it, target_mask.py finds where a target photo shows its face (not
  its hair), smile_folds.py smooths a smiling photo's smile folds out of its texture, photo_mouth.py fills a photo's
  open mouth from its lips (no teeth between closed lips), eye_colour.py white-balances a tinted photo's eyes,
  symmetric_fill.py draws a squeezed or shadowed far cheek from the near one,
  shut_lids.py draws a shutting eye with the user's own lid, wide_eyes.py an eye opened wider than the photo's with a
  round iris and the white around it.
- onnx_swapper.py: the neural engine (an inswapper-class ONNX model on CUDA, TensorRT or the CPU); onnx_setup.py
  builds it from the [onnx] settings and the model store.
- morph.py: target faces made from several faces (mixes, faces of no one) for the built-in engine.
"""
