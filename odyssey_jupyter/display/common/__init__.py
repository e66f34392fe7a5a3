"""What every display shares: colours, labels, times, the frontend in use, the live marker and
notices.
"""
