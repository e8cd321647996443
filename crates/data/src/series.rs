//! A time series read from a CSV file (a target column, and input columns beside it if asked
//! for), with errors that name the file, line and column.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::calendar::parse_date;

/// A column chosen by header name or by 0-based index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ColumnRef {
    /// The 0-based position of the column.
    Index(usize),
    /// The header of the column.
    Name(String),
}

impl FromStr for ColumnRef {
    type Err = std::convert::Infallible;

    /// Digits select by index; anything else by header name.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text.parse::<usize>() {
            Ok(index) => Self::Index(index),
            Err(_) => Self::Name(text.to_string()),
        })
    }
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Index(index) => write!(f, "{index}"),
            Self::Name(name) => write!(f, "'{name}'"),
        }
    }
}

/// What to do with empty, NaN or infinite cells in the value column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum FillPolicy {
    /// Refuse empty, NaN and infinite cells, naming the first.
    #[default]
    None,
    /// Repeat the last valid value (the first valid value before any).
    Previous,
    /// Interpolate linearly between the valid neighbours (the nearest valid value at the ends).
    Linear,
}

/// How to read a series from CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesCsvOptions {
    /// The column holding the values (the target of a forecast).
    pub column: ColumnRef,
    /// Further numeric columns read beside it, in this order (the model's past inputs).
    pub features: Vec<ColumnRef>,
    /// An optional column of dates (or any labels) for plot axes and the forecast table.
    pub date_column: Option<ColumnRef>,
    /// What to do with missing values.
    pub fill: FillPolicy,
    /// Whether the date column's cells must be dates ([`crate::calendar::parse_date`]'s forms),
    /// read into [`TimeSeries::times`]; otherwise they are labels only.
    pub parse_dates: bool,
}

/// One numeric column of a CSV file, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The column's header, or `column N` without a header.
    pub name: String,
    /// The values, one per data row.
    pub values: Vec<f64>,
}

/// A series in file order: the target column, and the feature columns read beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeSeries {
    /// The target column's header, or `column N` without a header.
    pub name: String,
    /// The target's values, one per data row.
    pub values: Vec<f64>,
    /// The feature columns asked for ([`SeriesCsvOptions::features`]), as many values each.
    pub features: Vec<Column>,
    /// The date column's text, one per data row, when one was asked for.
    pub dates: Option<Vec<String>>,
    /// The date column read as dates, when [`SeriesCsvOptions::parse_dates`] asked for them.
    pub times: Option<Vec<DateTime>>,
    /// The field separator the file was read with: `,`, or `;` or a tab when its first line
    /// holds more of them than commas.
    pub delimiter: u8,
}

/// Why a series could not be read; each message names the file and, where it applies, the line
/// and column.
#[derive(Debug, Error)]
pub enum SeriesError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The CSV syntax is broken (for example an unterminated quote).
    #[error("{path}: invalid CSV: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
    /// The file has no rows at all.
    #[error("{path} is empty")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file has a header and nothing else.
    #[error("{path} has a header but no data rows")]
    HeaderOnly {
        /// The file.
        path: PathBuf,
    },
    /// A row has a different number of cells than the first.
    #[error("{path}, line {line}: {found} cells where the first row has {expected}")]
    Ragged {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Cells in the first row.
        expected: usize,
        /// Cells in this row.
        found: usize,
    },
    /// The asked-for column does not exist.
    #[error("{path}: no column {column}; the columns are: {available}")]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: ColumnRef,
        /// The header, or the number of columns without one.
        available: String,
    },
    /// A cell is not a number.
    #[error("{path}, line {line}, column {column}: '{value}' is not a number")]
    NotNumeric {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The column's name or index.
        column: String,
        /// The cell's text.
        value: String,
    },
    /// A cell is empty, NaN or infinite and no fill policy was given.
    #[error("{path}, line {line}, column {column}: {what} value")]
    Missing {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The column's name or index.
        column: String,
        /// `empty`, `NaN` or `infinite`.
        what: &'static str,
    },
    /// A column was asked for twice (as a feature and as the target, or as two features).
    #[error(
        "{path}: column {column} is asked for twice (each column is the target or one feature)"
    )]
    RepeatedColumn {
        /// The file.
        path: PathBuf,
        /// The column's name or index.
        column: String,
    },
    /// A date cell is in none of the forms understood.
    #[error(
        "{path}, line {line}, column {column}: '{value}' is not a date; the forms understood are \
         {forms}",
        forms = crate::calendar::DATE_FORMS
    )]
    NotADate {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The column's name or index.
        column: String,
        /// The cell's text.
        value: String,
    },
    /// Every value of the column is missing.
    #[error("{path}: column {column} has no valid value to fill from")]
    NothingToFill {
        /// The file.
        path: PathBuf,
        /// The column's name or index.
        column: String,
    },
}

