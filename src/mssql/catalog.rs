//! What a SQL Server table looks like: its columns from `INFORMATION_SCHEMA.COLUMNS` and its primary
//! key or clustered index from the `sys` catalog views, asked with parameters, and table names
//! checked before they are ever quoted into T-SQL.

use datafusion::error::Result;
use tiberius::ColumnData;

use super::conn::Mssql;
use super::types::{SqlColumn, quote_ident};

/// Longest identifier SQL Server accepts.
const MAX_IDENT: usize = 128;

/// Checks a table name given by a user (`--write table NAME`, `copy --tables`): letters, digits and
/// `_`, starting with a letter or `_`, or a `#` for a session temporary table. Names are still
/// bracket-quoted when used; this keeps them also free of surprises in logs and messages.
pub fn validate_table_name(name: &str) -> Result<()> {
    let body = name.strip_prefix('#').unwrap_or(name);
    let ok = !body.is_empty()
        && name.len() <= MAX_IDENT
        && body
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        return Ok(());
    }
    // Debug-quoted, so control and direction characters show as escapes; a long name cut short.
    let count = name.chars().count();
    let shown = match count > MAX_IDENT {
        true => format!(
            "{:?}… ({count} characters)",
            name.chars().take(40).collect::<String>()
        ),
        false => format!("{name:?}"),
    };
    Err(crate::error::bad_input(format!(
        "table name {shown} is not allowed: use letters, digits and _ (at most {MAX_IDENT}), starting with a letter"
    )))
}

/// The columns of `table` in the pool's schema, in table order; `None` when there is no such table.
pub async fn columns(db: &Mssql, table: &str) -> Result<Option<Vec<SqlColumn>>> {
    let sql = "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, \
               COALESCE(NUMERIC_SCALE, DATETIME_PRECISION), IS_NULLABLE \
               FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @P1 AND TABLE_NAME = @P2 \
               ORDER BY ORDINAL_POSITION";
    let rows = db.query_rows(table, sql, &[&db.schema(), &table]).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let values: Vec<ColumnData<'static>> = row.into_iter().collect();
        let text = |i: usize| match &values[i] {
            ColumnData::String(Some(s)) => Some(s.to_string()),
            _ => None,
        };
        let int = |i: usize| match &values[i] {
            ColumnData::U8(Some(v)) => Some(i64::from(*v)),
            ColumnData::I16(Some(v)) => Some(i64::from(*v)),
            ColumnData::I32(Some(v)) => Some(i64::from(*v)),
            ColumnData::I64(Some(v)) => Some(*v),
            _ => None,
        };
        let name = text(0)
            .ok_or_else(|| db.error(Some(table), &"INFORMATION_SCHEMA gave a column without a name"))?;
        out.push(SqlColumn {
            name,
            data_type: text(1).unwrap_or_default().to_ascii_lowercase(),
            max_length: int(2).map(|v| v.clamp(i32::MIN.into(), i32::MAX.into()) as i32),
            precision: int(3).and_then(|v| u8::try_from(v).ok()),
            scale: int(4).and_then(|v| u8::try_from(v).ok()),
            nullable: text(5).is_none_or(|v| v.eq_ignore_ascii_case("YES")),
        });
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Where a table's read order comes from (contract rule 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSource {
    /// The primary key: unique, so the order is total.
    PrimaryKey,
    /// The clustered index (no primary key); when it is not unique, its keys are followed by the
    /// fallback columns, so that rows it ties on still come in one order.
    ClusteredIndex { unique: bool },
    /// Neither: the fallback columns alone.
    Columns,
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    pub column: String,
    pub descending: bool,
}

impl OrderKey {
    pub fn asc(column: &str) -> Self {
        Self {
            column: column.to_string(),
            descending: false,
        }
    }
}

/// The order a table is read in, so that "the first row wins" rules pick the same row whatever
/// order the server happens to return rows in (contract rule 9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOrder {
    pub source: OrderSource,
    pub keys: Vec<OrderKey>,
}

