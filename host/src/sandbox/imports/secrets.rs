//! `tollgate:plugin/secrets`: values of granted secrets only.

use super::StepIo;
use crate::bindings::tollgate::plugin::secrets;

impl secrets::Host for StepIo {
    fn get(&mut self, name: String) -> Result<String, String> {
        self.secrets.get(&name).cloned().ok_or_else(|| {
            format!("the secret `{name}` is not granted to this step; add `--secret {name}` / `secrets: {name}`")
        })
    }
}
