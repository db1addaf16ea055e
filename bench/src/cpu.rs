//! A server's CPU time, read from `/proc`: user + system time of every process in its tree
//! (each process's figure covers all of its threads), plus what it recorded for children it
//! has reaped. The bench's own process (the client fleet) is never part of a server's tree.

use std::time::Duration;

/// CPU time a process has used, from the fields of `/proc/<pid>/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ticks {
    /// `utime` + `stime`: the process's own threads, user and system.
    pub own: u64,
    /// `cutime` + `cstime`: children it has waited for.
    pub reaped: u64,
}

impl Ticks {
    /// Both together.
    pub fn total(self) -> u64 {
        self.own + self.reaped
    }
}

/// Parses the contents of `/proc/<pid>/stat`. The second field (`comm`, in parentheses) may
/// itself hold spaces and parentheses, so the fields are counted from the *last* `)`.
pub fn parse_stat(stat: &str) -> Option<Ticks> {
    let (_, rest) = stat.rsplit_once(')')?;
    // After `comm`: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17); `rest`
    // starts at field 3, so field k is at index k - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |k: usize| fields.get(k - 3)?.parse::<u64>().ok();
    Some(Ticks {
        own: field(14)? + field(15)?,
        reaped: field(16)? + field(17)?,
    })
}

/// The CPU time of processes `pids` together (a process that is gone counts nothing).
pub fn ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|s| parse_stat(&s))
        .map(Ticks::total)
        .sum()
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, the unit of `/proc/<pid>/stat`).
pub fn ticks_per_second() -> u64 {
    rustix::param::clock_ticks_per_second().max(1)
}

/// `ticks` clock ticks as a duration.
pub fn duration(ticks: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / ticks_per_second() as f64)
}

/// A server's process tree, sampled around a fan-out round.
pub struct Meter {
    pids: Vec<u32>,
    start: Vec<u64>,
}

impl Meter {
    /// Meters the processes `pids` (fixed once every client is connected).
    pub fn new(pids: Vec<u32>) -> Self {
        Self {
            start: vec![0; pids.len()],
            pids,
        }
    }

    /// Marks the start of a round.
    pub fn start(&mut self) {
        self.start = self.pids.iter().map(|p| ticks(&[*p])).collect();
    }

    /// CPU time each process used since [`Meter::start`], in clock ticks.
    fn deltas(&self) -> Vec<u64> {
        self.pids
            .iter()
            .zip(&self.start)
            .map(|(p, s)| ticks(&[*p]).saturating_sub(*s))
            .collect()
    }

    /// CPU time used since [`Meter::start`].
    pub fn elapsed(&self) -> Duration {
        duration(self.deltas().iter().sum())
    }

    /// Each process's share since [`Meter::start`] as `name pid: ms`, for
    /// `CASCADE_BENCH_CPU_DETAIL=1`.
    pub fn detail(&self) -> String {
        self.pids
            .iter()
            .zip(self.deltas())
            .map(|(pid, t)| {
                let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                format!("{} {pid}: {} ms", name.trim(), duration(t).as_millis())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real line's shape (workerd, from a 6.x kernel), with the comm changed.
    fn line(comm: &str) -> String {
        format!(
            "4242 ({comm}) S 4100 4100 4100 0 -1 4194560 123456 0 12 0 \
             731 209 5 7 20 0 14 0 123456789 2000000000 300000 18446744073709551615 \
             1 1 0 0 0 0 0 16781312 17414 0 0 0 17 1 0 0 0 0 0"
        )
    }

    #[test]
    fn reads_user_system_and_reaped_children() {
        let t = parse_stat(&line("workerd")).expect("parses");
        assert_eq!(t.own, 731 + 209);
        assert_eq!(t.reaped, 5 + 7);
        assert_eq!(t.total(), 952);
    }

    #[test]
    fn comm_with_spaces_and_parentheses() {
        for comm in ["node server.mjs", "a) b (c", "((x)) 1 2 3", ")"] {
            let t = parse_stat(&line(comm)).expect("parses");
            assert_eq!((t.own, t.reaped), (940, 12), "comm {comm:?}");
        }
    }

    #[test]
    fn short_or_garbled_lines_are_none() {
        assert_eq!(parse_stat("4242 (x) S 1 2 3"), None);
        assert_eq!(parse_stat("no parenthesis 1 2 3"), None);
        assert_eq!(parse_stat(&line("x").replace(" 731 ", " -1 ")), None);
    }

    #[test]
    fn this_process_uses_cpu() {
        let pid = std::process::id();
        let before = ticks(&[pid]);
        // Spin until the kernel has charged at least one tick (at most 5 s of wall time).
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while ticks(&[pid]) == before && started.elapsed() < Duration::from_secs(5) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
            }
        }
        assert!(ticks(&[pid]) > before, "spinning shows in /proc/{pid}/stat");
        assert_eq!(ticks(&[u32::MAX]), 0, "a missing process counts nothing");
        assert!(ticks_per_second() >= 1);
    }
}
