"""One module per ``ridescan`` sub-command; each defines ``add_parser`` and ``run``."""
