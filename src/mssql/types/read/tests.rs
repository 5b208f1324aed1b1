use super::super::temporal::{DAYS_0001_TO_1970, days_from_civil};
use super::super::tests::{col, plain};
use super::*;
use arrow::array::{
    Array, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, StringArray, Time64NanosecondArray, TimestampMicrosecondArray,
    TimestampNanosecondArray, UInt8Array,
};
use arrow::datatypes::{Field, Schema};
use tiberius::numeric::Numeric;
use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, SmallDateTime, Time};

/// A builder over `columns` with their canonical Arrow types.
fn builder(columns: &[SqlColumn]) -> BatchBuilder {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(&c.name, c.arrow_type().unwrap(), true))
        .collect();
    BatchBuilder::new(columns, Arc::new(Schema::new(fields)), 8).unwrap()
}

/// Reads single-column rows into one array.
fn read_column(column: SqlColumn, values: Vec<ColumnData<'static>>) -> ArrayRef {
    let mut b = builder(std::slice::from_ref(&column));
    for v in values {
        b.push_row([v]).unwrap();
    }
    b.finish().unwrap().column(0).clone()
}

fn days_0001(y: i32, m: u32, d: u32) -> u32 {
    (i64::from(days_from_civil(y, m, d)) + DAYS_0001_TO_1970) as u32
}

#[test]
fn reads_integers_bits_and_floats_with_limits_and_nulls() {
    let a = read_column(
        plain("b", "bit"),
        vec![
            ColumnData::Bit(Some(true)),
            ColumnData::Bit(Some(false)),
            ColumnData::Bit(None),
        ],
    );
    assert_eq!(
        a.as_any().downcast_ref::<BooleanArray>().unwrap(),
        &BooleanArray::from(vec![Some(true), Some(false), None])
    );
    let a = read_column(
        plain("t", "tinyint"),
        vec![
            ColumnData::U8(Some(0)),
            ColumnData::U8(Some(255)),
            ColumnData::U8(None),
        ],
    );
    assert_eq!(
        a.as_any().downcast_ref::<UInt8Array>().unwrap(),
        &UInt8Array::from(vec![Some(0), Some(255), None])
    );
    let a = read_column(
        plain("s", "smallint"),
        vec![
            ColumnData::I16(Some(i16::MIN)),
            ColumnData::I16(Some(i16::MAX)),
            ColumnData::I16(None),
        ],
    );
    assert_eq!(
        a.as_any().downcast_ref::<Int16Array>().unwrap(),
        &Int16Array::from(vec![Some(i16::MIN), Some(i16::MAX), None])
    );
    let a = read_column(
        plain("i", "int"),
        vec![
            ColumnData::I32(Some(i32::MIN)),
            ColumnData::I32(Some(i32::MAX)),
            ColumnData::I32(None),
        ],
    );
    assert_eq!(
        a.as_any().downcast_ref::<Int32Array>().unwrap(),
        &Int32Array::from(vec![Some(i32::MIN), Some(i32::MAX), None])
    );
    let a = read_column(
        plain("g", "bigint"),
        vec![
            ColumnData::I64(Some(i64::MIN)),
            ColumnData::I64(Some(i64::MAX)),
            // a typeless NULL arrives as I32(None) whatever the column
            ColumnData::I32(None),
        ],
    );
    assert_eq!(
        a.as_any().downcast_ref::<Int64Array>().unwrap(),
        &Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None])
    );
    let a = read_column(
        plain("r", "real"),
        vec![
            ColumnData::F32(Some(f32::MAX)),
            ColumnData::F32(Some(-1.5e-38)),
            ColumnData::F32(None),
        ],
    );
    assert_eq!(
        a.as_any().downcast_ref::<Float32Array>().unwrap(),
        &Float32Array::from(vec![Some(f32::MAX), Some(-1.5e-38), None])
    );
    let a = read_column(
        plain("f", "float"),
        vec![
            ColumnData::F64(Some(f64::MIN)),
            ColumnData::F64(Some(0.1)),
            ColumnData::F64(None),
        ],
    );
    assert_eq!(
        a.as_any().downcast_ref::<Float64Array>().unwrap(),
        &Float64Array::from(vec![Some(f64::MIN), Some(0.1), None])
    );
}

