//! [`TeeSink`]: one archive batch to several sinks (a JSON-lines file and a webhook archive),
//! in order; the batch counts as stored only when every sink stored it.

use async_trait::async_trait;
use genesys_messaging::archive::{ArchiveBatch, ArchiveSink, SinkError};
use serde::Serialize;

/// Writes each batch to every sink in turn; the first failure stops the export (the export
/// then returns the batch, so nothing is silently dropped).
pub struct TeeSink<M> {
    sinks: Vec<Box<dyn ArchiveSink<M>>>,
}

impl<M> std::fmt::Debug for TeeSink<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeeSink")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl<M> Default for TeeSink<M> {
    fn default() -> Self {
        Self { sinks: Vec::new() }
    }
}

impl<M: Serialize + Send + Sync> TeeSink<M> {
    /// Adds a sink.
    pub fn with(mut self, sink: impl ArchiveSink<M> + 'static) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Number of sinks.
    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    /// Whether there is no sink (the export then only counts).
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

#[async_trait]
impl<M: Serialize + Send + Sync> ArchiveSink<M> for TeeSink<M> {
    async fn write_batch(&self, batch: &ArchiveBatch<M>) -> Result<(), SinkError> {
        for sink in &self.sinks {
            sink.write_batch(batch).await?;
        }
        Ok(())
    }

    async fn finish(&self) -> Result<(), SinkError> {
        for sink in &self.sinks {
            sink.finish().await?;
        }
        Ok(())
    }
}
