"""Registry: districts, markets and their task forces, merchants and licences, terminals."""
