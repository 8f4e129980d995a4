//! The two R2 operations every handler shares: write a JSON object, read an object's bytes.

use worker::Env;

use super::bindings;
use super::http::storage_err;
use crate::error::ApiError;

/// Write a JSON object to `RECORDINGS`.
pub async fn put_json(env: &Env, key: &str, body: Vec<u8>) -> Result<(), ApiError> {
    put_json_with_metadata(env, key, body, Vec::new()).await
}

/// Write a JSON object with custom metadata (a day-index entry and its session summary, a
/// chunk's `encoding`).
pub async fn put_json_with_metadata(
    env: &Env,
    key: &str,
    body: Vec<u8>,
    metadata: Vec<(String, String)>,
) -> Result<(), ApiError> {
    super::subrequests::count();
    let bucket = env
        .bucket(bindings::RECORDINGS)
        .map_err(storage_err("recording storage"))?;
    // A gzip chunk says so in its HTTP metadata too, for tools that read the bucket directly.
    let gzip = metadata
        .iter()
        .any(|(k, v)| (k.as_str(), v.as_str()) == crate::storage::CHUNK_ENCODING_METADATA);
    bucket
        .put(key, body)
        .http_metadata(worker::HttpMetadata {
            content_type: Some("application/json".into()),
            content_encoding: gzip.then(|| "gzip".into()),
            ..Default::default()
        })
        .custom_metadata(
            metadata
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        )
        .execute()
        .await
        .map(|_| ())
        .map_err(storage_err("recording storage"))
}

/// One R2 object's bytes, `None` if absent.
pub async fn read_bytes(env: &Env, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
    super::subrequests::count();
    let bucket = env
        .bucket(bindings::RECORDINGS)
        .map_err(storage_err("read storage"))?;
    let Some(obj) = bucket
        .get(key)
        .execute()
        .await
        .map_err(storage_err("read storage"))?
    else {
        return Ok(None);
    };
    let Some(body) = obj.body() else {
        return Ok(Some(Vec::new()));
    };
    body.bytes()
        .await
        .map(Some)
        .map_err(storage_err("read storage"))
}
