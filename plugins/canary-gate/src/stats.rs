//! Baseline versus canary, as Kayenta judges it: a Mann-Whitney U test (rank-based, so one
//! outlier does not decide and no distribution is assumed) plus an effect size, so a tiny but
//! "significant" difference can be tolerated.

use crate::template::{Compare, Direction};
use serde::Serialize;

/// Fewest samples per side before the test says anything.
pub const MIN_SAMPLES: usize = 5;

/// What the comparison found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Samples per side.
    pub samples: usize,
    /// The baseline's median.
    pub baseline_median: f64,
    /// The canary's median.
    pub canary_median: f64,
    /// `canary_median / baseline_median - 1` (0 when both are 0).
    pub relative_change: f64,
    /// Mann-Whitney U of the canary's sample.
    pub u: f64,
    /// The p-value of the test in the bad direction (two-sided for `either`).
    pub p_value: f64,
    /// Rank-biserial correlation in [-1, 1]: +1 when every canary sample is above every baseline one.
    pub effect_size: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// One line for people.
    pub message: String,
}

/// The comparison's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// No significant change in the bad direction beyond the tolerance.
    Pass,
    /// The canary is significantly worse beyond the tolerance.
    Fail,
    /// Too few samples to judge.
    Inconclusive,
}

/// Judge `canary` against `baseline` (finite values only; the caller drops the rest).
pub fn compare(baseline: &[f64], canary: &[f64], rule: &Compare) -> Comparison {
    let samples = baseline.len().min(canary.len());
    let (bm, cm) = (median(baseline), median(canary));
    let relative_change = relative(bm, cm);
    let mut result = Comparison {
        samples,
        baseline_median: bm,
        canary_median: cm,
        relative_change,
        u: f64::NAN,
        p_value: f64::NAN,
        effect_size: f64::NAN,
        verdict: Verdict::Inconclusive,
        message: String::new(),
    };
    if samples < MIN_SAMPLES {
        result.message =
            format!("{samples} sample(s) per variant; the comparison needs at least {MIN_SAMPLES} (raise `count`)");
        return result;
    }
    let (u, z) = mann_whitney(baseline, canary);
    let n = (baseline.len() * canary.len()) as f64;
    result.u = u;
    result.effect_size = 2.0 * u / n - 1.0;
    let upper = normal_tail(z);
    let lower = normal_tail(-z);
    result.p_value = match rule.direction {
        Direction::Increase => upper,
        Direction::Decrease => lower,
        Direction::Either => (2.0 * upper.min(lower)).min(1.0),
    };
    let alpha = 1.0 - rule.confidence;
    let worse = match rule.direction {
        Direction::Increase => relative_change > rule.tolerance,
        Direction::Decrease => -relative_change > rule.tolerance,
        Direction::Either => relative_change.abs() > rule.tolerance,
    };
    let significant = result.p_value < alpha;
    result.verdict = if significant && worse {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    let change = format!("{:+.1}%", relative_change * 100.0);
    result.message = match result.verdict {
        Verdict::Fail => format!(
            "canary median {} vs baseline {} ({change}): worse with p = {:.4} < {alpha:.2}, effect size {:.2}",
            fmt(cm),
            fmt(bm),
            result.p_value,
            result.effect_size
        ),
        _ if significant => format!(
            "canary median {} vs baseline {} ({change}): significant (p = {:.4}) but within the tolerance of {:.0}%",
            fmt(cm),
            fmt(bm),
            result.p_value,
            rule.tolerance * 100.0
        ),
        _ => format!(
            "canary median {} vs baseline {} ({change}): no significant change (p = {:.4}, effect size {:.2})",
            fmt(cm),
            fmt(bm),
            result.p_value,
            result.effect_size
        ),
    };
    result
}

fn fmt(x: f64) -> String {
    tollgate_expr::metric::format_number(x)
}

fn relative(baseline: f64, canary: f64) -> f64 {
    if baseline == canary {
        0.0
    } else if baseline == 0.0 {
        f64::INFINITY.copysign(canary)
    } else {
        canary / baseline - 1.0
    }
}

/// The median (NaN for an empty sample).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

/// U of `y` and the z-score of "y tends to be larger than x", with average ranks for ties, the
/// tie-corrected variance and a continuity correction.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> (f64, f64) {
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    let mut all: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, false))
        .chain(y.iter().map(|&v| (v, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let mut rank_y = 0.0;
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_y += all[i..=j].iter().filter(|(_, is_y)| *is_y).count() as f64 * rank;
        i = j + 1;
    }
    let u = rank_y - ny * (ny + 1.0) / 2.0;
    let total = nx + ny;
    let variance = nx * ny / 12.0 * ((total + 1.0) - ties / (total * (total - 1.0)));
    if variance <= 0.0 {
        return (u, 0.0);
    }
    let mean = nx * ny / 2.0;
    let diff = u - mean;
    let corrected = diff - 0.5 * diff.signum();
    (u, corrected / variance.sqrt())
}

/// P(Z ≥ z) for a standard normal Z.
pub fn normal_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(direction: Direction) -> Compare {
        Compare {
            baseline: "stable".into(),
            canary: "canary".into(),
            direction,
            confidence: 0.95,
            tolerance: 0.0,
        }
    }

    #[test]
    fn u_and_p_match_a_worked_example() {
        // scipy.stats.mannwhitneyu([1,2,3,4,5], [6,7,8,9,10], alternative="greater" for y):
        // U = 25, p = 0.0059 (normal approximation with continuity correction).
        let (u, z) = mann_whitney(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
        assert_eq!(u, 25.0);
        assert!((normal_tail(z) - 0.0059).abs() < 5e-4, "p = {}", normal_tail(z));
        // Ties: every value equal means no evidence either way.
        let (_, z) = mann_whitney(&[1.0; 6], &[1.0; 6]);
        assert_eq!(z, 0.0);
        assert!((normal_tail(1.96) - 0.025).abs() < 1e-4);
    }

    #[test]
    fn a_worse_canary_fails_and_a_similar_one_passes() {
        let baseline = [100.0, 102.0, 98.0, 101.0, 99.0, 100.0, 103.0, 97.0];
        let slow = [150.0, 148.0, 152.0, 149.0, 151.0, 150.0, 147.0, 153.0];
        let c = compare(&baseline, &slow, &rule(Direction::Increase));
        assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
        assert!(c.effect_size > 0.99 && c.relative_change > 0.45);
        assert_eq!(
            compare(&baseline, &slow, &rule(Direction::Decrease)).verdict,
            Verdict::Pass
        );
        assert_eq!(
            compare(&baseline, &baseline, &rule(Direction::Either)).verdict,
            Verdict::Pass
        );
        let tolerant = Compare {
            tolerance: 0.6,
            ..rule(Direction::Increase)
        };
        assert_eq!(compare(&baseline, &slow, &tolerant).verdict, Verdict::Pass);
        assert_eq!(
            compare(&baseline[..3], &slow[..3], &rule(Direction::Increase)).verdict,
            Verdict::Inconclusive
        );
    }
}
