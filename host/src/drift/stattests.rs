//! Evidently's drift statistics (evidently 0.7,
//! `legacy/calculations/stattests/`), computed from exact per-value counts.
//! Each follows Evidently's code step by step, scipy's functions included,
//! so that values agree to rounding (tested against scipy).

use super::counts::{Counts, joint};
use super::kolmogorov::kstwo_sf;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// A column's type as Evidently infers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Floats, and integers with more than 10 distinct values.
    Numerical,
    /// Integers with at most 10 distinct values.
    Categorical,
}

/// The two-sample Kolmogorov-Smirnov test as scipy's `ks_2samp` (two-sided,
/// method `auto`) computes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ks {
    /// The largest distance between the two empirical distributions.
    pub statistic: f64,
    /// The p-value: exact when neither side has more than 10,000 rows,
    /// from the `kstwo` distribution beyond (as scipy's `auto` method).
    pub p_value: f64,
}

/// Sides up to this many rows get scipy's exact p-value (`MAX_AUTO_N`).
const KS_EXACT_MAX: u64 = 10_000;

/// `ks_2samp(reference, current)` from counts (`ks_stattest.py`).
pub fn ks(reference: &Counts, current: &Counts) -> Ks {
    let (n1, n2) = (reference.n(), current.n());
    let (mut c1, mut c2) = (0u64, 0u64);
    let (mut most, mut least) = (f64::NEG_INFINITY, f64::INFINITY);
    // The empirical distributions differ most at one of the values.
    for (_, r, c) in joint(reference, current) {
        c1 += r;
        c2 += c;
        let difference = c1 as f64 / n1 as f64 - c2 as f64 / n2 as f64;
        most = most.max(difference);
        least = least.min(difference);
    }
    let below = (-least).clamp(0.0, 1.0);
    let statistic = if below > most { below } else { most };
    if n1.max(n2) <= KS_EXACT_MAX {
        let g = gcd(n1, n2);
        let lcm = (n1 / g) * n2;
        let h = (statistic * lcm as f64).round_ties_even() as u64;
        // scipy rounds the statistic to the lattice, asymptotic fallback included.
        let statistic = h as f64 / lcm as f64;
        let p = if h == 0 {
            1.0
        } else if n1 == n2 {
            prob_outside_square(n1, h)
        } else {
            prob_outside_lines(n1, n2, g, h)
        };
        if (0.0..=1.0).contains(&p) {
            return Ks {
                statistic,
                p_value: p,
            };
        }
        return asymptotic(n1, n2, statistic);
    }
    asymptotic(n1, n2, statistic)
}

