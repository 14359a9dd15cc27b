//! The distribution of the two-sided one-sample Kolmogorov-Smirnov statistic
//! `D_n`, as scipy computes its survival function (`scipy.stats.kstwo.sf`,
//! `scipy/stats/_ksstats.py::_kolmogn`, Simard and L'Ecuyer's choice of
//! method by `n` and `x`). `ks_2samp` uses it for the p-value once a side has
//! more than 10,000 rows, with `n = round(n1 n2 / (n1 + n2))`.
//!
//! Each method follows scipy's step by step (same branches, same scaling), so
//! that p-values agree to rounding; the one-sided `smirnov` is summed in log
//! space instead of scipy's double-double arithmetic, which changes the last
//! bits only.

/// Powers of two scipy rescales by to stay within range.
const EP128: f64 = 3.402_823_669_209_385e38; // 2^128
const EM128: f64 = 1.0 / EP128;
const LOG_2PI: f64 = 1.837_877_066_409_345_3;
const SQRT_2PI: f64 = 2.506_628_274_631_000_2;
const SQRT3: f64 = 1.732_050_807_568_877_2;
/// `exp` of anything below this is 0 (`_MIN_LOG`).
const MIN_LOG: f64 = -708.0;
/// log(2^-1075): cephes' `MINLOG`, below which the one-sided tail underflows.
const CEPHES_MINLOG: f64 = -745.133_219_101_941_2;
/// Beyond this `n`, cephes approximates the one-sided tail.
const SMIRNOV_MAX_COMPUTE_N: u64 = 1_000_000;

/// `P(D_n > x)`, scipy's `kstwo.sf(x, n)`.
pub fn kstwo_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        // Ruben-Gambino: 1/2n <= x <= 1/n.
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = if n <= 140 {
            (1..=n).fold(1.0, |p, i| p * (i as f64 * (1.0 / nf) * (2.0 * t - 1.0)))
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - cdf);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            return clip(1.0 - durbin_matrix_cdf(n, x));
        }
        if nxsquared <= 4.0 {
            return clip(1.0 - pomeranz_cdf(n, x));
        }
        return clip(2.0 * smirnov_sf(n, x));
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let cdf = if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_matrix_cdf(n, x)
    } else {
        pelz_good_cdf(nf, x)
    };
    clip(1.0 - cdf)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// log(n! / n^n) by Stirling's series.
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    const STIRLING: [f64; 8] = [
        -2.955_065_359_477_124e-2,
        6.410_256_410_256_41e-3,
        -1.917_526_917_526_917_5e-3,
        8.417_508_417_508_418e-4,
        -5.952_380_952_380_952e-4,
        7.936_507_936_507_937e-4,
        -2.777_777_777_777_778e-3,
        8.333_333_333_333_333e-2,
    ];
    let rn = 1.0 / n;
    let x = rn / n;
    let poly = STIRLING.iter().fold(0.0, |acc, c| acc * x + c);
    n.ln() / 2.0 - n + LOG_2PI / 2.0 + rn * poly
}

/// `P(D_n <= d)` by Durbin's matrix as Marsaglia, Tsang and Wang compute it
/// (`_kolmogn_DMTW`): the k-th diagonal entry of `H^n`, rescaled as it grows.
fn durbin_matrix_cdf(n: u64, d: f64) -> f64 {
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    let mut big = Matrix::zeros(m);
    for i in 1..m {
        for row in (i - 1)..m {
            big.set(row, i, w[row - (i - 1)]);
        }
    }
    for (row, value) in v.iter().enumerate() {
        big.set(row, 0, *value);
    }
    for col in 0..m {
        big.set(m - 1, col, v[m - 1 - col]);
    }
    let mut power = Matrix::identity(m);
    let (mut nn, mut exponent, mut big_exponent) = (n, 0i32, 0i32);
    while nn > 0 {
        if nn % 2 == 1 {
            power = power.mul(&big);
            exponent += big_exponent;
        }
        big = big.mul(&big);
        big_exponent *= 2;
        if big.get(k - 1, k - 1).abs() > EP128 {
            big.scale(1.0 / EP128);
            big_exponent += 128;
        }
        nn /= 2;
    }
    let mut p = power.get(k - 1, k - 1);
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < EM128 {
            p *= EP128;
            exponent -= 128;
        }
    }
    clip(ldexp(p, exponent))
}

