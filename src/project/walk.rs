//! Walking a project folder: every entry under it, each folder's entries in name order, depth
//! first (which is `Path` order), following symbolic links, with the subfolders of a folder read
//! in parallel. The load walks the resource folders for the files it reads, and partial parsing
//! walks them again for the stamps it keeps.
//!
//! Decision: the order and the errors are `walkdir`'s (`sort_by_file_name`, `follow_links`):
//! an entry that cannot be read (a folder that cannot be listed, a broken link, a link to a
//! folder that contains it) is reported in its place. One folder after another, walking the
//! 10,000 model files of a large project was a sequential 10 ms at the start of every parse.

use std::ffi::OsString;
use std::fs::FileType;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// One entry under a walked folder.
#[derive(Debug)]
pub(crate) enum Walked {
    /// A file or folder; `kind` is what a link points to.
    Entry { path: PathBuf, kind: FileType },
    /// An entry that cannot be read.
    Unreadable,
}

/// Every entry under `dir` (not `dir` itself), in order; `Unreadable` alone when `dir` cannot be
/// listed.
pub(crate) fn entries(dir: &Path) -> Vec<Walked> {
    match dir.canonicalize() {
        Ok(real) => under(dir, &[real]),
        Err(_) => vec![Walked::Unreadable],
    }
}

/// The entries under `dir`, whose own real path and its ancestors' are `ancestors`.
fn under(dir: &Path, ancestors: &[PathBuf]) -> Vec<Walked> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return vec![Walked::Unreadable];
    };
    let mut listed: Vec<Option<(OsString, PathBuf, FileType)>> = read
        .map(|e| {
            let e = e.ok()?;
            Some((e.file_name(), e.path(), e.file_type().ok()?))
        })
        .collect();
    // (An entry that cannot be read sorts first, as walkdir sorts it.)
    listed.sort_by(|a, b| match (a, b) {
        (Some(a), Some(b)) => a.0.cmp(&b.0),
        (a, b) => a.is_some().cmp(&b.is_some()),
    });
    let parts: Vec<Vec<Walked>> = listed
        .into_par_iter()
        .map(|e| match e {
            Some((name, path, kind)) => entry(name, path, kind, ancestors),
            None => vec![Walked::Unreadable],
        })
        .collect();
    parts.into_iter().flatten().collect()
}

/// One listed entry and, for a folder, everything under it.
fn entry(name: OsString, path: PathBuf, kind: FileType, ancestors: &[PathBuf]) -> Vec<Walked> {
    let linked = kind.is_symlink();
    let kind = match linked {
        true => match std::fs::metadata(&path) {
            Ok(meta) => meta.file_type(),
            Err(_) => return vec![Walked::Unreadable],
        },
        false => kind,
    };
    if !kind.is_dir() {
        return vec![Walked::Entry { path, kind }];
    }
    // The folder's real path: a link's target (never a folder it is in), else its parent's.
    let real = match linked {
        true => match path.canonicalize() {
            Ok(real) if !ancestors.contains(&real) => real,
            _ => return vec![Walked::Unreadable],
        },
        false => ancestors
            .last()
            .map_or_else(PathBuf::new, |p| p.join(&name)),
    };
    let mut within = ancestors.to_vec();
    within.push(real);
    let inside = under(&path, &within);
    let mut out = Vec::with_capacity(inside.len() + 1);
    out.push(Walked::Entry { path, kind });
    out.extend(inside);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `walkdir` yields under `dir` as the project walked it before: each entry's path and
    /// whether it is a file, or `None` for an error.
    fn by_walkdir(dir: &Path) -> Vec<Option<(PathBuf, bool)>> {
        walkdir::WalkDir::new(dir)
            .follow_links(true)
            .min_depth(1)
            .sort_by_file_name()
            .into_iter()
            .map(|e| {
                e.ok()
                    .map(|e| (e.path().to_path_buf(), e.file_type().is_file()))
            })
            .collect()
    }

    fn walked(dir: &Path) -> Vec<Option<(PathBuf, bool)>> {
        entries(dir)
            .into_iter()
            .map(|w| match w {
                Walked::Entry { path, kind } => Some((path, kind.is_file())),
                Walked::Unreadable => None,
            })
            .collect()
    }

    /// Files and folders in an order that is not creation order, names that sort differently
    /// by bytes and by components, a link to a folder, a link to a file, a broken link and a
    /// link back to a folder above it: the same entries, order and errors as `walkdir`.
    #[cfg(unix)]
    #[test]
    fn walks_as_walkdir_walks() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("models");
        for d in ["b", "a/x", "a/x/deep", "a-b", "a.b", "B", "other"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "z.sql",
            "a.sql",
            "a/x/one.sql",
            "a/x/deep/two.yml",
            "a/y.sql",
            "a-b/c.md",
            "a.b/d.sql",
            "B/e.csv",
            "b/f.sql",
            "other/g.sql",
        ] {
            std::fs::write(root.join(f), "select 1").unwrap();
        }
        let link = |to: &Path, at: &str| std::os::unix::fs::symlink(to, root.join(at)).unwrap();
        link(&root.join("other"), "linked");
        link(&root.join("a.sql"), "b/linked.sql");
        link(&root.join("missing"), "broken.sql");
        link(&root, "a/x/up");
        link(&root.join("a"), "a/x/deep/to_a");
        let expected = by_walkdir(&root);
        assert!(expected.len() > 20, "{expected:?}");
        assert!(expected.iter().filter(|e| e.is_none()).count() >= 3);
        assert_eq!(walked(&root), expected);
        // A folder that does not exist is one error.
        assert_eq!(walked(&root.join("missing")).len(), 1);
        assert!(walked(&root.join("missing"))[0].is_none());
    }
}
