//! Text to and from datetimes: Python's `strftime` and `strptime` (glibc's directives, not
//! chrono's, which differ on `%f`, `%z` for naive values, `%-d` ...) and 3.11's
//! `fromisoformat` parsing.
//!
//! Apart from the values because these are parsers and printers with their own rules and
//! caches; the values call [`strftime`], the type objects [`strptime`] and [`parse_iso`].

use std::sync::LazyLock;

use chrono::{Datelike, Duration, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike};
use minijinja::Error;

use super::tzinfo::{offset_text, TzInfo};
use super::{date_from, micros, time_from};
use crate::templating::calls::err;

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Python's `strftime` (glibc's directives in the C locale, `%f` from Python): `%a %A %w %d %b
/// %B %m %y %Y %H %I %p %M %S %f %z %Z %j %U %W %c %x %X %%`, also `%e %u %V %G %g %C %D %F %T %R
/// %r %h %n %t %k %l %s %P`, and the flags `-` (no padding), `_` (spaces) and `0`.
pub(crate) fn strftime(t: &NaiveDateTime, tz: Option<&TzInfo>, fmt: &str) -> String {
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flag = None;
        if let Some(&f) = chars.peek() {
            if matches!(f, '-' | '_' | '0' | '^' | '#') {
                flag = Some(f);
                chars.next();
            }
        }
        let Some(d) = chars.next() else {
            out.push('%');
            break;
        };
        // A number padded to `width` as glibc pads it (`flag` overrides the padding).
        let num = |n: i64, width: usize, pad: char| -> String {
            let pad = match flag {
                Some('-') => return n.to_string(),
                Some('_') => ' ',
                Some('0') => '0',
                _ => pad,
            };
            let s = n.to_string();
            if s.len() >= width {
                s
            } else {
                pad.to_string().repeat(width - s.len()) + &s
            }
        };
        let wd = t.weekday().num_days_from_monday() as usize;
        let hour12 = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        let text = match d {
            'a' => DAYS[wd][..3].to_string(),
            'A' => DAYS[wd].to_string(),
            'w' => (t.weekday().num_days_from_sunday()).to_string(),
            'u' => (wd + 1).to_string(),
            'd' => num(t.day() as i64, 2, '0'),
            'e' => num(t.day() as i64, 2, ' '),
            'b' | 'h' => MONTHS[t.month0() as usize][..3].to_string(),
            'B' => MONTHS[t.month0() as usize].to_string(),
            'm' => num(t.month() as i64, 2, '0'),
            'y' => num((t.year() % 100) as i64, 2, '0'),
            'Y' => num(t.year() as i64, 1, '0'),
            'C' => num((t.year() / 100) as i64, 2, '0'),
            'G' => num(t.iso_week().year() as i64, 1, '0'),
            'g' => num((t.iso_week().year() % 100) as i64, 2, '0'),
            'V' => num(t.iso_week().week() as i64, 2, '0'),
            'H' => num(t.hour() as i64, 2, '0'),
            'k' => num(t.hour() as i64, 2, ' '),
            'I' => num(hour12 as i64, 2, '0'),
            'l' => num(hour12 as i64, 2, ' '),
            'p' => if t.hour() < 12 { "AM" } else { "PM" }.to_string(),
            'P' => if t.hour() < 12 { "am" } else { "pm" }.to_string(),
            'M' => num(t.minute() as i64, 2, '0'),
            'S' => num(t.second() as i64, 2, '0'),
            'f' => format!("{:06}", micros(&t.time())),
            'j' => num(t.ordinal() as i64, 3, '0'),
            'U' => num(
                (t.ordinal() as i64 + 6 - t.weekday().num_days_from_sunday() as i64) / 7,
                2,
                '0',
            ),
            'W' => num(
                (t.ordinal() as i64 + 6 - t.weekday().num_days_from_monday() as i64) / 7,
                2,
                '0',
            ),
            'z' => tz.map(|z| offset_text(z.offset, false)).unwrap_or_default(),
            'Z' => tz.map(TzInfo::name).unwrap_or_default(),
            's' => {
                let utc = match tz {
                    Some(z) => *t - Duration::seconds(z.offset as i64),
                    None => Local
                        .from_local_datetime(t)
                        .earliest()
                        .map(|l| l.naive_utc())
                        .unwrap_or(*t),
                };
                utc.and_utc().timestamp().to_string()
            }
            'c' => strftime(t, tz, "%a %b %e %H:%M:%S %Y"),
            'x' | 'D' => strftime(t, tz, "%m/%d/%y"),
            'X' | 'T' => strftime(t, tz, "%H:%M:%S"),
            'F' => strftime(t, tz, "%Y-%m-%d"),
            'R' => strftime(t, tz, "%H:%M"),
            'r' => strftime(t, tz, "%I:%M:%S %p"),
            'n' => "\n".into(),
            't' => "\t".into(),
            '%' => "%".into(),
            other => {
                let mut s = String::from('%');
                s.extend(flag);
                s.push(other);
                s
            }
        };
        match flag {
            Some('^') => out.push_str(&text.to_uppercase()),
            _ => out.push_str(&text),
        }
    }
    out
}

