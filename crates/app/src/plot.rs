//! The figures: Actual vs Predicted (the tutorial's plot) and the training loss per epoch.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::artifacts::EpochRecord;

const SIZE: (u32, u32) = (1000, 600);
const ACTUAL: RGBColor = RGBColor(31, 119, 180);
const PREDICTED: RGBColor = RGBColor(255, 127, 14);

/// Plotters draws text with a font we ship (DejaVu Sans), so plots need no system fonts.
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let bytes = include_bytes!("../assets/DejaVuSans.ttf");
        if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_err() {
            // Only a corrupt asset could fail; without a font plotters draws no text but still
            // draws the lines, so carry on rather than lose the figure.
            eprintln!("warning: the bundled font could not be loaded; plots will have no text");
        }
    });
}

fn plot_error(path: &Path) -> impl Fn(String) -> anyhow::Error + '_ {
    move |message| anyhow!("cannot draw {}: {message}", path.display())
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

/// Draws the training loss per epoch, on a log scale, into the PNG at `path`.
pub fn loss_curve(path: &Path, history: &[EpochRecord], title: &str) -> Result<()> {
    register_font();
    let fail = plot_error(path);
    let positive: Vec<(f64, f64)> = history
        .iter()
        .filter(|record| record.loss > 0.0 && record.loss.is_finite())
        .map(|record| (record.epoch as f64, record.loss))
        .collect();
    if positive.is_empty() {
        return Err(fail(
            "the loss history has no positive finite value".to_string(),
        ));
    }
    let (low, high) = positive
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, v)| {
            (lo.min(v), hi.max(v))
        });
    let last_epoch = positive.last().map_or(1.0, |&(epoch, _)| epoch).max(2.0);

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
        .y_desc("training loss (MSE, log scale)")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    chart
        .draw_series(LineSeries::new(
            positive.iter().copied(),
            ACTUAL.stroke_width(2),
        ))
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
            elapsed_seconds: 0.0,
        }];
        assert!(loss_curve(&dir.path().join("l.png"), &history, "t").is_err());
    }
}
