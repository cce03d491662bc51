//! [`TeeSink`]: one archive batch to several sinks (a JSON-lines file and a webhook archive),
//! in order; the batch counts as stored only when every sink stored it.

use async_trait::async_trait;
use serde::Serialize;

use super::{ArchiveBatch, ArchiveSink, SinkError};

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Records what it was given; fails every write once `fail` is set.
    #[derive(Clone, Default)]
    struct Recorder {
        seen: Arc<Mutex<Vec<String>>>,
        finished: Arc<Mutex<u32>>,
        fail: bool,
    }

    #[async_trait]
    impl ArchiveSink<u32> for Recorder {
        async fn write_batch(&self, batch: &ArchiveBatch<u32>) -> Result<(), SinkError> {
            if self.fail {
                return Err(SinkError::Finished);
            }
            self.seen
                .lock()
                .unwrap()
                .push(format!("{}:{}", batch.conversation_id, batch.batch));
            Ok(())
        }

        async fn finish(&self) -> Result<(), SinkError> {
            *self.finished.lock().unwrap() += 1;
            Ok(())
        }
    }

    #[tokio::test]
    async fn every_sink_gets_every_batch_in_order() {
        let (a, b) = (Recorder::default(), Recorder::default());
        let tee = TeeSink::default().with(a.clone()).with(b.clone());
        assert_eq!(tee.len(), 2);
        for n in 0..3 {
            tee.write_batch(&ArchiveBatch::new("c", n, n * 2, vec![1, 2]))
                .await
                .unwrap();
        }
        tee.finish().await.unwrap();
        for sink in [&a, &b] {
            assert_eq!(*sink.seen.lock().unwrap(), ["c:0", "c:1", "c:2"]);
            assert_eq!(*sink.finished.lock().unwrap(), 1);
        }
    }

    #[tokio::test]
    async fn a_failing_sink_fails_the_batch_and_the_sinks_after_it_are_not_written() {
        let first = Recorder::default();
        let broken = Recorder {
            fail: true,
            ..Recorder::default()
        };
        let after = Recorder::default();
        let tee = TeeSink::default()
            .with(first.clone())
            .with(broken)
            .with(after.clone());
        let err = tee
            .write_batch(&ArchiveBatch::new("c", 0, 0, vec![7]))
            .await
            .unwrap_err();
        assert!(matches!(err, SinkError::Finished), "{err:?}");
        assert_eq!(first.seen.lock().unwrap().len(), 1);
        assert!(after.seen.lock().unwrap().is_empty());
    }

    #[test]
    fn an_empty_tee_says_so() {
        let tee = TeeSink::<u32>::default();
        assert!(tee.is_empty());
    }
}
