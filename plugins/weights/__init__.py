"""Pretrained generator weights (safetensors) of the built-in models, shipped as package data."""
