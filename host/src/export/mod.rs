//! Exports for drift analysis: `ml-api-message` to Parquet.

pub mod parquet;
pub mod read;
pub mod rows;
