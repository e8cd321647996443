//! The figures: Actual vs Predicted (the tutorial's plot), the training loss per epoch, a
//! series' forecasts and a backtest's.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::artifacts::EpochRecord;
use crate::backtest::BacktestOutcome;
use crate::error::{Error, Result};
use crate::forecast::{ForecastOutcome, SeriesForecast};

const SIZE: (u32, u32) = (1000, 600);
const ACTUAL: RGBColor = RGBColor(31, 119, 180);
const PREDICTED: RGBColor = RGBColor(255, 127, 14);
const FUTURE: RGBColor = RGBColor(214, 39, 40);
const VALIDATION_SHADE: RGBColor = RGBColor(255, 221, 87);
const TEST_SHADE: RGBColor = RGBColor(120, 200, 120);
const LINEAR: RGBColor = RGBColor(40, 40, 40);

/// Plotters draws text with a font we ship (DejaVu Sans), so plots need no system fonts.
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let bytes = include_bytes!("../assets/DejaVuSans.ttf");
        // Only a corrupt asset (a build problem, which the plot tests catch) could fail; without
        // a font plotters draws no text but still draws the lines, so carry on rather than lose
        // the figure.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

fn plot_error(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |message| Error::Plot {
        path: path.to_path_buf(),
        message,
    }
}

/// Draws `actual` and `predicted` over the sample index into the PNG at `path`.
pub fn predictions(path: &Path, actual: &[f64], predicted: &[f64], title: &str) -> Result<()> {
    register_font();
    let fail = plot_error(path);
    let (low, high) = actual
        .iter()
        .chain(predicted)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let margin = ((high - low) * 0.08).max(1e-6);
    let samples = actual.len().max(2) as f64 - 1.0;

    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..samples, (low - margin)..(high + margin))
        .map_err(|e| fail(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("sample")
        .y_desc("y = sin(mean(x))")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    // Actual is drawn wider underneath, so that it stays visible where the model is right.
    for (values, label, color, width) in [
        (actual, "Actual", ACTUAL, 5),
        (predicted, "Predicted", PREDICTED, 2),
    ] {
        let points = values.iter().enumerate().map(|(i, &v)| (i as f64, v));
        let style = color.stroke_width(width);
        chart
            .draw_series(LineSeries::new(points, style))
            .map_err(|e| fail(e.to_string()))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))
}

/// Draws the training (and, when recorded, validation) loss per epoch, on a log scale, into the
/// PNG at `path`.
pub fn loss_curve(path: &Path, history: &[EpochRecord], title: &str) -> Result<()> {
    register_font();
    let fail = plot_error(path);
    let usable = |loss: f64| loss > 0.0 && loss.is_finite();
    let train: Vec<(f64, f64)> = history
        .iter()
        .filter(|record| usable(record.loss))
        .map(|record| (record.epoch as f64, record.loss))
        .collect();
    let valid: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|record| record.valid_loss.map(|loss| (record.epoch as f64, loss)))
        .filter(|&(_, loss)| usable(loss))
        .collect();
    if train.is_empty() {
        return Err(fail(
            "the loss history has no positive finite value".to_string(),
        ));
    }
    let (low, high) = train
        .iter()
        .chain(&valid)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, v)| {
            (lo.min(v), hi.max(v))
        });
    let last_epoch = train.last().map_or(1.0, |&(epoch, _)| epoch).max(2.0);

    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(1.0..last_epoch, (low * 0.8..high * 1.25).log_scale())
        .map_err(|e| fail(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("loss (MSE in training units, log scale)")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    for (points, label, color) in [
        (&train, "training", ACTUAL),
        (&valid, "validation", PREDICTED),
    ] {
        if points.is_empty() {
            continue;
        }
        let style = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(points.iter().copied(), style))
            .map_err(|e| fail(e.to_string()))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    // The best epoch by the loss the run monitored (validation when there is one), as early
    // stopping would keep it.
    let monitored = crate::epoch_loop::monitored(history);
    let best = history
        .iter()
        .zip(&monitored)
        .filter(|(_, loss)| usable(**loss))
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(record, &loss)| (record.epoch as f64, loss));
    if let Some((epoch, loss)) = best {
        let marker = BLACK.stroke_width(1);
        chart
            .draw_series(LineSeries::new(
                [(epoch, low * 0.82), (epoch, high * 1.22)],
                RGBColor(150, 150, 150).stroke_width(2),
            ))
            .map_err(|e| fail(e.to_string()))?;
        chart
            .draw_series([Circle::new((epoch, loss), 6, marker)])
            .map_err(|e| fail(e.to_string()))?
            .label(format!("best epoch {epoch:.0} ({loss:.3e})"))
            .legend(move |(x, y)| Circle::new((x + 12, y), 5, marker));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))
}

