//! Strings, GUIDs, binaries, name matching and the whole-table round trip.

use super::*;

#[test]
fn encodes_unicode_strings_and_truncates_nvarchar_by_utf16_units() {
    let values = vec![Some("Ñandú"), Some("ab😀"), Some("漢字漢字"), Some("a😀"), None];
    let target = col("N", "nvarchar", Some(3), None, None);
    let b = batch(vec![(
        "n",
        Arc::new(StringArray::from(values.clone())) as ArrayRef,
    )]);

    let (rows, truncs) = encode_batch(&b, std::slice::from_ref(&target), WidthPolicy::Truncate).unwrap();
    let got: Vec<_> = rows.iter().map(|r| r.get(0).unwrap().clone()).collect();
    assert_eq!(
        got,
        [
            ColumnData::String(Some("Ñan".into())),
            // "ab" + a surrogate pair is 4 units: the pair is dropped, never split
            ColumnData::String(Some("ab".into())),
            ColumnData::String(Some("漢字漢".into())),
            // exactly 3 units fits
            ColumnData::String(Some("a😀".into())),
            ColumnData::String(None),
        ]
    );
    let t = |row: usize, length: usize, value: &str| Truncation {
        column: "N".into(),
        row,
        width: 3,
        length,
        value: value.into(),
    };
    assert_eq!(truncs, [t(0, 5, "Ñandú"), t(1, 4, "ab😀"), t(2, 4, "漢字漢字")]);

    // Strict: values untouched, same report.
    let (rows, strict) = encode_batch(&b, &[target], WidthPolicy::Strict).unwrap();
    assert_eq!(strict, truncs);
    assert_eq!(rows[1].get(0), Some(&ColumnData::String(Some("ab😀".into()))));

    // varchar counts characters: "ab😀" is 3 characters and fits varchar(3).
    let (rows, truncs) = encode_batch(
        &b,
        &[col("N", "varchar", Some(3), None, None)],
        WidthPolicy::Truncate,
    )
    .unwrap();
    assert_eq!(rows[1].get(0), Some(&ColumnData::String(Some("ab😀".into()))));
    assert_eq!(rows[0].get(0), Some(&ColumnData::String(Some("Ñan".into()))));
    assert_eq!(
        truncs.iter().map(|t| (t.row, t.length)).collect::<Vec<_>>(),
        [(0, 5), (2, 4)]
    );

    // max columns never truncate; LargeUtf8 / Utf8View / dictionaries are strings too.
    let long = "😀".repeat(5000);
    for array in [
        Arc::new(LargeStringArray::from(vec![long.as_str()])) as ArrayRef,
        Arc::new(StringViewArray::from(vec![long.as_str()])) as ArrayRef,
        Arc::new(DictionaryArray::<Int32Type>::from_iter([Some(long.as_str())])) as ArrayRef,
    ] {
        let v = encode_one(array, col("n", "nvarchar", Some(-1), None, None)).unwrap();
        assert_eq!(v, [ColumnData::String(Some(long.clone().into()))]);
    }
    // Integers into a character column are written as text.
    let v = encode_one(
        Arc::new(Int32Array::from(vec![-42])),
        col("n", "varchar", Some(5), None, None),
    )
    .unwrap();
    assert_eq!(v, [ColumnData::String(Some("-42".into()))]);
}

#[test]
fn check_widths_reports_what_encode_would_cut() {
    let targets = [
        col("Name", "nvarchar", Some(3), None, None),
        col("Code", "varchar", Some(2), None, None),
    ];
    let batch = RecordBatch::try_from_iter([
        (
            "Name",
            Arc::new(StringArray::from(vec![Some("abc"), Some("abcd"), None])) as ArrayRef,
        ),
        (
            "Code",
            Arc::new(StringArray::from(vec![Some("xyz"), Some("x"), Some("ÑÑ")])) as ArrayRef,
        ),
    ])
    .unwrap();
    let found = check_widths(&batch, &targets).unwrap();
    let (_, encoded) = encode_batch(&batch, &targets, WidthPolicy::Truncate).unwrap();
    assert_eq!(found, encoded);
    let cells: Vec<_> = found
        .iter()
        .map(|t| (t.column.as_str(), t.row, t.length))
        .collect();
    assert_eq!(cells, [("Name", 1, 4), ("Code", 0, 3)]);
}

