//! What one step may write through the host's imports (log, outputs, summary, artifacts), for the host that
//! enforces it, the SDK's `MockHost` that mirrors it, and plugins that fit their text to it.

/// Log text a step may write before further lines are dropped.
pub const MAX_LOG_BYTES: usize = 4 << 20;

/// What each log event costs against [`MAX_LOG_BYTES`] besides its text: the prefix or workflow command the
/// printer adds around it.
pub const LOG_LINE_COST: usize = 64;

/// Size of one output value.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;

/// All outputs of a step together.
pub const MAX_OUTPUTS_TOTAL: usize = 4 << 20;

/// GitHub's cap on one step's summary.
pub const MAX_SUMMARY_BYTES: usize = 1 << 20;

/// The longest comment or issue body a plugin may write: GitHub's 65,536 characters less room for the owner
/// marker the host appends (`reach::mark`). Counted in UTF-8 bytes, never fewer than characters.
pub const MAX_GITHUB_BODY: usize = 65_536 - 256;

/// Largest artifact a plugin may store.
pub const MAX_ARTIFACT_BYTES: usize = 256 << 20;

/// All artifacts one step may store together (disk, and the host memory each `put` copies out of the guest).
pub const MAX_ARTIFACTS_TOTAL: usize = 512 << 20;
