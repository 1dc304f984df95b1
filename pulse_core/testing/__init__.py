"""Test helpers for Pulse and its plugin authors, shipped as a pytest plugin."""
