//! What a SQL Server table looks like: its columns from `INFORMATION_SCHEMA.COLUMNS`, asked with
//! parameters, and table names checked before they are ever quoted into T-SQL.

use datafusion::error::{DataFusionError, Result};
use futures::TryStreamExt;
use tiberius::ColumnData;

use super::conn::Mssql;
use super::types::SqlColumn;

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
        Ok(())
    } else {
        Err(DataFusionError::Plan(format!(
            "table name {name:?} is not allowed: use letters, digits and _ (at most {MAX_IDENT}), starting with a letter"
        )))
    }
}

/// The columns of `table` in the pool's schema, in table order; `None` when there is no such table.
pub async fn columns(db: &Mssql, table: &str) -> Result<Option<Vec<SqlColumn>>> {
    let sql = "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, \
               COALESCE(NUMERIC_SCALE, DATETIME_PRECISION), IS_NULLABLE \
               FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @P1 AND TABLE_NAME = @P2 \
               ORDER BY ORDINAL_POSITION";
    let mut conn = db.get().await?;
    let health = conn.health();
    let result = conn.client.query(sql, &[&db.schema(), &table]).await;
    let stream = health.note(result).map_err(|e| db.error(Some(table), &e))?;
    let rows: Vec<tiberius::Row> = health
        .note(stream.into_row_stream().try_collect().await)
        .map_err(|e| db.error(Some(table), &e))?;
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

/// `[dbo].[table]`, or `[#table]` for a temporary table (which has no schema).
pub fn qualified(db: &Mssql, table: &str) -> String {
    use super::types::quote_ident;
    if table.starts_with('#') {
        quote_ident(table)
    } else {
        format!("{}.{}", quote_ident(db.schema()), quote_ident(table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
