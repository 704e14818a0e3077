//! The bundled lessons: the files of `lessons/` at the root of the
//! repository, compiled into the binary. `lesson` lists them, `lesson N`
//! (or `sockplay --lesson N`) runs one. Each is a script in the format of
//! [`crate::play`], self-checking with `expect`, and CI runs every one of
//! them with `--check`.

/// One bundled lesson.
#[derive(Debug)]
pub struct Lesson {
    /// Its file name under `lessons/`.
    pub file: &'static str,
    pub text: &'static str,
}

macro_rules! lessons {
    ($($file:literal),* $(,)?) => {
        &[$(Lesson { file: $file, text: include_str!(concat!("../lessons/", $file)) }),*]
    };
}

/// The lessons in course order: `lesson N` is `LESSONS[N - 1]`.
pub static LESSONS: &[Lesson] = lessons!(
    "01-names.sp",
    "02-tcp.sp",
    "03-clients-in-turn.sp",
    "04-udp.sp",
    "05-sticky.sp",
    "06-broken-pipe.sp",
    "07-options.sp",
    "08-unix.sp",
    "09-http.sp",
    "10-handshake.sp",
    "11-blocking.sp",
    "12-chat.sp",
    "13-python-lines.sp",
    "14-loss.sp",
    "15-any-address.sp",
    "16-delay.sp",
    "17-c10k.sp",
    "18-your-program.sp",
);

impl Lesson {
    /// The title: the first narration line, without `#` and a leading
    /// `Lesson N:`.
    pub fn title(&self) -> &'static str {
        let first = self
            .text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with('#'))
            .unwrap_or("#");
        let t = first.trim_start_matches('#').trim();
        match t.split_once(':') {
            Some((head, rest)) if head.starts_with("Lesson ") => rest.trim(),
            _ => t,
        }
    }

    /// Where it lives in the repository, as errors name it.
    pub fn path(&self) -> String {
        format!("lessons/{}", self.file)
    }
}

/// Lesson `n` (from 1).
pub fn get(n: i64) -> Option<&'static Lesson> {
    usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|k| LESSONS.get(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_has_a_title_and_a_number() {
        assert_eq!(LESSONS.len(), 18);
        for (k, l) in LESSONS.iter().enumerate() {
            assert!(!l.title().is_empty(), "{} has no title", l.file);
            assert!(
                l.file.starts_with(&format!("{:02}-", k + 1)),
                "{} is out of order",
                l.file
            );
        }
        assert!(get(0).is_none());
        assert!(get(19).is_none());
        assert_eq!(get(1).map(|l| l.file), Some("01-names.sp"));
    }
}
