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
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple, PyType};
use sha2::Sha256;

use reading::{plausible, Kind, Reading, Values};

type HmacSha256 = Hmac<Sha256>;

/// `services/telemetry/domain/state.py` `Sample`'s fields, in order.
const SAMPLE_FIELDS: [&str; 12] = [
    "seq",
    "ts",
    "kind",
    "temp_c",
    "entries",
    "exits",
    "occupancy",
    "tx_count",
    "tx_amount",
    "refunds",
    "interval_s",
    "received_at",
];

/// What the verifier keeps of a terminal, for as long as the directory holds the very same
/// `TerminalInfo` object (it is frozen: a change in the registry puts a new one in the dict).
struct Terminal {
    /// The id as a Python str: its hash is kept, so the dict lookup costs no new object.
    id: Py<PyString>,
    info: Py<PyAny>,
    /// The HMAC with the key's pads hashed, for an active terminal; None for any other status.
    mac: Option<HmacSha256>,
    kind: Option<Kind>,
}

#[pyclass(module = "sentinel_native")]
struct Verifier {
    terminals: Py<PyDict>,
    key: Py<PyAny>,
    sample: Py<PyType>,
    fields: [Py<PyString>; 12],
    kinds: [Py<PyString>; 3],
    known: HashMap<String, Terminal>,
}

#[pymethods]
impl Verifier {
    /// `terminals`: the directory's dict of `TerminalInfo` by id, read at every judgement;
    /// `key(terminal)`: the terminal's current signing key; `sample`: the `Sample` class, a
    /// slotted dataclass of exactly the fields `SAMPLE_FIELDS` names, in that order.
    #[new]
    fn new(
        py: Python<'_>,
        terminals: Bound<'_, PyDict>,
        key: Py<PyAny>,
        sample: Bound<'_, PyType>,
    ) -> PyResult<Self> {
        let slots: Vec<String> = sample.getattr("__slots__")?.extract()?;
        if slots != SAMPLE_FIELDS {
            return Err(PyTypeError::new_err(format!(
                "the sample class's slots are {slots:?}, not {SAMPLE_FIELDS:?}"
            )));
        }
        let kinds = [Kind::ColdChain, Kind::Footfall, Kind::Payment]
            .map(|k| PyString::intern(py, k.name()).unbind());
        let fields = SAMPLE_FIELDS.map(|f| PyString::intern(py, f).unbind());
        Ok(Verifier {
            terminals: terminals.unbind(),
            key,
            sample: sample.unbind(),
            fields,
            kinds,
            known: HashMap::new(),
        })
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
        let mut out = Vec::with_capacity(raws.len());
        for item in raws.iter() {
            out.push(match item.cast::<PyBytes>() {
                Ok(bytes) => self.accepted(py, bytes.as_bytes(), limit)?,
                Err(_) => None,
            });
        }
        PyList::new(py, out)
    }
}

impl Verifier {
    fn accepted<'py>(
        &mut self,
        py: Python<'py>,
        raw: &[u8],
        limit: f64,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(r) = plausible(raw, limit) else {
            return Ok(None);
        };
        let terminals = self.terminals.bind(py);
        let (found, fresh) = match self.known.get(r.terminal_id) {
            Some(t) => {
                let found = terminals.get_item(t.id.bind(py))?;
                let same = found
                    .as_ref()
                    .is_some_and(|f| f.as_ptr() == t.info.as_ptr());
                (found, !same)
            }
            None => (terminals.get_item(r.terminal_id)?, true),
        };
        let Some(info) = found else { return Ok(None) };
        if fresh {
            let t = self.learn(py, r.terminal_id, &info)?;
            self.known.insert(r.terminal_id.to_owned(), t);
        }
        let current = &self.known[r.terminal_id];
        let Some(mac) = &current.mac else {
            return Ok(None);
        };
        if current.kind != Some(r.kind) {
            return Ok(None);
        }
        let mut mac = mac.clone();
        mac.update(&r.canonical);
        if mac.verify_slice(&r.sig).is_err() {
            return Ok(None);
        }
        let sample = self.sample(py, &r)?;
        Ok(Some(PyTuple::new(
            py,
            [info, r.ts.into_pyobject(py)?.into_any(), sample],
        )?))
    }

    fn learn(&self, py: Python<'_>, id: &str, info: &Bound<'_, PyAny>) -> PyResult<Terminal> {
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
        Ok(Terminal {
            id: PyString::new(py, id).unbind(),
            info: info.clone().unbind(),
            mac,
            kind,
        })
    }

    /// The `Sample` of the reading, every field set as `_typed_sample` sets it. Allocated and
    /// filled here rather than by calling the class: its generated `__init__` (a Python frame
    /// and twelve stores) cost more than the rest of the native path (bench/README.md).
    fn sample<'py>(&self, py: Python<'py>, r: &Reading<'_>) -> PyResult<Bound<'py, PyAny>> {
        let kind = self.kinds[r.kind as usize].bind(py).clone();
        let (temp_c, entries, exits, occupancy, tx_count, tx_amount, refunds) = match r.values {
            Values::ColdChain { temp_c } => (Some(temp_c), None, None, None, None, None, None),
            Values::Footfall {
                entries,
                exits,
                occupancy,
            } => (
                None,
                Some(entries),
                Some(exits),
                Some(occupancy),
                None,
                None,
                None,
            ),
            Values::Payment {
                tx_count,
                tx_amount,
                refunds,
            } => (
                None,
                None,
                None,
                None,
                Some(tx_count),
                Some(tx_amount),
                Some(refunds),
            ),
        };
        let ty = self.sample.bind(py);
        // SAFETY: the type was checked to be a class whose instances keep these fields in
        // slots (`new`); the new reference is owned by the Bound.
        let obj = unsafe {
            Bound::from_owned_ptr_or_err(py, ffi::PyType_GenericAlloc(ty.as_type_ptr(), 0))?
        };
        let n = &self.fields;
        obj.setattr(n[0].bind(py), r.seq)?;
        obj.setattr(n[1].bind(py), r.ts)?;
        obj.setattr(n[2].bind(py), kind)?;
        obj.setattr(n[3].bind(py), temp_c)?;
        obj.setattr(n[4].bind(py), entries)?;
        obj.setattr(n[5].bind(py), exits)?;
        obj.setattr(n[6].bind(py), occupancy)?;
        obj.setattr(n[7].bind(py), tx_count)?;
        obj.setattr(n[8].bind(py), tx_amount)?;
        obj.setattr(n[9].bind(py), refunds)?;
        obj.setattr(n[10].bind(py), r.interval_s)?;
        obj.setattr(n[11].bind(py), py.None())?;
        // Its fields are numbers, a str and None: it can be in no reference cycle, so the
        // cyclic collector need not track it (as CPython untracks such tuples and dicts). A
        // batch's thousands of live samples otherwise set off collections that cost as much as
        // the rest of the native path (bench/README.md).
        unsafe { ffi::PyObject_GC_UnTrack(obj.as_ptr().cast()) };
        Ok(obj)
    }
}

#[pymodule]
fn sentinel_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Verifier>()
}
