use super::super::BatchBuilder;
use super::super::temporal::{DAYS_0001_TO_1970, days_from_civil};
use super::super::tests::{col, plain};
use super::*;
use arrow::array::{
    BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray, FixedSizeBinaryArray,
    Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, LargeStringArray, StringArray,
    StringViewArray, Time32MillisecondArray, Time64NanosecondArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, UInt8Array, UInt16Array, UInt64Array,
};
use arrow::datatypes::{Field, Int32Type, Schema};
use std::sync::Arc;
use tiberius::Uuid;
use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, SmallDateTime, Time};

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

/// Encodes a one-column batch into `target` and returns that column's values.
fn encode_one(array: ArrayRef, target: SqlColumn) -> Result<Vec<ColumnData<'static>>, String> {
    let name = target.name.clone();
    let (rows, _) = encode_batch(&batch(vec![(&name, array)]), &[target], WidthPolicy::Strict)
        .map_err(|e| e.to_string())?;
    Ok(rows.into_iter().map(|r| r.into_iter().next().unwrap()).collect())
}

fn days_0001(y: i32, m: u32, d: u32) -> u32 {
    (i64::from(days_from_civil(y, m, d)) + DAYS_0001_TO_1970) as u32
}

fn civil(y: i32, m: u32, d: u32) -> i64 {
    i64::from(days_from_civil(y, m, d))
}

#[test]
fn encodes_integers_with_limits_and_lossless_widening() {
    let v = encode_one(
        Arc::new(UInt8Array::from(vec![Some(0), Some(255), None])),
        plain("t", "tinyint"),
    )
    .unwrap();
    assert_eq!(
        v,
        [
            ColumnData::U8(Some(0)),
            ColumnData::U8(Some(255)),
            ColumnData::U8(None)
        ]
    );
    let v = encode_one(
        Arc::new(Int16Array::from(vec![Some(i16::MIN), Some(i16::MAX), None])),
        plain("s", "smallint"),
    )
    .unwrap();
    assert_eq!(
        v,
        [
            ColumnData::I16(Some(i16::MIN)),
            ColumnData::I16(Some(i16::MAX)),
            ColumnData::I16(None)
        ]
    );
    let v = encode_one(
        Arc::new(Int32Array::from(vec![Some(i32::MIN), Some(i32::MAX), None])),
        plain("i", "int"),
    )
    .unwrap();
    assert_eq!(
        v,
        [
            ColumnData::I32(Some(i32::MIN)),
            ColumnData::I32(Some(i32::MAX)),
            ColumnData::I32(None)
        ]
    );
    // Int32 into bigint becomes I64, the variant a bigint column needs.
    let v = encode_one(
        Arc::new(Int32Array::from(vec![Some(i32::MIN), None])),
        plain("g", "bigint"),
    )
    .unwrap();
    assert_eq!(v, [ColumnData::I64(Some(i32::MIN.into())), ColumnData::I64(None)]);
    let v = encode_one(
        Arc::new(Int64Array::from(vec![i64::MIN, i64::MAX])),
        plain("g", "bigint"),
    )
    .unwrap();
    assert_eq!(
        v,
        [ColumnData::I64(Some(i64::MIN)), ColumnData::I64(Some(i64::MAX))]
    );
    // Other lossless sources: unsigned, Int8, integral decimals.
    let v = encode_one(Arc::new(UInt16Array::from(vec![65_535])), plain("i", "int")).unwrap();
    assert_eq!(v, [ColumnData::I32(Some(65_535))]);
    let v = encode_one(Arc::new(Int8Array::from(vec![-128])), plain("s", "smallint")).unwrap();
    assert_eq!(v, [ColumnData::I16(Some(-128))]);
    let dec = Decimal128Array::from(vec![1_200])
        .with_precision_and_scale(10, 2)
        .unwrap();
    let v = encode_one(Arc::new(dec), plain("i", "int")).unwrap();
    assert_eq!(v, [ColumnData::I32(Some(12))]);

    // Lossy ones are errors naming column and row.
    let err = encode_one(Arc::new(Int32Array::from(vec![1, 256])), plain("T", "tinyint")).unwrap_err();
    assert!(err.contains("[T] row 1") && err.contains("256"), "{err}");
    let err = encode_one(
        Arc::new(Int64Array::from(vec![i64::from(i32::MAX) + 1])),
        plain("i", "int"),
    )
    .unwrap_err();
    assert!(err.contains("[i] row 0"), "{err}");
    let err = encode_one(Arc::new(UInt64Array::from(vec![u64::MAX])), plain("g", "bigint")).unwrap_err();
    assert!(err.contains("[g]"), "{err}");
    let err = encode_one(Arc::new(Float64Array::from(vec![1.5])), plain("i", "int")).unwrap_err();
    assert!(err.contains("1.5"), "{err}");
    let dec = Decimal128Array::from(vec![1_250])
        .with_precision_and_scale(10, 2)
        .unwrap();
    let err = encode_one(Arc::new(dec), plain("i", "int")).unwrap_err();
    assert!(err.contains("12.50"), "{err}");
}

