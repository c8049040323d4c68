//! The reconnection back-off of OCPP-J (OCPP 2.0.1 and 2.1 Part 4 §5.4, the configuration
//! variables of the OCPPCommCtrlr).

use std::time::Duration;

/// How long a charging station waits before each attempt to reconnect, as OCPP-J Part 4 §5.4
/// states it: the first attempt after `RetryBackOffWaitMinimum` plus a random part of at most
/// `RetryBackOffRandomRange`; after every failed attempt the wait doubles, at most
/// `RetryBackOffRepeatTimes` times, a new random part added each time; then it stays at the
/// last wait.
///
/// The random part is an input (a number in `[0, 1)`), so the rule is the same on a virtual
/// clock and in a test:
///
/// ```
/// use std::time::Duration;
/// use ocpp_connection::engine::Backoff;
///
/// let backoff = Backoff::new(Duration::from_secs(3), Duration::from_secs(10), 2);
/// assert_eq!(backoff.delay(0, 0.0), Duration::from_secs(3));
/// assert_eq!(backoff.delay(1, 0.0), Duration::from_secs(6));
/// assert_eq!(backoff.delay(2, 0.5), Duration::from_secs(12 + 5));
/// assert_eq!(backoff.delay(9, 0.0), Duration::from_secs(12)); // no more doubling
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// `RetryBackOffWaitMinimum`: the wait before the first attempt, without the random part.
    pub wait_minimum: Duration,
    /// `RetryBackOffRandomRange`: the largest random part added to each wait.
    pub random_range: Duration,
    /// `RetryBackOffRepeatTimes`: how many times the wait doubles.
    pub repeat_times: u32,
}

impl Default for Backoff {
    /// 3 s, a random part of up to 10 s, doubling 5 times (at most 96 s plus the random part).
    /// The specification leaves the values to the station's configuration.
    fn default() -> Self {
        Backoff::new(Duration::from_secs(3), Duration::from_secs(10), 5)
    }
}

impl Backoff {
    /// The back-off with these configuration values.
    pub const fn new(wait_minimum: Duration, random_range: Duration, repeat_times: u32) -> Self {
        Backoff {
            wait_minimum,
            random_range,
            repeat_times,
        }
    }

    /// The wait before attempt number `failed + 1`, after `failed` failed attempts (0 for the
    /// first reconnection), with `random` in `[0, 1)` choosing the random part (clamped into
    /// that range; a NaN counts as 0).
    pub fn delay(&self, failed: u32, random: f64) -> Duration {
        let doublings = failed.min(self.repeat_times).min(31);
        let base = self
            .wait_minimum
            .checked_mul(1 << doublings)
            .unwrap_or(Duration::MAX);
        let random = if random.is_nan() {
            0.0
        } else {
            random.clamp(0.0, 1.0)
        };
        let part = Duration::try_from_secs_f64(self.random_range.as_secs_f64() * random)
            .unwrap_or(Duration::MAX);
        base.saturating_add(part)
    }

    /// The longest wait this back-off can give: what a test of reconnection waits at most.
    pub fn max_delay(&self) -> Duration {
        self.delay(self.repeat_times, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_repeat_times_then_stays() {
        let b = Backoff::new(Duration::from_secs(1), Duration::ZERO, 3);
        let waits: Vec<u64> = (0..6).map(|n| b.delay(n, 0.7).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 8, 8]);
        assert_eq!(b.max_delay(), Duration::from_secs(8));
    }

    #[test]
    fn adds_a_random_part_within_the_range() {
        let b = Backoff::new(Duration::from_secs(2), Duration::from_secs(4), 1);
        assert_eq!(b.delay(0, 0.25), Duration::from_secs(3));
        assert_eq!(b.delay(5, 0.999_999), b.delay(1, 0.999_999));
        assert!(b.delay(5, 7.0) <= b.max_delay());
        assert_eq!(b.delay(0, f64::NAN), Duration::from_secs(2));
        assert_eq!(b.delay(0, -1.0), Duration::from_secs(2));
    }

    #[test]
    fn never_overflows() {
        let b = Backoff::new(Duration::MAX, Duration::MAX, u32::MAX);
        assert_eq!(b.delay(u32::MAX, 1.0), Duration::MAX);
    }
}
