//! The great-circle distance every part of routeflow uses, in the form the sequencer's distance
//! matrix needs: points prepared once, then a few multiplications per pair.

use super::EARTH_RADIUS_KM;

/// Great-circle distance in km (haversine, R = 6371 km).
///
/// This is the formula used everywhere in routeflow: a = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2),
/// d = 2 R asin(√a), with φ and λ in radians, evaluated as [`GeoPoint::km_to`] does.
#[must_use]
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    GeoPoint::new(lat1, lon1).km_to(&GeoPoint::new(lat2, lon2))
}

/// A point prepared for many haversine distances: the sine and cosine of its half latitude and half
/// longitude, and the cosine of its latitude.
///
/// Why: a distance matrix of a 60-stop route is 1,800 pairs, and the textbook formula spends two
/// sines per pair on the half differences. Expanded as sin((x₂ - x₁)/2) = sin(x₂/2) cos(x₁/2) -
/// cos(x₂/2) sin(x₁/2), a pair costs a few multiplications, a square root and (for the short arcs of
/// real routes) a short series instead of `asin`. The result agrees with the textbook formula to
/// 1e-12 relative or 1e-10 km (the expanded differences cancel on points metres apart), and is
/// symmetric bit for bit: swapping the points swaps the two products,
/// which only negates the difference before it is squared.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeoPoint {
    sin_half_phi: f64,
    cos_half_phi: f64,
    sin_half_lam: f64,
    cos_half_lam: f64,
    cos_phi: f64,
}

impl GeoPoint {
    /// Prepares (lat, lon) in degrees.
    #[must_use]
    pub fn new(lat: f64, lon: f64) -> Self {
        let (phi, lam) = (lat.to_radians(), lon.to_radians());
        let (sin_half_phi, cos_half_phi) = (phi / 2.0).sin_cos();
        let (sin_half_lam, cos_half_lam) = (lam / 2.0).sin_cos();
        Self {
            sin_half_phi,
            cos_half_phi,
            sin_half_lam,
            cos_half_lam,
            cos_phi: phi.cos(),
        }
    }

    /// Haversine distance in km to `other`.
    #[inline]
    #[must_use]
    pub fn km_to(&self, other: &GeoPoint) -> f64 {
        let s_phi = other.sin_half_phi * self.cos_half_phi - other.cos_half_phi * self.sin_half_phi;
        let s_lam = other.sin_half_lam * self.cos_half_lam - other.cos_half_lam * self.sin_half_lam;
        let a = s_phi * s_phi + (self.cos_phi * other.cos_phi) * (s_lam * s_lam);
        2.0 * EARTH_RADIUS_KM * asin_sqrt(a)
    }
}

/// asin(√a) for a haversine `a` in [0, 1] (a hair above 1 is clamped: rounding near antipodes).
///
/// Below √a = 0.05 (arcs under about 640 km, every real stop-to-stop leg) the Maclaurin series to
/// x¹¹ is used: the first term left out is under 5e-18 of the result, below f64 rounding, and it
/// costs a fraction of a libm `asin`.
#[inline]
pub(super) fn asin_sqrt(a: f64) -> f64 {
    let x = a.min(1.0).sqrt();
    if x >= 0.05 {
        return x.asin();
    }
    let x2 = x * x;
    const C3: f64 = 1.0 / 6.0;
    const C5: f64 = 3.0 / 40.0;
    const C7: f64 = 5.0 / 112.0;
    const C9: f64 = 35.0 / 1152.0;
    const C11: f64 = 63.0 / 2816.0;
    x + x * x2 * (C3 + x2 * (C5 + x2 * (C7 + x2 * (C9 + x2 * C11))))
}
