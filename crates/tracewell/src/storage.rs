//! `--storage`: where blocks, metas, rollups and catalogs are kept. The WAL always stays in the data directory.

use std::sync::Arc;

use anyhow::{bail, Context};
use object_store::aws::AmazonS3Builder;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;
use tracewell_store::BlockStorage;

/// A parsed `--storage` URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StorageUrl {
    /// `<data_dir>/blocks` on the local disk (the default).
    #[default]
    Local,
    /// `s3://bucket/prefix`: an S3-compatible bucket, configured by the standard `AWS_*` environment.
    S3 { bucket: String, prefix: String },
}

impl StorageUrl {
    /// Parses `file` / `local` (the local disk) or `s3://bucket[/prefix]`.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if url == "file" || url == "local" || url.is_empty() {
            return Ok(Self::Local);
        }
        let Some(rest) = url.strip_prefix("s3://") else {
            bail!("storage: {url:?} is not `local` or s3://bucket/prefix");
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            bail!("storage: {url:?} names no bucket");
        }
        Ok(Self::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The object store for blocks. S3 takes credentials, region and endpoint from the `AWS_*` environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`...).
    pub fn open(&self) -> anyhow::Result<BlockStorage> {
        match self {
            Self::Local => Ok(BlockStorage::LocalDisk),
            Self::S3 { bucket, prefix } => {
                let s3 = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .with_context(|| format!("storage: configuring S3 bucket {bucket}"))?;
                let objects: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix.as_str()))
                };
                Ok(BlockStorage::Objects(objects))
            }
        }
    }
}

impl std::fmt::Display for StorageUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local => f.write_str("local"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StorageUrl;

    #[test]
    fn parses_storage_urls() {
        assert_eq!(StorageUrl::parse("local").unwrap(), StorageUrl::Local);
        assert_eq!(
            StorageUrl::parse("s3://traces/prod/eu/").unwrap(),
            StorageUrl::S3 {
                bucket: "traces".into(),
                prefix: "prod/eu".into()
            }
        );
        assert_eq!(
            StorageUrl::parse("s3://traces").unwrap(),
            StorageUrl::S3 {
                bucket: "traces".into(),
                prefix: String::new()
            }
        );
        assert!(StorageUrl::parse("s3:///x").is_err());
        assert!(StorageUrl::parse("gs://b/p").is_err());
    }
}
