"""Widgets that live while a kernel runs: the status panel, its cancel control, and the swap to
the final output.
"""