/// Reads the asked-for columns of the CSV file `path` as a series; see [`read_csv`].
pub fn load_csv(path: &Path, options: &SeriesCsvOptions) -> Result<TimeSeries, SeriesError> {
    let file = std::fs::File::open(path).map_err(|source| SeriesError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_csv(file, path, options)
}

/// Reads the asked-for columns of CSV text from `input` as a series; `path` names the source in
/// errors (a file name, or a label such as `<stdin>`). Every column is read the same way: numbers,
/// with missing values refused or filled by [`SeriesCsvOptions::fill`]. A header is detected: selecting a column by name
/// requires one; otherwise the first row is a header when its value cell is not a number.
/// Blank lines are skipped (so in a one-column file, write a missing value as `NaN`). The field
/// separator is a comma unless the first line holds more semicolons or tabs than commas (as
/// spreadsheets in many locales write CSV); [`TimeSeries::delimiter`] says which was used.
pub fn read_csv(
    mut input: impl std::io::Read,
    path: &Path,
    options: &SeriesCsvOptions,
) -> Result<TimeSeries, SeriesError> {
    let csv_error = |source| SeriesError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut text = Vec::new();
    input
        .read_to_end(&mut text)
        .map_err(|source| SeriesError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let delimiter = detect_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_slice());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| match error.kind() {
            csv::ErrorKind::Io(_) => match error.into_kind() {
                csv::ErrorKind::Io(source) => SeriesError::Io {
                    path: path.to_path_buf(),
                    source,
                },
                _ => unreachable!("matched an I/O error above"),
            },
            _ => csv_error(error),
        })?;
        let line = record
            .position()
            .map_or(0, |position| line_of(&text, position.byte()));
        rows.push((line, record));
    }
    let Some((_, first)) = rows.first() else {
        return Err(SeriesError::Empty {
            path: path.to_path_buf(),
        });
    };
    let width = first.len();
    if let Some((line, record)) = rows.iter().find(|(_, record)| record.len() != width) {
        return Err(SeriesError::Ragged {
            path: path.to_path_buf(),
            line: *line,
            expected: width,
            found: record.len(),
        });
    }

    let value_looks_numeric = |cell: &str| cell.trim().parse::<f64>().is_ok();
    let header: Option<Vec<String>> = match &options.column {
        ColumnRef::Name(_) => Some(first.iter().map(|cell| cell.trim().to_string()).collect()),
        ColumnRef::Index(index) => {
            let cell = first.get(*index).unwrap_or("");
            (!value_looks_numeric(cell) && !cell.trim().is_empty())
                .then(|| first.iter().map(|cell| cell.trim().to_string()).collect())
        }
    };
    let resolve = |column: &ColumnRef| -> Result<usize, SeriesError> {
        let found = match (column, &header) {
            (ColumnRef::Index(index), _) => (*index < width).then_some(*index),
            (ColumnRef::Name(name), Some(names)) => names.iter().position(|n| n == name),
            (ColumnRef::Name(_), None) => None,
        };
        found.ok_or_else(|| SeriesError::UnknownColumn {
            path: path.to_path_buf(),
            column: column.clone(),
            available: match &header {
                Some(names) => names.join(", "),
                None => format!("0 to {} (no header)", width - 1),
            },
        })
    };
    let value_column = resolve(&options.column)?;
    let feature_columns = options
        .features
        .iter()
        .map(resolve)
        .collect::<Result<Vec<usize>, _>>()?;
    let date_column = options.date_column.as_ref().map(resolve).transpose()?;
    let label = |column: usize| match &header {
        Some(names) => format!("'{}'", names[column]),
        None => column.to_string(),
    };
    let name = |column: usize| match &header {
        Some(names) => names[column].clone(),
        None => format!("column {column}"),
    };
    for (position, &column) in feature_columns.iter().enumerate() {
        if column == value_column || feature_columns[..position].contains(&column) {
            return Err(SeriesError::RepeatedColumn {
                path: path.to_path_buf(),
                column: label(column),
            });
        }
    }
    let data_rows = &rows[usize::from(header.is_some())..];
    if data_rows.is_empty() {
        return Err(SeriesError::HeaderOnly {
            path: path.to_path_buf(),
        });
    }

    let read = |column: usize| read_column(data_rows, column, &label(column), path, options.fill);
    let values = read(value_column)?;
    let features = feature_columns
        .iter()
        .map(|&column| {
            Ok(Column {
                name: name(column),
                values: read(column)?,
            })
        })
        .collect::<Result<Vec<Column>, SeriesError>>()?;
    let dates = date_column.map(|column| {
        data_rows
            .iter()
            .map(|(_, record)| record[column].trim().to_string())
            .collect()
    });
    let times = match date_column {
        Some(column) if options.parse_dates => Some(
            data_rows
                .iter()
                .map(|(line, record)| {
                    let cell = record[column].trim();
                    parse_date(cell).ok_or_else(|| SeriesError::NotADate {
                        path: path.to_path_buf(),
                        line: *line,
                        column: label(column),
                        value: cell.to_string(),
                    })
                })
                .collect::<Result<Vec<DateTime>, SeriesError>>()?,
        ),
        _ => None,
    };
    Ok(TimeSeries {
        name: name(value_column),
        values,
        features,
        dates,
        times,
        delimiter,
    })
}