/// A square matrix, row-major.
struct Matrix {
    size: usize,
    cells: Vec<f64>,
}

impl Matrix {
    fn zeros(size: usize) -> Self {
        Self {
            size,
            cells: vec![0.0; size * size],
        }
    }

    fn identity(size: usize) -> Self {
        let mut m = Self::zeros(size);
        for i in 0..size {
            m.set(i, i, 1.0);
        }
        m
    }

    fn get(&self, row: usize, col: usize) -> f64 {
        self.cells[row * self.size + col]
    }

    fn set(&mut self, row: usize, col: usize, value: f64) {
        self.cells[row * self.size + col] = value;
    }

    fn scale(&mut self, by: f64) {
        self.cells.iter_mut().for_each(|c| *c *= by);
    }

    fn mul(&self, other: &Matrix) -> Matrix {
        let s = self.size;
        let mut out = Matrix::zeros(s);
        for i in 0..s {
            for k in 0..s {
                let a = self.cells[i * s + k];
                if a == 0.0 {
                    continue;
                }
                let row = &other.cells[k * s..(k + 1) * s];
                for (o, b) in out.cells[i * s..(i + 1) * s].iter_mut().zip(row) {
                    *o += a * b;
                }
            }
        }
        out
    }
}

/// `x * 2^exponent`.
fn ldexp(x: f64, exponent: i32) -> f64 {
    if exponent == 0 {
        return x;
    }
    // In steps, so that neither factor overflows on its own.
    let mut out = x;
    let mut e = exponent;
    while e != 0 {
        let step = e.clamp(-1000, 1000);
        out *= 2f64.powi(step);
        e -= step;
    }
    out
}

