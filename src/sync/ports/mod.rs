//! The ports of the sync core: what it needs from an HR system (`source`) and from a user
//! directory (`target`). The core owns these traits and the types that cross them; the
//! connectors implement them, and the callers (the local commands, the sync Job) build a
//! connector for each side and hand it to the run. The core never builds one itself.

pub mod source;
pub mod target;