/// scipy's `asymp` method: the `kstwo` distribution at the nearest whole
/// effective size.
fn asymptotic(n1: u64, n2: u64, statistic: f64) -> Ks {
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = (m * n / (m + n)).round_ties_even() as u64;
    Ks {
        statistic,
        p_value: kstwo_sf(en, statistic),
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `_compute_prob_outside_square(n, h)`: the share of lattice paths
/// from (0, 0) to (n, n) that leave the band |x - y| < h, by Horner's scheme
/// over the alternating sum of binomial ratios.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let (nf, hf) = (n as f64, h as f64);
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    while k >= 0 {
        let kh = k as f64 * hf;
        let mut term = 1.0;
        for j in 0..h {
            let j = j as f64;
            term = (nf - kh - j) * term / (nf + kh + j + 1.0);
        }
        p = term * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// scipy's `_compute_outer_prob_inside_method(m, n, g, h)`: the share of
/// lattice paths from (0, 0) to (m, n) that leave the band
/// |x/m - y/n| < h/lcm(m, n), one column at a time over a sliding window.
fn prob_outside_lines(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let (mg, ng) = (m / g, n / g);
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len];
    for slot in a.iter_mut().take(maxj as usize) {
        *slot = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((((ng * i - h) as f64) / mg as f64).floor() as i64 + 1).max(0);
        minj = minj.min(n);
        maxj = ((((ng * i + h) as f64) / mg as f64).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            val = (a[(jj + minj - lastminj) as usize] * i as f64 + val * j as f64) / (i + j) as f64;
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let from = (maxj - minj) as usize;
            let to = (from + (lastlen - curlen) as usize).min(a.len());
            for slot in &mut a[from.min(to)..to] {
                *slot = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

/// Two-proportion Z-test p-value (`z_stattest.py`): the smallest value of
/// both sides against the others.
pub fn z(reference: &Counts, current: &Counts) -> f64 {
    if reference.distinct() == 1
        && current.distinct() == 1
        && reference.range().map(|r| r.0) == current.range().map(|r| r.0)
    {
        return 1.0;
    }
    let first = joint(reference, current).next().map_or(0.0, |(v, _, _)| v);
    let (n1, n2) = (reference.n() as f64, current.n() as f64);
    // Shares of values other than the first (mapped to 1).
    let p1 = (reference.n() - reference.count(first)) as f64 / n1;
    let p2 = (current.n() - current.count(first)) as f64 / n2;
    let p = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let normal = Normal::new(0.0, 1.0).expect("standard normal");
    2.0 * (1.0 - normal.cdf(z.abs()))
}

/// Chi-square goodness-of-fit p-value (`chisquare_stattest.py`): current
/// counts against reference counts scaled to the current size, over the values
/// of both sides (a value the reference never had gives p = 0).
pub fn chisquare(reference: &Counts, current: &Counts) -> f64 {
    let k_norm = current.n() as f64 / reference.n() as f64;
    let mut statistic = 0.0;
    let mut values = 0usize;
    for (_, r, c) in joint(reference, current) {
        let expected = r as f64 * k_norm;
        let observed = c as f64;
        statistic += (observed - expected) * (observed - expected) / expected;
        values += 1;
    }
    let df = values as f64 - 1.0;
    if statistic.is_infinite() {
        return 0.0;
    }
    ChiSquared::new(df)
        .map(|d| d.sf(statistic))
        .unwrap_or(f64::NAN)
}

/// First Wasserstein distance divided by the reference's standard deviation
/// (at least 0.001) (`wasserstein_distance_norm.py`).
pub fn wasserstein(reference: &Counts, current: &Counts) -> f64 {
    let (n1, n2) = (reference.n() as f64, current.n() as f64);
    let (mut c1, mut c2) = (0u64, 0u64);
    let mut distance = 0.0;
    let mut previous: Option<f64> = None;
    // The distance between the two CDFs, step by step between values.
    for (value, r, c) in joint(reference, current) {
        if let Some(p) = previous {
            distance += (c1 as f64 / n1 - c2 as f64 / n2).abs() * (value - p);
        }
        c1 += r;
        c2 += c;
        previous = Some(value);
    }
    distance / reference.std().max(0.001)
}

/// Jensen-Shannon distance of the binned shares (`jensenshannon.py`:
/// `scipy.spatial.distance.jensenshannon` with its default natural logarithm).
pub fn jensenshannon(reference: &Counts, current: &Counts, kind: Kind) -> f64 {
    let (p, q) = binned(reference, current, kind, false);
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    let mut total = 0.0;
    for (a, b) in p.iter().zip(&q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        total += rel_entr(a, m) + rel_entr(b, m);
    }
    (total / 2.0).sqrt()
}

/// Population stability index of the binned shares, zeros filled (`psi.py`).
pub fn psi(reference: &Counts, current: &Counts, kind: Kind) -> f64 {
    let (p, q) = binned(reference, current, kind, true);
    p.iter().zip(&q).map(|(a, b)| (a - b) * (a / b).ln()).sum()
}

/// `x log(x / y)` as scipy's `rel_entr`: 0 when x is 0.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else if y > 0.0 {
        x * (x / y).ln()
    } else {
        f64::INFINITY
    }
}

/// `get_binned_data` (`utils.py`): shares of each side per bin. Numerical
/// columns with more than 20 distinct reference values are cut into the
/// Sturges bins of both sides together; others are shared per value. With
/// `fill_zeroes`, empty bins get a small share (as Evidently does for PSI).
fn binned(
    reference: &Counts,
    current: &Counts,
    kind: Kind,
    fill_zeroes: bool,
) -> (Vec<f64>, Vec<f64>) {
    let (n1, n2) = (reference.n() as f64, current.n() as f64);
    let (mut p, mut q): (Vec<f64>, Vec<f64>) =
        if kind == Kind::Numerical && reference.distinct() > 20 {
            let edges = sturges_edges(reference, current);
            (
                histogram(reference, &edges)
                    .iter()
                    .map(|c| *c as f64 / n1)
                    .collect(),
                histogram(current, &edges)
                    .iter()
                    .map(|c| *c as f64 / n2)
                    .collect(),
            )
        } else {
            joint(reference, current)
                .map(|(_, r, c)| (r as f64 / n1, c as f64 / n2))
                .unzip()
        };
    if fill_zeroes {
        fill(&mut p);
        fill(&mut q);
    }
    (p, q)
}

fn fill(shares: &mut [f64]) {
    let smallest = shares
        .iter()
        .copied()
        .filter(|s| *s != 0.0)
        .fold(f64::INFINITY, f64::min);
    let replacement = if smallest <= 0.0001 {
        smallest / 1e6
    } else {
        0.0001
    };
    for s in shares.iter_mut().filter(|s| **s == 0.0) {
        *s = replacement;
    }
}

/// `np.histogram_bin_edges(both sides, bins="sturges")`: bins of width
/// `ptp / (log2(n) + 1)` over the range of all values, as numpy computes
/// them (`linspace` of the count of bins).
fn sturges_edges(reference: &Counts, current: &Counts) -> Vec<f64> {
    let n = (reference.n() + current.n()) as f64;
    let (r, c) = (
        reference.range().expect("values"),
        current.range().expect("values"),
    );
    let (mut first, mut last) = (r.0.min(c.0), r.1.max(c.1));
    let ptp = last - first;
    let width = ptp / (n.log2() + 1.0);
    let bins = if width > 0.0 {
        (ptp / width).ceil() as usize
    } else {
        1
    };
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    // np.linspace(first, last, bins + 1): start + i * step, the end exact.
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + first).collect();
    edges[bins] = last;
    edges
}

/// `np.histogram` counts: bin i holds `edges[i] <= x < edges[i + 1]`, the last
/// bin its right edge too.
fn histogram(counts: &Counts, edges: &[f64]) -> Vec<u64> {
    let bins = edges.len() - 1;
    let mut out = vec![0u64; bins];
    for (v, n) in counts.iter() {
        if v < edges[0] || v > edges[bins] {
            continue;
        }
        let i = edges
            .partition_point(|e| *e <= v)
            .saturating_sub(1)
            .min(bins - 1);
        out[i] += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(values: &[f64]) -> Counts {
        Counts::of(values.iter().map(|v| Some(*v)))
    }

    #[test]
    fn edges_and_histograms_follow_numpy() {
        // np.histogram_bin_edges([1,2,2,3,4,10], "sturges") -> 4 bins of 2.25.
        let a = counts(&[1.0, 2.0, 2.0, 3.0]);
        let b = counts(&[4.0, 10.0]);
        let edges = sturges_edges(&a, &b);
        assert_eq!(edges, [1.0, 3.25, 5.5, 7.75, 10.0]);
        assert_eq!(histogram(&a, &edges), [4, 0, 0, 0]);
        assert_eq!(histogram(&b, &edges), [0, 1, 0, 1], "the last edge is in");
        let same = counts(&[5.0, 5.0]);
        assert_eq!(sturges_edges(&same, &same), [4.5, 5.5]);
    }

    #[test]
    fn constant_equal_sides_do_not_drift() {
        let a = counts(&[1.0; 10]);
        assert_eq!(z(&a, &a), 1.0);
        assert_eq!(wasserstein(&a, &a), 0.0);
        assert_eq!(jensenshannon(&a, &a, Kind::Categorical), 0.0);
    }

    #[test]
    fn a_value_missing_from_the_reference_makes_chisquare_zero() {
        let a = counts(&[1.0, 2.0, 3.0, 1.0]);
        let b = counts(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(chisquare(&a, &b), 0.0);
    }
}
