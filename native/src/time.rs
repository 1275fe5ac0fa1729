//! A reading's event time, as `services/telemetry/verification.py` `_event_time` parses it:
//! the contract's RFC 3339 pattern, then Python's `datetime.fromisoformat`, then `timestamp()`.
//!
//! Narrower on purpose: what is unusual but may parse in Python (a minute offset of 60, a year
//! far from ours) is no verdict, and Python decides.

/// Epoch seconds of `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)` (`T` and `Z` in either case).
pub fn epoch(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = number(b, 0, 4)?;
    let month = number(b, 5, 2)?;
    let day = number(b, 8, 2)?;
    let hour = number(b, 11, 2)?;
    let minute = number(b, 14, 2)?;
    let second = number(b, 17, 2)?;
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    // |µs since the epoch| stays below 2^53, so the float below is exact before its one division.
    if !(1900..=2200).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut at = 19;
    let mut micros = 0i64;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while at < b.len() && b[at].is_ascii_digit() {
            at += 1;
        }
        let digits = at - start;
        if !(1..=9).contains(&digits) {
            return None;
        }
        // fromisoformat keeps microseconds and drops further digits (it does not round).
        for i in 0..6 {
            micros = micros * 10
                + if i < digits {
                    (b[start + i] - b'0') as i64
                } else {
                    0
                };
        }
    }
    let offset_s = match &b[at..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = number(b, at + 1, 2)?;
            let minutes = number(b, at + 4, 2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let s = hours * 3600 + minutes * 60;
            if *sign == b'-' {
                -s
            } else {
                s
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    let total = seconds * 1_000_000 + micros;
    // timedelta.total_seconds(): the exact count of µs divided by 10^6, correctly rounded; the
    // count is exact as a float here, and IEEE division rounds correctly.
    Some(total as f64 / 1e6)
}

fn number(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let mut n = 0i64;
    for &c in b.get(at..at + len)? {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as i64;
    }
    Some(n)
}

fn leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::epoch;

    #[test]
    fn times_as_python_reads_them() {
        assert_eq!(epoch("2026-05-01T08:00:00Z"), Some(1777622400.0));
        assert_eq!(epoch("2026-05-01t08:00:00.1z"), Some(1777622400.1));
        assert_eq!(
            epoch("2026-05-01T08:00:00.123456789+08:00"),
            Some(1777593600.123456)
        );
        assert_eq!(
            epoch("2026-05-01T08:00:00.9999999Z"),
            Some(1777622400.999999)
        );
        assert_eq!(epoch("2024-02-29T08:00:00Z"), Some(1709193600.0));
        assert_eq!(epoch("2026-05-01T08:00:00+23:59"), Some(1777536060.0));
        assert_eq!(epoch("1969-12-31T23:59:59.5Z"), Some(-0.5));
    }

    #[test]
    fn others_are_no_verdict() {
        for text in [
            "2026-05-01T24:00:00Z",
            "2026-05-01T23:59:60Z",
            "2026-02-29T08:00:00Z",
            "2026-05-01T08:00:00+24:00",
            "2026-05-01T08:00:00+00:60",
            "2026-05-01T08:00:00Z\n",
            "2026-05-01 08:00:00Z",
            "2026-05-01T08:00:00",
            "2026-05-01T08:00:00.Z",
            "2026-05-01T08:00:00.1234567890Z",
            "0001-01-01T00:00:00Z",
        ] {
            assert_eq!(epoch(text), None, "{text}");
        }
    }
}