#[test]
fn reads_decimals_at_limits() {
    let max38 = 99_999_999_999_999_999_999_999_999_999_999_999_999i128;
    let a = read_column(
        col("d", "decimal", None, Some(38), Some(0)),
        vec![
            ColumnData::Numeric(Some(Numeric::new_with_scale(max38, 0))),
            ColumnData::Numeric(Some(Numeric::new_with_scale(-max38, 0))),
            ColumnData::Numeric(None),
        ],
    );
    let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
    assert_eq!(a.data_type(), &DataType::Decimal128(38, 0));
    assert_eq!(a.value(0), max38);
    assert_eq!(a.value(1), -max38);
    assert!(a.is_null(2));

    let a = read_column(
        col("d", "numeric", None, Some(38), Some(38)),
        vec![
            ColumnData::Numeric(Some(Numeric::new_with_scale(max38, 38))),
            ColumnData::Numeric(Some(Numeric::new_with_scale(-1, 38))),
        ],
    );
    let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
    assert_eq!(a.value_as_string(0), format!("0.{max38}"));
    assert_eq!(a.value_as_string(1), "-0.00000000000000000000000000000000000001");

    let a = read_column(
        col("d", "decimal", None, Some(10), Some(7)),
        vec![
            ColumnData::Numeric(Some(Numeric::new_with_scale(-123_456_789, 7))),
            // a value at another scale is rescaled when exact
            ColumnData::Numeric(Some(Numeric::new_with_scale(15, 1))),
        ],
    );
    let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
    assert_eq!(a.value_as_string(0), "-12.3456789");
    assert_eq!(a.value_as_string(1), "1.5000000");
}

#[test]
fn reads_money_from_cast_decimal_and_from_f64() {
    let min = -9_223_372_036_854_775_808i128; // -922337203685477.5808
    let max = 9_223_372_036_854_775_807i128; // 922337203685477.5807
    // What `CAST(m AS decimal(19,4))` returns: exact at both ends.
    let a = read_column(
        plain("m", "money"),
        vec![
            ColumnData::Numeric(Some(Numeric::new_with_scale(min, 4))),
            ColumnData::Numeric(Some(Numeric::new_with_scale(max, 4))),
            ColumnData::Numeric(None),
        ],
    );
    let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
    assert_eq!(a.value_as_string(0), "-922337203685477.5808");
    assert_eq!(a.value_as_string(1), "922337203685477.5807");
    assert!(a.is_null(2));

    // Uncast money is tiberius' f64, which cannot hold the extremes: why select_expr casts.
    let lossy = ((max as i64 >> 32 << 32) as f64 + (max as i64 & 0xffff_ffff) as f64) / 1e4;
    let a = read_column(plain("m", "money"), vec![ColumnData::F64(Some(lossy))]);
    let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
    assert_ne!(a.value(0), max);

    // smallmoney as f64 (i32 / 1e4) rounds back exactly at both ends.
    let a = read_column(
        plain("s", "smallmoney"),
        vec![
            ColumnData::F64(Some(-2_147_483_648f64 / 1e4)),
            ColumnData::F64(Some(2_147_483_647f64 / 1e4)),
            ColumnData::F64(Some(0.0001)),
            ColumnData::F64(None),
        ],
    );
    let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
    assert_eq!(a.value_as_string(0), "-214748.3648");
    assert_eq!(a.value_as_string(1), "214748.3647");
    assert_eq!(a.value_as_string(2), "0.0001");
    assert!(a.is_null(3));
}

#[test]
fn reads_strings_guid_and_binary() {
    let a = read_column(
        col("n", "nvarchar", Some(10), None, None),
        vec![
            ColumnData::String(Some("Ñandú 😀 漢字".into())),
            ColumnData::String(Some("".into())),
            ColumnData::String(None),
        ],
    );
    assert_eq!(
        a.as_string::<i32>(),
        &StringArray::from(vec![Some("Ñandú 😀 漢字"), Some(""), None])
    );
    let guid = tiberius::Uuid::parse_str("6F9619FF-8B86-D011-B42D-00C04FC964FF").unwrap();
    let a = read_column(
        plain("g", "uniqueidentifier"),
        vec![ColumnData::Guid(Some(guid)), ColumnData::Guid(None)],
    );
    assert_eq!(
        a.as_string::<i32>(),
        &StringArray::from(vec![Some("6f9619ff-8b86-d011-b42d-00c04fc964ff"), None])
    );
    let a = read_column(
        col("v", "varbinary", Some(-1), None, None),
        vec![
            ColumnData::Binary(Some(vec![0u8, 255, 7].into())),
            ColumnData::Binary(None),
        ],
    );
    assert_eq!(
        a.as_any().downcast_ref::<BinaryArray>().unwrap(),
        &BinaryArray::from(vec![Some(&[0u8, 255, 7][..]), None])
    );
}