static STRPTIME_CACHE: LazyLock<std::sync::Mutex<std::collections::HashMap<String, regex::Regex>>> =
    LazyLock::new(|| std::sync::Mutex::new(std::collections::HashMap::new()));

/// The regular expression Python's `_strptime` builds for a format.
fn strptime_regex(fmt: &str) -> Result<regex::Regex, Error> {
    if let Some(r) = STRPTIME_CACHE.lock().ok().and_then(|c| c.get(fmt).cloned()) {
        return Ok(r);
    }
    let names = |list: &[&str], short: bool| -> String {
        list.iter()
            .map(|n| if short { &n[..3] } else { n })
            .map(|n| n.to_lowercase())
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut re = String::from("(?i)^");
    let mut chars = fmt.chars().peekable();
    let mut seen = std::collections::HashSet::new();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            re.push_str(r"\s+");
            continue;
        }
        if c != '%' {
            re.push_str(&regex::escape(&c.to_string()));
            continue;
        }
        let d = chars
            .next()
            .ok_or_else(|| err("ValueError: stray % in format"))?;
        let group = |name: &str, body: &str| format!("(?P<{name}>{body})");
        let part = match d {
            'd' => group("d", r"3[01]|[12]\d|0[1-9]|[1-9]| [1-9]"),
            'f' => group("f", r"[0-9]{1,6}"),
            'H' => group("H", r"2[0-3]|[0-1]\d|\d"),
            'I' => group("I", r"1[0-2]|0[1-9]|[1-9]"),
            'G' => group("G", r"\d\d\d\d"),
            'j' => group(
                "j",
                r"36[0-6]|3[0-5]\d|[12]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9]",
            ),
            'm' => group("m", r"1[0-2]|0[1-9]|[1-9]"),
            'M' => group("M", r"[0-5]\d|\d"),
            'S' => group("S", r"6[0-1]|[0-5]\d|\d"),
            'U' => group("U", r"5[0-3]|[0-4]\d|\d"),
            'W' => group("W", r"5[0-3]|[0-4]\d|\d"),
            'w' => group("w", r"[0-6]"),
            'u' => group("u", r"[1-7]"),
            'V' => group("V", r"5[0-3]|0[1-9]|[1-4]\d|\d"),
            'y' => group("y", r"\d\d"),
            'Y' => group("Y", r"\d\d\d\d"),
            'z' => group("z", r"[+-]\d\d:?[0-5]\d(?::?[0-5]\d(?:\.\d{1,6})?)?|Z"),
            'A' => group("A", &names(&DAYS, false)),
            'a' => group("a", &names(&DAYS, true)),
            'B' => group("B", &names(&MONTHS, false)),
            'b' | 'h' => group("b", &names(&MONTHS, true)),
            'p' => group("p", "am|pm"),
            'Z' => group("Z", "utc|gmt|[a-z]{3,5}"),
            '%' => "%".to_string(),
            other => {
                return Err(err(format!(
                    "ValueError: '{other}' is a bad directive in format '%{other}'"
                )))
            }
        };
        let key = part.get(4..5).unwrap_or("").to_string();
        if part.starts_with("(?P<") && !seen.insert(key) {
            return Err(err(format!(
                "re.error: redefinition of group name in format '{fmt}'"
            )));
        }
        re.push_str(&part);
    }
    let r = regex::Regex::new(&re).map_err(|e| err(format!("ValueError: {e}")))?;
    if let Ok(mut c) = STRPTIME_CACHE.lock() {
        c.insert(fmt.to_string(), r.clone());
    }
    Ok(r)
}

