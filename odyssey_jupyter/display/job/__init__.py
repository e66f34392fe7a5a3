"""A job's displays as pure data: its status view, its HTML and text forms, its final output,
the dry-run timeline.
"""
