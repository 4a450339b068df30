"""The operations, one module per family (SINGA keeps them in one 5,770-line
file; minisinga keeps the names and splits the files).  ``minisinga.autograd``
re-exports everything here."""
