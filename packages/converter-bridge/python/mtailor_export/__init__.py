"""Helpers of export_onnx.py (PyTorch image classifier -> ONNX). Imports torch lazily: see export_onnx.py."""
