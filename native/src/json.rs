//! A reading's JSON object, read as the tokens it was written with.
//!
//! A reading is one flat object. Keeping each value's raw spelling lets the canonical form be
//! written from the tokens themselves, so a number is signed as it was sent. Whatever is not a
//! plain flat object (an escape in a string, a nested value, a key twice, invalid UTF-8) is no
//! verdict here: Python's path reads it and names what is wrong with it.

/// A value as written: a string's content (no escapes, so as it decodes), or a number's token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Int(&'a str),
    Float(&'a str),
    Null,
}

/// The object's members in the order written, or None when it is not a plain flat object.
pub fn members(raw: &[u8]) -> Option<Vec<(&str, Value<'_>)>> {
    let text = std::str::from_utf8(raw).ok()?;
    let mut s = Scanner {
        text,
        bytes: raw,
        at: 0,
    };
    let mut found: Vec<(&str, Value<'_>)> = Vec::with_capacity(8);
    s.space();
    s.expect(b'{')?;
    s.space();
    if s.peek()? == b'}' {
        s.at += 1;
    } else {
        loop {
            s.space();
            let key = s.string()?;
            s.space();
            s.expect(b':')?;
            s.space();
            let value = s.value()?;
            // At most a dozen members: a scan beats a set.
            if found.iter().any(|(k, _)| *k == key) {
                return None;
            }
            found.push((key, value));
            s.space();
            match s.next()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.space();
    (s.at == raw.len()).then_some(found)
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.next()? == wanted).then_some(())
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// A string without escapes or control characters; its content is what it decodes to.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let len = self.bytes[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if self.bytes[start + len] != b'"' {
            return None;
        }
        self.at = start + len + 1;
        // `"` is ASCII, so both ends are character boundaries of the validated text.
        Some(&self.text[start..start + len])
    }

    fn value(&mut self) -> Option<Value<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Value::Str),
            b'n' => {
                let end = self.at + 4;
                (self.bytes.get(self.at..end)? == b"null").then(|| {
                    self.at = end;
                    Value::Null
                })
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => None, // true, false, an array or an object: never a plausible reading's value
        }
    }

    /// An integer `-?(0|[1-9][0-9]*)`, or a float with a fraction and no exponent. An exponent
    /// is no verdict: how each JSON writer spells it back differs.
    fn number(&mut self) -> Option<Value<'a>> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let digits = self.digits();
        if digits == 0 || (digits > 1 && self.bytes[self.at - digits] == b'0') {
            return None;
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
            float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            return None;
        }
        let token = &self.text[start..self.at];
        Some(if float {
            Value::Float(token)
        } else {
            Value::Int(token)
        })
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_object_keeps_its_spellings() {
        let got = members(br#" {"a": 1, "b":-2.50 ,"c":"x y","d":null} "#).unwrap();
        assert_eq!(
            got,
            vec![
                ("a", Value::Int("1")),
                ("b", Value::Float("-2.50")),
                ("c", Value::Str("x y")),
                ("d", Value::Null)
            ]
        );
    }

    #[test]
    fn anything_else_is_no_verdict() {
        for raw in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"a":"\u0041"}"#,
            br#"{"a":01}"#,
            br#"{"a":-0}x"#,
            br#"{"a":1e3}"#,
            br#"{"a":1.}"#,
            br#"{"a":true}"#,
            br#"{"a":[1]}"#,
            br#"{"a":1,}"#,
            br#"[1]"#,
            b"{\"a\":\"\xff\"}",
        ] {
            assert!(members(raw).is_none(), "{:?}", String::from_utf8_lossy(raw));
        }
    }
}
