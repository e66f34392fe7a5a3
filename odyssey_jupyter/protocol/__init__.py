"""The wire both sides speak: job and stream types, artifacts, declared limits, idempotency
keys and request bodies.
"""
