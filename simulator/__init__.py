"""Market Sentinel's terminal simulator: a city's cold-chain sensors, gate counters and payment
terminals sending signed readings (contracts/README.md, "Readings") to `telemetry.readings.v1`
or `POST /ingest`.

- `city`: provision a city through the registry API, or load one from a file (keys included);
- `physics`: pure, seeded value models (fridges and freezers, footfall, sales);
- `faults`: the fault vocabulary, its spec syntax and the schedule of a run;
- `engine`: every terminal on one event-time schedule, producing signed readings;
- `clock`: event time, Shanghai opening hours, pacing against the wall clock;
- `sink`: Kafka, HTTP ingest, stdout; `control`: faults on command over HTTP;
- `runner`: the run loop; `__main__`: the CLI (`python -m simulator --help`).
"""
