"""Helpers the tests share: fault-injecting proxy, Jupyter servers, kernels."""
