//! The Python peers' figures (`cargo xtask bench` runs `benches/peers/python_peers.py` first and
//! names its output in `PSM_BENCH_PYTHON_PEERS`), so a bench prints them beside its own.

/// One figure of the Python peers.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonFigure {
    /// Its name, such as `permission-storage-manager/redis/check_permission/64_tasks`.
    pub name: String,
    /// Operations per second.
    pub rate: f64,
    /// What was counted (`checks/s`, `stores/s`, ...).
    pub unit: String,
}

/// The figures of this run, or none when the benches run without `cargo xtask bench`.
pub fn python_figures() -> Vec<PythonFigure> {
    let Some(path) = std::env::var_os("PSM_BENCH_PYTHON_PEERS") else {
        return Vec::new();
    };
    std::fs::read_to_string(path)
        .map(|text| parse(&text))
        .unwrap_or_default()
}

fn parse(text: &str) -> Vec<PythonFigure> {
    text.lines()
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let name = cols.next()?.to_owned();
            let rate = cols.next()?.parse().ok()?;
            let unit = cols.next()?.to_owned();
            Some(PythonFigure { name, rate, unit })
        })
        .collect()
}

/// Prints `psm_row: psm RATE | Python NAME RATE | psm/Python RATIO` for the first Python figure
/// whose name contains `fragment` (nothing when there is none).
pub fn print_beside_python(psm_row: &str, psm_rate: f64, fragment: &str) {
    for figure in python_figures()
        .iter()
        .filter(|f| f.name.contains(fragment))
        .take(1)
    {
        println!(
            "{psm_row}: psm {psm_rate:>10.0}/s | Python {} {:>8.0} {} | psm/Python {:.1}x",
            figure.name,
            figure.rate,
            figure.unit,
            psm_rate / figure.rate
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tab_separated_figures_and_skips_bad_lines() {
        let figures = parse("a/b\t123.5\tchecks/s\nbroken line\nc\tx\tstores/s\n");
        assert_eq!(
            figures,
            vec![PythonFigure {
                name: "a/b".into(),
                rate: 123.5,
                unit: "checks/s".into()
            }]
        );
    }
}
