"""Starting, finding, checking and stopping an engine from another process (a kernel or the
command line).
"""
