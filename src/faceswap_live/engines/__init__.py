"""Swap engines: each turns (frame, one tracked face) into the target's face pixels behind one `SwapEngine` interface.

- base.py: the `SwapEngine` interface and the aligned crop an engine asks the pipeline for.
- mesh_swapper.py: the built-in CPU engine that warps the target photo's face mesh onto the user's (with expressions).
- onnx_swapper.py: the neural engine (an inswapper-class ONNX model on CUDA, TensorRT or the CPU).
- morph.py: target faces made from several faces (mixes, faces of no one) for the built-in engine.
"""
