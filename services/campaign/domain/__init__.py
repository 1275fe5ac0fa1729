"""The campaign's pure rules: frozen values and functions of state, input and `now`; no I/O."""
