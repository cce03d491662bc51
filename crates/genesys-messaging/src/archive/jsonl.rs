//! [`JsonLinesFile`]: one JSON message per line, buffered, fsynced at the end.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Serialize;
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::Mutex;

use super::batch::ArchiveBatch;
use super::sink::{ArchiveSink, SinkError};

/// Writes every message of every batch as one line of JSON. Writes go through a 64 KiB buffer;
/// [`ArchiveSink::finish`] flushes and fsyncs the file (until then a crash can lose the tail).
#[derive(Debug)]
pub struct JsonLinesFile {
    path: PathBuf,
    writer: Mutex<Option<BufWriter<File>>>,
}

impl JsonLinesFile {
    /// Creates (or truncates) the file.
    pub async fn create(path: impl AsRef<Path>) -> Result<Self, SinkError> {
        let file = File::create(path.as_ref()).await?;
        Ok(Self::from_file(path.as_ref(), file))
    }

    /// Opens the file for appending, creating it if needed.
    pub async fn append(path: impl AsRef<Path>) -> Result<Self, SinkError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path.as_ref())
            .await?;
        Ok(Self::from_file(path.as_ref(), file))
    }

    fn from_file(path: &Path, file: File) -> Self {
        Self {
            path: path.to_owned(),
            writer: Mutex::new(Some(BufWriter::with_capacity(64 * 1024, file))),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl<M: Serialize + Send + Sync> ArchiveSink<M> for JsonLinesFile {
    async fn write_batch(&self, batch: &ArchiveBatch<M>) -> Result<(), SinkError> {
        let mut guard = self.writer.lock().await;
        let writer = guard.as_mut().ok_or(SinkError::Finished)?;
        let mut line = Vec::with_capacity(512);
        for message in &batch.messages {
            line.clear();
            serde_json::to_writer(&mut line, message).map_err(SinkError::Encode)?;
            // serde_json escapes line breaks inside strings, so a raw one can only be whitespace
            // between tokens of a [`super::Verbatim`] body spread over lines: a space keeps the
            // line whole and the JSON the same (every other byte stays as received).
            for byte in &mut line {
                if matches!(*byte, b'\n' | b'\r') {
                    *byte = b' ';
                }
            }
            line.push(b'\n');
            writer.write_all(&line).await?;
        }
        Ok(())
    }

    async fn finish(&self) -> Result<(), SinkError> {
        let mut guard = self.writer.lock().await;
        let Some(mut writer) = guard.take() else {
            return Ok(());
        };
        writer.flush().await?;
        writer.get_mut().sync_all().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_one_line_per_message_and_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let sink = JsonLinesFile::create(&path).await.unwrap();
        let b1 = ArchiveBatch::new(
            "c",
            0,
            0,
            vec![
                serde_json::json!({"id": "1"}),
                serde_json::json!({"id": "2"}),
            ],
        );
        let b2 = ArchiveBatch::new(
            "c",
            1,
            2,
            vec![serde_json::json!({"id": "3", "text": "line\nbreak"})],
        );
        ArchiveSink::write_batch(&sink, &b1).await.unwrap();
        ArchiveSink::write_batch(&sink, &b2).await.unwrap();
        ArchiveSink::<serde_json::Value>::finish(&sink)
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2]["text"], "line\nbreak");
        assert!(matches!(
            ArchiveSink::write_batch(&sink, &b1).await,
            Err(SinkError::Finished)
        ));
    }

    #[tokio::test]
    async fn verbatim_messages_are_stored_byte_for_byte() {
        use super::super::Verbatim;
        use super::super::verbatim::tests::HOSTILE_NUMBERS;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let sink = JsonLinesFile::create(&path).await.unwrap();
        let multi_line = "{\"id\":\"m2\",\n \"n\":1e-400}";
        let batch = ArchiveBatch::new(
            "c",
            0,
            0,
            vec![
                Verbatim::<serde_json::Value>::from_json(HOSTILE_NUMBERS).unwrap(),
                Verbatim::<serde_json::Value>::from_json(multi_line).unwrap(),
            ],
        );
        ArchiveSink::write_batch(&sink, &batch).await.unwrap();
        ArchiveSink::<Verbatim<serde_json::Value>>::finish(&sink)
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, [HOSTILE_NUMBERS, "{\"id\":\"m2\",  \"n\":1e-400}"]);
    }

    #[tokio::test]
    async fn append_keeps_existing_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "{\"id\":\"0\"}\n").unwrap();
        let sink = JsonLinesFile::append(&path).await.unwrap();
        ArchiveSink::write_batch(
            &sink,
            &ArchiveBatch::new("c", 0, 0, vec![serde_json::json!({"id": "1"})]),
        )
        .await
        .unwrap();
        ArchiveSink::<serde_json::Value>::finish(&sink)
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    }
}
