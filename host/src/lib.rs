//! logpipe