/// The window of row `i` in Pomeranz's recursion
/// (`_pomeranz_compute_j1j2`).
fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (half, odd_i) = ((i + 1) / 2, (i + 1) % 2 == 0);
        if odd_i {
            if half == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1)
            }
        } else {
            (half - 1 - ll - 1, half + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `P(D_n <= x)` by Pomeranz's recursion (`_kolmogn_Pomeranz`), for n <= 140.
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let (n, nf) = (n as i64, n as f64);
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![1.0; npwrs];
    let mut twogpower = vec![1.0; npwrs];
    let mut onem2gpower = vec![1.0; npwrs];
    let (g_n, two_g_n, one_minus_two_g_n) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * g_n / m as f64;
        twogpower[m] = twogpower[m - 1] * two_g_n / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_n / m as f64;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let mut exponent = 0i32;
    let (mut j1, _) = pomeranz_j1j2(0, n, ll, ceilf, roundf);
    for i in 1..(2 * n + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.fill(0.0);
        let (new_j1, j2) = pomeranz_j1j2(i, n, ll, ceilf, roundf);
        j1 = new_j1;
        let powers = if i == 1 || i == 2 * n + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let start = (k1 - v0s).max(0) as usize;
            let a = &v0[start.min(npwrs)..(start + ln2 as usize).min(npwrs)];
            let b = &powers[..(ln2 as usize).min(npwrs)];
            let conv = convolve(a, b);
            let conv_start = (j1 - k1).max(0) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            let from = conv_start.min(conv.len());
            let to = (conv_start + conv_len).min(conv.len());
            let len = (to - from).min(npwrs);
            v1[..len].copy_from_slice(&conv[from..from + len]);
            let most = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < most && most < EM128 {
                v1.iter_mut().for_each(|v| *v *= EP128);
                exponent -= 128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut answer = usize::try_from(n - v1s)
        .ok()
        .and_then(|i| v1.get(i).copied())
        .unwrap_or(0.0);
    for m in 1..=n {
        if answer.abs() > EP128 {
            answer *= EM128;
            exponent += 128;
        }
        answer *= m as f64;
    }
    clip(ldexp(answer, exponent))
}

/// numpy's full `convolve`.
fn convolve(a: &[f64], b: &[f64]) -> Vec<f64> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// The Pelz-Good approximation of `P(D_n <= x)` (`_kolmogn_PelzGood`).
fn pelz_good_cdf(n: f64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let z = n.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -PI * PI / 8.0 / z2;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf((8 * kk) as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (acc, c) in k.iter_mut().zip(coeffs) {
            *acc = *acc * qpower + c;
        }
    }
    let divisors = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (acc, d) in k.iter_mut().zip(divisors) {
        *acc = *acc * q * SQRT_2PI / d;
    }
    let q = (-pi2 / 2.0 / z2).exp();
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for kk in (1..=maxk).rev() {
        let kf = kk as f64;
        let ks2 = kf * kf;
        let qp = q.powf(ks2);
        k2extra += ks2 * qp;
        let (s3z, kspi) = (SQRT3 * z, PI * kf);
        k3extra += (s3z + kspi) * (s3z - kspi) * ks2 * qp;
    }
    k[2] += k2extra * pi2 * SQRT_2PI / (-36.0 * z3);
    k[3] += k3extra * pi2 * SQRT_2PI / (216.0 * z6);
    k.iter()
        .enumerate()
        .map(|(i, v)| v / n.powf(i as f64 / 2.0))
        .sum()
}

/// `P(D+_n > x)`, the one-sided statistic's tail (cephes' `smirnov`), by
/// Birnbaum and Tingey's sum, whose terms are all positive.
fn smirnov_sf(n: u64, x: f64) -> f64 {
    if !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if n == 1 {
        return x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let nx = nf * x;
    let mut floor = nx.floor();
    let mut alpha = nx - floor;
    if alpha >= 1.0 {
        floor += 1.0;
        alpha = 0.0;
    }
    let nxfl = floor as u64;
    if nxfl == 0 || (nxfl == 1 && alpha == 0.0) {
        return clip(1.0 - x * (1.0 + x).powf(nf - 1.0));
    }
    if -2.0 * nf * x * x < CEPHES_MINLOG {
        return 0.0;
    }
    if nxfl >= n - 1 {
        return clip((1.0 - x).powf(nf));
    }
    if n > SMIRNOV_MAX_COMPUTE_N {
        let logp = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        return clip(logp.exp());
    }
    // Terms v = 0 ..= floor(n (1 - x)); when n x is whole the last is 0.
    let last = n - nxfl - u64::from(alpha != 0.0);
    let mut log_binomial = 0.0f64;
    let mut terms = Vec::with_capacity(last as usize + 1);
    for v in 0..=last {
        if v > 0 {
            log_binomial += ((n - v + 1) as f64).ln() - (v as f64).ln();
        }
        let vf = v as f64;
        let low = (n - v) as f64 / nf - x;
        if low <= 0.0 {
            continue;
        }
        let log_term =
            log_binomial + (vf - 1.0) * (vf / nf + x).ln() + (nf - vf) * low.ln() + x.ln();
        terms.push(log_term);
    }
    let most = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !most.is_finite() {
        return 0.0;
    }
    let sum: f64 = terms.iter().map(|t| (t - most).exp()).sum();
    clip(most.exp() * sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldexp_scales_by_powers_of_two() {
        assert_eq!(ldexp(1.5, 3), 12.0);
        assert_eq!(ldexp(1.0, -1074), f64::from_bits(1));
        assert_eq!(ldexp(3.0, 0), 3.0);
    }

    #[test]
    fn edges_of_the_distribution() {
        assert_eq!(kstwo_sf(10, 0.0), 1.0);
        assert_eq!(kstwo_sf(10, 1.0), 0.0);
        assert_eq!(kstwo_sf(10, 0.04), 1.0, "x <= 1/2n");
        // n x >= n - 1: 2 (1 - x)^n.
        assert!((kstwo_sf(10, 0.95) - 2.0 * 0.05f64.powi(10)).abs() < 1e-20);
        assert!(kstwo_sf(0, 0.5).is_nan());
    }
}
