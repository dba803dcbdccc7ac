//! `manifest.json`: the types live in [`crate::model::manifest`] (the typed bundle model); this
//! re-export keeps the `bundle::manifest` paths working.

pub use crate::model::manifest::*;
