//! Tests of the datetime module: every expected value is what CPython (3.11, with pytz)
//! prints for the same expression. Kept out of `mod.rs` so the module reads as code.

use super::*;

fn render(src: &str) -> String {
    super::super::functions::render_python(
        src,
        &[
            ("datetime", Value::from_object(DatetimeModule)),
            ("pytz", Value::from_object(PytzModule)),
        ],
    )
}

// Each expected value is what `~/dbtvenv/bin/python` (3.11, pytz) prints for the same
// expression.
#[test]
fn datetime_values_behave_as_python() {
    let cases = [
        ("{{ datetime.timedelta(days=1, hours=2) }}", "1 day, 2:00:00"),
        ("{{ datetime.timedelta(days=-1, hours=2) }}", "-1 day, 2:00:00"),
        ("{{ datetime.timedelta(seconds=-1) }}", "-1 day, 23:59:59"),
        ("{{ datetime.timedelta(weeks=1, minutes=3, seconds=4, microseconds=5) }}", "7 days, 0:03:04.000005"),
        ("{{ datetime.timedelta(milliseconds=1500) }}", "0:00:01.500000"),
        ("{{ datetime.timedelta(hours=1.5) }}", "1:30:00"),
        ("{{ datetime.timedelta(2) }}", "2 days, 0:00:00"),
        ("{{ datetime.timedelta(days=2) * 3 }}", "6 days, 0:00:00"),
        ("{{ datetime.timedelta(hours=1) * 1.5 }}", "1:30:00"),
        ("{{ datetime.timedelta(days=1, seconds=5).total_seconds() }}", "86405.0"),
        ("{{ datetime.timedelta(days=-1, hours=2).days }} {{ datetime.timedelta(days=-1, hours=2).seconds }}", "-1 7200"),
        ("{{ [datetime.timedelta(days=1, seconds=5)] }}", "[datetime.timedelta(days=1, seconds=5)]"),
        ("{{ datetime.datetime(2024, 1, 31, 12) + datetime.timedelta(days=1, hours=13) }}", "2024-02-02 01:00:00"),
        ("{{ datetime.date(2024, 3, 1) - datetime.timedelta(days=1) }}", "2024-02-29"),
        ("{{ datetime.date(2024, 3, 1) - datetime.date(2024, 1, 1) }}", "60 days, 0:00:00"),
        ("{{ datetime.datetime(2024, 3, 1) - datetime.datetime(2024, 1, 1, 6, 30) }}", "59 days, 17:30:00"),
        ("{{ datetime.timedelta(days=1) + datetime.date(2024, 1, 1) }}", "2024-01-02"),
        ("{{ datetime.datetime(2024, 1, 1) < datetime.datetime(2024, 1, 2) }} {{ datetime.date(2024, 1, 1) == datetime.date(2024, 1, 1) }} {{ datetime.timedelta(hours=24) == datetime.timedelta(days=1) }}", "True True True"),
        ("{{ datetime.datetime(2024, 5, 1, 13, 4, 5, 123).strftime('%Y-%m-%d %H:%M:%S.%f %a %A %b %B %y %I %p %j %U %W %w %u %V %G %c %x %X %% %-d %-m %e|%z|%Z') }}", "2024-05-01 13:04:05.000123 Wed Wednesday May May 24 01 PM 122 17 18 3 3 18 2024 Wed May  1 13:04:05 2024 05/01/24 13:04:05 % 1 5  1||"),
        ("{{ datetime.date(2024, 5, 1).strftime('%Y%m%d %H:%M %j') }}", "20240501 00:00 122"),
        ("{{ datetime.datetime.strptime('2024-05-01 13:04:05', '%Y-%m-%d %H:%M:%S') }}", "2024-05-01 13:04:05"),
        ("{{ datetime.datetime.strptime('1/5/24 1:04 PM', '%m/%d/%y %I:%M %p') }}", "2024-01-05 13:04:00"),
        ("{{ datetime.datetime.strptime('01 May 2024', '%d %b %Y') }}", "2024-05-01 00:00:00"),
        ("{{ datetime.datetime.strptime('2024-05-01T10:00:00+0530', '%Y-%m-%dT%H:%M:%S%z') }}", "2024-05-01 10:00:00+05:30"),
        ("{{ datetime.datetime.strptime('2024-05-01 12:00:00.5', '%Y-%m-%d %H:%M:%S.%f') }}", "2024-05-01 12:00:00.500000"),
        ("{{ datetime.datetime.fromisoformat('2026-08-15T12:00:00+00:00') }}", "2026-08-15 12:00:00+00:00"),
        ("{{ datetime.datetime.fromisoformat('2026-08-15 12:00') }}", "2026-08-15 12:00:00"),
        ("{{ datetime.datetime.fromisoformat('2026-08-15') }}", "2026-08-15 00:00:00"),
        ("{{ datetime.datetime.fromisoformat('2026-08-15T12:00:00Z') }}", "2026-08-15 12:00:00+00:00"),
        ("{{ datetime.datetime.fromisoformat('2026-08-15T12:00:00.25-03:00') }}", "2026-08-15 12:00:00.250000-03:00"),
        ("{{ datetime.datetime(2024, 5, 1, 13, 4, 5).replace(day=2, hour=0) }}", "2024-05-02 00:04:05"),
        ("{{ datetime.datetime(2024, 5, 1).weekday() }} {{ datetime.datetime(2024, 5, 1).isoweekday() }} {{ datetime.datetime(2024, 5, 1, 3).date() }}", "2 3 2024-05-01"),
        ("{{ datetime.datetime.combine(datetime.date(2024, 5, 1), datetime.time(3, 4)) }} {{ datetime.time(3, 4, 5) }} {{ datetime.time(3, 4, 5, 6).isoformat() }}", "2024-05-01 03:04:00 03:04:05 03:04:05.000006"),
        ("{{ datetime.datetime(2024, 5, 1, 3).isoformat() }} {{ datetime.datetime(2024, 5, 1, 3, 0, 0, 5).isoformat() }} {{ datetime.datetime(2024, 5, 1, 3).isoformat(' ') }}", "2024-05-01T03:00:00 2024-05-01T03:00:00.000005 2024-05-01 03:00:00"),
        ("{{ datetime.datetime(2024, 5, 1).isocalendar() }} {{ datetime.date(2024, 5, 1).toordinal() }}", "datetime.IsoCalendarDate(year=2024, week=18, weekday=3) 739007"),
        ("{{ datetime.datetime(2024, 5, 1, tzinfo=pytz.utc).timestamp() }} {{ datetime.datetime(2024, 5, 1, tzinfo=pytz.utc) }}", "1714521600.0 2024-05-01 00:00:00+00:00"),
        ("{{ pytz.timezone('America/New_York').localize(datetime.datetime(2024, 7, 1, 12)).astimezone(pytz.utc) }}", "2024-07-01 16:00:00+00:00"),
        ("{{ pytz.utc.localize(datetime.datetime(2024, 7, 1, 12)).astimezone(pytz.timezone('Asia/Kolkata')) }}", "2024-07-01 17:30:00+05:30"),
        ("{{ pytz.timezone('America/New_York').localize(datetime.datetime(2024, 7, 1, 12)).strftime('%Z %z') }}", "EDT -0400"),
        ("{{ pytz.timezone('Europe/Paris').localize(datetime.datetime(2024, 1, 1)) - pytz.utc.localize(datetime.datetime(2024, 1, 1)) }}", "-1 day, 23:00:00"),
        ("{{ datetime.datetime(2024, 5, 1, tzinfo=pytz.timezone('Europe/Paris')) }}", "2024-05-01 00:00:00+00:09"),
        ("{{ datetime.datetime(1997, 9, 29, 6, 14, 0, tzinfo=pytz.timezone('America/Los_Angeles')) }}", "1997-09-29 06:14:00-07:53"),
        ("{{ [datetime.datetime(2024, 5, 1, 3)] }} {{ [datetime.date(2024, 5, 1)] }}", "[datetime.datetime(2024, 5, 1, 3, 0)] [datetime.date(2024, 5, 1)]"),
        ("{{ datetime.datetime.fromisoformat('2024-05-01T00:00:00+05:30').tzinfo }} {{ datetime.datetime.fromisoformat('2024-05-01T00:00:00+00:00').tzinfo }}", "UTC+05:30 UTC"),
        ("{{ datetime.datetime(2024, 5, 1, 3, tzinfo=pytz.timezone('America/New_York')).strftime('%Z %z') }}", "LMT -0456"),
        ("{{ pytz.timezone('America/New_York').localize(datetime.datetime(2024, 3, 10, 2, 30)) }}", "2024-03-10 02:30:00-05:00"),
        ("{{ pytz.timezone('America/New_York').localize(datetime.datetime(2024, 11, 3, 1, 30)) }}", "2024-11-03 01:30:00-05:00"),
        ("{% set ny = pytz.timezone('America/New_York') %}{{ ny.normalize(ny.localize(datetime.datetime(2024, 3, 9, 12)) + datetime.timedelta(days=1)) }} {{ ny.localize(datetime.datetime(2024, 3, 9, 12)) + datetime.timedelta(days=1) }}", "2024-03-10 13:00:00-04:00 2024-03-10 12:00:00-05:00"),
        ("{{ datetime.datetime(2024, 1, 1) + datetime.timedelta(microseconds=1) }} {{ datetime.datetime.fromtimestamp(0, pytz.utc) }} {{ datetime.date(2024, 5, 1).replace(year=2023) }}", "2024-01-01 00:00:00.000001 1970-01-01 00:00:00+00:00 2023-05-01"),
        ("{{ datetime.date(2024, 2, 29).ctime() }} {{ pytz.timezone('America/Los_Angeles') }} {{ pytz.utc }}", "Thu Feb 29 00:00:00 2024 America/Los_Angeles UTC"),
    ];
    let mut bad = Vec::new();
    for (src, want) in cases {
        let got = render(src);
        if got != want {
            bad.push(format!("{src}\n  want {want}\n  got  {got}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