/// Draws a series with its split shaded, the test forecasts, the linear baseline's first steps
/// and the values forecast after its end, into the PNG at `path`. With dates, the x axis shows
/// them.
pub fn forecast(path: &Path, outcome: &ForecastOutcome, title: &str) -> Result<()> {
    register_font();
    let fail = plot_error(path);
    let prepared = &outcome.prepared;
    let values = &prepared.series.values;
    let horizon = prepared.spec.horizon;
    let len = values.len();
    let forecasts = &outcome.forecast;
    let bands = forecasts
        .quantiles
        .as_ref()
        .map(|q| crate::metrics::central_intervals(&q.levels))
        .unwrap_or_default();
    let band_values: Vec<f64> = match &forecasts.quantiles {
        Some(q) => q
            .predicted
            .iter()
            .map(|levels| &levels[..])
            .chain([&q.future[..]])
            .flat_map(|levels| levels.iter().flatten().copied())
            .collect(),
        None => Vec::new(),
    };
    let (low, high) = values
        .iter()
        .chain(forecasts.predicted.iter().flatten())
        .chain(&forecasts.future)
        .chain(outcome.linear.predicted.iter().map(|steps| &steps[0]))
        .chain(&band_values)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let margin = ((high - low) * 0.06).max(1e-6);
    let (y_low, y_high) = (low - margin, high + margin);
    let x_end = (len + horizon) as f64;

    let root = BitMapBackend::new(path, (1200, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..x_end, y_low..y_high)
        .map_err(|e| fail(e.to_string()))?;
    let label = |x: &f64| {
        let index = x.round();
        if index >= 0.0 && (index as usize) < len {
            prepared.label(index as usize)
        } else {
            format!("{index:.0}")
        }
    };
    chart
        .configure_mesh()
        .x_desc(match prepared.series.dates {
            Some(_) => "date",
            None => "index",
        })
        .y_desc(prepared.series.name.as_str())
        .x_label_formatter(&label)
        .y_label_formatter(&|v| {
            if high - low >= 10.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.3}")
            }
        })
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| fail(e.to_string()))?;

    let split = &prepared.split;
    for (range, name, color) in [
        (&split.validation, "validation part", VALIDATION_SHADE),
        (&split.test, "test part", TEST_SHADE),
    ] {
        if range.is_empty() {
            continue;
        }
        let shade = color.mix(0.25).filled();
        let corners = [
            (range.start as f64 - 0.5, y_low),
            (range.end as f64 - 0.5, y_high),
        ];
        chart
            .draw_series([Rectangle::new(corners, shade)])
            .map_err(|e| fail(e.to_string()))?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 24, y + 6)], shade));
    }

    let history = values.iter().enumerate().map(|(i, &v)| (i as f64, v));
    chart
        .draw_series(LineSeries::new(history, ACTUAL.stroke_width(2)))
        .map_err(|e| fail(e.to_string()))?
        .label(prepared.series.name.as_str())
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], ACTUAL.stroke_width(2)));

    // The intervals, widest first and palest: the step-1 forecasts' band over the test part,
    // and the whole band of the forecast after the end.
    if let Some(quantiles) = &forecasts.quantiles {
        let shades = bands.len() as f64;
        for (rank, &(lower, upper, nominal)) in bands.iter().enumerate() {
            let step_one = |level: usize| {
                forecasts
                    .origins
                    .iter()
                    .zip(&quantiles.predicted)
                    .map(move |(&origin, levels)| (origin as f64, levels[level][0]))
            };
            let future = |level: usize| {
                std::iter::once(((len - 1) as f64, values[len - 1])).chain(
                    quantiles.future[level]
                        .iter()
                        .enumerate()
                        .map(|(h, &v)| ((len + h) as f64, v)),
                )
            };
            let outline = |points: Vec<(f64, f64)>, back: Vec<(f64, f64)>| {
                points
                    .into_iter()
                    .chain(back.into_iter().rev())
                    .collect::<Vec<_>>()
            };
            let alpha = 0.12 + 0.18 * (rank as f64 + 1.0) / shades;
            let test_band = outline(step_one(upper).collect(), step_one(lower).collect());
            let future_band = outline(future(upper).collect(), future(lower).collect());
            let test_fill = PREDICTED.mix(alpha).filled();
            let future_fill = FUTURE.mix(alpha).filled();
            chart
                .draw_series([Polygon::new(test_band, test_fill)])
                .map_err(|e| fail(e.to_string()))?
                .label(format!("{:.0}% interval", 100.0 * nominal))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 24, y + 6)], test_fill));
            chart
                .draw_series([Polygon::new(future_band, future_fill)])
                .map_err(|e| fail(e.to_string()))?;
        }
    }

    // Each forecast starts from the last value its window saw.
    let path_of = |origin: usize, steps: &[f64]| -> Vec<(f64, f64)> {
        std::iter::once(((origin - 1) as f64, values[origin - 1]))
            .chain(
                steps
                    .iter()
                    .enumerate()
                    .map(|(h, &v)| ((origin + h) as f64, v)),
            )
            .collect()
    };
    // Many overlapping multi-step paths read better thin.
    let forecast_style = PREDICTED.stroke_width(if horizon == 1 { 2 } else { 1 });
    let test_paths: Vec<Vec<(f64, f64)>> = if horizon == 1 {
        // One-step forecasts read best as one line.
        let points = forecasts
            .origins
            .iter()
            .zip(&forecasts.predicted)
            .map(|(&origin, steps)| (origin as f64, steps[0]))
            .collect();
        vec![points]
    } else {
        forecasts
            .origins
            .iter()
            .zip(&forecasts.predicted)
            .map(|(&origin, steps)| path_of(origin, steps))
            .collect()
    };
    for (index, points) in test_paths.into_iter().enumerate() {
        let drawn = chart
            .draw_series(LineSeries::new(points, forecast_style))
            .map_err(|e| fail(e.to_string()))?;
        if index == 0 {
            drawn
                .label(match forecasts.quantiles {
                    Some(_) => format!("test forecasts ({horizon} step, median)"),
                    None => format!("test forecasts ({horizon} step)"),
                })
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], forecast_style));
        }
    }
    // The baseline's first steps only: its multi-step paths would hide the model's.
    let linear_style = LINEAR.stroke_width(2);
    let linear_points: Vec<(f64, f64)> = outcome
        .linear
        .origins
        .iter()
        .zip(&outcome.linear.predicted)
        .map(|(&origin, steps)| (origin as f64, steps[0]))
        .collect();
    chart
        .draw_series(DashedLineSeries::new(linear_points, 6, 4, linear_style))
        .map_err(|e| fail(e.to_string()))?
        .label(match horizon {
            1 => "linear baseline".to_string(),
            _ => "linear baseline (step 1)".to_string(),
        })
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], linear_style));
    let future_style = FUTURE.stroke_width(3);
    chart
        .draw_series(LineSeries::new(
            path_of(len, &forecasts.future),
            future_style,
        ))
        .map_err(|e| fail(e.to_string()))?
        .label(format!("next {horizon} after the end"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], future_style));
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))
}

