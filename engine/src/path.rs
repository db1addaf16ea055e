//! Paths into layer documents and the lock patterns that match them.
//!
//! A [`LeafPath`] names one leaf of a document as the engine sees it: object members by key,
//! and elements of *id arrays* (arrays of objects that all carry a distinct `id`) by their id
//! rather than their position, so a path stays valid when elements are reordered or added.
//!
//! Text form: a JSON Pointer (RFC 6901) where an id-array element is written `[id]`, e.g.
//! `/roles/[admin]/permissions`. Escapes are RFC 6901's `~0` (`~`) and `~1` (`/`), plus `~2`
//! for a `[` that starts a plain key (a Cascade extension, needed only for such keys). Paths
//! without id segments are therefore plain JSON Pointers.
//!
//! A [`PathPattern`] (a rule's `lockedPaths` entry) is a path whose segments may be `*` (any
//! one segment). A plain segment also matches an id segment with the same text, so
//! `/roles/admin` locks the role whose id is `admin`. A pattern covers its whole subtree.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// One step of a [`LeafPath`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    /// An object member.
    Key(String),
    /// An element of an id array, by the text of its `id` (numbers in their JSON form).
    Id(String),
}

/// A path to a leaf (or subtree) of a layer document. See the module docs for the text form.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LeafPath(pub Vec<Seg>);

impl LeafPath {
    /// The empty path (the whole document).
    #[must_use]
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// Parses the text form.
    ///
    /// # Errors
    /// [`EngineError::InvalidPath`] when the text is not a valid path.
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        parse_segments(text, false).map(|segs| {
            Self(
                segs.into_iter()
                    .map(|s| match s {
                        PatternSeg::Seg(seg) => seg,
                        PatternSeg::Any => Seg::Key("*".into()),
                    })
                    .collect(),
            )
        })
    }

    /// This path with one more segment.
    #[must_use]
    pub fn child(&self, seg: Seg) -> Self {
        let mut segs = Vec::with_capacity(self.0.len() + 1);
        segs.extend(self.0.iter().cloned());
        segs.push(seg);
        Self(segs)
    }

    /// Whether `self` is `other` or one of its ancestors.
    #[must_use]
    pub fn is_prefix_of(&self, other: &LeafPath) -> bool {
        self.0.len() <= other.0.len() && self.0.iter().zip(&other.0).all(|(a, b)| a == b)
    }

    /// Whether one of the two paths contains the other (they touch the same subtree).
    #[must_use]
    pub fn overlaps(&self, other: &LeafPath) -> bool {
        self.is_prefix_of(other) || other.is_prefix_of(self)
    }
}

impl fmt::Display for LeafPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.0 {
            f.write_str("/")?;
            match seg {
                Seg::Key(key) => {
                    let escaped = escape(key);
                    if let Some(rest) = escaped.strip_prefix('[') {
                        write!(f, "~2{rest}")?;
                    } else {
                        f.write_str(&escaped)?;
                    }
                }
                Seg::Id(id) => write!(f, "[{}]", escape(id))?,
            }
        }
        Ok(())
    }
}

