use super::*;
use std::collections::HashMap;

/// A column of `data_type` with the given length / precision / scale, nullable.
pub(crate) fn col(
    name: &str,
    data_type: &str,
    max_length: Option<i32>,
    precision: Option<u8>,
    scale: Option<u8>,
) -> SqlColumn {
    SqlColumn {
        name: name.to_string(),
        data_type: data_type.to_string(),
        max_length,
        precision,
        scale,
        nullable: true,
    }
}

/// A column with no length/precision/scale.
pub(crate) fn plain(name: &str, data_type: &str) -> SqlColumn {
    col(name, data_type, None, None, None)
}

#[test]
fn arrow_type_maps_every_supported_type() {
    let us = |tz: Option<&str>| DataType::Timestamp(TimeUnit::Microsecond, tz.map(Into::into));
    let cases = [
        (plain("a", "bit"), DataType::Boolean),
        (plain("a", "tinyint"), DataType::UInt8),
        (plain("a", "smallint"), DataType::Int16),
        (plain("a", "int"), DataType::Int32),
        (plain("a", "bigint"), DataType::Int64),
        (col("a", "real", None, Some(24), None), DataType::Float32),
        (col("a", "float", None, Some(53), None), DataType::Float64),
        (col("a", "float", None, Some(24), None), DataType::Float32),
        (
            col("a", "decimal", None, Some(10), Some(7)),
            DataType::Decimal128(10, 7),
        ),
        (
            col("a", "numeric", None, Some(38), Some(38)),
            DataType::Decimal128(38, 38),
        ),
        (
            col("a", "money", None, Some(19), Some(4)),
            DataType::Decimal128(19, 4),
        ),
        (
            col("a", "smallmoney", None, Some(10), Some(4)),
            DataType::Decimal128(10, 4),
        ),
        (col("a", "char", Some(3), None, None), DataType::Utf8),
        (col("a", "varchar", Some(-1), None, None), DataType::Utf8),
        (col("a", "nchar", Some(3), None, None), DataType::Utf8),
        (col("a", "NVARCHAR", Some(50), None, None), DataType::Utf8),
        (col("a", "text", Some(2147483647), None, None), DataType::Utf8),
        (col("a", "ntext", Some(1073741823), None, None), DataType::Utf8),
        (plain("a", "uniqueidentifier"), DataType::Utf8),
        (col("a", "binary", Some(16), None, None), DataType::Binary),
        (col("a", "varbinary", Some(-1), None, None), DataType::Binary),
        (plain("a", "date"), DataType::Date32),
        (col("a", "datetime", None, None, Some(3)), us(None)),
        (plain("a", "smalldatetime"), us(None)),
        (col("a", "datetime2", None, None, Some(7)), us(None)),
        (
            col("a", "time", None, None, Some(7)),
            DataType::Time64(TimeUnit::Nanosecond),
        ),
        (
            col("a", "datetimeoffset", None, None, Some(7)),
            us(Some("+00:00")),
        ),
    ];
    for (column, expected) in cases {
        assert_eq!(column.arrow_type().unwrap(), expected, "{column:?}");
    }
}

#[test]
fn arrow_type_rejects_unsupported_types_naming_column() {
    for t in [
        "xml",
        "geography",
        "sql_variant",
        "image",
        "hierarchyid",
        "timestamp",
    ] {
        let err = plain("Odd]Col", t).arrow_type().unwrap_err().to_string();
        assert!(err.contains("[Odd]]Col]") && err.contains(t), "{err}");
    }
    let err = col("d", "decimal", None, Some(40), Some(2))
        .arrow_type()
        .unwrap_err()
        .to_string();
    assert!(err.contains("[d]") && err.contains("decimal(40,2)"), "{err}");
    let err = col("t", "datetime2", None, None, Some(9))
        .arrow_type()
        .unwrap_err()
        .to_string();
    assert!(err.contains("[t]"), "{err}");
}

#[test]
fn declaration_renders_lengths_precision_and_scale() {
    let cases = [
        (col("a", "nvarchar", Some(50), None, None), "nvarchar(50)"),
        (col("a", "nvarchar", Some(-1), None, None), "nvarchar(max)"),
        (col("a", "varchar", Some(20), None, None), "varchar(20)"),
        (col("a", "varbinary", Some(-1), None, None), "varbinary(max)"),
        (col("a", "binary", Some(16), None, None), "binary(16)"),
        (col("a", "decimal", None, Some(10), Some(7)), "decimal(10,7)"),
        (col("a", "numeric", None, None, None), "numeric(18,0)"),
        (col("a", "datetime2", None, None, Some(7)), "datetime2(7)"),
        (col("a", "time", None, None, Some(3)), "time(3)"),
        (col("a", "datetimeoffset", None, None, None), "datetimeoffset(7)"),
        (col("a", "datetime", None, None, Some(3)), "datetime"),
        (col("a", "int", None, Some(10), Some(0)), "int"),
        (col("a", "float", None, Some(53), None), "float"),
        (col("a", "money", None, Some(19), Some(4)), "money"),
        (col("a", "ntext", Some(1073741823), None, None), "ntext"),
        (col("a", "geography", None, None, None), "[geography]"),
        (
            col("a", "x]; drop table t;--", None, None, None),
            "[x]]; drop table t;--]",
        ),
    ];
    for (column, expected) in cases {
        assert_eq!(column.declaration(), expected, "{column:?}");
    }
}

