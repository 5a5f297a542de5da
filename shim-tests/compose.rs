//! The openclaw Compose profile.

mod support;