#[test]
fn encodes_bit_real_and_float() {
    let v = encode_one(
        Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        plain("b", "bit"),
    )
    .unwrap();
    assert_eq!(
        v,
        [
            ColumnData::Bit(Some(true)),
            ColumnData::Bit(Some(false)),
            ColumnData::Bit(None)
        ]
    );
    let err = encode_one(Arc::new(Int32Array::from(vec![1])), plain("b", "bit")).unwrap_err();
    assert!(err.contains("[b]") && err.contains("Int32"), "{err}");

    let v = encode_one(
        Arc::new(Float32Array::from(vec![Some(f32::MAX), Some(0.1), None])),
        col("r", "real", None, Some(24), None),
    )
    .unwrap();
    assert_eq!(
        v,
        [
            ColumnData::F32(Some(f32::MAX)),
            ColumnData::F32(Some(0.1)),
            ColumnData::F32(None)
        ]
    );
    let v = encode_one(
        Arc::new(Float64Array::from(vec![
            Some(f64::MIN_POSITIVE),
            Some(-0.1),
            None,
        ])),
        col("f", "float", None, Some(53), None),
    )
    .unwrap();
    assert_eq!(
        v,
        [
            ColumnData::F64(Some(f64::MIN_POSITIVE)),
            ColumnData::F64(Some(-0.1)),
            ColumnData::F64(None)
        ]
    );
    // float(24) is a real: needs F32.
    let v = encode_one(
        Arc::new(Float64Array::from(vec![0.5])),
        col("f", "float", None, Some(24), None),
    )
    .unwrap();
    assert_eq!(v, [ColumnData::F32(Some(0.5))]);
    // Integers and decimals into float columns.
    let v = encode_one(Arc::new(Int32Array::from(vec![7])), plain("f", "float")).unwrap();
    assert_eq!(v, [ColumnData::F64(Some(7.0))]);
    let dec = Decimal128Array::from(vec![-12_345])
        .with_precision_and_scale(10, 4)
        .unwrap();
    let v = encode_one(Arc::new(dec), plain("f", "float")).unwrap();
    assert_eq!(v, [ColumnData::F64(Some(-1.2345))]);
}

/// The numeric in a value, as (mantissa, scale), to check the exact scale sent.
fn numeric(v: &ColumnData<'_>) -> Option<(i128, u8)> {
    match v {
        ColumnData::Numeric(Some(n)) => Some((n.value(), n.scale())),
        ColumnData::Numeric(None) => None,
        other => panic!("not a numeric: {other:?}"),
    }
}