/// Python's `datetime.strptime(text, format)`.
pub(crate) fn strptime(text: &str, fmt: &str) -> Result<(NaiveDateTime, Option<TzInfo>), Error> {
    let re = strptime_regex(fmt)?;
    let nomatch = || {
        err(format!(
            "ValueError: time data '{text}' does not match format '{fmt}'"
        ))
    };
    let c = re.captures(text).ok_or_else(nomatch)?;
    let end = c.get(0).map_or(0, |m| m.end());
    if end != text.len() {
        return Err(err(format!(
            "ValueError: unconverted data remains: {}",
            &text[end..]
        )));
    }
    let get = |k: &str| c.name(k).map(|m| m.as_str().trim());
    let n = |k: &str| get(k).and_then(|v| v.parse::<i64>().ok());
    let mut year = n("Y").unwrap_or_else(|| match n("y") {
        Some(y) if y <= 68 => 2000 + y,
        Some(y) => 1900 + y,
        None => 1900,
    });
    let find = |list: &[&str], v: &str| {
        list.iter()
            .position(|n| n.to_lowercase().starts_with(&v.to_lowercase()))
            .map(|i| i as i64)
    };
    let mut month = n("m")
        .or_else(|| get("B").and_then(|v| find(&MONTHS, v)).map(|i| i + 1))
        .or_else(|| get("b").and_then(|v| find(&MONTHS, v)).map(|i| i + 1))
        .unwrap_or(1);
    let mut day = n("d").unwrap_or(1);
    let mut hour = n("H").unwrap_or(0);
    if let Some(h) = n("I") {
        let pm = get("p").is_some_and(|p| p.eq_ignore_ascii_case("pm"));
        hour = match (h, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (h, true) => h + 12,
            (h, false) => h,
        };
    }
    let minute = n("M").unwrap_or(0);
    let second = n("S").unwrap_or(0).min(59);
    let us = get("f")
        .map(|f| format!("{f:0<6}").parse::<i64>().unwrap_or(0))
        .unwrap_or(0);
    if let Some(j) = n("j") {
        let d = NaiveDate::from_yo_opt(year as i32, j as u32).ok_or_else(nomatch)?;
        month = d.month() as i64;
        day = d.day() as i64;
    } else if let (Some(g), Some(v), Some(u)) = (n("G"), n("V"), n("u")) {
        let d = NaiveDate::from_isoywd_opt(
            g as i32,
            v as u32,
            chrono::Weekday::try_from((u - 1) as u8).map_err(|_| nomatch())?,
        )
        .ok_or_else(nomatch)?;
        year = d.year() as i64;
        month = d.month() as i64;
        day = d.day() as i64;
    }
    let date = date_from(year, month, day)?;
    let time = time_from(hour, minute, second, us)?;
    let tz = match get("z") {
        Some(z) => Some(parse_offset(z).ok_or_else(nomatch)?),
        None => None,
    };
    Ok((date.and_time(time), tz))
}

/// `+05:30`, `-0800`, `+05:30:15.5`, `Z`.
fn parse_offset(z: &str) -> Option<TzInfo> {
    if z.eq_ignore_ascii_case("z") {
        return Some(TzInfo::fixed(0));
    }
    let sign = match z.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = z[1..]
        .chars()
        .take_while(|c| *c != '.')
        .filter(|c| *c != ':')
        .collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4 | 6) {
        return None;
    }
    let part = |i: usize| digits.get(i..i + 2).and_then(|s| s.parse::<i32>().ok());
    let secs = part(0)? * 3600 + part(2).unwrap_or(0) * 60 + part(4).unwrap_or(0);
    if secs >= 86_400 {
        return None;
    }
    Some(TzInfo::fixed(sign * secs))
}

/// `YYYY-MM-DD` or `YYYYMMDD` at the start of `s`, and the rest.
pub(super) fn parse_iso_date(s: &str) -> Option<(NaiveDate, &str)> {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<i64> {
        let part = s.get(from..from + n)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.get(4) == Some(&b'-') {
        let d = date_from(digits(0, 4)?, digits(5, 2)?, digits(8, 2)?).ok()?;
        (b.get(7) == Some(&b'-')).then_some((d, &s[10..]))
    } else {
        let d = date_from(digits(0, 4)?, digits(4, 2)?, digits(6, 2)?).ok()?;
        Some((d, &s[8..]))
    }
}

/// `HH[:MM[:SS[.ffffff]]][offset]` (or without colons).
pub(super) fn parse_iso_time(s: &str) -> Option<(NaiveTime, Option<TzInfo>)> {
    let split = s.find(['+', '-', 'Z', 'z']).unwrap_or(s.len());
    let (clock, zone) = s.split_at(split);
    let tz = if zone.is_empty() {
        None
    } else {
        Some(parse_offset(zone)?)
    };
    let (hms, frac) = match clock.split_once(['.', ',']) {
        Some((a, f)) => (a, Some(f)),
        None => (clock, None),
    };
    let digits: String = hms.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4 | 6) {
        return None;
    }
    if hms.contains(':') && hms.len() != digits.len() + digits.len() / 2 - 1 {
        return None;
    }
    let part = |i: usize| digits.get(i..i + 2).and_then(|s| s.parse::<i64>().ok());
    let us = match frac {
        Some(f) if !f.is_empty() && f.len() <= 9 && f.chars().all(|c| c.is_ascii_digit()) => {
            format!("{:0<6}", &f[..f.len().min(6)])
                .parse::<i64>()
                .ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    let t = time_from(part(0)?, part(2).unwrap_or(0), part(4).unwrap_or(0), us).ok()?;
    Some((t, tz))
}

/// Python 3.11's `datetime.fromisoformat`.
pub(crate) fn parse_iso(s: &str) -> Option<(NaiveDateTime, Option<TzInfo>)> {
    let (date, rest) = parse_iso_date(s)?;
    if rest.is_empty() {
        return Some((date.and_hms_opt(0, 0, 0)?, None));
    }
    let mut chars = rest.chars();
    chars.next()?;
    let (t, tz) = parse_iso_time(chars.as_str())?;
    Some((date.and_time(t), tz))
}
