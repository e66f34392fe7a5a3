"""The engine's HTTP side: routes, the front door, request reading, answers, limits and
submission checks.
"""
