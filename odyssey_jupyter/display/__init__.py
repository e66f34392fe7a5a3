"""What users see: status widget, players, job browser, dry-run timeline, text fallbacks.

Nothing in here calls HTTP: displays read a ``Job``'s state and are pushed its
changes by the background loop thread. Submodules are imported on demand so that
``import odyssey_jupyter.display`` does not pull in ipywidgets.
"""
