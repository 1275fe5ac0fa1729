CREATE TABLE districts (
    code       text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE markets (
    id                text PRIMARY KEY,
    district          text NOT NULL REFERENCES districts (code),
    name              text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('farmers', 'wholesale')),
    operator          text NOT NULL,
    address           text NOT NULL,
    capacity          integer NOT NULL CHECK (capacity > 0),
    opens             text NOT NULL,
    closes            text NOT NULL,
    renovation_status text NOT NULL,
    task_force        jsonb,
    version           integer NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX markets_district ON markets (district);

CREATE TABLE merchants (
    id                  text PRIMARY KEY,
    market_id           text NOT NULL REFERENCES markets (id),
    district            text NOT NULL REFERENCES districts (code),
    name                text NOT NULL,
    stall_no            text NOT NULL,
    credit_code         text NOT NULL,
    food_licence        text NOT NULL,
    licence_valid_until date NOT NULL,
    categories          text[] NOT NULL,
    status              text NOT NULL CHECK (status IN ('active', 'suspended', 'licence_expired')),
    version             integer NOT NULL,
    updated_at          timestamptz NOT NULL,
    -- one merchant per stall in a market
    UNIQUE (market_id, stall_no)
);
CREATE INDEX merchants_licence_due ON merchants (licence_valid_until) WHERE status = 'active';

CREATE TABLE terminals (
    id          text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('cold_chain', 'footfall', 'payment')),
    market_id   text NOT NULL REFERENCES markets (id),
    district    text NOT NULL REFERENCES districts (code),
    merchant_id text REFERENCES merchants (id),
    stall_no    text,
    profile     text CHECK (profile IN ('chilled', 'frozen')),
    interval_s  integer NOT NULL CHECK (interval_s > 0),
    key_version integer NOT NULL,
    status      text NOT NULL CHECK (status IN ('active', 'retired')),
    version     integer NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX terminals_market ON terminals (market_id);
