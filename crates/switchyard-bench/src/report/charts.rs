//! The PNG charts of BENCHMARKS.md, drawn with plotters into an RGB buffer and encoded with
//! `png`. Text uses DejaVu Sans from the `dejavu` crate (registered with plotters' `ab_glyph`
//! backend), so nothing depends on the fonts a machine has installed.

use std::path::Path;
use std::sync::Once;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const W: u32 = 1100;
/// Text size: plotters' ab_glyph backend rounds each glyph's vertical offset on its own, which
/// at 15–16 px lifts a '.' to mid-height; from 18 px on it sits on the baseline.
const TEXT: u32 = 18;
const FONT: &str = "sans-serif";
const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;

fn register_font() -> DrawResult<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| "the bundled DejaVu Sans did not load".to_owned());
    });
    Ok(result?)
}

/// Draws into an RGB buffer of `W × height` and writes it as a PNG.
fn render(
    path: &Path,
    height: u32,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> DrawResult<()>,
) -> DrawResult<()> {
    register_font()?;
    let mut buf = vec![255u8; (W * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, height)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut enc = png::Encoder::new(file, W, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()?.write_image_data(&buf)?;
    Ok(())
}

/// One bar: name, value, the text written after the bar.
pub(crate) struct Bar {
    pub(crate) name: String,
    pub(crate) value: f64,
    pub(crate) text: String,
}

/// A horizontal bar chart, optionally with a vertical target line.
pub(crate) fn bars(
    path: &Path,
    title: &str,
    x_desc: &str,
    items: &[Bar],
    target: Option<(f64, &str)>,
) -> DrawResult<()> {
    let n = items.len().max(1);
    let height = 130 + 52 * n as u32;
    let max = items
        .iter()
        .map(|b| b.value)
        .chain(target.map(|t| t.0))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.3;
    render(path, height, |root| {
        // Integer ranges are inclusive in plotters: 0..n-1 makes n segments. The first item
        // goes on top.
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 26))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(320)
            .build_cartesian_2d(0f64..max, (0..n - 1).into_segmented())?;
        let row = |i: usize| n - 1 - i;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(r) if *r < n => items
                    .get(n - 1 - *r)
                    .map(|b| b.name.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_formatter(&|x| axis_number(*x))
            .x_desc(x_desc)
            .label_style((FONT, TEXT))
            .axis_desc_style((FONT, TEXT))
            .draw()?;
        for (i, b) in items.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let mut rect = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(row(i))),
                    (b.value, SegmentValue::Exact(row(i) + 1)),
                ],
                color.filled(),
            );
            rect.set_margin(9, 9, 0, 0);
            chart.draw_series(std::iter::once(rect))?;
            let style =
                TextStyle::from((FONT, TEXT).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
            chart.draw_series(std::iter::once(Text::new(
                format!("  {}", b.text),
                (b.value, SegmentValue::CenterOf(row(i))),
                style,
            )))?;
        }
        if let Some((x, label)) = target {
            chart
                .draw_series(LineSeries::new(
                    [(x, SegmentValue::Exact(0)), (x, SegmentValue::Exact(n))],
                    RED.stroke_width(2),
                ))?
                .label(label)
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .label_font((FONT, TEXT))
                .draw()?;
        }
        Ok(())
    })
}

/// An axis number without a needless ".0", with thousands separators.
pub(crate) fn axis_number(x: f64) -> String {
    if x.fract() != 0.0 && x.abs() < 100.0 {
        return format!("{x}");
    }
    let n = x.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Where a percentile sits on a "nines" axis: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3.
pub(crate) fn nines(percentile: f64) -> f64 {
    -(1.0 - percentile / 100.0).max(1e-9).log10()
}

fn nines_label(x: f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    let s = format!("{p:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("p{s}")
}

/// One latency curve: `(percentile, ms)` points.
pub(crate) struct Curve {
    pub(crate) name: String,
    pub(crate) points: Vec<(f64, f64)>,
}

/// Latency by percentile, one line per server, log-scale milliseconds.
pub(crate) fn latency_curves(path: &Path, title: &str, curves: &[Curve]) -> DrawResult<()> {
    let values = || curves.iter().flat_map(|c| c.points.iter().map(|p| p.1));
    let lo = values().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let hi = values().fold(0.0f64, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > 0.0 {
        (lo * 0.7, hi * 1.6)
    } else {
        (0.01, 1.0)
    };
    render(path, 560, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 26))
            .margin(16)
            .margin_right(48)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..4f64, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_labels(5)
            .x_label_formatter(&|x| nines_label(*x))
            .y_label_formatter(&|y| format!("{y}"))
            .x_desc("percentile")
            .y_desc("latency, ms (log scale)")
            .label_style((FONT, TEXT))
            .axis_desc_style((FONT, TEXT))
            .draw()?;
        for (i, c) in curves.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let pts: Vec<(f64, f64)> = c
                .points
                .iter()
                .map(|&(p, v)| (nines(p).min(4.0), v.max(lo)))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(3)))?
                .label(c.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(3))
                });
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font((FONT, TEXT))
            .draw()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_numbers() {
        assert_eq!(axis_number(10000.0), "10,000");
        assert_eq!(axis_number(0.0), "0");
        assert_eq!(axis_number(2.5), "2.5");
        assert_eq!(axis_number(1234567.0), "1,234,567");
    }

    #[test]
    fn nines_axis() {
        assert_eq!(nines(0.0), 0.0);
        assert!((nines(90.0) - 1.0).abs() < 1e-9);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
        assert_eq!(nines_label(0.0), "p0");
        assert_eq!(nines_label(2.0), "p99");
        assert_eq!(nines_label(3.0), "p99.9");
    }

    fn png_size(path: &Path) -> (u32, u32) {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        (info.width, info.height)
    }

    fn non_white_pixels(path: &Path) -> usize {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf[..info.buffer_size()]
            .chunks(3)
            .filter(|px| px.iter().any(|&c| c < 250))
            .count()
    }

    #[test]
    fn charts_render_as_pngs_with_text() {
        let dir = std::env::temp_dir().join(format!("sy-bench-charts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bars_png = dir.join("bars.png");
        let items = vec![
            Bar {
                name: "a".into(),
                value: 10.0,
                text: "10".into(),
            },
            Bar {
                name: "b".into(),
                value: 25.0,
                text: "25".into(),
            },
        ];
        bars(&bars_png, "Title", "x", &items, Some((12.0, "target"))).unwrap();
        assert_eq!(png_size(&bars_png), (W, 130 + 52 * 2));
        let empty_png = dir.join("empty.png");
        bars(&empty_png, "", "", &[], None).unwrap();
        assert!(
            non_white_pixels(&bars_png) > non_white_pixels(&empty_png) + 2000,
            "bars, labels and title are drawn"
        );
        let lat_png = dir.join("lat.png");
        let curve = Curve {
            name: "x".into(),
            points: vec![(0.0, 0.1), (50.0, 0.5), (99.0, 1.0), (99.99, 9.0)],
        };
        latency_curves(&lat_png, "Latency", &[curve]).unwrap();
        assert_eq!(png_size(&lat_png), (W, 560));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
