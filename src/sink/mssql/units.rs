//! Write units: the result split by distributor, and consecutive distributors grouped into a few
//! units of about equal rows (about one per connection), which stage concurrently and apply in
//! order ([`Turns`]).

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::compute::{and, concat_batches, is_not_null};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::error::{DataFusionError, Result};
use futures::Stream;

use super::ROW_KEY;
use crate::mssql::types::WidthPolicy;

/// One distributor's rows.
pub(super) struct Partition {
    pub label: String,
    /// The partition's `DistributorID`.
    pub key: Option<String>,
    pub batch: RecordBatch,
}

/// A write unit: consecutive distributors staged and applied together. Units are few (about one
/// per connection), so the statements that read the whole target do not grow with distributors.
pub(super) struct Unit {
    /// Position in the apply order.
    pub index: usize,
    pub label: String,
    /// The distributors' `DistributorID`s and row counts, for the outcome.
    pub keys: Vec<Option<String>>,
    pub partitions: Vec<(String, u64)>,
    /// The distributors' rows (not concatenated: that would copy the whole result once more).
    pub batches: Vec<RecordBatch>,
    /// Values cut to fit, already reported.
    pub policy: WidthPolicy,
}

impl Unit {
    pub fn rows(&self) -> u64 {
        self.batches.iter().map(|b| b.num_rows() as u64).sum()
    }

    /// The unit's rows, for a bulk load.
    pub fn stream(&self) -> impl Stream<Item = Result<RecordBatch>> + Unpin + '_ {
        futures::stream::iter(self.batches.iter().cloned().map(Ok))
    }
}

/// What writing one unit did.
#[derive(Debug, Default)]
pub(super) struct UnitResult {
    pub updated: u64,
    pub inserted: u64,
    pub error: Option<String>,
    /// Not written because a stop was asked for (before it started, or before it applied).
    pub interrupted: bool,
}

impl UnitResult {
    /// The unit was not written because a stop was asked for; `error` is what failed before, if
    /// anything (a transient failure the stop kept from being retried).
    pub fn interrupted(error: Option<String>) -> Self {
        Self {
            error,
            interrupted: true,
            ..Default::default()
        }
    }
}

/// Lets in-place units apply one at a time, in unit order, while they stage concurrently.
pub(super) struct Turns {
    /// Units finished, written or failed.
    done: tokio::sync::watch::Sender<Vec<bool>>,
}

impl Turns {
    pub fn new(units: usize) -> Self {
        Self {
            done: tokio::sync::watch::Sender::new(vec![false; units]),
        }
    }

    /// Waits until every unit before `index` is finished.
    pub async fn wait(&self, index: usize) {
        let mut rx = self.done.subscribe();
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = rx.wait_for(|done| done[..index].iter().all(|d| *d)).await;
    }

    pub fn done(&self, index: usize) {
        self.done.send_modify(|done| done[index] = true);
    }
}

/// Rows whose route key and store are all present.
pub(super) fn full_key_mask(batch: &RecordBatch) -> Result<BooleanArray> {
    let mut mask: Option<BooleanArray> = None;
    for k in ROW_KEY {
        let i = batch.schema().index_of(k)?;
        let present = is_not_null(batch.column(i))?;
        mask = Some(match mask {
            None => present,
            Some(m) => and(&m, &present)?,
        });
    }
    Ok(mask.unwrap_or_else(|| BooleanArray::from(vec![true; batch.num_rows()])))
}

/// Groups the result by `DistributorID`, NULL first (it arrives sorted by it, so each group is a
/// few runs).
pub(super) fn split_by_distributor(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<Partition>> {
    let index = schema.index_of("DistributorID")?;
    let mut pieces: BTreeMap<Option<String>, Vec<RecordBatch>> = BTreeMap::new();
    for batch in batches {
        let column = batch.column(index);
        let text = match column.data_type() {
            DataType::Utf8 => column.as_string::<i32>(),
            other => {
                return Err(DataFusionError::Internal(format!(
                    "DistributorID is {other}, not Utf8"
                )));
            }
        };
        let mut start = 0;
        while start < batch.num_rows() {
            let key = text.is_valid(start).then(|| text.value(start).to_string());
            let mut end = start + 1;
            while end < batch.num_rows()
                && text.is_valid(end) == key.is_some()
                && key.as_deref().is_none_or(|k| text.value(end) == k)
            {
                end += 1;
            }
            pieces
                .entry(key)
                .or_default()
                .push(batch.slice(start, end - start));
            start = end;
        }
    }
    pieces
        .into_iter()
        .map(|(key, parts)| {
            let label = match &key {
                Some(k) => format!("DistributorID={k}"),
                None => "DistributorID=NULL".to_string(),
            };
            Ok(Partition {
                label,
                key,
                batch: concat_batches(schema, &parts)?,
            })
        })
        .collect()
}

/// Groups consecutive distributors into at most `count` units of about equal rows; rows without a
/// distributor form a unit of their own.
pub(super) fn into_units(partitions: Vec<Partition>, count: usize) -> Vec<Unit> {
    let total: usize = partitions.iter().map(|p| p.batch.num_rows()).sum();
    let mut groups: Vec<Vec<Partition>> = Vec::new();
    let mut current: Vec<Partition> = Vec::new();
    let (mut rows, mut closed_rows) = (0usize, 0usize);
    for part in partitions {
        let null = part.key.is_none();
        rows += part.batch.num_rows();
        current.push(part);
        // Close the unit once it reaches its share of what the closed units left.
        let share = (total - closed_rows).div_ceil(count.saturating_sub(groups.len()).max(1));
        if null || rows - closed_rows >= share {
            groups.push(std::mem::take(&mut current));
            closed_rows = rows;
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(index, parts)| {
            let first = parts.first().map(|p| p.label.clone()).unwrap_or_default();
            let label = match parts.len() {
                1 => first,
                n => format!("{first} and {} more", n - 1),
            };
            Unit {
                index,
                label,
                keys: parts.iter().map(|p| p.key.clone()).collect(),
                partitions: parts
                    .iter()
                    .map(|p| (p.label.clone(), p.batch.num_rows() as u64))
                    .collect(),
                batches: parts.into_iter().map(|p| p.batch).collect(),
                policy: WidthPolicy::Truncate,
            }
        })
        .collect()
}
