//! Target `rule_matching`: which rules an event triggers, in what order, and the locks and
//! paths rules are made of.
//!
//! Invariants (`matching`, `rule` and `path` module docs): matches are in precedence order
//! (priority, then specificity, then list order), each one has a trigger pattern that matches
//! the topic, passes its namespace and tenant filters, and has targets strictly below
//! (down) or above (up) the event's scope as its direction allows; the governing rule is the
//! first match with downward targets. Patterns and paths survive their text form: a
//! `TriggerPattern` and a `PathPattern` keep the text they were parsed from, and a
//! `LeafPath` parses back from its display to the same segments. A lock on a path refuses a
//! write of that very path by a scope it binds. Rules from raw JSON parse or are refused.

use arbitrary::{Result, Unstructured};
use cascade_engine::matching::{governing, match_rules, NamespacePolicy};
use cascade_engine::path::{LeafPath, PathPattern};
use cascade_engine::rule::{SyncRule, TriggerPattern};
use cascade_engine::scope::Scope;

use crate::gen;

fn paths(u: &mut Unstructured<'_>) -> Result<()> {
    let path = gen::leaf_path(u)?;
    let text = path.to_string();
    let back = LeafPath::parse(&text).unwrap_or_else(|e| panic!("{text} does not parse: {e}"));
    assert_eq!(back, path, "a leaf path changes through its text {text}");
    let json = serde_json::to_string(&path).expect("a path serializes");
    let back: LeafPath = serde_json::from_str(&json).expect("a path reads back");
    assert_eq!(back, path, "a leaf path changes through JSON {json}");
    if let Ok(pattern) = PathPattern::parse(&text) {
        assert_eq!(pattern.as_str(), text);
        // A concrete path (no `*` segment) locks itself.
        if !text.split('/').any(|s| s == "*") {
            assert!(pattern.overlaps(&path), "{text} does not lock itself");
        }
    }
    let free: String = u.arbitrary()?;
    if let Ok(pattern) = TriggerPattern::parse(&free) {
        assert_eq!(pattern.as_str(), free);
        assert!(pattern.specificity() <= free.split('.').count());
    }
    let _ = PathPattern::parse(&free);
    let _ = LeafPath::parse(&free);
    Ok(())
}

fn matching(u: &mut Unstructured<'_>) -> Result<()> {
    let rules = gen::rules(u)?;
    let tenant = gen::tenant(u)?;
    let scope = *u.choose(&[Scope::Platform, Scope::Tenant, Scope::User])?;
    let event = gen::event(u, scope)?;
    let topic = event.topic();
    let segments: Vec<&str> = topic.split('.').collect();
    let matches = match_rules(&rules, &event, &tenant);
    for pair in matches.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let key = |m: &cascade_engine::matching::RuleMatch<'_>| {
            (
                std::cmp::Reverse(m.rule.priority),
                std::cmp::Reverse(m.specificity),
                m.index,
            )
        };
        assert!(key(a) < key(b), "matches out of precedence order");
    }
    for m in &matches {
        assert!(
            std::ptr::eq(m.rule, &rules[m.index]),
            "a match names another rule"
        );
        assert!(
            m.rule.trigger_events.iter().any(|p| p.matches(&segments)),
            "rule {} matched {topic} without a matching pattern",
            m.label()
        );
        assert!(m.rule.accepts_tenant(&tenant.attributes));
        if let Some(list) = &m.rule.namespaces {
            assert!(list.contains(&event.kind));
        }
        assert!(!m.down_targets.is_empty() || !m.up_targets.is_empty());
        assert!(m
            .down_targets
            .iter()
            .all(|t| scope.is_above(*t) && m.rule.targets(*t)));
        assert!(m
            .up_targets
            .iter()
            .all(|t| t.is_above(scope) && m.rule.targets(*t)));
        assert!(m.rule.sync_direction.goes_down() || m.down_targets.is_empty());
        assert!(m.rule.sync_direction.goes_up() || m.up_targets.is_empty());
    }
    let first_down = matches.iter().find(|m| !m.down_targets.is_empty());
    assert_eq!(
        governing(&matches).map(|m| m.index),
        first_down.map(|m| m.index)
    );
    // Rules that were left out really do not match.
    for (index, rule) in rules.iter().enumerate() {
        if matches.iter().any(|m| m.index == index) {
            continue;
        }
        let triggered = rule.trigger_events.iter().any(|p| p.matches(&segments))
            && rule
                .namespaces
                .as_ref()
                .is_none_or(|l| l.contains(&event.kind))
            && rule.accepts_tenant(&tenant.attributes);
        let down = rule.sync_direction.goes_down()
            && rule.target_scopes.iter().any(|t| scope.is_above(*t));
        let up =
            rule.sync_direction.goes_up() && rule.target_scopes.iter().any(|t| t.is_above(scope));
        assert!(
            !(triggered && (down || up)),
            "rule #{index} should have matched {topic}"
        );
    }
    let policy = NamespacePolicy::derive(&rules, &event.kind, &tenant);
    for lock in &policy.locks {
        assert!(!lock.scopes.is_empty() && !lock.scopes.contains(&Scope::Platform));
        if let Ok(path) = LeafPath::parse(lock.pattern.as_str()) {
            if !lock.pattern.as_str().split('/').any(|s| s == "*") {
                for scope in &lock.scopes {
                    assert!(
                        policy.check_write(*scope, [&path]).is_err(),
                        "a write of the locked path {path} by the {scope} passed"
                    );
                }
            }
        }
    }
    // Rules and events as the Worker receives them: JSON round trips.
    for rule in &rules {
        let json = serde_json::to_value(rule).expect("a rule serializes");
        let back: SyncRule = serde_json::from_value(json.clone()).expect("a rule reads back");
        assert_eq!(&back, rule, "a rule changes through JSON: {json}");
    }
    Ok(())
}

/// Runs the target on one input: the first byte picks paths, generated rules, or raw JSON
/// rules.
pub fn run(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let mut u = Unstructured::new(rest);
    let _ = match mode % 3 {
        0 => paths(&mut u),
        1 => matching(&mut u),
        _ => {
            let _ = serde_json::from_slice::<Vec<SyncRule>>(rest);
            Ok(())
        }
    };
}
