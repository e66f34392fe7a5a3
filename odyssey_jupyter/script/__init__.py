"""The script language, free of IPython: its rules, the timeline grammar, the cell forms and
start images.
"""
