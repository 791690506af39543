"""Talking to Triton over gRPC."""