/// Draws a backtest into the PNG at `path`: the series, the model's and the linear baseline's
/// first-step forecasts from every origin, the widest interval's band for a model with
/// quantiles, and a dotted line where each fold's model takes over.
pub fn backtest(path: &Path, outcome: &BacktestOutcome, title: &str) -> Result<()> {
    register_font();
    let fail = plot_error(path);
    let values = &outcome.series.values;
    let len = values.len();
    let forecast = &outcome.forecast;
    let first = forecast.origins[0];
    let step_one = |forecast: &SeriesForecast| -> Vec<(f64, f64)> {
        forecast
            .origins
            .iter()
            .zip(&forecast.predicted)
            .map(|(&origin, steps)| (origin as f64, steps[0]))
            .collect()
    };
    let band: Option<(Vec<(f64, f64)>, f64)> = forecast.quantiles.as_ref().and_then(|q| {
        let &(lower, upper, nominal) = crate::metrics::central_intervals(&q.levels).first()?;
        let edge = |level: usize| -> Vec<(f64, f64)> {
            forecast
                .origins
                .iter()
                .zip(&q.predicted)
                .map(|(&origin, levels)| (origin as f64, levels[level][0]))
                .collect()
        };
        let mut outline = edge(upper);
        outline.extend(edge(lower).into_iter().rev());
        Some((outline, nominal))
    });
    // The y range of what is drawn: the series from a little before the first origin on.
    let shown = first.saturating_sub((len - first).max(12));
    let (low, high) = values[shown..]
        .iter()
        .copied()
        .chain(step_one(forecast).into_iter().map(|(_, v)| v))
        .chain(step_one(&outcome.linear).into_iter().map(|(_, v)| v))
        .chain(
            band.iter()
                .flat_map(|(outline, _)| outline.iter().map(|&(_, v)| v)),
        )
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let margin = ((high - low) * 0.06).max(1e-6);
    let (y_low, y_high) = (low - margin, high + margin);

    let root = BitMapBackend::new(path, (1200, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("backtest: {title}"), ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(shown as f64..len as f64, y_low..y_high)
        .map_err(|e| fail(e.to_string()))?;
    let label = |x: &f64| {
        let index = x.round();
        if index >= 0.0 && (index as usize) < len {
            outcome.label(index as usize)
        } else {
            format!("{index:.0}")
        }
    };
    chart
        .configure_mesh()
        .x_desc(match outcome.series.dates {
            Some(_) => "date",
            None => "index",
        })
        .y_desc(outcome.series.name.as_str())
        .x_label_formatter(&label)
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    if let Some((outline, nominal)) = band {
        let fill = PREDICTED.mix(0.25).filled();
        chart
            .draw_series([Polygon::new(outline, fill)])
            .map_err(|e| fail(e.to_string()))?
            .label(format!("{:.0}% interval (step 1)", 100.0 * nominal))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 24, y + 6)], fill));
    }
    let history = values
        .iter()
        .enumerate()
        .skip(shown)
        .map(|(i, &v)| (i as f64, v));
    chart
        .draw_series(LineSeries::new(history, ACTUAL.stroke_width(2)))
        .map_err(|e| fail(e.to_string()))?
        .label(outcome.series.name.as_str())
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], ACTUAL.stroke_width(2)));
    let model_style = PREDICTED.stroke_width(2);
    chart
        .draw_series(LineSeries::new(step_one(forecast), model_style))
        .map_err(|e| fail(e.to_string()))?
        .label("model (step 1)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], model_style));
    let linear_style = LINEAR.stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(
            step_one(&outcome.linear),
            6,
            4,
            linear_style,
        ))
        .map_err(|e| fail(e.to_string()))?
        .label("linear baseline (step 1)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], linear_style));
    let refit_style = FUTURE.stroke_width(1);
    for (number, fold) in outcome.folds.iter().enumerate() {
        let x = fold.origins[0] as f64 - 0.5;
        let drawn = chart
            .draw_series(DashedLineSeries::new(
                [(x, y_low), (x, y_high)],
                3,
                3,
                refit_style,
            ))
            .map_err(|e| fail(e.to_string()))?;
        if number == 0 {
            drawn
                .label("a fold's model starts")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], refit_style));
        }
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_png(path: &Path) -> bool {
        std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"\x89PNG\r\n\x1a\n"))
    }

    #[test]
    fn both_figures_are_written_as_png() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let predictions_png = dir.path().join("p.png");
        let loss_png = dir.path().join("l.png");
        predictions(
            &predictions_png,
            &[0.1, 0.5, -0.2],
            &[0.0, 0.4, -0.1],
            "test",
        )
        .expect("drawable");
        let history: Vec<EpochRecord> = (1..=5)
            .map(|epoch| EpochRecord {
                epoch,
                loss: 1.0 / epoch as f64,
                valid_loss: Some(2.0 / epoch as f64),
                lr: 1e-3,
                elapsed_seconds: epoch as f64,
            })
            .collect();
        loss_curve(&loss_png, &history, "loss").expect("drawable");
        assert!(is_png(&predictions_png));
        assert!(is_png(&loss_png));
    }

    #[test]
    fn unwritable_path_is_an_error_naming_it() {
        let path = Path::new("/nonexistent-directory/p.png");
        let error = predictions(path, &[0.0, 1.0], &[0.0, 1.0], "t").expect_err("cannot write");
        assert!(
            error.to_string().contains("/nonexistent-directory/p.png"),
            "{error}"
        );
    }

    #[test]
    fn history_without_positive_loss_is_refused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let history = [EpochRecord {
            epoch: 1,
            loss: f64::NAN,
            valid_loss: None,
            lr: 1e-3,
            elapsed_seconds: 0.0,
        }];
        assert!(loss_curve(&dir.path().join("l.png"), &history, "t").is_err());
    }
}
