//! A reading's shape, types and physical ranges, as `services/telemetry/verification.py`
//! `_typed_accepted` and `_typed_sample` check them (the struct types of the typed path, then
//! the bounds of contracts/telemetry.py), and its canonical form.
//!
//! Everything here only ever says "plausible" or "no verdict": a reading that fails any check
//! goes Python's path, which alone names rejections.

use crate::json::{members, Value};
use crate::time::epoch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ColdChain,
    Footfall,
    Payment,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::ColdChain => "cold_chain",
            Kind::Footfall => "footfall",
            Kind::Payment => "payment",
        }
    }

    fn of(name: &str) -> Option<Kind> {
        match name {
            "cold_chain" => Some(Kind::ColdChain),
            "footfall" => Some(Kind::Footfall),
            "payment" => Some(Kind::Payment),
            _ => None,
        }
    }

    /// The kind's own fields (all required), as contracts/telemetry.py `PHYSICAL_RANGES`.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::ColdChain => &["temp_c"],
            Kind::Footfall => &["entries", "exits", "occupancy"],
            Kind::Payment => &["tx_count", "tx_amount", "refunds"],
        }
    }

    /// Every field a reading of the kind may have but `sig`, in the canonical form's order
    /// (Python sorts str keys by code point: for these ASCII names, byte order).
    fn signed(self) -> &'static [&'static str] {
        match self {
            Kind::ColdChain => &["interval_s", "kind", "seq", "temp_c", "terminal_id", "ts"],
            Kind::Footfall => &[
                "entries",
                "exits",
                "interval_s",
                "kind",
                "occupancy",
                "seq",
                "terminal_id",
                "ts",
            ],
            Kind::Payment => &[
                "interval_s",
                "kind",
                "refunds",
                "seq",
                "terminal_id",
                "ts",
                "tx_amount",
                "tx_count",
            ],
        }
    }
}

/// The values of a reading's kind, as `Sample` takes them (a float field as a float).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Values {
    ColdChain {
        temp_c: f64,
    },
    Footfall {
        entries: i64,
        exits: i64,
        occupancy: i64,
    },
    Payment {
        tx_count: i64,
        tx_amount: f64,
        refunds: i64,
    },
}

#[derive(Debug)]
pub struct Reading<'a> {
    pub terminal_id: &'a str,
    pub seq: i64,
    pub ts: f64,
    pub kind: Kind,
    pub values: Values,
    pub interval_s: Option<i64>,
    pub sig: [u8; 32],
    /// Every member but `sig`, sorted by key, compact: the bytes the HMAC covers.
    pub canonical: Vec<u8>,
}

const COMMON: [&str; 5] = ["terminal_id", "seq", "ts", "kind", "sig"];
const INTERVAL: (i64, i64) = (1, 86_400);
const TEMP_C: (f64, f64) = (-60.0, 80.0);
const ENTRIES: (i64, i64) = (0, 100_000);
const EXITS: (i64, i64) = (0, 100_000);
const OCCUPANCY: (i64, i64) = (0, 1_000_000);
const TX_COUNT: (i64, i64) = (0, 100_000);
const TX_AMOUNT: (f64, f64) = (0.0, 100_000_000.0);
const REFUNDS: (i64, i64) = (0, 100_000);

/// The reading in `raw` when it is plausible (shape, types, ranges, an event time at or before
/// `limit`), else None. The terminal and the signature are the caller's to check.
pub fn plausible(raw: &[u8], limit: f64) -> Option<Reading<'_>> {
    let found = members(raw)?;
    let kind = match found.iter().find(|(k, _)| *k == "kind")?.1 {
        Value::Str(name) => Kind::of(name)?,
        _ => return None,
    };
    let own = kind.fields();
    let known = |k: &str| COMMON.contains(&k) || own.contains(&k) || k == "interval_s";
    if !found.iter().all(|(k, _)| known(k)) {
        return None;
    }
    let get = |name: &str| found.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let terminal_id = match get("terminal_id")? {
        Value::Str(t) if !t.is_empty() && t.chars().count() <= 128 => t,
        _ => return None,
    };
    let seq = int(get("seq")?, (0, i64::MAX))?;
    let ts = match get("ts")? {
        Value::Str(text) => epoch(text)?,
        _ => return None,
    };
    if ts > limit {
        return None;
    }
    let sig = match get("sig")? {
        Value::Str(hex) => unhex(hex)?,
        _ => return None,
    };
    let interval_s = match get("interval_s") {
        None | Some(Value::Null) => None,
        Some(v) => Some(int(v, INTERVAL)?),
    };
    let values = match kind {
        Kind::ColdChain => Values::ColdChain {
            temp_c: number(get("temp_c")?, TEMP_C)?,
        },
        Kind::Footfall => Values::Footfall {
            entries: int(get("entries")?, ENTRIES)?,
            exits: int(get("exits")?, EXITS)?,
            occupancy: int(get("occupancy")?, OCCUPANCY)?,
        },
        Kind::Payment => Values::Payment {
            tx_count: int(get("tx_count")?, TX_COUNT)?,
            tx_amount: number(get("tx_amount")?, TX_AMOUNT)?,
            refunds: int(get("refunds")?, REFUNDS)?,
        },
    };
    let sorted = kind.signed().iter().filter_map(|&k| get(k).map(|v| (k, v)));
    Some(Reading {
        terminal_id,
        seq,
        ts,
        kind,
        values,
        interval_s,
        sig,
        canonical: canonical(sorted, raw.len()),
    })
}