#[test]
fn encodes_decimals_at_the_column_scale() {
    let max38 = 99_999_999_999_999_999_999_999_999_999_999_999_999i128;
    let dec = Decimal128Array::from(vec![Some(max38), Some(-max38), None])
        .with_precision_and_scale(38, 0)
        .unwrap();
    let v = encode_one(Arc::new(dec), col("d", "decimal", None, Some(38), Some(0))).unwrap();
    let v: Vec<_> = v.iter().map(numeric).collect();
    assert_eq!(v, [Some((max38, 0)), Some((-max38, 0)), None]);

    let dec = Decimal128Array::from(vec![max38, -1])
        .with_precision_and_scale(38, 38)
        .unwrap();
    let v = encode_one(Arc::new(dec), col("d", "numeric", None, Some(38), Some(38))).unwrap();
    let v: Vec<_> = v.iter().map(numeric).collect();
    assert_eq!(v, [Some((max38, 38)), Some((-1, 38))]);

    // Decimal(5,2) into decimal(10,7): exactly scale 7.
    let dec = Decimal128Array::from(vec![-12_345])
        .with_precision_and_scale(5, 2)
        .unwrap();
    let v = encode_one(Arc::new(dec), col("d", "decimal", None, Some(10), Some(7))).unwrap();
    assert_eq!(numeric(&v[0]), Some((-1_234_500_000, 7)));

    // Coarser column scale: rounded half away from zero.
    let dec = Decimal128Array::from(vec![12_345, -12_345, 12_344])
        .with_precision_and_scale(10, 4)
        .unwrap();
    let v = encode_one(Arc::new(dec), col("d", "decimal", None, Some(10), Some(3))).unwrap();
    let v: Vec<_> = v.iter().map(numeric).collect();
    assert_eq!(v, [Some((1_235, 3)), Some((-1_235, 3)), Some((1_234, 3))]);

    // Floats round from their shortest decimal form.
    let floats = Float64Array::from(vec![0.1, -2.675, 1e-9, 123.456_789_05]);
    let v = encode_one(Arc::new(floats), col("d", "decimal", None, Some(10), Some(7))).unwrap();
    let v: Vec<_> = v.iter().map(numeric).collect();
    assert_eq!(
        v,
        [
            Some((1_000_000, 7)),
            Some((-26_750_000, 7)),
            Some((0, 7)),
            Some((1_234_567_891, 7))
        ]
    );
    let v = encode_one(
        Arc::new(Float32Array::from(vec![0.1f32])),
        col("d", "decimal", None, Some(38), Some(20)),
    )
    .unwrap();
    assert_eq!(numeric(&v[0]), Some((10_000_000_000_000_000_000, 20)));
    let v = encode_one(
        Arc::new(Int64Array::from(vec![i64::MIN])),
        col("d", "decimal", None, Some(19), Some(0)),
    )
    .unwrap();
    assert_eq!(numeric(&v[0]), Some((i128::from(i64::MIN), 0)));

    // Too many digits for the precision, NaN: errors naming column and row.
    let dec = Decimal128Array::from(vec![1, 100_000_000_000])
        .with_precision_and_scale(12, 0)
        .unwrap();
    let err = encode_one(Arc::new(dec), col("D", "decimal", None, Some(10), Some(0))).unwrap_err();
    assert!(
        err.contains("[D] row 1") && err.contains("decimal(10,0)"),
        "{err}"
    );
    let err = encode_one(
        Arc::new(Float64Array::from(vec![f64::NAN])),
        col("D", "decimal", None, Some(10), Some(2)),
    )
    .unwrap_err();
    assert!(err.contains("[D] row 0"), "{err}");
    let err = encode_one(
        Arc::new(Float64Array::from(vec![1e300])),
        col("D", "decimal", None, Some(38), Some(2)),
    )
    .unwrap_err();
    assert!(err.contains("[D] row 0"), "{err}");
}

#[test]
fn encodes_money_exactly_as_numeric_scale_4() {
    let (min, max) = (i128::from(i64::MIN), i128::from(i64::MAX));
    let dec = Decimal128Array::from(vec![Some(min), Some(max), None])
        .with_precision_and_scale(19, 4)
        .unwrap();
    let v = encode_one(Arc::new(dec), plain("m", "money")).unwrap();
    let v: Vec<_> = v.iter().map(numeric).collect();
    assert_eq!(v, [Some((min, 4)), Some((max, 4)), None]);
    let dec = Decimal128Array::from(vec![max + 1])
        .with_precision_and_scale(20, 4)
        .unwrap();
    let err = encode_one(Arc::new(dec), plain("m", "money")).unwrap_err();
    assert!(
        err.contains("[m] row 0") && err.contains("922337203685477.5808"),
        "{err}"
    );

    let dec = Decimal128Array::from(vec![i128::from(i32::MIN), i128::from(i32::MAX)])
        .with_precision_and_scale(10, 4)
        .unwrap();
    let v = encode_one(Arc::new(dec), plain("s", "smallmoney")).unwrap();
    let v: Vec<_> = v.iter().map(numeric).collect();
    assert_eq!(
        v,
        [Some((i128::from(i32::MIN), 4)), Some((i128::from(i32::MAX), 4))]
    );
    let err = encode_one(
        Arc::new(Float64Array::from(vec![214_748.364_8])),
        plain("s", "smallmoney"),
    )
    .unwrap_err();
    assert!(err.contains("[s] row 0"), "{err}");
    let v = encode_one(Arc::new(Float64Array::from(vec![19.99])), plain("m", "money")).unwrap();
    assert_eq!(numeric(&v[0]), Some((199_900, 4)));
}