/// The numbers of `column` (called `column_label` in errors) over `data_rows`, each with its
/// 1-based line, missing values refused or filled by `fill`.
fn read_column(
    data_rows: &[(u64, csv::StringRecord)],
    column: usize,
    column_label: &str,
    path: &Path,
    fill: FillPolicy,
) -> Result<Vec<f64>, SeriesError> {
    let mut values: Vec<Option<f64>> = Vec::with_capacity(data_rows.len());
    for (line, record) in data_rows {
        let cell = record[column].trim();
        let missing = |what| SeriesError::Missing {
            path: path.to_path_buf(),
            line: *line,
            column: column_label.to_string(),
            what,
        };
        let value = if cell.is_empty() {
            Err(missing("empty"))
        } else {
            match cell.parse::<f64>() {
                Ok(value) if value.is_nan() => Err(missing("NaN")),
                Ok(value) if value.is_infinite() => Err(missing("infinite")),
                Ok(value) => Ok(value),
                Err(_) => {
                    return Err(SeriesError::NotNumeric {
                        path: path.to_path_buf(),
                        line: *line,
                        column: column_label.to_string(),
                        value: cell.to_string(),
                    })
                }
            }
        };
        match (value, fill) {
            (Ok(value), _) => values.push(Some(value)),
            (Err(error), FillPolicy::None) => return Err(error),
            (Err(_), _) => values.push(None),
        }
    }
    fill_gaps(&values, fill).ok_or_else(|| SeriesError::NothingToFill {
        path: path.to_path_buf(),
        column: column_label.to_string(),
    })
}

/// The 1-based line of the record that starts at `byte` of `text`, or after the blank lines
/// there: the CSV reader places a record after blank lines at the first of them, and counts its
/// line from there too.
fn line_of(text: &[u8], byte: u64) -> u64 {
    let start = usize::try_from(byte).unwrap_or(text.len()).min(text.len());
    let record = text[start..]
        .iter()
        .position(|&b| b != b'\n' && b != b'\r')
        .map_or(text.len(), |offset| start + offset);
    1 + text[..record].iter().filter(|&&b| b == b'\n').count() as u64
}

