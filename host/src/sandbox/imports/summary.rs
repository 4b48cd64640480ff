//! `tollgate:plugin/summary`: Markdown, masked, capped at GitHub's 1 MiB.

use super::StepIo;
use crate::bindings::tollgate::plugin::summary;
use tollgate_vocab::limits::MAX_SUMMARY_BYTES;

impl summary::Host for StepIo {
    fn append(&mut self, markdown: String) -> Result<(), String> {
        let produced = &mut self.produced;
        if produced.summary_truncated {
            return Err("the step summary is full (1 MiB)".into());
        }
        let markdown = self.masker.mask(&markdown);
        if produced.summary.len() + markdown.len() > MAX_SUMMARY_BYTES {
            produced.summary_truncated = true;
            return Err("the step summary would exceed GitHub's 1 MiB limit; this part was dropped".into());
        }
        produced.summary.push_str(&markdown);
        Ok(())
    }
}