impl TryFrom<String> for LeafPath {
    type Error = EngineError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LeafPath> for String {
    fn from(value: LeafPath) -> Self {
        value.to_string()
    }
}

fn escape(raw: &str) -> String {
    raw.replace('~', "~0").replace('/', "~1")
}

fn unescape(text: &str, whole: &str) -> Result<String, EngineError> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                Some('2') => out.push('['),
                _ => {
                    return Err(invalid(whole, "'~' must be followed by 0, 1 or 2"));
                }
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn invalid(path: &str, reason: &str) -> EngineError {
    EngineError::InvalidPath {
        path: path.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PatternSeg {
    Seg(Seg),
    Any,
}

fn parse_segments(text: &str, wildcards: bool) -> Result<Vec<PatternSeg>, EngineError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = text.strip_prefix('/') else {
        return Err(invalid(text, "must be empty or start with '/'"));
    };
    rest.split('/')
        .map(|raw| {
            if wildcards && raw == "*" {
                Ok(PatternSeg::Any)
            } else if let Some(inner) = raw.strip_prefix('[') {
                let Some(id) = inner.strip_suffix(']') else {
                    return Err(invalid(text, "an id segment must be written [id]"));
                };
                Ok(PatternSeg::Seg(Seg::Id(unescape(id, text)?)))
            } else {
                Ok(PatternSeg::Seg(Seg::Key(unescape(raw, text)?)))
            }
        })
        .collect()
}

/// A lock pattern: a path whose segments may be `*`. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PathPattern {
    text: String,
    segs: Vec<PatternSeg>,
}

impl PathPattern {
    /// Parses a pattern such as `/sso/enforced`, `/providers/*/clientSecret` or `/sso/*`.
    ///
    /// # Errors
    /// [`EngineError::InvalidPath`] when the text is not a valid pattern.
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        Ok(Self {
            text: text.into(),
            segs: parse_segments(text, true)?,
        })
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern and `path` touch the same subtree: the path lies inside a locked
    /// subtree, or writing the path would replace a locked subtree.
    #[must_use]
    pub fn overlaps(&self, path: &LeafPath) -> bool {
        self.segs
            .iter()
            .zip(&path.0)
            .all(|(pat, seg)| match (pat, seg) {
                (PatternSeg::Any, _) => true,
                (PatternSeg::Seg(Seg::Key(k)), Seg::Key(s) | Seg::Id(s)) => k == s,
                (PatternSeg::Seg(Seg::Id(k)), Seg::Id(s)) => k == s,
                (PatternSeg::Seg(Seg::Id(_)), Seg::Key(_)) => false,
            })
    }
}

impl TryFrom<String> for PathPattern {
    type Error = EngineError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PathPattern> for String {
    fn from(value: PathPattern) -> Self {
        value.text
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> LeafPath {
        LeafPath::parse(text).expect("valid path")
    }

    #[test]
    fn text_form_round_trips() {
        for text in [
            "",
            "/a",
            "/a/b",
            "/roles/[admin]/permissions",
            "/we~1ird~0key",
            "/~2bracket",
            "/[1]",
        ] {
            assert_eq!(p(text).to_string(), text);
        }
        assert_eq!(
            p("/roles/[admin]").0,
            vec![Seg::Key("roles".into()), Seg::Id("admin".into())]
        );
        assert_eq!(p("/~2x").0, vec![Seg::Key("[x".into())]);
    }

    #[test]
    fn bad_paths_are_refused_with_a_code() {
        for bad in ["a", "/a~", "/a~9", "/[open"] {
            let err = LeafPath::parse(bad).expect_err(bad);
            assert_eq!(err.code(), "CASCADE:Validation:PathSyntax", "{bad}");
        }
    }

    #[test]
    fn patterns_overlap_table() {
        // (pattern, path, locked?)
        let table = [
            ("/sso/enforced", "/sso/enforced", true),
            ("/sso/enforced", "/sso/enforced/deep", true),
            ("/sso/enforced", "/sso", true), // replacing /sso replaces the locked member
            ("/sso/enforced", "/sso/other", false),
            ("/sso/*", "/sso/anything", true),
            ("/sso/*", "/ssox", false),
            (
                "/providers/*/clientSecret",
                "/providers/[google]/clientSecret",
                true,
            ),
            (
                "/providers/*/clientSecret",
                "/providers/[google]/label",
                false,
            ),
            ("/roles/admin", "/roles/[admin]/permissions", true),
            ("/roles/[admin]", "/roles/[viewer]", false),
            ("/roles/[admin]", "/roles/admin", false),
            ("", "/anything", true),
        ];
        for (pattern, path, locked) in table {
            let pat = PathPattern::parse(pattern).expect("valid pattern");
            assert_eq!(pat.overlaps(&p(path)), locked, "{pattern} vs {path}");
        }
    }

    #[test]
    fn paths_serialize_as_strings() {
        let json = serde_json::to_string(&p("/roles/[a]/x")).expect("serializes");
        assert_eq!(json, "\"/roles/[a]/x\"");
        let back: LeafPath = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, p("/roles/[a]/x"));
        assert!(serde_json::from_str::<PathPattern>("\"nope\"").is_err());
    }
}
