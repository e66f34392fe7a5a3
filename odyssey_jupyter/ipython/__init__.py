"""Everything that imports IPython: the magics, their arguments, hints and tab completion."""
