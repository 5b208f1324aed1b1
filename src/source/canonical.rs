//! Mapping a stored table onto its canonical columns: find each contract column (case-insensitively,
//! as SQL Server does), check it can be cast, and cast batch by batch while streaming.
//!
//! Shared by every source so files and databases give the plan exactly the same schema.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, RecordBatchOptions, new_null_array};
use arrow::compute::{CastOptions, can_cast_types, cast_with_options};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::{DataFusionError, Result};

use super::bad_value::first_bad_value;
use crate::schema::{self, ROUTE_PLAN, SOURCE_ORDINAL};

/// Where an output column comes from.
#[derive(Debug, Clone)]
pub enum ColumnSource {
    /// A stored column, cast to `target` when its type differs.
    Stored { index: usize, target: DataType },
    /// An optional contract column the table lacks (`custype`): all NULL.
    Absent,
    /// The row's position in source order.
    Ordinal,
}

/// The output schema of one source table and how to build it from stored batches.
#[derive(Debug, Clone)]
pub struct TableLayout {
    pub table: String,
    pub schema: SchemaRef,
    pub columns: Vec<ColumnSource>,
    /// What the table is read from, for messages.
    pub origin: String,
}

impl TableLayout {
    /// Checks `stored` against the contract for `table` and plans the casts.
    ///
    /// The plan table keeps every stored column (extra columns are written back unchanged); the other
    /// tables keep only the contract's columns. `origin` names the data in error messages.
    pub fn new(table: &str, stored: &Schema, origin: &str) -> Result<Self> {
        let contract = schema::columns(table)
            .ok_or_else(|| crate::error::bad_input(format!("unknown table {table}")))?;
        let stored = StoredTable {
            schema: stored,
            table,
            origin,
        };
        stored.check_required(contract)?;
        let mut output = if table == ROUTE_PLAN {
            stored.plan_columns(contract)?
        } else {
            contract
                .iter()
                .map(|c| stored.contract_column(c))
                .collect::<Result<Vec<_>>>()?
        };
        if stored.find(SOURCE_ORDINAL).is_some() {
            return Err(crate::error::bad_input(format!(
                "table {table} in {origin} has a column named {SOURCE_ORDINAL}, which routeflow reserves"
            )));
        }
        output.push((
            Field::new(SOURCE_ORDINAL, DataType::Int64, false),
            ColumnSource::Ordinal,
        ));
        let (fields, columns): (Vec<Field>, Vec<ColumnSource>) = output.into_iter().unzip();
        Ok(Self {
            table: table.to_string(),
            schema: Arc::new(Schema::new(fields)),
            columns,
            origin: origin.to_string(),
        })
    }

    /// The stored column indices needed to produce the output columns `projection`.
    pub fn stored_indices(&self, projection: &[usize]) -> Vec<usize> {
        let mut idx: Vec<usize> = projection
            .iter()
            .filter_map(|&i| match &self.columns[i] {
                ColumnSource::Stored { index, .. } => Some(*index),
                _ => None,
            })
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx
    }

    /// Builds the projected output batch from a stored batch that holds exactly the columns
    /// `stored_indices(projection)` (in that order); `first_ordinal` is the source position of its
    /// first row. A value that cannot be cast is bad input, named by table and column (a source
    /// that knows rows better uses [`TableLayout::convert_located`]).
    pub fn convert(
        &self,
        projection: &[usize],
        projected_schema: &SchemaRef,
        stored: &RecordBatch,
        first_ordinal: i64,
    ) -> Result<RecordBatch> {
        let origin = format!("table {} in {}", self.table, self.origin);
        self.convert_located(projection, projected_schema, stored, first_ordinal, &|_| {
            origin.clone()
        })
    }

    /// [`TableLayout::convert`], naming the position of a value that cannot be cast by
    /// `position(row in batch)`, e.g. `customer.csv line 8`.
    pub fn convert_located(
        &self,
        projection: &[usize],
        projected_schema: &SchemaRef,
        stored: &RecordBatch,
        first_ordinal: i64,
        position: &dyn Fn(usize) -> String,
    ) -> Result<RecordBatch> {
        let stored_idx = self.stored_indices(projection);
        let rows = stored.num_rows();
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(projection.len());
        for &i in projection {
            let array = match &self.columns[i] {
                ColumnSource::Stored { index, target } => {
                    let pos = stored_idx.binary_search(index).expect("projected stored column");
                    let a = stored.column(pos);
                    if a.data_type() == target {
                        Arc::clone(a)
                    } else {
                        cast_with_options(a, target, &options).map_err(|e| {
                            self.cast_error(self.schema.field(i).name(), a, target, e, position)
                        })?
                    }
                }
                ColumnSource::Absent => new_null_array(self.schema.field(i).data_type(), rows),
                ColumnSource::Ordinal => Arc::new(Int64Array::from_iter_values(
                    first_ordinal..first_ordinal + rows as i64,
                )),
            };
            arrays.push(array);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(projected_schema),
            arrays,
            &options,
        )?)
    }

    /// Bad input naming the first value of `column` that does not cast, where it is, and why.
    fn cast_error(
        &self,
        column: &str,
        array: &ArrayRef,
        target: &DataType,
        error: arrow::error::ArrowError,
        position: &dyn Fn(usize) -> String,
    ) -> DataFusionError {
        match first_bad_value(array, target) {
            Some(bad) => crate::error::bad_input(format!(
                "{}, column {column}: {}",
                position(bad.row),
                bad.describe()
            )),
            None => crate::error::bad_input_from(
                format!(
                    "{}, column {column}: cannot read a value as {target}",
                    position(0)
                ),
                error,
            ),
        }
    }
}

