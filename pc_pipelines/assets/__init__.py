"""Asset definitions, one module per integration."""
