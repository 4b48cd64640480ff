//! The `dynamodb` backend: one item per key in a table, such as the one terraform's S3 backend
//! locks in (`dynamodb_table`, hash key `LockID` of type string).
//!
//! The item's `LockID` is `tollgate:state-lock/<key>`: terraform's own items are
//! `<bucket>/<key>` (and `<bucket>/<key>-md5`), and `:` never appears in a bucket name, so
//! the two never meet. `Record` holds the lease record's JSON and `Version` a number that
//! every write increases: creating is a `PutItem` conditional on `attribute_not_exists(LockID)`,
//! every later write one conditional on `Version = :expected`, so a writer that read an older
//! version loses (`ConditionalCheckFailedException`). A new item's version starts at the
//! writer's clock in milliseconds rather than 1, so an item deleted by hand and created again
//! does not repeat a version an old reader may still hold.
//!
//! DynamoDB keeps no write time on an item, and the `Date` header of its answers is not
//! documented by the DynamoDB API (moto's is its web server's): no backend clock, so expiry is
//! judged as for GitHub refs (see [`crate::lease::Judge`]).

use super::aws::{self, Client};
use super::{Backend, BackendError, Current, Put, Version};
use crate::lease::Record;
use serde_json::{Value, json};
use tollgate_sdk::http::Method;

/// Prefix of every item this backend writes.
pub const LOCK_ID_PREFIX: &str = "tollgate:state-lock/";

/// A key's item.
pub struct DynamoBackend {
    client: Client,
    table: String,
    lock_id: String,
}

impl DynamoBackend {
    /// The item for `key` in `table`, through `client` (service `dynamodb`).
    pub fn new(client: Client, table: &str, key: &str) -> Self {
        DynamoBackend {
            client,
            table: table.to_string(),
            lock_id: format!("{LOCK_ID_PREFIX}{key}"),
        }
    }

    /// One DynamoDB call; `Ok(Err(code))` is an AWS error answer with its `__type` short name.
    fn call(&self, action: &str, body: &Value, doing: &str) -> Result<Result<Value, (String, Value)>, BackendError> {
        let headers = vec![
            ("content-type".to_string(), "application/x-amz-json-1.0".to_string()),
            ("x-amz-target".to_string(), format!("DynamoDB_20120810.{action}")),
        ];
        let bytes = serde_json::to_vec(body).expect("JSON serializes");
        let mut attempt = 1;
        loop {
            let outcome = self.client.send(Method::Post, "/", &headers, &bytes);
            let answer = outcome.as_ref().ok().map(|r| {
                let v: Value = serde_json::from_slice(r.bytes()).unwrap_or(Value::Null);
                (v, aws::error_code(r))
            });
            let code = answer.as_ref().map(|(_, c)| c.as_str()).unwrap_or_default();
            // A conditional write is safe to send again: a repeat that finds its own first
            // attempt applied fails its condition, and `put` recognises its own record.
            if attempt < aws::ATTEMPTS && aws::transient(&outcome, code) {
                tollgate_sdk::runtime::block_on(tollgate_sdk::runtime::sleep(aws::backoff(attempt)));
                attempt += 1;
                continue;
            }
            let response = outcome.map_err(|e| self.client.failed(e, doing))?;
            let (value, code) = answer.unwrap_or_default();
            if response.is_success() {
                return Ok(Ok(value));
            }
            if code == "ConditionalCheckFailedException" {
                return Ok(Err((code, value)));
            }
            if code == "ResourceNotFoundException" {
                return Err(BackendError::Unavailable(format!(
                    "{doing}: there is no table `{}` at {} ({}): create it with the string hash key `LockID` \
                     (terraform's lock table works)",
                    self.table,
                    self.client.origin(),
                    value["message"]
                        .as_str()
                        .or(value["Message"].as_str())
                        .unwrap_or("not found")
                )));
            }
            return Err(self.client.refused(&response, &code, doing));
        }
    }

    fn parse(&self, item: &Value) -> Result<(Version, Record), BackendError> {
        let foreign = |why: &str| {
            BackendError::Foreign(format!(
                "the item `{}` in table `{}` {why}; it is left alone",
                self.lock_id, self.table
            ))
        };
        let version = item["Version"]["N"]
            .as_str()
            .filter(|n| n.parse::<u64>().is_ok())
            .ok_or_else(|| foreign("has no numeric `Version`"))?;
        let text = item["Record"]["S"]
            .as_str()
            .ok_or_else(|| foreign("has no `Record` string"))?;
        let record = Record::from_json(text).map_err(|e| foreign(&format!("is {e}")))?;
        Ok((Version(version.to_string()), record))
    }
}

impl Backend for DynamoBackend {
    fn location(&self) -> String {
        format!("item {} in DynamoDB table {}", self.lock_id, self.table)
    }

    fn read(&mut self) -> Result<Option<Current>, BackendError> {
        let body = json!({
            "TableName": self.table,
            "Key": { "LockID": { "S": self.lock_id } },
            "ConsistentRead": true,
        });
        let doing = format!("reading {}", self.location());
        let answer = self
            .call("GetItem", &body, &doing)?
            .map_err(|(code, _)| BackendError::Unavailable(format!("{doing}: unexpected {code}")))?;
        match answer.get("Item") {
            None | Some(Value::Null) => Ok(None),
            Some(item) => {
                let (version, record) = self.parse(item)?;
                Ok(Some(Current {
                    version,
                    record,
                    written_ms: None,
                }))
            }
        }
    }

    fn put(&mut self, expected: Option<&Version>, record: &Record) -> Result<Put, BackendError> {
        let next = match expected {
            None => crate::lease::now_ms().max(1),
            Some(v) => {
                v.0.parse::<u64>()
                    .map_err(|_| BackendError::Foreign(format!("version `{}` of {}", v.0, self.location())))?
                    + 1
            }
        };
        let json = record.to_json();
        let mut body = json!({
            "TableName": self.table,
            "Item": {
                "LockID": { "S": self.lock_id },
                "Record": { "S": json },
                "Version": { "N": next.to_string() },
            },
            // A refusal returns the item as it is: a repeated write recognises its own.
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        });
        match expected {
            None => {
                body["ConditionExpression"] = json!("attribute_not_exists(LockID)");
            }
            Some(v) => {
                // Names through placeholders: DynamoDB reserves many words.
                body["ConditionExpression"] = json!("#v = :v");
                body["ExpressionAttributeNames"] = json!({ "#v": "Version" });
                body["ExpressionAttributeValues"] = json!({ ":v": { "N": v.0 } });
            }
        }
        let doing = format!("writing {}", self.location());
        match self.call("PutItem", &body, &doing)? {
            Ok(_) => Ok(Put::Won(Version(next.to_string()))),
            Err((_, refusal)) => {
                let mine = refusal["Item"]["Record"]["S"].as_str() == Some(json.as_str())
                    && refusal["Item"]["Version"]["N"].as_str() == Some(next.to_string().as_str());
                if mine {
                    Ok(Put::Won(Version(next.to_string())))
                } else {
                    Ok(Put::Lost)
                }
            }
        }
    }

    fn now_ms(&mut self) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
}
