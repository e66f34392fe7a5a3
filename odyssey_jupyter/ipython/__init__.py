"""Everything that imports IPython: loading the extension, the magics, their arguments,
and tab completion."""