#[test]
fn select_expr_casts_money_only() {
    assert_eq!(plain("a]b", "int").select_expr(), "[a]]b]");
    assert_eq!(
        plain("Price", "money").select_expr(),
        "CAST([Price] AS decimal(19,4)) AS [Price]"
    );
    // smallmoney's i32 / 1e4 is exact enough in an f64 to round back, so no cast.
    assert_eq!(plain("p", "smallmoney").select_expr(), "[p]");
}

#[test]
fn width_only_for_bounded_strings() {
    assert_eq!(col("a", "nvarchar", Some(50), None, None).width(), Some(50));
    assert_eq!(col("a", "char", Some(1), None, None).width(), Some(1));
    assert_eq!(col("a", "nvarchar", Some(-1), None, None).width(), None);
    assert_eq!(col("a", "ntext", Some(1073741823), None, None).width(), None);
    assert_eq!(col("a", "varbinary", Some(10), None, None).width(), None);
    assert_eq!(plain("a", "int").width(), None);
}

#[test]
fn quote_ident_doubles_closing_bracket() {
    assert_eq!(quote_ident("plain"), "[plain]");
    assert_eq!(quote_ident("a]b"), "[a]]b]");
    assert_eq!(quote_ident("]]"), "[]]]]]");
    assert_eq!(quote_ident("[x"), "[[x]");
}

#[test]
fn sql_type_for_arrow_maps_fields() {
    let cases = [
        (DataType::Utf8, "nvarchar(max)"),
        (DataType::LargeUtf8, "nvarchar(max)"),
        (DataType::Utf8View, "nvarchar(max)"),
        (DataType::Int8, "smallint"),
        (DataType::Int16, "smallint"),
        (DataType::Int32, "int"),
        (DataType::Int64, "bigint"),
        (DataType::UInt8, "tinyint"),
        (DataType::UInt16, "int"),
        (DataType::UInt32, "bigint"),
        (DataType::UInt64, "decimal(20,0)"),
        (DataType::Float32, "real"),
        (DataType::Float64, "float"),
        (DataType::Boolean, "bit"),
        (DataType::Decimal128(10, 7), "decimal(10,7)"),
        (DataType::Decimal64(18, 2), "decimal(18,2)"),
        (DataType::Date32, "date"),
        (DataType::Timestamp(TimeUnit::Nanosecond, None), "datetime2(7)"),
        (
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            "datetimeoffset(7)",
        ),
        (DataType::Time64(TimeUnit::Nanosecond), "time(7)"),
        (DataType::Binary, "varbinary(max)"),
        (
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            "nvarchar(max)",
        ),
    ];
    for (dt, expected) in cases {
        let field = Field::new("f", dt.clone(), true);
        assert_eq!(sql_type_for_arrow(&field).unwrap(), expected, "{dt}");
    }
}

#[test]
fn sql_type_for_arrow_uses_width_hint() {
    let meta = |w: &str| HashMap::from([(WIDTH_HINT_KEY.to_string(), w.to_string())]);
    let field = Field::new("s", DataType::Utf8, true).with_metadata(meta("42"));
    assert_eq!(sql_type_for_arrow(&field).unwrap(), "nvarchar(42)");
    let wide = Field::new("s", DataType::Utf8, true).with_metadata(meta("5000"));
    assert_eq!(sql_type_for_arrow(&wide).unwrap(), "nvarchar(max)");
    let plain = Field::new("s", DataType::Utf8, true);
    assert_eq!(
        sql_type_for_arrow_with_width(&plain, Some(7)).unwrap(),
        "nvarchar(7)"
    );
}

#[test]
fn sql_type_for_arrow_rejects_unmapped_types_naming_field() {
    let field = Field::new(
        "Tags]",
        DataType::List(std::sync::Arc::new(Field::new("item", DataType::Utf8, true))),
        true,
    );
    let err = sql_type_for_arrow(&field).unwrap_err().to_string();
    assert!(err.contains("[Tags]]]"), "{err}");
    let neg = Field::new("d", DataType::Decimal128(10, -2), true);
    assert!(sql_type_for_arrow(&neg).unwrap_err().to_string().contains("[d]"));
}

#[test]
fn every_table_line_is_found_by_each_of_its_names() {
    let mut seen = std::collections::HashSet::new();
    for sql in table::TYPES {
        for name in sql.names {
            assert!(seen.insert(*name), "{name} is on two lines");
            assert!(std::ptr::eq(table::lookup(name).unwrap(), sql), "{name}");
        }
    }
}

/// Each line's write codec takes its own Arrow type, and its NULL is the one the codec writes.
#[test]
fn every_type_writes_its_own_arrow_type_and_null() {
    for sql in table::TYPES {
        let column = col("c", sql.name(), Some(10), Some(30), Some(2));
        let data_type = column.arrow_type().unwrap();
        let batch = arrow::record_batch::RecordBatch::try_new(
            std::sync::Arc::new(arrow::datatypes::Schema::new(vec![Field::new(
                "c",
                data_type.clone(),
                true,
            )])),
            vec![arrow::array::new_null_array(&data_type, 2)],
        )
        .unwrap();
        let (rows, _) = encode_batch(&batch, std::slice::from_ref(&column), WidthPolicy::Strict).unwrap();
        for row in rows {
            assert_eq!(row.get(0), Some(&sql.null), "{}", sql.name());
        }
    }
}