/// `;` or a tab when the first non-blank line holds more of it than commas (outside quotes);
/// a comma otherwise.
fn detect_delimiter(text: &[u8]) -> u8 {
    let first_line = text
        .split(|&byte| byte == b'\n')
        .find(|line| line.iter().any(|byte| !byte.is_ascii_whitespace()))
        .unwrap_or_default();
    let mut quoted = false;
    let mut counts = [0usize; 3];
    for &byte in first_line {
        match byte {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [(counts[1], b';'), (counts[2], b'\t')];
    candidates
        .into_iter()
        .filter(|&(count, _)| count > counts[0])
        .max_by_key(|&(count, _)| count)
        .map_or(b',', |(_, delimiter)| delimiter)
}

/// Fills `None`s by `policy`; `None` when there is no valid value at all.
pub fn fill_gaps(values: &[Option<f64>], policy: FillPolicy) -> Option<Vec<f64>> {
    let first_valid = values.iter().flatten().next().copied()?;
    let mut filled = Vec::with_capacity(values.len());
    let mut previous: Option<(usize, f64)> = None;
    for (index, value) in values.iter().enumerate() {
        let value = match (value, policy) {
            (Some(value), _) => *value,
            (None, FillPolicy::Linear) => {
                let next = values[index..]
                    .iter()
                    .enumerate()
                    .find_map(|(offset, v)| v.map(|v| (index + offset, v)));
                match (previous, next) {
                    (Some((i0, v0)), Some((i1, v1))) => {
                        v0 + (v1 - v0) * (index - i0) as f64 / (i1 - i0) as f64
                    }
                    (Some((_, v0)), None) => v0,
                    (None, Some((_, v1))) => v1,
                    (None, None) => first_valid,
                }
            }
            (None, _) => previous.map_or(first_valid, |(_, v)| v),
        };
        if values[index].is_some() {
            previous = Some((index, value));
        }
        filled.push(value);
    }
    Some(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn csv_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temporary file");
        file.write_all(text.as_bytes()).expect("writable");
        file
    }

    fn options(column: &str) -> SeriesCsvOptions {
        SeriesCsvOptions {
            column: column.parse().expect("infallible"),
            features: Vec::new(),
            date_column: None,
            fill: FillPolicy::None,
            parse_dates: false,
        }
    }

    fn load(text: &str, options: &SeriesCsvOptions) -> Result<TimeSeries, SeriesError> {
        let file = csv_file(text);
        load_csv(file.path(), options)
    }

    fn message(text: &str, options: &SeriesCsvOptions) -> String {
        load(text, options).expect_err("should fail").to_string()
    }

    #[test]
    fn reads_a_named_column_with_dates() {
        let mut opts = options("passengers");
        opts.date_column = Some("month".parse().expect("infallible"));
        let series = load("month,passengers\n1949-01,112\n1949-02,118\n", &opts).expect("valid");
        assert_eq!(series.values, vec![112.0, 118.0]);
        assert_eq!(series.name, "passengers");
        assert_eq!(
            series.dates,
            Some(vec!["1949-01".to_string(), "1949-02".to_string()])
        );
    }

    #[test]
    fn dates_are_parsed_when_asked_for_and_a_bad_one_names_its_line() {
        let mut opts = options("v");
        opts.date_column = Some("d".parse().expect("infallible"));
        opts.parse_dates = true;
        let series = load("d,v\n2012/01/01,1\n2012/01/02,2\n", &opts).expect("valid");
        let times = series.times.expect("parsed");
        assert_eq!(times[1].to_string(), "2012-01-02T00:00:00");
        let text = message("d,v\n2012/01/01,1\n\n\n2012/13/02,2\n", &opts);
        assert!(
            text.contains("line 5, column 'd': '2012/13/02' is not a date; the forms understood are 1962-12-03"),
            "{text}"
        );
        opts.parse_dates = false;
        let labels = load("d,v\nfirst,1\n", &opts).expect("labels only");
        assert_eq!(labels.times, None);
    }

    #[test]
    fn feature_columns_are_read_beside_the_target_in_the_order_asked() {
        let mut opts = options("load");
        opts.features = vec!["wind".parse().expect("infallible"), ColumnRef::Index(1)];
        let text = "day,temp,load,wind\n1,20.5,100,3\n2,21.5,110,4\n";
        let series = load(text, &opts).expect("valid");
        assert_eq!(series.values, vec![100.0, 110.0]);
        let columns: Vec<(&str, &[f64])> = series
            .features
            .iter()
            .map(|c| (c.name.as_str(), c.values.as_slice()))
            .collect();
        assert_eq!(
            columns,
            vec![("wind", &[3.0, 4.0][..]), ("temp", &[20.5, 21.5][..])]
        );
    }

    #[test]
    fn feature_columns_are_checked_like_the_target() {
        let mut opts = options("load");
        opts.features = vec!["wind".parse().expect("infallible")];
        let text = message("load,wind\n1,2\n3,x\n", &opts);
        assert!(
            text.ends_with("line 3, column 'wind': 'x' is not a number"),
            "{text}"
        );
        let text = message("load,wind\n1,\n", &opts);
        assert!(
            text.ends_with("line 2, column 'wind': empty value"),
            "{text}"
        );
        opts.fill = FillPolicy::Previous;
        let series = load("load,wind\n1,5\n2,\n", &opts).expect("filled");
        assert_eq!(series.features[0].values, vec![5.0, 5.0]);
        opts.features = vec!["gust".parse().expect("infallible")];
        let text = message("load,wind\n1,2\n", &opts);
        assert!(
            text.ends_with("no column 'gust'; the columns are: load, wind"),
            "{text}"
        );
    }

    #[test]
    fn a_column_asked_for_twice_is_refused() {
        let mut opts = options("load");
        for features in [vec!["load"], vec!["wind", "1"]] {
            opts.features = features
                .iter()
                .map(|f| f.parse().expect("infallible"))
                .collect();
            let text = message("load,wind\n1,2\n", &opts);
            assert!(text.contains("is asked for twice"), "{text}");
        }
    }

    #[test]
    fn semicolons_and_tabs_are_detected_from_the_header() {
        let series =
            load("month;passengers\n1949-01;112\n", &options("passengers")).expect("valid");
        assert_eq!((series.values, series.delimiter), (vec![112.0], b';'));
        let series =
            load("month\tpassengers\n1949-01\t112\n", &options("passengers")).expect("valid");
        assert_eq!((series.values, series.delimiter), (vec![112.0], b'\t'));
        // A decimal comma does not outvote the separator; a quoted semicolon is no separator.
        let series = load("t;v\n1;2,5\n", &options("t")).expect("valid");
        assert_eq!(series.delimiter, b';');
        let series = load("\"a;b\",v\n1,2\n", &options("v")).expect("valid");
        assert_eq!((series.values, series.delimiter), (vec![2.0], b','));
    }

    #[test]
    fn header_is_optional_when_selecting_by_index() {
        let series = load("1,2.5\n2,3.5\n\n3,4.5\n", &options("1")).expect("valid");
        assert_eq!(series.values, vec![2.5, 3.5, 4.5]);
        assert_eq!(series.name, "column 1");
        let series = load("t,v\n1,2.5\n", &options("1")).expect("valid");
        assert_eq!(series.values, vec![2.5]);
        assert_eq!(series.name, "v");
    }

    #[test]
    fn missing_file_names_it() {
        let error = load_csv(Path::new("/no/such/file.csv"), &options("0")).expect_err("missing");
        assert!(
            error
                .to_string()
                .starts_with("cannot read /no/such/file.csv:"),
            "{error}"
        );
    }

    #[test]
    fn empty_and_header_only_files_are_refused() {
        assert!(message("", &options("0")).ends_with("is empty"));
        assert!(message("\n\n", &options("0")).ends_with("is empty"));
        assert!(message("a,b\n", &options("b")).ends_with("has a header but no data rows"));
    }

    #[test]
    fn ragged_rows_name_the_line() {
        let text = message("a,b\n1,2\n3\n", &options("b"));
        assert!(
            text.ends_with("line 3: 1 cells where the first row has 2"),
            "{text}"
        );
    }

    #[test]
    fn unknown_columns_list_the_real_ones() {
        let text = message("a,b\n1,2\n", &options("c"));
        assert!(
            text.ends_with("no column 'c'; the columns are: a, b"),
            "{text}"
        );
        let text = message("1,2\n", &options("5"));
        assert!(
            text.ends_with("no column 5; the columns are: 0 to 1 (no header)"),
            "{text}"
        );
    }

    #[test]
    fn non_numeric_cells_name_line_column_and_text() {
        let text = message("a,b\n1,2\n3,x7\n", &options("b"));
        assert!(
            text.ends_with("line 3, column 'b': 'x7' is not a number"),
            "{text}"
        );
    }

    #[test]
    fn missing_values_are_errors_by_default() {
        for (cell, what) in [
            ("", "empty"),
            ("NaN", "NaN"),
            ("inf", "infinite"),
            ("-inf", "infinite"),
        ] {
            let text = message(&format!("t,v\n1,1\n2,{cell}\n3,3\n"), &options("v"));
            assert!(
                text.contains(&format!("line 3, column 'v': {what} value")),
                "{text}"
            );
        }
    }

    #[test]
    fn fill_repairs_missing_values() {
        let mut opts = options("v");
        opts.fill = FillPolicy::Previous;
        let text = "t,v\n0,\n1,1\n2,nan\n3,\n4,4\n";
        let series = load(text, &opts).expect("fillable");
        assert_eq!(series.values, vec![1.0, 1.0, 1.0, 1.0, 4.0]);
        opts.fill = FillPolicy::Linear;
        let series = load(text, &opts).expect("fillable");
        assert_eq!(series.values, vec![1.0, 1.0, 2.0, 3.0, 4.0]);
        let blank_lines_skipped = load("v\n1\n\n2\n", &opts).expect("valid");
        assert_eq!(blank_lines_skipped.values, vec![1.0, 2.0]);
    }

    #[test]
    fn fill_needs_one_valid_value() {
        let mut opts = options("v");
        opts.fill = FillPolicy::Linear;
        let text = message("v\nnan\nNaN\n", &opts);
        assert!(
            text.ends_with("column 'v' has no valid value to fill from"),
            "{text}"
        );
    }

    #[test]
    fn linear_fill_at_the_ends_uses_the_nearest_value() {
        let values = [None, Some(2.0), None, Some(6.0), None];
        assert_eq!(
            fill_gaps(&values, FillPolicy::Linear),
            Some(vec![2.0, 2.0, 4.0, 6.0, 6.0])
        );
    }
}