impl ReadOrder {
    /// The read order from the table's index key (`None`: a heap without primary key) and the
    /// fallback columns (see [`fallback_columns`]). A primary key or unique clustered index is the
    /// whole order; a non-unique clustered index is followed by the fallback columns it lacks.
    pub fn new(index: Option<(OrderSource, Vec<OrderKey>)>, fallback: &[String]) -> Self {
        let (source, mut keys) = index.unwrap_or((OrderSource::Columns, Vec::new()));
        if matches!(
            source,
            OrderSource::Columns | OrderSource::ClusteredIndex { unique: false }
        ) {
            for c in fallback {
                if !keys.iter().any(|k| k.column.eq_ignore_ascii_case(c)) {
                    keys.push(OrderKey::asc(c));
                }
            }
        }
        Self { source, keys }
    }

    /// ` ORDER BY [a], [b] DESC`, or nothing when there is no orderable column at all.
    pub fn order_by(&self) -> String {
        if self.keys.is_empty() {
            return String::new();
        }
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|k| {
                let c = quote_ident(&k.column);
                if k.descending { format!("{c} DESC") } else { c }
            })
            .collect();
        format!(" ORDER BY {}", keys.join(", "))
    }
}

/// Whether SQL Server can sort on a column of this type. `text`, `ntext`, `image`, `xml`,
/// `geography`, `geometry` cannot be compared at all; `(max)` types are left out too (a sort's
/// worktable row is limited to 8,060 bytes, and an index key cannot hold them, so no index helps).
/// Types routeflow cannot read (`sql_variant`, `hierarchyid`, `rowversion`, CLR types) are left out
/// as well.
pub fn is_orderable(c: &SqlColumn) -> bool {
    let t = c.data_type.trim().to_ascii_lowercase();
    c.resolve().is_ok() && !matches!(t.as_str(), "text" | "ntext") && c.max_length != Some(-1)
}

/// The columns the read order falls back on when the table has neither a primary key nor a unique
/// clustered index: the orderable `contract` columns the table has, in contract order, then, when
/// `all_columns` is set, its other orderable columns in table order.
///
/// Rows that tie on every one of them are equal in every column routeflow reads when
/// `all_columns` is off (the contract tables other than the plan, of which only the contract
/// columns are read), so their order cannot change a result. The plan table is written back whole:
/// rows equal in their contract columns but different in another column would otherwise swap places
/// in the output, so for it every orderable column counts. What is left is rows that differ only in
/// a column that cannot be sorted (`nvarchar(max)`, `xml`, …), or only in case or trailing spaces
/// (the collation compares them as equal): their order is the server's. A primary key removes
/// even that.
pub fn fallback_columns(columns: &[SqlColumn], contract: &[&str], all_columns: bool) -> Vec<String> {
    let mut out: Vec<String> = contract
        .iter()
        .filter_map(|name| {
            columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name) && is_orderable(c))
                .map(|c| c.name.clone())
        })
        .collect();
    if all_columns {
        for c in columns {
            if is_orderable(c) && !out.iter().any(|o| o.eq_ignore_ascii_case(&c.name)) {
                out.push(c.name.clone());
            }
        }
    }
    out
}

/// The key of `table`'s primary key, else of its clustered index, in key order; `None` for a heap
/// without primary key. From the documented catalog views, with the table's name a parameter.
///
/// (Babelfish for PostgreSQL reports every index as nonclustered, so there only primary keys count.)
pub async fn index_key(db: &Mssql, table: &str) -> Result<Option<(OrderSource, Vec<OrderKey>)>> {
    let sql = "SELECT c.name, i.is_primary_key, i.is_unique, ic.is_descending_key \
               FROM sys.indexes AS i \
               JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id \
               JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id \
               WHERE i.object_id = OBJECT_ID(@P1) AND (i.is_primary_key = 1 OR i.type = 1) \
               AND ic.key_ordinal > 0 \
               ORDER BY i.is_primary_key DESC, i.index_id, ic.key_ordinal";
    let name = qualified(db, table);
    let rows = db.query_rows(table, sql, &[&name.as_str()]).await?;
    let mut source = None;
    let mut keys = Vec::new();
    for row in rows {
        let values: Vec<ColumnData<'static>> = row.into_iter().collect();
        let flag = |i: usize| match &values[i] {
            ColumnData::Bit(Some(b)) => *b,
            ColumnData::U8(Some(v)) => *v != 0,
            ColumnData::I16(Some(v)) => *v != 0,
            ColumnData::I32(Some(v)) => *v != 0,
            _ => false,
        };
        let this = if flag(1) {
            OrderSource::PrimaryKey
        } else {
            OrderSource::ClusteredIndex { unique: flag(2) }
        };
        // Rows come primary key first: only the first index's keys count.
        if source.is_some_and(|s| s != this) {
            break;
        }
        source = Some(this);
        let ColumnData::String(Some(column)) = &values[0] else {
            return Err(db.error(Some(table), &"sys.columns gave a key column without a name"));
        };
        keys.push(OrderKey {
            column: column.to_string(),
            descending: flag(3),
        });
    }
    Ok(source.map(|s| (s, keys)))
}

