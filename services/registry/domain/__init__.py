"""Pure registry rules: no I/O, unit-tested on their own."""
