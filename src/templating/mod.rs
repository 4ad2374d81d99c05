//! templating
