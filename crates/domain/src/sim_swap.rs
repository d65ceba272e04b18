//! SIM Swap v2 (CAMARA SimSwap r3.3, `sim-swap.yaml` 2.1.0) as decisions on
//! a subscriber's SIM history: when did the number last get a new SIM, and
//! did it within the last `maxAge` hours. The operator may disclose history
//! only within its monitored period (local regulation); outside it the date
//! is `null` and the period is given instead.
//!
//! A new subscription counts as a SIM change (the file: "New subscription
//! is considered as a SIM swap as well"), so the latest change is the
//! activation of the current SIM whether or not an earlier one existed: the
//! activation date when the number never changed SIM, as the file asks.

use crate::UnixTime;
use crate::subscriber::SimRecord;

/// `maxAge` bounds of `CreateCheckSimSwap` (hours) and its default.
pub const MAX_AGE_MIN: i64 = 1;
pub const MAX_AGE_MAX: i64 = 2400;
pub const MAX_AGE_DEFAULT: i64 = 240;

/// What the operator discloses about a number's SIMs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimHistory {
    /// SIMs in order of activation; the last is the current one.
    pub sims: Vec<SimRecord>,
    /// How many days back the operator may disclose SIM changes; `None`
    /// when it monitors without limit.
    pub monitored_days: Option<u32>,
}

/// The answer of `retrieve-date` (`SimSwapInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatestSimChange {
    /// When the current SIM was activated; `None` when there is no SIM or
    /// the date lies outside the monitored period.
    pub at: Option<UnixTime>,
    /// The monitored period in days, given when `at` is `None` for that reason.
    pub monitored_period: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxAgeError {
    /// Below 1 hour: not a period (400 `INVALID_ARGUMENT`).
    Invalid,
    /// Above the API's 2400 hours (400 `OUT_OF_RANGE`).
    AboveLimit,
    /// Within the API's range, beyond what the operator may disclose (400
    /// `OUT_OF_RANGE`, naming the period).
    BeyondMonitoredPeriod { days: u32 },
}

impl SimHistory {
    fn latest(&self) -> Option<UnixTime> {
        self.sims.iter().map(|s| s.activated_at).max()
    }

    fn monitored_secs(&self) -> Option<i64> {
        self.monitored_days.map(|d| i64::from(d) * 86_400)
    }

    pub fn latest_sim_change(&self, now: UnixTime) -> LatestSimChange {
        let at = self.latest();
        match (at, self.monitored_secs()) {
            (Some(t), Some(window)) if now.saturating_sub(t) > window => {
                LatestSimChange { at: None, monitored_period: self.monitored_days }
            }
            (None, _) => LatestSimChange { at: None, monitored_period: self.monitored_days },
            (at, _) => LatestSimChange { at, monitored_period: None },
        }
    }

    /// Whether the SIM changed in the last `hours` (already checked by
    /// [`max_age`]); `OUT_OF_RANGE` beyond the monitored period.
    pub fn swapped_within(&self, hours: i64, now: UnixTime) -> Result<bool, MaxAgeError> {
        if let Some(days) = self.monitored_days
            && hours > i64::from(days) * 24
        {
            return Err(MaxAgeError::BeyondMonitoredPeriod { days });
        }
        Ok(self.latest().is_some_and(|t| t > now - hours * 3600 && t <= now))
    }
}

/// `maxAge` as the API defines it: 1 to 2400 hours, 240 when absent.
pub fn max_age(hours: Option<i64>) -> Result<i64, MaxAgeError> {
    match hours.unwrap_or(MAX_AGE_DEFAULT) {
        h if h < MAX_AGE_MIN => Err(MaxAgeError::Invalid),
        h if h > MAX_AGE_MAX => Err(MaxAgeError::AboveLimit),
        h => Ok(h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_800_000_000;
    const H: i64 = 3600;

    fn history(hours_ago: &[i64], monitored_days: Option<u32>) -> SimHistory {
        SimHistory {
            sims: hours_ago
                .iter()
                .map(|h| SimRecord { sim_id: format!("sim{h}"), activated_at: NOW - h * H })
                .collect(),
            monitored_days,
        }
    }

    #[test]
    fn check_uses_max_age_and_its_default() {
        let h = history(&[9000, 100], None);
        assert_eq!(h.swapped_within(max_age(None).unwrap(), NOW), Ok(true));
        assert_eq!(h.swapped_within(101, NOW), Ok(true));
        assert_eq!(h.swapped_within(99, NOW), Ok(false));
        let old = history(&[9000, 300], None);
        assert_eq!(old.swapped_within(max_age(None).unwrap(), NOW), Ok(false), "default 240 h");
        assert_eq!(old.swapped_within(2400, NOW), Ok(true));
        // A new subscription is a SIM change too.
        assert_eq!(history(&[5], None).swapped_within(6, NOW), Ok(true));
        assert_eq!(history(&[], None).swapped_within(2400, NOW), Ok(false));
    }

    #[test]
    fn max_age_bounds() {
        assert_eq!(max_age(None), Ok(240));
        assert_eq!(max_age(Some(0)), Err(MaxAgeError::Invalid));
        assert_eq!(max_age(Some(-5)), Err(MaxAgeError::Invalid));
        assert_eq!(max_age(Some(100_000)), Err(MaxAgeError::AboveLimit));
        assert_eq!(max_age(Some(2400)), Ok(2400));
        let h = history(&[10], Some(90));
        assert_eq!(h.swapped_within(2160, NOW), Ok(true));
        assert_eq!(h.swapped_within(2161, NOW), Err(MaxAgeError::BeyondMonitoredPeriod { days: 90 }));
        assert_eq!(history(&[10], None).swapped_within(2400, NOW), Ok(true));
    }

    #[test]
    fn latest_change_within_and_outside_the_monitored_period() {
        let swapped = history(&[9000, 48], Some(90));
        assert_eq!(
            swapped.latest_sim_change(NOW),
            LatestSimChange { at: Some(NOW - 48 * H), monitored_period: None }
        );
        // Never swapped, unlimited monitoring: the activation date.
        let never = history(&[9000], None);
        assert_eq!(never.latest_sim_change(NOW).at, Some(NOW - 9000 * H));
        // Outside the monitored period: null and the period.
        let limited = history(&[9000], Some(90));
        assert_eq!(limited.latest_sim_change(NOW), LatestSimChange { at: None, monitored_period: Some(90) });
        // No SIM ever.
        assert_eq!(
            history(&[], None).latest_sim_change(NOW),
            LatestSimChange { at: None, monitored_period: None }
        );
    }
}
