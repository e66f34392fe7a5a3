"""The engine's data directory: the SQLite store, its keys, the record of where the engine
answers, storage faults.
"""