#[test]
fn encodes_date_extremes() {
    let a = Date32Array::from(vec![
        Some(civil(1, 1, 1) as i32),
        Some(civil(9999, 12, 31) as i32),
        Some(0),
        None,
    ]);
    let v = encode_one(Arc::new(a), plain("d", "date")).unwrap();
    assert_eq!(
        v,
        [
            ColumnData::Date(Some(Date::new(0))),
            ColumnData::Date(Some(Date::new(3_652_058))),
            ColumnData::Date(Some(Date::new(719_162))),
            ColumnData::Date(None)
        ]
    );
    let err = encode_one(
        Arc::new(Date32Array::from(vec![civil(10000, 1, 1) as i32])),
        plain("d", "date"),
    )
    .unwrap_err();
    assert!(err.contains("[d] row 0") && err.contains("range"), "{err}");
    // Timestamps at midnight are dates; others are not.
    let ts = TimestampMicrosecondArray::from(vec![civil(2000, 1, 1) * 86_400_000_000]);
    let v = encode_one(Arc::new(ts), plain("d", "date")).unwrap();
    assert_eq!(v, [ColumnData::Date(Some(Date::new(days_0001(2000, 1, 1))))]);
    let ts = TimestampMicrosecondArray::from(vec![1]);
    assert!(encode_one(Arc::new(ts), plain("d", "date")).is_err());
}

#[test]
fn encodes_datetime2_with_100ns_precision() {
    let base_s = civil(2024, 2, 29) * 86_400 + 13 * 3600 + 45 * 60 + 30;
    let ts = TimestampNanosecondArray::from(vec![
        Some(base_s * 1_000_000_000 + 123_456_700),
        Some(base_s * 1_000_000_000 + 123_456_789),
        None,
    ]);
    let v = encode_one(Arc::new(ts), col("t", "datetime2", None, None, Some(7))).unwrap();
    let day = Date::new(days_0001(2024, 2, 29));
    let inc = (13 * 3600 + 45 * 60 + 30) * 10_000_000u64;
    assert_eq!(
        v,
        [
            ColumnData::DateTime2(Some(DateTime2::new(day, Time::new(inc + 1_234_567, 7)))),
            // 89 ns rounds up to the next 100 ns
            ColumnData::DateTime2(Some(DateTime2::new(day, Time::new(inc + 1_234_568, 7)))),
            ColumnData::DateTime2(None)
        ]
    );
    // datetime2(3): built at scale 3 (tiberius would rescale through an f64 otherwise).
    let ts = TimestampMicrosecondArray::from(vec![base_s * 1_000_000 + 123_500]);
    let v = encode_one(Arc::new(ts), col("t", "datetime2", None, None, Some(3))).unwrap();
    let ColumnData::DateTime2(Some(dt)) = v[0] else {
        panic!("{v:?}")
    };
    assert_eq!(
        (dt.time().increments(), dt.time().scale()),
        (inc / 10_000 + 124, 3)
    );
    // Extremes: 0001-01-01 and the last 100 ns of 9999 (microseconds reach both).
    let ts = TimestampMicrosecondArray::from(vec![
        civil(1, 1, 1) * 86_400_000_000,
        civil(10000, 1, 1) * 86_400_000_000 - 1,
    ]);
    let v = encode_one(Arc::new(ts), col("t", "datetime2", None, None, Some(7))).unwrap();
    assert_eq!(
        v,
        [
            ColumnData::DateTime2(Some(DateTime2::new(Date::new(0), Time::new(0, 7)))),
            ColumnData::DateTime2(Some(DateTime2::new(
                Date::new(3_652_058),
                Time::new(863_999_999_990, 7)
            ))),
        ]
    );
    // Rounding past 9999-12-31 23:59:59.9999999 is out of range.
    let ts = TimestampNanosecondArray::from(vec![i64::MAX]);
    assert!(encode_one(Arc::new(ts), col("t", "datetime2", None, None, Some(0))).is_ok());
    let ts = TimestampMicrosecondArray::from(vec![civil(10000, 1, 1) * 86_400_000_000 - 1]);
    let err = encode_one(Arc::new(ts), col("t", "datetime2", None, None, Some(0))).unwrap_err();
    assert!(err.contains("[t] row 0"), "{err}");
}

