"""The city's campaign (专项整治行动) as data: deadlines derived from the mobilisation date,
district and market milestones on time or late, market renovation projects with budgets by
funding source, quality and safety checks, and public disclosure of problems.

`domain` is pure (no I/O); `store` is its Postgres repository; `commands` the use cases (each a
transaction writing the change and its events); `api` the HTTP routes; `demo` seeds a demo
campaign through the API.
"""