#[test]
fn cut_never_splits_a_character() {
    assert_eq!(cut("😀😀", 3, true), Some(4));
    assert_eq!(cut("😀😀", 1, true), Some(0));
    assert_eq!(cut("😀😀", 4, true), None);
    assert_eq!(cut("😀😀", 1, false), Some(4));
    assert_eq!(cut("ÑÑÑ", 2, false), Some(4));
    assert_eq!(cut("abc", 3, true), None);
}

#[test]
fn guid_round_trips_through_bulk_values_and_back() {
    let text = "6f9619ff-8b86-d011-b42d-00c04fc964ff";
    let target = plain("g", "uniqueidentifier");
    let v = encode_one(
        Arc::new(StringArray::from(vec![
            Some(text),
            Some("{6F9619FF-8B86-D011-B42D-00C04FC964FF}"),
            None,
        ])),
        target.clone(),
    )
    .unwrap();
    let guid = Uuid::parse_str(text).unwrap();
    assert_eq!(
        v,
        [
            ColumnData::Guid(Some(guid)),
            ColumnData::Guid(Some(guid)),
            ColumnData::Guid(None)
        ]
    );
    let fixed = FixedSizeBinaryArray::try_from_iter([guid.as_bytes()].into_iter()).unwrap();
    assert_eq!(
        encode_one(Arc::new(fixed), target.clone()).unwrap(),
        [ColumnData::Guid(Some(guid))]
    );
    let err = encode_one(Arc::new(StringArray::from(vec!["nope"])), target).unwrap_err();
    assert!(err.contains("[g] row 0") && err.contains("nope"), "{err}");
}

#[test]
fn encodes_binary_and_rejects_overlong() {
    let a = BinaryArray::from(vec![Some(&[1u8, 2][..]), None]);
    let v = encode_one(Arc::new(a), col("b", "varbinary", Some(2), None, None)).unwrap();
    assert_eq!(
        v,
        [
            ColumnData::Binary(Some(vec![1u8, 2].into())),
            ColumnData::Binary(None)
        ]
    );
    let a = BinaryArray::from(vec![&[1u8, 2, 3][..]]);
    let err = encode_one(Arc::new(a), col("b", "binary", Some(2), None, None)).unwrap_err();
    assert!(err.contains("[b] row 0"), "{err}");
}