#[test]
fn encodes_datetime_rounding_to_300ths() {
    let d1900 = civil(1900, 1, 1) * 86_400_000;
    let ts = TimestampMillisecondArray::from(vec![
        Some(d1900),
        Some(d1900 + 1),   // .001 → tick 0 (.000)
        Some(d1900 + 2),   // .002 → tick 1 (.003)
        Some(d1900 + 5),   // .005 → tick 2 (.007)
        Some(d1900 + 999), // .999 → tick 300 (1.000)
        Some(civil(1753, 1, 1) * 86_400_000),
        Some(civil(9999, 12, 31) * 86_400_000 + 86_399_998), // rounds to 23:59:59.997
        None,
    ]);
    let v = encode_one(Arc::new(ts), plain("dt", "datetime")).unwrap();
    assert_eq!(
        v,
        [
            ColumnData::DateTime(Some(DateTime::new(0, 0))),
            ColumnData::DateTime(Some(DateTime::new(0, 0))),
            ColumnData::DateTime(Some(DateTime::new(0, 1))),
            ColumnData::DateTime(Some(DateTime::new(0, 2))),
            ColumnData::DateTime(Some(DateTime::new(0, 300))),
            ColumnData::DateTime(Some(DateTime::new(-53_690, 0))),
            ColumnData::DateTime(Some(DateTime::new(2_958_463, 25_919_999))),
            ColumnData::DateTime(None),
        ]
    );
    // 23:59:59.999 rounds into the next day, like SQL Server; before 1753 is out of range.
    let ts = TimestampMillisecondArray::from(vec![d1900 + 86_399_999]);
    let v = encode_one(Arc::new(ts), plain("dt", "datetime")).unwrap();
    assert_eq!(v, [ColumnData::DateTime(Some(DateTime::new(1, 0)))]);
    let ts = TimestampMillisecondArray::from(vec![civil(1752, 12, 31) * 86_400_000]);
    let err = encode_one(Arc::new(ts), plain("dt", "datetime")).unwrap_err();
    assert!(err.contains("[dt] row 0"), "{err}");

    let ts = TimestampMillisecondArray::from(vec![
        d1900 + 29_999,
        d1900 + 30_000,
        civil(2079, 6, 6) * 86_400_000 + 86_340_000,
    ]);
    let v = encode_one(Arc::new(ts), plain("s", "smalldatetime")).unwrap();
    assert_eq!(
        v,
        [
            ColumnData::SmallDateTime(Some(SmallDateTime::new(0, 0))),
            ColumnData::SmallDateTime(Some(SmallDateTime::new(0, 1))),
            ColumnData::SmallDateTime(Some(SmallDateTime::new(65_535, 1439))),
        ]
    );
}

#[test]
fn encodes_time_at_the_column_scale() {
    let t = Time64NanosecondArray::from(vec![Some(86_399_999_999_900), Some(150), None]);
    let v = encode_one(Arc::new(t), col("t", "time", None, None, Some(7))).unwrap();
    assert_eq!(
        v,
        [
            ColumnData::Time(Some(Time::new(863_999_999_999, 7))),
            ColumnData::Time(Some(Time::new(2, 7))),
            ColumnData::Time(None)
        ]
    );
    let ColumnData::Time(Some(t)) = v[1] else { panic!() };
    assert_eq!(t.scale(), 7);
    let t = Time32MillisecondArray::from(vec![1_234]);
    let v = encode_one(Arc::new(t), col("t", "time", None, None, Some(2))).unwrap();
    let ColumnData::Time(Some(t)) = v[0] else { panic!() };
    assert_eq!((t.increments(), t.scale()), (123, 2));
    // Rounding to 24:00:00 does not fit a time.
    let t = Time64NanosecondArray::from(vec![86_399_999_999_999]);
    let err = encode_one(Arc::new(t), col("t", "time", None, None, Some(7))).unwrap_err();
    assert!(err.contains("[t] row 0"), "{err}");
}

#[test]
fn encodes_datetimeoffset_as_utc_with_offset() {
    let utc_s = civil(2024, 6, 1) * 86_400 + 10 * 3600;
    let ts = TimestampMicrosecondArray::from(vec![Some(utc_s * 1_000_000), None]).with_timezone("+02:00");
    let v = encode_one(Arc::new(ts), col("o", "datetimeoffset", None, None, Some(7))).unwrap();
    let utc = DateTime2::new(
        Date::new(days_0001(2024, 6, 1)),
        Time::new(10 * 3600 * 10_000_000, 7),
    );
    assert_eq!(
        v,
        [
            ColumnData::DateTimeOffset(Some(DateTimeOffset::new(utc, 120))),
            ColumnData::DateTimeOffset(None)
        ]
    );
    // Named zones keep the instant with offset 0; naive timestamps are taken as UTC.
    let ts = TimestampMicrosecondArray::from(vec![utc_s * 1_000_000]).with_timezone("Europe/Berlin");
    let v = encode_one(Arc::new(ts), col("o", "datetimeoffset", None, None, Some(7))).unwrap();
    assert_eq!(v, [ColumnData::DateTimeOffset(Some(DateTimeOffset::new(utc, 0)))]);
    // A tz-aware timestamp into datetime2 is written as its UTC wall time.
    let ts = TimestampMicrosecondArray::from(vec![utc_s * 1_000_000]).with_timezone("+02:00");
    let v = encode_one(Arc::new(ts), col("o", "datetime2", None, None, Some(7))).unwrap();
    assert_eq!(v, [ColumnData::DateTime2(Some(utc))]);
}

mod rows;
