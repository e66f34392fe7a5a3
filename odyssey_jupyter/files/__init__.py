"""Files the package writes for its user alone: private modes, no planted links, the user's
folders, JSON read back safely.
"""
