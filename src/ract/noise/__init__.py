"""Synthetic label noise (symmetric, asymmetric/pair, instance-dependent) for benchmarking."""

from ract.noise.injection import IDN_RATE_STD, NOISE_KINDS, NoiseResult, inject_noise

__all__ = ["IDN_RATE_STD", "NOISE_KINDS", "NoiseResult", "inject_noise"]
