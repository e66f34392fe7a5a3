"""How a sweep is shown: one snapshot drawn as text and HTML, a live panel, a dry-run plan.

The text and HTML (:mod:`.summary`) need no widget and no kernel, so the command
line draws its progress line with them; the live panel (:mod:`.live`) is the
only part that reaches for ipywidgets and IPython.
"""