/// `[dbo].[table]`, or `[#table]` for a temporary table (which has no schema).
pub fn qualified(db: &Mssql, table: &str) -> String {
    if table.starts_with('#') {
        quote_ident(table)
    } else {
        format!("{}.{}", quote_ident(db.schema()), quote_ident(table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, data_type: &str, max_length: Option<i32>) -> SqlColumn {
        SqlColumn {
            name: name.into(),
            data_type: data_type.into(),
            max_length,
            precision: None,
            scale: None,
            nullable: true,
        }
    }

    #[test]
    fn fallback_skips_unorderable_columns_and_follows_the_contract() {
        let columns = [
            column("notes", "nvarchar", Some(-1)),
            column("latitude", "float", None),
            column("custno", "nvarchar", Some(50)),
            column("shape", "geography", None),
            column("memo", "ntext", None),
            column("extra", "int", None),
            column("address3", "nvarchar", Some(-1)),
        ];
        let contract = ["CustNo", "latitude", "longitude", "address3"];
        assert_eq!(
            fallback_columns(&columns, &contract, false),
            ["custno", "latitude"]
        );
        assert_eq!(
            fallback_columns(&columns, &contract, true),
            ["custno", "latitude", "extra"]
        );
    }

    #[test]
    fn read_order_is_the_key_then_tie_breakers_when_not_unique() {
        let fallback = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let pk = ReadOrder::new(
            Some((OrderSource::PrimaryKey, vec![OrderKey::asc("b")])),
            &fallback,
        );
        assert_eq!(pk.order_by(), " ORDER BY [b]");
        let clustered = ReadOrder::new(
            Some((
                OrderSource::ClusteredIndex { unique: false },
                vec![
                    OrderKey {
                        column: "C".into(),
                        descending: true,
                    },
                    OrderKey::asc("a"),
                ],
            )),
            &fallback,
        );
        assert_eq!(clustered.order_by(), " ORDER BY [C] DESC, [a], [b]");
        let unique = ReadOrder::new(
            Some((
                OrderSource::ClusteredIndex { unique: true },
                vec![OrderKey::asc("c")],
            )),
            &fallback,
        );
        assert_eq!(unique.order_by(), " ORDER BY [c]");
        let heap = ReadOrder::new(None, &fallback);
        assert_eq!(heap.source, OrderSource::Columns);
        assert_eq!(heap.order_by(), " ORDER BY [a], [b], [c]");
        assert_eq!(ReadOrder::new(None, &[]).order_by(), "");
        let odd = ReadOrder::new(None, &["x]y".to_string()]);
        assert_eq!(odd.order_by(), " ORDER BY [x]]y]");
    }

    #[test]
    fn table_names_are_checked() {
        for ok in ["MonthlyRoutePlan_temp", "_x1", "#rf_stage"] {
            validate_table_name(ok).unwrap();
        }
        for bad in [
            "",
            "1abc",
            "a b",
            "x]; DROP TABLE y--",
            "dbo.x",
            "#",
            &"a".repeat(129),
        ] {
            assert!(validate_table_name(bad).is_err(), "{bad}");
        }
    }
}
