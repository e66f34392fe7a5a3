"""Recordings on screen: inline players, a sweep's gallery, and side-by-side compare."""