#[test]
fn matches_columns_by_name_and_fills_missing_with_null() {
    let b = batch(vec![
        ("NAME", Arc::new(StringArray::from(vec!["x", "y"])) as ArrayRef),
        ("Id", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
        ("extra", Arc::new(Int32Array::from(vec![9, 9])) as ArrayRef),
    ]);
    let targets = [
        plain("id", "bigint"),
        col("when", "datetime2", None, None, Some(7)),
        col("name", "nvarchar", Some(10), None, None),
        col("amount", "decimal", None, Some(10), Some(2)),
    ];
    let (rows, truncs) = encode_batch(&b, &targets, WidthPolicy::Strict).unwrap();
    assert!(truncs.is_empty());
    assert_eq!(rows.len(), 2);
    let row: Vec<_> = rows[1].iter().cloned().collect();
    assert_eq!(
        row,
        [
            ColumnData::I64(Some(2)),
            ColumnData::DateTime2(None),
            ColumnData::String(Some("y".into())),
            ColumnData::Numeric(None),
        ]
    );
}

#[test]
fn rejects_nulls_for_not_null_targets_and_unsupported_targets() {
    let mut target = plain("id", "int");
    target.nullable = false;
    let err = encode_one(Arc::new(Int32Array::from(vec![Some(1), None])), target).unwrap_err();
    assert!(err.contains("[id] row 1") && err.contains("NOT NULL"), "{err}");
    let err = encode_one(Arc::new(StringArray::from(vec!["<a/>"])), plain("x", "xml")).unwrap_err();
    assert!(err.contains("[x]") && err.contains("xml"), "{err}");
    let err = encode_one(
        Arc::new(StringArray::from(vec!["2024-01-01"])),
        plain("d", "date"),
    )
    .unwrap_err();
    assert!(err.contains("[d]") && err.contains("Utf8"), "{err}");
}

/// Every supported type: Arrow → bulk values → (as the server would return them) → Arrow.
#[test]
fn round_trip_every_type_through_encode_and_batch_builder() {
    let max38 = 99_999_999_999_999_999_999_999_999_999_999_999_999i128;
    let columns = vec![
        plain("bit", "bit"),
        plain("tiny", "tinyint"),
        plain("small", "smallint"),
        plain("int", "int"),
        plain("big", "bigint"),
        col("real", "real", None, Some(24), None),
        col("float", "float", None, Some(53), None),
        col("dec", "decimal", None, Some(38), Some(0)),
        col("frac", "numeric", None, Some(38), Some(38)),
        plain("money", "money"),
        plain("smallmoney", "smallmoney"),
        col("nv", "nvarchar", Some(20), None, None),
        col("vc", "varchar", Some(-1), None, None),
        plain("guid", "uniqueidentifier"),
        col("bin", "varbinary", Some(-1), None, None),
        plain("date", "date"),
        col("dt2", "datetime2", None, None, Some(7)),
        col("dt", "datetime", None, None, Some(3)),
        plain("sdt", "smalldatetime"),
        col("time", "time", None, None, Some(7)),
        col("dto", "datetimeoffset", None, None, Some(7)),
    ];
    let us = |y, m, d, extra: i64| civil(y, m, d) * 86_400_000_000 + extra;
    let dec = |v: Vec<Option<i128>>, p, s| -> ArrayRef {
        Arc::new(Decimal128Array::from(v).with_precision_and_scale(p, s).unwrap())
    };
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        Arc::new(UInt8Array::from(vec![Some(255), Some(0), None])),
        Arc::new(Int16Array::from(vec![Some(i16::MIN), Some(i16::MAX), None])),
        Arc::new(Int32Array::from(vec![Some(i32::MIN), Some(i32::MAX), None])),
        Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None])),
        Arc::new(Float32Array::from(vec![Some(f32::MIN), Some(3.5), None])),
        Arc::new(Float64Array::from(vec![Some(f64::MAX), Some(-0.1), None])),
        dec(vec![Some(max38), Some(-max38), None], 38, 0),
        dec(vec![Some(max38), Some(-1), None], 38, 38),
        dec(vec![Some(i64::MIN.into()), Some(i64::MAX.into()), None], 19, 4),
        dec(vec![Some(i32::MIN.into()), Some(i32::MAX.into()), None], 10, 4),
        Arc::new(StringArray::from(vec![Some("Ñandú 😀 漢字"), Some(""), None])),
        Arc::new(StringArray::from(vec![
            Some("plain"),
            Some("x".repeat(9000).as_str()),
            None,
        ])),
        Arc::new(StringArray::from(vec![
            Some("6f9619ff-8b86-d011-b42d-00c04fc964ff"),
            Some("00000000-0000-0000-0000-000000000000"),
            None,
        ])),
        Arc::new(BinaryArray::from(vec![
            Some(&[0u8, 255][..]),
            Some(&[][..]),
            None,
        ])),
        Arc::new(Date32Array::from(vec![
            Some(civil(1, 1, 1) as i32),
            Some(civil(9999, 12, 31) as i32),
            None,
        ])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(us(1, 1, 1, 0)),
            Some(us(9999, 12, 31, 86_399_999_999)),
            None,
        ])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(us(1753, 1, 1, 3_333)),
            Some(us(9999, 12, 31, 86_399_996_667)),
            None,
        ])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(us(1900, 1, 1, 0)),
            Some(us(2079, 6, 6, 86_340_000_000)),
            None,
        ])),
        Arc::new(Time64NanosecondArray::from(vec![
            Some(0),
            Some(86_399_999_999_900),
            None,
        ])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![
                Some(us(2024, 6, 1, 36_000_000_000)),
                Some(us(1, 1, 1, 0)),
                None,
            ])
            .with_timezone("+00:00"),
        ),
    ];
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(&c.name, c.arrow_type().unwrap(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let input = RecordBatch::try_new(schema.clone(), arrays).unwrap();

    let (rows, truncs) = encode_batch(&input, &columns, WidthPolicy::Strict).unwrap();
    assert!(truncs.is_empty());
    let mut builder = BatchBuilder::new(&columns, schema, rows.len()).unwrap();
    for row in rows {
        builder.push_row(row).unwrap();
    }
    let output = builder.finish().unwrap();
    for (i, c) in columns.iter().enumerate() {
        assert_eq!(output.column(i), input.column(i), "column {}", c.name);
    }
}
