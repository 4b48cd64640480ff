//! `tollgate:plugin/outputs`: only declared names, capped in size one by one and together.

use super::StepIo;
use crate::bindings::tollgate::plugin::outputs;
use tollgate_vocab::limits::{MAX_OUTPUT_BYTES, MAX_OUTPUTS_TOTAL};

impl outputs::Host for StepIo {
    fn set(&mut self, name: String, value: String) -> Result<(), String> {
        let Some(declared) = &self.declared_outputs else {
            return Err("outputs cannot be set during describe".into());
        };
        if !declared.contains(&name) {
            return Err(format!(
                "output `{name}` is not declared in describe (declared: {})",
                declared.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        if value.len() > MAX_OUTPUT_BYTES {
            return Err(format!(
                "output `{name}` is {} bytes; the limit is {MAX_OUTPUT_BYTES}",
                value.len()
            ));
        }
        let previous = self.produced.outputs.get(&name).map_or(0, String::len);
        let total = self.outputs_bytes - previous + value.len();
        if total > MAX_OUTPUTS_TOTAL {
            return Err(format!(
                "outputs would total {total} bytes; the limit is {MAX_OUTPUTS_TOTAL}"
            ));
        }
        self.outputs_bytes = total;
        self.produced.outputs.insert(name, self.masker.mask(&value));
        Ok(())
    }
}