#[test]
fn reads_date_extremes() {
    let a = read_column(
        plain("d", "date"),
        vec![
            ColumnData::Date(Some(Date::new(0))),
            ColumnData::Date(Some(Date::new(3_652_058))),
            ColumnData::Date(Some(Date::new(days_0001(1970, 1, 1)))),
            ColumnData::Date(None),
        ],
    );
    assert_eq!(
        a.as_any().downcast_ref::<Date32Array>().unwrap(),
        &Date32Array::from(vec![
            Some(days_from_civil(1, 1, 1)),
            Some(days_from_civil(9999, 12, 31)),
            Some(0),
            None
        ])
    );
    assert_eq!(days_from_civil(1, 1, 1), -719_162);
}

#[test]
fn reads_datetime2_with_100ns_increments() {
    let column = col("t", "datetime2", None, None, Some(7));
    let day = days_0001(2024, 2, 29);
    // 13:45:30.1234567
    let inc = (13 * 3600 + 45 * 60 + 30) * 10_000_000 + 1_234_567u64;
    let values = vec![
        ColumnData::DateTime2(Some(DateTime2::new(Date::new(day), Time::new(inc, 7)))),
        ColumnData::DateTime2(Some(DateTime2::new(
            Date::new(3_652_058),
            Time::new(863_999_999_999, 7),
        ))),
        ColumnData::DateTime2(Some(DateTime2::new(Date::new(0), Time::new(0, 7)))),
        ColumnData::DateTime2(None),
    ];
    let base_s = i64::from(days_from_civil(2024, 2, 29)) * 86_400 + 13 * 3600 + 45 * 60 + 30;

    // Canonical µs: the 7th digit is truncated; 0001 and 9999 fit.
    let a = read_column(column.clone(), values.clone());
    let a = a.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
    assert_eq!(a.value(0), base_s * 1_000_000 + 123_456);
    let end_9999 = (i64::from(days_from_civil(10000, 1, 1)) * 86_400) * 1_000_000 - 1;
    assert_eq!(a.value(1), end_9999);
    assert_eq!(
        a.value(2),
        i64::from(days_from_civil(1, 1, 1)) * 86_400 * 1_000_000
    );
    assert!(a.is_null(3));

    // A nanosecond schema keeps all 7 digits but cannot hold year 9999.
    let ns = DataType::Timestamp(TimeUnit::Nanosecond, None);
    let schema = Arc::new(Schema::new(vec![Field::new("t", ns, true)]));
    let mut b = BatchBuilder::new(std::slice::from_ref(&column), schema, 4).unwrap();
    b.push_row([values[0].clone()]).unwrap();
    let err = b.push_row([values[1].clone()]).unwrap_err().to_string();
    assert!(err.contains("[t]"), "{err}");
    assert_eq!(b.len(), 1);
    let batch = b.finish().unwrap();
    let a = batch
        .column(0)
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .unwrap();
    assert_eq!(a.value(0), base_s * 1_000_000_000 + 123_456_700);

    // A lower scale counts coarser increments: datetime2(2) 0.12 s.
    let a = read_column(
        col("t", "datetime2", None, None, Some(2)),
        vec![ColumnData::DateTime2(Some(DateTime2::new(
            Date::new(days_0001(1970, 1, 1)),
            Time::new(12, 2),
        )))],
    );
    let a = a.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
    assert_eq!(a.value(0), 120_000);
}

#[test]
fn reads_datetime_ticks_rounded_to_the_unit() {
    // 1900-01-01 + 1 tick (1/300 s = 3333.33 µs), 2 ticks (6666.67 µs), 12:00:00.
    let a = read_column(
        col("dt", "datetime", None, None, Some(3)),
        vec![
            ColumnData::DateTime(Some(DateTime::new(0, 1))),
            ColumnData::DateTime(Some(DateTime::new(0, 2))),
            ColumnData::DateTime(Some(DateTime::new(-53_690, 12 * 3600 * 300))),
            ColumnData::DateTime(None),
        ],
    );
    let a = a.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
    let d1900 = i64::from(days_from_civil(1900, 1, 1)) * 86_400_000_000;
    assert_eq!(a.value(0), d1900 + 3_333);
    assert_eq!(a.value(1), d1900 + 6_667);
    let d1753 = i64::from(days_from_civil(1753, 1, 1)) * 86_400_000_000;
    assert_eq!(a.value(2), d1753 + 12 * 3_600_000_000);
    assert!(a.is_null(3));

    let a = read_column(
        plain("s", "smalldatetime"),
        vec![
            ColumnData::SmallDateTime(Some(SmallDateTime::new(65_535, 23 * 60 + 59))),
            ColumnData::SmallDateTime(None),
        ],
    );
    let a = a.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
    let end = (i64::from(days_from_civil(2079, 6, 6)) * 86_400 + 86_340) * 1_000_000;
    assert_eq!(a.value(0), end);
    assert!(a.is_null(1));
}

