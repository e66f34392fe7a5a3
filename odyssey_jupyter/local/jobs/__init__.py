"""The engine's render queue: the dispatcher, the render workers and what they are asked to
render.
"""
