"""The synchronous layer a notebook uses, run on one event-loop thread: jobs, their watcher,
recordings, history, settings.
"""
