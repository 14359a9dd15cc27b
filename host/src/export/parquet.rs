//! Writing prediction rows to Parquet, one row group per page read, so memory
//! stays bounded whatever the size of the index.

use super::rows::{FEATURES, PredictionRow};
use arrow_array::builder::{
    Float64Builder, Int32Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

/// The file's schema: `@timestamp`, `transaction_id`, `status_code`, the 15
/// features under their training names, `prediction`, `probability`.
pub fn schema() -> Arc<Schema> {
    let mut fields = vec![
        Field::new(
            "@timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        Field::new("transaction_id", DataType::Utf8, true),
        Field::new("status_code", DataType::Int32, true),
    ];
    for (name, _) in FEATURES {
        let t = if name == "AGE" {
            DataType::Float64
        } else {
            DataType::Int64
        };
        fields.push(Field::new(name, t, true));
    }
    fields.push(Field::new("prediction", DataType::Int64, true));
    fields.push(Field::new("probability", DataType::Float64, true));
    Arc::new(Schema::new(fields))
}

/// A Parquet file being written.
pub struct PredictionWriter {
    writer: ArrowWriter<File>,
    schema: Arc<Schema>,
}

impl PredictionWriter {
    /// Creates `path`.
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let file = File::create(path)?;
        let schema = schema();
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        Ok(Self { writer, schema })
    }

    /// Writes `rows` as one row group.
    pub fn write(&mut self, rows: &[PredictionRow]) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut ts = TimestampMillisecondBuilder::new().with_timezone("UTC");
        let mut tx = StringBuilder::new();
        let mut status = Int32Builder::new();
        let mut age = Float64Builder::new();
        let mut binary: Vec<Int64Builder> = (0..14).map(|_| Int64Builder::new()).collect();
        let mut prediction = Int64Builder::new();
        let mut probability = Float64Builder::new();
        for r in rows {
            ts.append_option(r.timestamp_ms);
            tx.append_option(r.transaction_id.as_deref());
            status.append_option(r.status_code);
            age.append_option(r.age);
            for (b, v) in binary.iter_mut().zip(r.binary) {
                b.append_option(v);
            }
            prediction.append_option(r.prediction);
            probability.append_option(r.probability);
        }
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(ts.finish()),
            Arc::new(tx.finish()),
            Arc::new(status.finish()),
        ];
        let mut binary = binary.into_iter();
        for (name, _) in FEATURES {
            if name == "AGE" {
                columns.push(Arc::new(age.finish()));
            } else {
                columns.push(Arc::new(binary.next().expect("14 builders").finish()));
            }
        }
        columns.push(Arc::new(prediction.finish()));
        columns.push(Arc::new(probability.finish()));
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        self.writer.write(&batch)?;
        self.writer.flush()?;
        Ok(())
    }

    /// Finishes the file.
    pub fn close(self) -> anyhow::Result<()> {
        self.writer.close()?;
        Ok(())
    }
}
