//! Telemetry's fast path for one reading, outside the interpreter: the checks of
//! `services/telemetry/verification.py` `_typed_accepted` on the raw bytes, the terminal looked up
//! in the directory's own dict, and the HMAC-SHA256 under the terminal's key. It says "accepted"
//! or "no verdict" (None), never "rejected": Python's path decides whatever this does not accept
//! (services/telemetry/native.py, docs in bench/README.md, issue 20).

mod json;
mod reading;
mod time;

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use sha2::Sha256;

use reading::{plausible, Kind, Reading, Values};

type HmacSha256 = Hmac<Sha256>;

/// What the verifier keeps of a terminal, for as long as the directory holds the very same
/// `TerminalInfo` object (it is frozen: a change in the registry puts a new one in the dict).
struct Terminal {
    info: Py<PyAny>,
    /// The HMAC with the key's pads hashed, for an active terminal; None for any other status.
    mac: Option<HmacSha256>,
    kind: Option<Kind>,
}

#[pyclass(module = "sentinel_native")]
struct Verifier {
    terminals: Py<PyDict>,
    key: Py<PyAny>,
    sample: Py<PyAny>,
    kinds: [Py<PyString>; 3],
    known: HashMap<String, Terminal>,
}

#[pymethods]
impl Verifier {
    /// `terminals`: the directory's dict of `TerminalInfo` by id, read at every judgement;
    /// `key(terminal)`: the terminal's current signing key; `sample`: the `Sample` class.
    #[new]
    fn new(
        py: Python<'_>,
        terminals: Bound<'_, PyDict>,
        key: Py<PyAny>,
        sample: Py<PyAny>,
    ) -> Self {
        let kinds = [Kind::ColdChain, Kind::Footfall, Kind::Payment]
            .map(|k| PyString::intern(py, k.name()).unbind());
        Verifier { terminals: terminals.unbind(), key, sample, kinds, known: HashMap::new() }
    }

    /// `(terminal, ts, sample)` when the reading is accepted but for its seq (the caller
    /// compares `sample.seq` with the terminal's last one), else None.
    fn judge<'py>(
        &mut self,
        py: Python<'py>,
        raw: &[u8],
        limit: f64,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.accepted(py, raw, limit)
    }

    /// `judge` of each reading in the list, in one call.
    fn judge_batch<'py>(
        &mut self,
        py: Python<'py>,
        raws: &Bound<'py, PyList>,
        limit: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for item in raws.iter() {
            let verdict = match item.cast::<PyBytes>() {
                Ok(bytes) => self.accepted(py, bytes.as_bytes(), limit)?,
                Err(_) => None,
            };
            out.append(verdict)?;
        }
        Ok(out)
    }
}

impl Verifier {
    fn accepted<'py>(
        &mut self,
        py: Python<'py>,
        raw: &[u8],
        limit: f64,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(r) = plausible(raw, limit) else { return Ok(None) };
        let terminals = self.terminals.bind(py);
        let Some(info) = terminals.get_item(r.terminal_id)? else { return Ok(None) };
        let current = match self.known.get(r.terminal_id) {
            Some(t) if t.info.as_ptr() == info.as_ptr() => t,
            _ => {
                let t = self.learn(py, &info)?;
                self.known.insert(r.terminal_id.to_owned(), t);
                &self.known[r.terminal_id]
            }
        };
        let Some(mac) = &current.mac else { return Ok(None) };
        if current.kind != Some(r.kind) {
            return Ok(None);
        }
        let mut mac = mac.clone();
        mac.update(&r.canonical);
        if mac.verify_slice(&r.sig).is_err() {
            return Ok(None);
        }
        let sample = self.sample(py, &r)?;
        Ok(Some(PyTuple::new(py, [info, r.ts.into_pyobject(py)?.into_any(), sample])?))
    }

    fn learn(&self, py: Python<'_>, info: &Bound<'_, PyAny>) -> PyResult<Terminal> {
        let text = |name: &str| -> PyResult<Option<String>> {
            Ok(info.getattr(name)?.extract::<String>().ok())
        };
        let kind = text("kind")?.as_deref().and_then(|k| match k {
            "cold_chain" => Some(Kind::ColdChain),
            "footfall" => Some(Kind::Footfall),
            "payment" => Some(Kind::Payment),
            _ => None,
        });
        let mac = if text("status")?.as_deref() == Some("active") {
            let key = self.key.bind(py).call1((info,))?;
            let key = key.cast::<PyBytes>()?;
            Some(HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes a key of any size"))
        } else {
            None
        };
        Ok(Terminal { info: info.clone().unbind(), mac, kind })
    }

    /// `Sample(seq, ts, kind, temp_c, entries, exits, occupancy, tx_count, tx_amount, refunds,
    /// interval_s)`, by position as `_typed_sample` builds it.
    fn sample<'py>(&self, py: Python<'py>, r: &Reading<'_>) -> PyResult<Bound<'py, PyAny>> {
        let kind = self.kinds[r.kind as usize].bind(py).clone();
        let (temp_c, entries, exits, occupancy, tx_count, tx_amount, refunds) = match r.values {
            Values::ColdChain { temp_c } => (Some(temp_c), None, None, None, None, None, None),
            Values::Footfall { entries, exits, occupancy } => {
                (None, Some(entries), Some(exits), Some(occupancy), None, None, None)
            }
            Values::Payment { tx_count, tx_amount, refunds } => {
                (None, None, None, None, Some(tx_count), Some(tx_amount), Some(refunds))
            }
        };
        self.sample.bind(py).call1((
            r.seq,
            r.ts,
            kind,
            temp_c,
            entries,
            exits,
            occupancy,
            tx_count,
            tx_amount,
            refunds,
            r.interval_s,
        ))
    }
}

#[pymodule]
fn sentinel_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Verifier>()
}
