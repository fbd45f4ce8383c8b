"""Bundled models (``*.keras`` with their manifests inside); found by ``io.model.bundled_models``.

This folder is a package so that setuptools installs the model files with mirtron_tools.
"""
