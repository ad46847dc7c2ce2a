"""One module per resource; each router is thin: parse, authorise, call pc_core."""
