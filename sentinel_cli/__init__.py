"""`sentinel`: the command line for operators and integrators — the topic catalog, tailing and
replaying topics with every event validated against its contract, tokens, the simulator, and a
one-screen status of the running stack. `sentinel --help` lists the commands."""