/// A stored table being mapped onto the contract, with what error messages name it by.
struct StoredTable<'a> {
    schema: &'a Schema,
    table: &'a str,
    origin: &'a str,
}

impl StoredTable<'_> {
    /// The stored column named `name`, compared case-insensitively.
    fn find(&self, name: &str) -> Option<usize> {
        self.schema
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// Fails naming every required contract column the table lacks, and the columns it has.
    fn check_required(&self, contract: &[schema::Column]) -> Result<()> {
        let missing: Vec<&str> = contract
            .iter()
            .filter(|c| self.find(c.name).is_none() && !c.optional)
            .map(|c| c.name)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(crate::error::bad_input(format!(
            "table {} in {} lacks column(s) {}; it has: {}",
            self.table,
            self.origin,
            missing.join(", "),
            self.schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// The output field of contract column `c` and where it comes from: the stored column, which must
    /// be castable to the canonical type, or nothing (an absent optional column).
    fn contract_column(&self, c: &schema::Column) -> Result<(Field, ColumnSource)> {
        let target = c.data_type.arrow();
        let source = match self.find(c.name) {
            Some(index) => {
                let from = self.schema.field(index).data_type();
                if !can_cast_types(from, &target) {
                    return Err(crate::error::bad_input(format!(
                        "column {}.{} in {} has type {from}, which cannot be read as {target}",
                        self.table, c.name, self.origin
                    )));
                }
                ColumnSource::Stored {
                    index,
                    target: target.clone(),
                }
            }
            None => ColumnSource::Absent,
        };
        Ok((Field::new(c.name, target, true), source))
    }

    /// The plan table's columns: stored order, canonical names and types; absent optional columns
    /// appended.
    fn plan_columns(&self, contract: &[schema::Column]) -> Result<Vec<(Field, ColumnSource)>> {
        let mut output = Vec::new();
        for (index, f) in self.schema.fields().iter().enumerate() {
            output.push(
                match contract.iter().find(|c| f.name().eq_ignore_ascii_case(c.name)) {
                    Some(c) => self.contract_column(c)?,
                    None => (
                        f.as_ref().clone().with_nullable(true),
                        ColumnSource::Stored {
                            index,
                            target: f.data_type().clone(),
                        },
                    ),
                },
            );
        }
        for c in contract.iter().filter(|c| self.find(c.name).is_none()) {
            output.push(self.contract_column(c)?);
        }
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Float32Array, StringArray};

    fn stored_customer() -> Schema {
        Schema::new(vec![
            Field::new("custno", DataType::LargeUtf8, true),
            Field::new("latitude", DataType::Float32, true),
            Field::new("longitude", DataType::Float32, true),
            Field::new("address3", DataType::Utf8, true),
            Field::new("extra", DataType::Utf8, true),
        ])
    }

    #[test]
    fn missing_column_is_named() {
        let stored = Schema::new(vec![Field::new("CustNo", DataType::Utf8, true)]);
        let err = TableLayout::new("customer", &stored, "dir")
            .unwrap_err()
            .to_string();
        assert!(err.contains("latitude, longitude, address3"), "{err}");
    }

    #[test]
    fn casts_to_canonical_and_adds_ordinal() {
        let layout = TableLayout::new("customer", &stored_customer(), "dir").unwrap();
        let names: Vec<_> = layout.schema.fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(
            names,
            ["CustNo", "latitude", "longitude", "address3", SOURCE_ORDINAL]
        );
        let projection = vec![0, 1, 4];
        let projected = Arc::new(layout.schema.project(&projection).unwrap());
        let stored = RecordBatch::try_new(
            Arc::new(stored_customer().project(&[0, 1]).unwrap()),
            vec![
                Arc::new(arrow::array::LargeStringArray::from(vec![Some("A"), None])),
                Arc::new(Float32Array::from(vec![Some(14.5), None])),
            ],
        )
        .unwrap();
        let out = layout.convert(&projection, &projected, &stored, 10).unwrap();
        let cust = out.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(cust.value(0), "A");
        assert!(cust.is_null(1));
        assert_eq!(out.column(1).data_type(), &DataType::Float64);
        let ord = out.column(2).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(ord.values(), &[10, 11]);
    }

    #[test]
    fn plan_keeps_extra_columns_and_adds_custype() {
        let mut fields: Vec<Field> = schema::canonical_schema(ROUTE_PLAN)
            .fields()
            .iter()
            .filter(|f| f.name() != "custype")
            .map(|f| f.as_ref().clone())
            .collect();
        fields.insert(2, Field::new("Remarks", DataType::Utf8, true));
        let layout = TableLayout::new(ROUTE_PLAN, &Schema::new(fields), "dir").unwrap();
        let names: Vec<_> = layout.schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names[2], "Remarks");
        assert_eq!(names[names.len() - 2], "custype");
        assert!(matches!(layout.columns[names.len() - 2], ColumnSource::Absent));
    }
}