/// Compact sorted JSON of the members, each value as written: strings carry no escapes (the
/// scanner took none) and numbers are in the one spelling every JSON writer gives them.
fn canonical<'a>(sorted: impl Iterator<Item = (&'a str, Value<'a>)>, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    out.push(b'{');
    for (i, (key, value)) in sorted.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        match value {
            Value::Str(s) => {
                out.push(b'"');
                out.extend_from_slice(s.as_bytes());
                out.push(b'"');
            }
            Value::Int(t) | Value::Float(t) => out.extend_from_slice(t.as_bytes()),
            Value::Null => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
    out
}

/// A strict integer (never a float's token) within inclusive bounds, spelled as Python and
/// msgspec write it back (so not `-0`).
fn int(value: Value<'_>, (low, high): (i64, i64)) -> Option<i64> {
    let Value::Int(token) = value else {
        return None;
    };
    // The scanner took no leading zeros, so `-0` is the one spelling that is written back
    // otherwise.
    let n: i64 = token.parse().ok()?;
    (low <= n && n <= high && token != "-0").then_some(n)
}

/// A number where the contract takes a float: an integer's token is taken (and kept as an int
/// in the canonical form, as msgspec keeps it); a float's token only when it is the shortest
/// spelling of its value without an exponent, as Python's `repr`, msgspec and orjson all write
/// it (very small magnitudes are left out: writers choose an exponent there, at different
/// points). The bounds are finite, so the comparison is as Python's.
fn number(value: Value<'_>, (low, high): (f64, f64)) -> Option<f64> {
    let x = match value {
        Value::Int(_) => int(value, (i64::MIN, i64::MAX))? as f64,
        Value::Float(token) => {
            let x: f64 = token.parse().ok()?;
            if (x != 0.0 && x.abs() < 1e-3) || ryu::Buffer::new().format_finite(x) != token {
                return None;
            }
            x
        }
        _ => return None,
    };
    (low <= x && x <= high).then_some(x)
}

/// 64 lowercase hex digits (the `sig` of the contract), as the 32 bytes they spell.
fn unhex(hex: &str) -> Option<[u8; 32]> {
    let b = hex.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn cold(temp: &str) -> Vec<u8> {
        format!(
            r#"{{"terminal_id":"t1","seq":7,"ts":"2026-05-01T08:00:00Z","kind":"cold_chain","temp_c":{temp},"interval_s":60,"sig":"{SIG}"}}"#
        )
        .into_bytes()
    }

    #[test]
    fn a_plausible_reading_and_its_canonical_form() {
        let raw = cold("3.5");
        let r = plausible(&raw, 2e9).unwrap();
        assert_eq!(r.values, Values::ColdChain { temp_c: 3.5 });
        assert_eq!(
            String::from_utf8(r.canonical).unwrap(),
            r#"{"interval_s":60,"kind":"cold_chain","seq":7,"temp_c":3.5,"terminal_id":"t1","ts":"2026-05-01T08:00:00Z"}"#
        );
    }

    #[test]
    fn the_signed_fields_are_in_sorted_order() {
        for kind in [Kind::ColdChain, Kind::Footfall, Kind::Payment] {
            let names = kind.signed();
            assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
            let mut all: Vec<&str> = COMMON.iter().chain(kind.fields()).copied().collect();
            all.push("interval_s");
            all.retain(|k| *k != "sig");
            all.sort_unstable();
            assert_eq!(all, names);
        }
    }

    #[test]
    fn odd_numbers_are_no_verdict() {
        for temp in ["3.50", "80.5", "-0", "0.0001", "true", "\"3\"", "1e1"] {
            assert!(plausible(&cold(temp), 2e9).is_none(), "{temp}");
        }
        assert!(plausible(&cold("4"), 2e9).is_some());
        assert!(plausible(&cold("3.5"), 1e9).is_none(), "from the future");
    }
}