#[test]
fn reads_time7_as_nanoseconds() {
    let a = read_column(
        col("t", "time", None, None, Some(7)),
        vec![
            ColumnData::Time(Some(Time::new(863_999_999_999, 7))),
            ColumnData::Time(Some(Time::new(1, 7))),
            ColumnData::Time(None),
        ],
    );
    assert_eq!(
        a.as_any().downcast_ref::<Time64NanosecondArray>().unwrap(),
        &Time64NanosecondArray::from(vec![Some(86_399_999_999_900), Some(100), None])
    );
    let a = read_column(
        col("t", "time", None, None, Some(0)),
        vec![ColumnData::Time(Some(Time::new(86_399, 0)))],
    );
    let a = a.as_any().downcast_ref::<Time64NanosecondArray>().unwrap();
    assert_eq!(a.value(0), 86_399_000_000_000);
}

#[test]
fn reads_datetimeoffset_as_utc_instant() {
    // 2024-06-01 10:00 UTC written at +02:00 (local 12:00): the wire holds the UTC time.
    let dto = DateTimeOffset::new(
        DateTime2::new(
            Date::new(days_0001(2024, 6, 1)),
            Time::new(10 * 3600 * 10_000_000, 7),
        ),
        120,
    );
    let a = read_column(
        col("o", "datetimeoffset", None, None, Some(7)),
        vec![
            ColumnData::DateTimeOffset(Some(dto)),
            ColumnData::DateTimeOffset(None),
        ],
    );
    assert_eq!(
        a.data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
    );
    let a = a.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
    let expected = (i64::from(days_from_civil(2024, 6, 1)) * 86_400 + 10 * 3600) * 1_000_000;
    assert_eq!(a.value(0), expected);
    assert!(a.is_null(1));
}

#[test]
fn rejects_mismatched_variant_naming_column_without_appending() {
    let columns = [plain("id", "int"), col("Name", "nvarchar", Some(5), None, None)];
    let mut b = builder(&columns);
    b.push_row([ColumnData::I32(Some(1)), ColumnData::String(Some("a".into()))])
        .unwrap();
    let err = b
        .push_row([ColumnData::I32(Some(2)), ColumnData::I64(Some(3))])
        .unwrap_err()
        .to_string();
    assert!(err.contains("[Name]") && err.contains("I64"), "{err}");
    let err = b
        .push_row([ColumnData::I64(Some(2)), ColumnData::String(None)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("[id]"), "{err}");
    let err = b.push_row([ColumnData::I32(Some(2))]).unwrap_err().to_string();
    assert!(err.contains("columns"), "{err}");
    assert_eq!(b.len(), 1);
    let batch = b.finish().unwrap();
    assert_eq!(batch.num_rows(), 1);
    assert!(b.is_empty());
    assert_eq!(b.finish().unwrap().num_rows(), 0);
}

#[test]
fn new_rejects_schema_that_does_not_match_columns() {
    let columns = [plain("id", "int")];
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, true)]));
    let err = BatchBuilder::new(&columns, schema, 1).err().unwrap().to_string();
    assert!(err.contains("[id]"), "{err}");
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, true)]));
    let err = BatchBuilder::new(&[plain("x", "xml")], schema, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("[x]") && err.contains("xml"), "{err}");
}

#[test]
fn zero_column_batches_keep_the_row_count() {
    let mut b = BatchBuilder::new(&[], Arc::new(Schema::empty()), 1).unwrap();
    b.push_row(Vec::<ColumnData<'static>>::new()).unwrap();
    b.push_row(Vec::<ColumnData<'static>>::new()).unwrap();
    assert_eq!(b.finish().unwrap().num_rows(), 2);
}
